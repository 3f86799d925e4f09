"""The control-flow graph and its one question: is there a path from just
after a handle's creation to the function's exit that passes no release?

Each case is a small function: ``h = make()`` creates the handle, a call of
``release(h)`` or ``h.wait()`` / ``h.communicate()`` releases it, ``keep(h)``
hands it on (an escape counts as a release for the question)."""

from __future__ import annotations

import textwrap
from typing import Optional

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from leaklint.analysis.flow import Flows, FlowNode, LeakPath
from leaklint.analysis.names import ImportTable
from leaklint.analysis.tree import SyntaxTree, walk_scope

_RELEASING_METHODS = frozenset({"wait", "communicate", "shutdown", "join"})
_RELEASING_FUNCTIONS = frozenset({"release", "keep"})


def _is_release(node: FlowNode) -> bool:
    for part in node.parts:
        for inner in walk_scope(part):
            if isinstance(inner, cst.Call):
                func = inner.func
                if isinstance(func, cst.Name) and func.value in _RELEASING_FUNCTIONS:
                    return True
                if isinstance(func, cst.Attribute) and func.attr.value in _RELEASING_METHODS and isinstance(func.value, cst.Name) and func.value.value == "h":
                    return True
    return False


class Case:
    def __init__(self, source: str, function: str = "f"):
        self.module = cst.parse_module(textwrap.dedent(source))
        self.tree = SyntaxTree(self.module)
        self.flows = Flows(self.tree, ImportTable(self.tree))
        self.function = next(f for f in self.tree.function_defs if f.name.value == function)
        self.start = next(
            call
            for call in self.tree.calls
            if isinstance(call.func, cst.Name) and call.func.value == "make" and self.tree.is_inside(call, self.function)
        )
        self._positions = None

    def leak(self) -> Optional[LeakPath]:
        return self.flows.leaks_on_some_path(self.function, self.start, _is_release)

    def line_of(self, node: cst.CSTNode) -> int:
        if self._positions is None:
            self._positions = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
        return self._positions[node].start.line

    def describe(self) -> Optional[str]:
        path = self.leak()
        return None if path is None else path.describe(self.line_of)


def leaks(source: str, function: str = "f") -> Optional[str]:
    """None when every path releases, else the description of a leaking path."""
    return Case(source, function).describe()


# -- branches ---------------------------------------------------------------------


def test_released_in_both_branches():
    assert leaks("def f(x):\n    h = make()\n    if x:\n        release(h)\n    else:\n        h.wait()\n") is None


def test_released_in_one_branch_only_names_the_condition():
    assert leaks("def f(wait):\n    h = make()\n    if wait:\n        h.wait()\n") == "when `wait` is false"


def test_released_in_the_else_branch_only():
    assert leaks("def f(x):\n    h = make()\n    if not x:\n        pass\n    else:\n        h.wait()\n") == "when `x` is false"


def test_escaped_in_one_branch_and_released_in_the_other():
    assert leaks("def f(x):\n    h = make()\n    if x:\n        keep(h)\n    else:\n        release(h)\n") is None


def test_elif_chain_without_else_leaks_when_no_arm_runs():
    source = "def f(a, b):\n    h = make()\n    if a:\n        release(h)\n    elif b:\n        release(h)\n"
    assert leaks(source) == "when `b` is false"


def test_elif_chain_with_else_is_released():
    source = "def f(a, b):\n    h = make()\n    if a:\n        release(h)\n    elif b:\n        release(h)\n    else:\n        release(h)\n"
    assert leaks(source) is None


def test_never_released_is_a_straight_path_with_no_phrase():
    assert leaks("def f():\n    h = make()\n    work()\n") == ""


def test_released_straight_away():
    assert leaks("def f():\n    h = make()\n    work()\n    h.wait()\n") is None


def test_early_return_names_the_return():
    source = "def f(items):\n    h = make()\n    if not items:\n        return None\n    h.shutdown()\n"
    assert leaks(source) == "on the return at line 4"


def test_released_before_the_early_return():
    source = "def f(items):\n    h = make()\n    if not items:\n        h.shutdown()\n        return None\n    h.shutdown()\n"
    assert leaks(source) is None


def test_explicit_raise_leaks():
    source = "def f(x):\n    h = make()\n    if x:\n        raise ValueError(x)\n    release(h)\n"
    assert leaks(source) == "on the raise at line 4"


def test_raise_caught_by_its_own_handler_that_releases():
    source = (
        "def f(x):\n    h = make()\n    try:\n        if x:\n            raise ValueError(x)\n"
        "    except ValueError:\n        release(h)\n        return\n    release(h)\n"
    )
    assert leaks(source) is None


def test_project_exception_caught_by_a_builtin_name_is_unknown_and_quiet():
    source = "def f(x):\n    h = make()\n    try:\n        raise MyError()\n    except ValueError:\n        return\n    release(h)\n"
    assert leaks(source) is None


# -- loops ------------------------------------------------------------------------


def test_released_after_a_loop_with_break():
    source = "def f(items):\n    h = make()\n    for item in items:\n        if item:\n            break\n    release(h)\n"
    assert leaks(source) is None


def test_return_inside_a_loop_skips_the_release_after_it():
    source = "def f(items):\n    h = make()\n    for item in items:\n        if item:\n            return item\n    release(h)\n"
    assert leaks(source) == "on the return at line 5"


def test_released_only_inside_the_loop_body_leaks_when_the_loop_is_empty():
    source = "def f(items):\n    h = make()\n    for item in items:\n        release(h)\n"
    assert leaks(source) == "when the loop at line 3 ends"


def test_while_true_with_release_before_break():
    source = "def f():\n    h = make()\n    while True:\n        if done():\n            release(h)\n            break\n"
    assert leaks(source) is None


def test_while_true_without_exit_never_reaches_the_end():
    assert leaks("def f():\n    h = make()\n    while True:\n        work()\n") is None


def test_while_else_releases_unless_broken_out_of():
    source = "def f(x):\n    h = make()\n    while x():\n        if bad():\n            break\n    else:\n        release(h)\n"
    assert leaks(source) == "when the condition at line 4 is true"


def test_while_else_releasing_on_both_ways_out():
    source = "def f(x):\n    h = make()\n    while x():\n        if bad():\n            release(h)\n            break\n    else:\n        release(h)\n"
    assert leaks(source) is None


def test_continue_goes_back_to_the_loop_header():
    source = "def f(items):\n    h = make()\n    for item in items:\n        if item:\n            continue\n        work()\n    release(h)\n"
    assert leaks(source) is None


# -- try, finally, with ---------------------------------------------------------------


def test_released_in_finally():
    source = "def f():\n    h = make()\n    try:\n        work()\n    finally:\n        release(h)\n"
    assert leaks(source) is None


def test_return_inside_try_with_release_in_finally():
    source = "def f(x):\n    h = make()\n    try:\n        if x:\n            return 1\n        work()\n    finally:\n        release(h)\n    return 2\n"
    assert leaks(source) is None


def test_return_inside_try_and_release_after_it_leaks_through_the_finally():
    source = "def f(x):\n    h = make()\n    try:\n        if x:\n            return 1\n    finally:\n        log()\n    release(h)\n"
    assert leaks(source) == "on the return at line 5"


def test_finally_is_left_the_way_it_was_entered():
    # The return path releases before returning; the normal path releases
    # after the try.  A merged finally would invent normal -> return.
    source = (
        "def f(x):\n    h = make()\n    try:\n        if x:\n            release(h)\n            return 1\n"
        "        work()\n    finally:\n        log()\n    release(h)\n"
    )
    assert leaks(source) is None


def test_break_through_finally_goes_to_after_the_loop():
    source = "def f(items):\n    h = make()\n    for item in items:\n        try:\n            break\n        finally:\n            log()\n    release(h)\n"
    assert leaks(source) is None


def test_released_by_with():
    source = "def f():\n    h = make()\n    with h:\n        work()\n"
    case = Case(source)
    with_statement = next(s for s in walk_scope(case.function) if isinstance(s, cst.With))

    def is_release(node: FlowNode) -> bool:
        return node.statement is with_statement

    assert case.flows.leaks_on_some_path(case.function, case.start, is_release) is None


def test_with_exit_runs_on_return():
    source = "def f(x):\n    h = make()\n    with lock:\n        if x:\n            return 1\n    release(h)\n"
    assert leaks(source) == "on the return at line 5"


def test_release_inside_with_body_before_return():
    source = "def f(x):\n    h = make()\n    with lock:\n        release(h)\n        return 1\n"
    assert leaks(source) is None


def test_nested_try():
    source = (
        "def f():\n    h = make()\n    try:\n        try:\n            work()\n        finally:\n            log()\n"
        "    finally:\n        release(h)\n"
    )
    assert leaks(source) is None


def test_nested_try_with_return_passes_both_finally_bodies():
    source = (
        "def f(x):\n    h = make()\n    try:\n        try:\n            if x:\n                return 1\n        finally:\n            log()\n"
        "    finally:\n        release(h)\n    return 2\n"
    )
    assert leaks(source) is None


def test_a_return_runs_a_finally_with_its_own_try_finally_and_stays_a_return():
    # After the inner finally the path goes on as the return it was: it
    # leaves the function without reaching the release after the try.
    source = (
        "def f(x):\n    h = make()\n    try:\n        if x:\n            return 1\n    finally:\n"
        "        try:\n            log()\n        finally:\n            log()\n    release(h)\n"
    )
    assert leaks(source) == "on the return at line 5"


def test_an_exception_caught_inside_a_finally_body_keeps_the_return_going():
    source = (
        "def f(x):\n    h = make()\n    try:\n        if x:\n            return 1\n    finally:\n"
        "        try:\n            raise ValueError()\n        except ValueError:\n            pass\n    release(h)\n"
    )
    assert leaks(source) == "on the return at line 5"


def test_a_loop_inside_a_finally_body_keeps_the_return_going():
    source = (
        "def f(x):\n    h = make()\n    try:\n        if x:\n            return 1\n    finally:\n"
        "        while True:\n            if poll():\n                break\n    release(h)\n"
    )
    assert leaks(source) == "on the return at line 5"


def test_falling_through_a_finally_with_its_own_try_finally_reaches_the_release():
    source = (
        "def f():\n    h = make()\n    try:\n        work()\n    finally:\n"
        "        try:\n            log()\n        finally:\n            log()\n    release(h)\n"
    )
    assert leaks(source) is None


def test_a_return_inside_the_inner_finally_overrides_the_outer_reason():
    # The outer finally was entered by falling through; the inner body returns.
    source = (
        "def f(x):\n    h = make()\n    try:\n        work()\n    finally:\n"
        "        try:\n            log()\n        finally:\n            if x:\n                return 2\n    release(h)\n"
    )
    assert leaks(source) == "on the return at line 10"


def test_a_release_in_the_outer_finally_after_the_inner_one_covers_the_return():
    source = (
        "def f(x):\n    h = make()\n    try:\n        if x:\n            return 1\n    finally:\n"
        "        try:\n            log()\n        finally:\n            log()\n        release(h)\n    return 2\n"
    )
    assert leaks(source) is None


# -- exceptions that are a normal outcome -------------------------------------------


def test_timeout_caught_and_returned_from_without_a_release():
    source = """
    import subprocess
    def f():
        h = make()
        try:
            out, err = h.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            return None
        return out
    """
    assert leaks(source) == "after TimeoutExpired at line 6"


def test_timeout_caught_then_killed_and_waited():
    source = """
    import subprocess
    def f():
        h = make()
        try:
            out, err = h.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            h.kill()
            out, err = h.communicate()
        return out
    """
    assert leaks(source) is None


def test_uncaught_timeout_leaves_the_function():
    source = "def f():\n    h = make()\n    out = h.communicate(input, 5)\n    return out\n"
    case = Case(source)
    path = case.leak()
    assert path is not None and path.exit == "raise" and path.describe(case.line_of) == "after TimeoutExpired at line 3"


def test_untimed_communicate_releases():
    assert leaks("def f():\n    h = make()\n    out = h.communicate()\n    return out\n") is None


def test_wait_with_timeout_raises_only_where_something_catches_it():
    assert leaks("def f():\n    h = make()\n    event.wait(timeout=5)\n    h.wait()\n") is None
    source = "def f():\n    h = make()\n    try:\n        h.wait(timeout=5)\n    except TimeoutExpired:\n        h.kill()\n"
    assert leaks(source) == "after TimeoutExpired at line 4"


def test_queue_get_with_timeout_caught():
    source = (
        "import queue\ndef f(q):\n    h = make()\n    try:\n        item = q.get(timeout=1)\n"
        "    except queue.Empty:\n        return\n    release(h)\n"
    )
    assert leaks(source) == "after Empty at line 5"


def test_handler_for_another_exception_does_not_catch_the_timeout():
    source = "def f():\n    h = make()\n    try:\n        h.wait(timeout=5)\n    except ValueError:\n        return\n"
    assert leaks(source) is None  # nothing catches TimeoutExpired: wait() may not raise here at all


def test_os_call_inside_try_catching_oserror():
    source = "import os\ndef f(fd):\n    h = make()\n    try:\n        os.write(fd, b'x')\n    except OSError:\n        return False\n    release(h)\n"
    assert leaks(source) == "after OSError at line 5"


def test_handler_for_a_subclass_of_a_documented_exception():
    source = "def f(path):\n    h = make()\n    try:\n        data = open(path)\n    except FileNotFoundError:\n        return\n    release(h)\n"
    assert leaks(source) == "after OSError at line 4"


def test_plain_call_in_try_does_not_raise():
    source = "def f():\n    h = make()\n    try:\n        work()\n    except Exception:\n        return\n    release(h)\n"
    assert leaks(source) is None


def test_asyncio_wait_for_raises_its_timeout():
    source = "import asyncio\nasync def f():\n    h = make()\n    try:\n        await asyncio.wait_for(job(), 1)\n    except asyncio.TimeoutError:\n        return\n    release(h)\n"
    assert leaks(source) == "after TimeoutError at line 5"


def test_awaits_inside_asyncio_timeout_raise():
    source = "import asyncio\nasync def f():\n    h = make()\n    async with asyncio.timeout(1):\n        await job()\n    release(h)\n"
    case = Case(source)
    path = case.leak()
    assert path is not None and path.exit == "raise" and path.describe(case.line_of) == "after TimeoutError at line 5"


def test_assert_raises_only_into_a_handler_that_catches_it():
    assert leaks("def f(x):\n    h = make()\n    assert x\n    release(h)\n") is None
    source = "def f(x):\n    h = make()\n    try:\n        assert x\n    except AssertionError:\n        return\n    release(h)\n"
    assert leaks(source) == "after AssertionError at line 4"


def test_assert_false_always_raises():
    assert leaks("def f():\n    h = make()\n    assert False\n") == "on the raise at line 3"


# -- calls that never return --------------------------------------------------------


@pytest.mark.parametrize(
    "ending",
    ["sys.exit(1)", "os._exit(1)", "os.abort()", "os.execv(path, args)", "os.kill(os.getpid(), 9)", "pytest.fail('no')", "raise SystemExit(2)", "die()"],
)
def test_a_path_that_ends_the_process_leaks_nothing(ending):
    source = (
        "import os, sys, pytest\nfrom typing import NoReturn\n"
        "def die() -> NoReturn:\n    sys.exit(3)\n"
        f"def f(x):\n    h = make()\n    if x:\n        {ending}\n    release(h)\n"
    )
    assert leaks(source) is None


def test_an_ordinary_call_of_the_same_name_returns():
    source = "import os\ndef f(x):\n    h = make()\n    if x:\n        os.kill(pid, 9)\n    else:\n        release(h)\n"
    assert leaks(source) == "when `x` is true"


# -- match ------------------------------------------------------------------------


def test_match_arms_all_release():
    source = "def f(x):\n    h = make()\n    match x:\n        case 1:\n            release(h)\n        case _:\n            release(h)\n"
    assert leaks(source) is None


def test_match_without_a_wildcard_can_match_nothing():
    source = "def f(x):\n    h = make()\n    match x:\n        case 1:\n            release(h)\n        case [a, b]:\n            release(h)\n"
    assert leaks(source) == ""


def test_match_arm_that_returns():
    source = "def f(x):\n    h = make()\n    match x:\n        case 1:\n            return\n        case _:\n            pass\n    release(h)\n"
    assert leaks(source) == "on the return at line 5"


def test_try_star():
    source = "def f():\n    h = make()\n    try:\n        work()\n    except* ValueError:\n        pass\n    finally:\n        release(h)\n"
    assert leaks(source) is None


# -- the graph itself ---------------------------------------------------------------


def test_node_of_maps_expressions_to_their_statement():
    case = Case("def f(x):\n    h = make()\n    if h.poll():\n        h.wait()\n    def later():\n        h.wait()\n")
    if_statement = next(s for s in walk_scope(case.function) if isinstance(s, cst.If))
    nested = next(s for s in case.tree.function_defs if s.name.value == "later")
    graph = case.flows.graph(case.function)
    assert graph.node_of(if_statement.test).statement is if_statement
    inner_call = next(n for n in walk_scope(nested.body) if isinstance(n, cst.Call))
    assert graph.node_of(inner_call).statement is nested  # a closure's body runs later: its def stands for it
    assert graph.node_of(case.tree.module) is None


def test_graph_is_built_once_per_function():
    case = Case("def f():\n    h = make()\n    release(h)\n")
    assert case.flows.graph(case.function) is case.flows.graph(case.function)


def _many_branches(count: int) -> str:
    lines = ["def f(x):", "    h = make()"]
    for i in range(count):
        lines += [f"    if x == {i}:", f"        work({i})", "    else:", f"        other({i})"]
    lines.append("    if x:\n        release(h)")
    return "\n".join(lines) + "\n"


def test_five_thousand_branches_are_linear_work():
    small, big = Case(_many_branches(500)), Case(_many_branches(5000))
    for case in (small, big):
        path = case.leak()
        assert path is not None and path.describe(case.line_of) == "when `x` is false"
    small_graph, big_graph = small.flows.graph(small.function), big.flows.graph(big.function)
    # Ten times the branches: about ten times the nodes, build steps and search visits.
    assert len(big_graph.nodes) <= 10 * len(small_graph.nodes) + 10
    assert big_graph.build_steps <= 10 * small_graph.build_steps + 10
    assert big_graph.visits <= 10 * small_graph.visits + 10
    assert big_graph.visits <= 2 * len(big_graph.nodes)


def _nested_tries(depth: int) -> str:
    lines = ["def f(x):", "    h = make()"]
    for level in range(depth):
        indent = "    " * (level + 1)
        lines.append(f"{indent}try:")
    indent = "    " * (depth + 1)
    lines.append(f"{indent}if x:\n{indent}    return 1")
    for level in reversed(range(depth)):
        indent = "    " * (level + 1)
        lines += [f"{indent}except ValueError:", f"{indent}    pass", f"{indent}finally:", f"{indent}    log({level})"]
    lines.append("    release(h)")
    return "\n".join(lines) + "\n"


def test_deeply_nested_try_is_linear_and_does_not_recurse():
    small, big = Case(_nested_tries(10)), Case(_nested_tries(90))
    for case in (small, big):
        path = case.leak()
        assert path is not None and path.exit == "return"
    small_graph, big_graph = small.flows.graph(small.function), big.flows.graph(big.function)
    assert len(big_graph.nodes) <= 9 * len(small_graph.nodes) + 10
    assert big_graph.visits <= 9 * small_graph.visits + 20


def _nested_finally_bodies(depth: int) -> str:
    """Each finally body holds the next try: return, raise and fall through
    enter each body, so exact reasons for every level would multiply."""
    lines = ["def f(x, y):", "    h = make()"]
    for level in range(depth):
        indent = "    " * (2 * level + 1)
        lines += [
            f"{indent}try:",
            f"{indent}    if x:",
            f"{indent}        return {level}",
            f"{indent}    if y:",
            f"{indent}        raise ValueError()",
            f"{indent}finally:",
        ]
    lines.append("    " * (2 * depth + 1) + "log()")
    lines.append("    release(h)")
    return "\n".join(lines) + "\n"


def test_deeply_nested_finally_bodies_are_linear():
    small, big = Case(_nested_finally_bodies(10)), Case(_nested_finally_bodies(60))
    for case in (small, big):
        path = case.leak()
        assert path is not None and path.exit == "return"
    small_graph, big_graph = small.flows.graph(small.function), big.flows.graph(big.function)
    # Six times the levels: about six times the nodes, and a bounded number
    # of states per node (exact reasons for all 60 levels would be 3**60).
    assert len(big_graph.nodes) <= 6 * len(small_graph.nodes) + 10
    assert big_graph.visits <= 7 * small_graph.visits
    assert big_graph.visits <= 8 * len(big_graph.nodes)


def test_an_os_call_that_is_not_documented_to_raise_does_not():
    source = "import os\ndef f(path):\n    h = make()\n    try:\n        os.path.exists(path)\n    except OSError:\n        return False\n    release(h)\n"
    assert leaks(source) is None


def test_reachable_stops_at_barriers():
    case = Case("def f(x):\n    h = make()\n    if x:\n        keep(h)\n        after_keep()\n    else:\n        other()\n")
    graph = case.flows.graph(case.function)
    start = graph.node_of(case.start)
    reached = {graph.nodes[index].statement for index in graph.reachable(start, _is_release)}
    calls = {dotted for dotted in ("keep", "after_keep", "other")}
    by_name = {
        node.statement.value.func.value: node.statement
        for node in graph.nodes
        if isinstance(node.statement, cst.Expr) and isinstance(node.statement.value.func, cst.Name) and node.statement.value.func.value in calls
    }
    assert by_name["keep"] in reached and by_name["other"] in reached
    assert by_name["after_keep"] not in reached
