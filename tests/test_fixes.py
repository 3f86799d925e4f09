"""Fixes, checked the way ruff's harness checks them: for every fixture finding
that has a fix, the fix alone parses, removes that finding and adds none,
leaves every line it does not edit byte for byte and keeps every comment; a
whole file fixed twice changes nothing the second time; the safety a rule
declares in its documentation is the safety it emits.  Then the builders'
refusals (no fix beats a wrong fix), text layouts (CRLF, tabs, non-ASCII),
overlaps, and the cache."""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from collections import Counter
from pathlib import Path
from typing import List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaklint import check_source
from leaklint.config import Settings
from leaklint.finding import SAFE, UNSAFE, Edit, Finding
from leaklint.fixes import apply_edits, fix_source
from leaklint.noqa import add_noqa, is_suppressed
from leaklint.registry import all_rules, rule_by_code
from leaklint.runner import check_files
from tests.expectations import FIXTURES, fixture_files


def _fixable(path: Path) -> List[Tuple[str, Finding]]:
    text = path.read_text(encoding="utf-8")
    return [(text, finding) for finding in check_source(text, str(path)).findings if finding.fix is not None]


CASES = [(path, text, finding) for path in fixture_files() for text, finding in _fixable(path)]


def _case_id(case) -> str:
    path, _, finding = case
    return f"{path.relative_to(FIXTURES)}:{finding.line}:{finding.code}"


def _identity(finding: Finding) -> Tuple[str, str]:
    return (finding.code, finding.message)


def _comments(text: str) -> Counter:
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return Counter(token.string for token in tokens if token.type == tokenize.COMMENT)


def test_the_fixtures_have_fixes_for_each_fixing_rule():
    codes = {finding.code for _, _, finding in CASES}
    assert {"LL101", "LL102", "LL103", "LL202", "LL203"} <= codes


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_one_fix_parses_removes_its_finding_and_adds_none(case):
    path, text, finding = case
    fixed = apply_edits(text, finding.fix.edits)
    ast.parse(fixed)
    result = check_source(fixed, str(path))
    assert result.error is None
    before = Counter(_identity(other) for other in check_source(text, str(path)).findings)
    before[_identity(finding)] -= 1
    assert Counter(_identity(other) for other in result.findings) == +before


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_one_fix_keeps_every_line_it_does_not_edit_and_every_comment(case):
    _, text, finding = case
    fixed = apply_edits(text, finding.fix.edits)
    edited = {number for edit in finding.fix.edits for number in range(edit.line, edit.end_line + 1)}
    # An insertion at the start of a line leaves that line whole after it.
    edited -= {edit.line for edit in finding.fix.edits if edit.column == 1 and (edit.line, 1) == (edit.end_line, edit.end_column)}
    untouched = [line for number, line in enumerate(text.splitlines(keepends=True), start=1) if number not in edited]
    remaining = iter(fixed.splitlines(keepends=True))
    for line in untouched:  # in order, byte for byte
        assert any(candidate == line for candidate in remaining), f"line lost or changed: {line!r}"
    assert _comments(fixed) == _comments(text)


@pytest.mark.parametrize("path", sorted({path for path, _, _ in CASES}), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixing_a_whole_file_converges_and_a_second_pass_changes_nothing(path):
    text = path.read_text(encoding="utf-8")
    outcome = fix_source(text, str(path), unsafe=True)
    assert outcome.error is None
    compile(outcome.text, str(path), "exec", dont_inherit=True)
    assert outcome.applied
    assert not [finding for finding in outcome.remaining if finding.fix is not None]
    again = fix_source(outcome.text, str(path), unsafe=True)
    assert (again.text, again.applied) == (outcome.text, [])
    # Only the fixed findings are gone.
    before = Counter(_identity(finding) for finding in check_source(text, str(path)).findings)
    before.subtract(_identity(finding) for finding in outcome.applied)
    assert Counter(_identity(finding) for finding in outcome.remaining) == +before


def _documented_safety(code: str):
    documentation = rule_by_code(code).documentation()
    if "## Fix safety" not in documentation:
        return None
    section = documentation.split("## Fix safety", 1)[1].split("\n## ", 1)[0]
    found = set(re.findall(r"\*\*(safe|unsafe)\*\*", section))
    assert len(found) == 1, f"{code}: the Fix safety section names one safety in bold"
    return found.pop()


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_the_declared_safety_is_what_the_rule_emits(case):
    _, _, finding = case
    assert finding.fix.safety in (SAFE, UNSAFE)
    assert finding.fix.safety == _documented_safety(finding.code)


def test_a_rule_without_a_fix_safety_section_emits_no_fix():
    fixing = {finding.code for _, _, finding in CASES}
    for rule in all_rules():
        assert (_documented_safety(rule.code) is not None) == (rule.code in fixing), rule.code


# -- what the fixes look like ------------------------------------------------------


def _fixed(source: str) -> str:
    outcome = fix_source(textwrap.dedent(source), unsafe=True)
    assert outcome.error is None
    return outcome.text


def test_dangling_tasks_share_one_new_set_added_once_after_the_imports():
    source = '''\
        """Doc."""
        from __future__ import annotations

        import asyncio
        # a comment that stays

        async def a():
            asyncio.create_task(work())  # keep me

        async def b(loop):
            _ = loop.create_task(work())
            asyncio.ensure_future(asyncio.sleep(1)).add_done_callback(print)
        '''
    outcome = fix_source(textwrap.dedent(source), unsafe=True)
    assert len(outcome.applied) == 3 and not outcome.remaining
    assert outcome.text == textwrap.dedent(
        '''\
        """Doc."""
        from __future__ import annotations

        import asyncio

        background_tasks = set()
        # a comment that stays

        async def a():
            task = asyncio.create_task(work())  # keep me
            background_tasks.add(task)
            task.add_done_callback(background_tasks.discard)

        async def b(loop):
            task = loop.create_task(work())
            background_tasks.add(task)
            task.add_done_callback(background_tasks.discard)
            task = asyncio.ensure_future(asyncio.sleep(1))
            task.add_done_callback(print)
            background_tasks.add(task)
            task.add_done_callback(background_tasks.discard)
        '''
    )


def test_the_set_and_the_task_are_named_to_collide_with_nothing():
    fixed = _fixed(
        """\
        import asyncio

        def background_tasks():
            pass

        async def a(task):
            asyncio.create_task(task)
        """
    )
    assert "background_tasks_1 = set()" in fixed
    assert "    task_1 = asyncio.create_task(task)\n    background_tasks_1.add(task_1)\n" in fixed


def test_an_existing_set_of_background_tasks_is_reused_only_if_defined_before():
    before = """\
        import asyncio

        running = set()

        async def a():
            asyncio.create_task(work())
        """
    assert "running.add(task)" in _fixed(before) and "background_tasks" not in _fixed(before)
    after = """\
        import asyncio

        async def a():
            asyncio.create_task(work())

        running = set()
        """
    assert "background_tasks.add(task)" in _fixed(after)
    used_otherwise = """\
        import asyncio

        running = set()
        print(len(running))

        async def a():
            asyncio.create_task(work())
        """
    assert "background_tasks.add(task)" in _fixed(used_otherwise)


def test_unused_task_gets_kept():
    fixed = _fixed(
        """\
        import asyncio

        async def a():
            task: asyncio.Task = asyncio.create_task(work())
            await other()
        """
    )
    assert "    task: asyncio.Task = asyncio.create_task(work())\n    background_tasks.add(task)\n" in fixed


def test_executor_becomes_a_with_statement_around_the_statements_that_use_it():
    fixed = _fixed(
        '''\
        from concurrent.futures import ThreadPoolExecutor

        def f(items):
            executor = ThreadPoolExecutor(  # four
                max_workers=4,
            )
            futures = [executor.submit(g, item) for item in items]

            # wait for them
            results = [future.result() for future in futures]
            log("done")
            return results
        '''
    )
    assert fixed.endswith(
        '''\
    with ThreadPoolExecutor(  # four
        max_workers=4,
    ) as executor:
        futures = [executor.submit(g, item) for item in items]

    # wait for them
    results = [future.result() for future in futures]
    log("done")
    return results
'''
    )


NO_FIX = {
    "closure": """\
        from concurrent.futures import ThreadPoolExecutor

        def f():
            executor = ThreadPoolExecutor()
            return lambda: executor.submit(g)
        """,
    "generator expression": """\
        from concurrent.futures import ThreadPoolExecutor

        def f(items):
            executor = ThreadPoolExecutor()
            return (executor.submit(g, item) for item in items)
        """,
    "method handed on": """\
        from concurrent.futures import ThreadPoolExecutor

        def f():
            executor = ThreadPoolExecutor()
            return functools.partial(executor.submit, g)
        """,
    "set rebound in the module": """\
        import asyncio
        from sets import Set as set

        async def f():
            asyncio.create_task(work())
        """,
    "lazy pool results": """\
        import multiprocessing

        def f(items):
            pool = multiprocessing.Pool()
            return pool.imap(g, items)
        """,
    "multi-line string in the body": '''\
        from concurrent.futures import ThreadPoolExecutor

        def f():
            executor = ThreadPoolExecutor()
            executor.submit(g, """a
        b""")
        ''',
    "child not killed": """\
        import subprocess

        def f():
            child = subprocess.Popen(["server"])
            print(child.pid)
        """,
    "two statements on the line": """\
        import asyncio

        async def f():
            x = 1; asyncio.create_task(work())
        """,
    "module level": """\
        import asyncio

        asyncio.create_task(work())
        """,
    "one-line function": """\
        import asyncio

        async def f(): asyncio.create_task(work())
        """,
    "a name bound twice": """\
        import asyncio

        async def f():
            task = asyncio.create_task(work())
            task = asyncio.create_task(work())
        """,
    "tasks in a list": """\
        import asyncio

        async def f():
            tasks = [asyncio.create_task(work()) for _ in range(3)]
        """,
}


@pytest.mark.parametrize("source", NO_FIX.values(), ids=NO_FIX.keys())
def test_no_fix_where_it_is_not_evidently_right(source):
    findings = check_source(textwrap.dedent(source)).findings
    assert findings, "the case must be reported"
    assert [finding.fix for finding in findings] == [None] * len(findings)


# -- text layouts ------------------------------------------------------------------


def test_crlf_tabs_and_non_ascii_are_kept():
    source = (
        "from concurrent.futures import ThreadPoolExecutor\r\n"
        "import asyncio\r\n"
        "\r\n"
        "def f(items):\r\n"
        "\tname = 'ünïcødé 日本'\r\n"
        "\texecutor = ThreadPoolExecutor(thread_name_prefix='é')  # ß\r\n"
        "\treturn list(executor.map(g, items))\r\n"
        "\r\n"
        "async def h():\r\n"
        "\tasyncio.create_task(work('€'))  # €\r\n"
    )
    outcome = fix_source(source, unsafe=True)
    assert outcome.error is None and len(outcome.applied) == 2
    fixed = outcome.text
    assert "\n" not in fixed.replace("\r\n", "")  # every line ending still CRLF
    assert "\twith ThreadPoolExecutor(thread_name_prefix='é') as executor:  # ß\r\n\t\treturn list(" in fixed
    assert "\ttask = asyncio.create_task(work('€'))  # €\r\n\tbackground_tasks.add(task)\r\n" in fixed
    compile(fixed, "<crlf>", "exec")


def test_a_last_line_without_a_line_ending():
    outcome = fix_source("import asyncio\nasync def f():\n    asyncio.create_task(g())", unsafe=True)
    assert outcome.text.endswith("    task = asyncio.create_task(g())\n    background_tasks.add(task)\n    task.add_done_callback(background_tasks.discard)")
    compile(outcome.text, "<eof>", "exec")


# -- the engine of fixes -----------------------------------------------------------


def test_safe_fixes_only_unless_asked():
    outcome = fix_source("import asyncio\nasync def f():\n    asyncio.create_task(g())\n")
    assert outcome.applied == [] and outcome.remaining[0].fix.safety == UNSAFE


def test_identical_edits_of_two_fixes_are_applied_once():
    edit = Edit(1, 1, 1, 1, "x = 1\n")
    assert apply_edits("y = 2\n", [edit, edit]) == "x = 1\ny = 2\n"


def test_a_suppressed_finding_is_never_fixed():
    source = "import asyncio\nasync def f():\n    asyncio.create_task(g())  # noqa: LL101\n"

    def suppress(findings, text):
        lines = text.splitlines()
        return [finding for finding in findings if not is_suppressed(lines[finding.line - 1], finding.code)]

    assert fix_source(source, unsafe=True, suppress=suppress).text == source


def test_a_round_of_fixes_that_would_break_the_file_is_not_applied(monkeypatch):
    from leaklint.analysis.edits import PlannedFix, Replace, end, start
    from leaklint.rules.tasks import dangling_task

    def breaking(facts, handle):
        return PlannedFix("break it", UNSAFE, (Replace(start(handle.call), end(handle.call), "("),))

    monkeypatch.setattr(dangling_task, "keep_in_background_set", breaking)
    source = "import asyncio\nasync def f():\n    asyncio.create_task(g())\n"
    outcome = fix_source(source, unsafe=True)
    assert outcome.text == source and outcome.applied == []
    assert "would break the file" in outcome.error


def test_a_broken_fix_builder_costs_the_fix_not_the_finding(monkeypatch):
    from leaklint.rules.tasks import dangling_task

    def crashing(facts, handle):
        raise RuntimeError("bug")

    monkeypatch.setattr(dangling_task, "keep_in_background_set", crashing)
    result = check_source("import asyncio\nasync def f():\n    asyncio.create_task(g())\n")
    assert [(finding.code, finding.fix) for finding in result.findings] == [("LL101", None)]
    assert result.rule_errors == []


def test_a_warm_cache_gives_the_same_fixes(tmp_path):
    settings = Settings(root=tmp_path)
    paths = [str(path) for path in fixture_files()]
    cold = check_files(paths, settings, jobs=1, cache_dir=tmp_path / "cache")
    warm = check_files(paths, settings, jobs=1, cache_dir=tmp_path / "cache")
    fixes = [(finding.key, finding.fix) for result in cold for finding in result.findings]
    assert any(fix is not None for _, fix in fixes)
    assert [(finding.key, finding.fix) for result in warm for finding in result.findings] == fixes


# -- add_noqa -----------------------------------------------------------------------

NOQA_CASES = [
    ("f()\n", ["LL101"], "f()  # noqa: LL101\n"),
    ("f()   \r\n", ["LL202", "LL101"], "f()  # noqa: LL101, LL202\r\n"),
    ("f()  # why\n", ["LL101"], "f()  # why  # noqa: LL101\n"),
    ("f()  # noqa: E501\n", ["LL101"], "f()  # noqa: E501, LL101\n"),
    ("f()  # noqa:E501,W291\n", ["LL101"], "f()  # noqa:E501,W291,LL101\n"),
    ("f()  # noqa: LL1\n", ["LL101"], "f()  # noqa: LL1\n"),
    ("f()  # noqa\n", ["LL101"], "f()  # noqa\n"),
    ("f('#', x)", ["LL101"], "f('#', x)  # noqa: LL101"),
    ('f("""\n', ["LL101"], 'f("""\n'),  # ends inside a string: cannot carry a comment
    ("f(1) + \\\n", ["LL101"], "f(1) + \\\n"),
]


@pytest.mark.parametrize("line, codes, expected", NOQA_CASES)
def test_add_noqa(line, codes, expected):
    assert add_noqa(line, codes) == expected
    if expected != line or "noqa" in line:
        assert all(is_suppressed(expected, code) for code in codes)


# -- the await builder (LL103's fix), through a rule of the test's own ------------


def test_await_call_awaits_a_dropped_call_inside_async_def_only():
    import libcst as cst

    from leaklint.fix_builders import await_call
    from leaklint.rule import Rule

    class DroppedRefresh(Rule):
        code, name, message, trigger = "LL999", "dropped-refresh", "refresh() dropped", "refresh"

        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == "refresh":
                self.report(node)

        def fix(self, node):
            return await_call(self.facts, node)

    source = textwrap.dedent(
        """\
        async def a():
            refresh()  # now
            x = refresh()

        def b():
            refresh()
        """
    )
    fixes = {finding.line: finding.fix for finding in check_source(source, rules=[DroppedRefresh]).findings}
    assert fixes[3] is None and fixes[6] is None  # not a statement; not in a coroutine
    assert fixes[2].safety == SAFE
    outcome = fix_source(source, rules=[DroppedRefresh])
    assert outcome.text == source.replace("    refresh()  # now", "    await refresh()  # now")


# -- generated code: every fix that is offered is right ------------------------------

STATEMENTS = [
    "asyncio.create_task(work())",
    "_ = asyncio.ensure_future(asyncio.sleep(1))  # why",
    "asyncio.create_task(work()).add_done_callback(print)",
    "task = asyncio.create_task(work())",
    "task = asyncio.create_task(work())\nawait task",
    "executor = ThreadPoolExecutor()",
    "executor.submit(work)",
    "pool = multiprocessing.Pool()",
    "pool.map(work, [1])",
    "pool.imap(work, [1])",
    "child = subprocess.Popen(['sleep', '9'])",
    "child.kill()",
    "asyncio.sleep(1)  # nap",
    "asyncio.wait_for(asyncio.sleep(1), 2)",
    "print(task, executor)",
    "background_tasks = set()",
    "set = frozenset",
    "s = '''a\nb'''",
    "# a comment",
    "",
    "x = [executor.submit(work) for _ in range(2)]",
    "return (child.kill() for _ in [1])",
    "asyncio.create_task(\n    work(),  # inside\n)",
    "if x:\n    asyncio.create_task(work())\n    executor = ThreadPoolExecutor()\n    executor.submit(work)",
    "for i in range(2):\n    child = subprocess.Popen(['true'])\n    child.terminate()",
    "try:\n    child = subprocess.Popen(['true'])\n    child.kill()\nexcept OSError:\n    pass",
    "with open(x) as fh:\n    executor = ThreadPoolExecutor()\n    # submit\n\n    executor.submit(work, fh)",
    "def inner():\n    asyncio.create_task(work())\n    pool = multiprocessing.Pool()\n    return pool.map(work, [1])",
    "executor = ThreadPoolExecutor(\n    max_workers=2,\n)  # two",
    "task = asyncio.create_task(work()); x = 1",
]
GENERATED_HEADER = "import asyncio, multiprocessing, subprocess\nfrom concurrent.futures import ThreadPoolExecutor\n"
HEADERS = [
    GENERATED_HEADER,
    '"""Doc."""\nfrom __future__ import annotations\n' + GENERATED_HEADER,
    "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n" + GENERATED_HEADER + "# after the imports\n",
    GENERATED_HEADER + "try:\n    import uvloop\nexcept ImportError:\n    uvloop = None\n",
    "VERSION = 1\n" + GENERATED_HEADER,
    "@decorate\nclass First:\n    pass\n" + GENERATED_HEADER,
]


def _indented(statement: str, indent: str) -> str:
    return "".join(f"{indent}{line}\n" if line else "\n" for line in statement.split("\n"))


@settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.sampled_from(STATEMENTS), min_size=1, max_size=8),
    st.sampled_from(["    ", "\t", "  "]),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.booleans(),
    st.sampled_from(HEADERS),
)
def test_every_offered_fix_on_generated_code_is_right(statements, indent, newline, asynchronous, module_set, header):
    body = "".join(_indented(statement, indent) for statement in statements)
    source = header + ("background_tasks = set()\n" if module_set else "") + "\n"
    source += f"{'async ' if asynchronous else ''}def f(x):\n{body}{indent}pass\n"
    source = source.replace("\n", newline)
    try:
        compile(source, "<generated>", "exec", dont_inherit=True)
    except SyntaxError:
        return  # ``await`` outside ``async def``, ``return`` with a value in a generator...
    findings = check_source(source).findings
    for finding in findings:
        if finding.fix is None:
            continue
        fixed = apply_edits(source, finding.fix.edits)
        compile(fixed, "<fixed>", "exec", dont_inherit=True)
        assert "\n" not in fixed.replace("\r\n", "") if newline == "\r\n" else "\r" not in fixed
        before = Counter(_identity(other) for other in findings)
        before[_identity(finding)] -= 1
        assert Counter(_identity(other) for other in check_source(fixed).findings) == +before, fixed
        assert _comments(fixed) == _comments(source)
    outcome = fix_source(source, unsafe=True)
    assert outcome.error is None
    compile(outcome.text, "<fixed>", "exec", dont_inherit=True)


def test_lines_inserted_where_another_fix_indents_wait_for_the_next_round():
    # Found by the generator: the task's new lines would have missed the new indentation.
    source = textwrap.dedent(
        """\
        import asyncio, multiprocessing

        def f():
            pool = multiprocessing.Pool()
            _ = asyncio.create_task(work())  # why
            pool.map(work, [1])
        """
    )
    outcome = fix_source(source, unsafe=True)
    assert outcome.error is None and len(outcome.applied) == 2
    assert outcome.text.endswith(
        "    with multiprocessing.Pool() as pool:\n"
        "        task = asyncio.create_task(work())  # why\n"
        "        background_tasks.add(task)\n"
        "        task.add_done_callback(background_tasks.discard)\n"
        "        pool.map(work, [1])\n"
    )


def test_a_file_given_a_fix_leaves_no_tree_behind():
    # The layout every fix of a module shares is kept per tree; holding the
    # tree from the layout kept every such file's tree alive for good (an
    # editor session, or a run over a large project, grew without end).
    import gc

    from leaklint import fix_builders
    from leaklint.engine import check_source

    source = "import asyncio\n\n\nasync def work():\n    await asyncio.sleep(1)\n\n\nasync def main():\n    asyncio.create_task(work())\n"
    gc.collect()
    before = len(fix_builders._layouts)
    result = check_source(source, "leaves_nothing.py")
    assert [finding.code for finding in result.findings] == ["LL101"]
    assert result.findings[0].fix is not None
    gc.collect()
    assert len(fix_builders._layouts) == before
