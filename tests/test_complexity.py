"""The analysis costs linear time in a module's size: guarded by counting work,
never by timing it (speed is measured in ``benchmarks/``).

Nearly every question the shared analysis answers climbs the tree through
``SyntaxTree.parent``: scopes, enclosing functions and methods, where a
handle's value goes, what a use of it does.  Counting those lookups per node
of the module shows how the cost grows: a per-call scan of a name's uses (the
old ``self``-scan) makes the count per node grow with the module, an index
keeps it flat."""

from __future__ import annotations

from typing import Dict

import pytest

from leaklint import check_source
from leaklint.analysis import tree as tree_module


class CountingDict(dict):
    lookups = 0

    def get(self, key, default=None):
        CountingDict.lookups += 1
        return super().get(key, default)

    def __getitem__(self, key):
        CountingDict.lookups += 1
        return super().__getitem__(key)


def big_class(methods: int) -> str:
    """One class whose methods do what real code does: call helpers on
    ``self``, create tasks on the instance's loop, start threads, run
    children, loop until told to stop."""
    lines = [
        "import asyncio, queue, subprocess, threading",
        "class Service:",
        "    def __init__(self):",
        "        self._loop = asyncio.get_event_loop()",
        "        self._queue = queue.Queue()",
    ]
    for index in range(methods):
        lines.append(f"    def method_{index}(self, item):")
        shape = index % 4
        if shape == 0:
            lines += [
                f"        self._worker_{index} = threading.Thread(target=self.method_{index + 1})",
                f"        self._worker_{index}.start()",
                "        return self.helper(item)",
            ]
        elif shape == 1:
            lines += [
                f"        task = self._loop.create_task(self.method_{index - 1}(item))",
                "        self.tasks.add(task)",
            ]
        elif shape == 2:
            lines += ["        child = subprocess.Popen(['true'])", "        child.wait()", "        self._queue.put(item)"]
        else:
            lines += ["        while True:", "            if self.ready(item):", "                break", "            self.poll()"]
    return "\n".join(lines) + "\n"


def many_functions(functions: int) -> str:
    lines = ["import asyncio, threading"]
    for index in range(functions):
        lines += [
            f"def work_{index}(loop, items):",
            "    task = loop.create_task(fetch(items))",
            "    worker = threading.Thread(target=print)",
            "    worker.start()",
            "    worker.join()",
            "    loop.create_task(log(items))",
            "    return task",
        ]
    return "\n".join(lines) + "\n"


def lookups_per_node(source: str, monkeypatch) -> float:
    nodes: Dict[str, int] = {}
    original_init = tree_module.SyntaxTree.__init__

    def counting_init(self, module, visited_types=()):
        original_init(self, module, visited_types)
        nodes["count"] = len(self.parent) + 1
        self.parent = CountingDict(self.parent)

    monkeypatch.setattr(tree_module.SyntaxTree, "__init__", counting_init)
    CountingDict.lookups = 0
    result = check_source(source)
    assert result.error is None and result.rule_errors == []
    assert result.findings, "the generated module must give the rules work"
    return CountingDict.lookups / nodes["count"]


@pytest.mark.parametrize("generate", [big_class, many_functions], ids=["one-class", "many-functions"])
def test_work_per_node_stays_flat_as_the_module_grows(generate, monkeypatch):
    small = lookups_per_node(generate(250), monkeypatch)
    large = lookups_per_node(generate(2000), monkeypatch)
    # Eight times the code may cost eight times the work, not more: allow a
    # little for the few answers that depend on nesting, not on size.
    assert large <= small * 1.25, f"{small:.2f} lookups per node at 250, {large:.2f} at 2000"


def test_a_chain_of_coroutines_each_awaiting_the_next_twice_is_judged_once_per_function(monkeypatch):
    """Whether a task's coroutine ever suspends follows what it awaits: each
    function is judged once, however many paths lead to it (2 ** 30 here)."""
    from leaklint.analysis.coroutines import Coroutines

    depth = 30
    lines = ["import asyncio", "class Service:", "    async def _work(self):", "        await self._h0()"]
    for level in range(depth):
        lines += [f"    async def _h{level}(self):", f"        await self._h{level + 1}()", f"        await self._h{level + 1}()"]
    lines += [f"    async def _h{depth}(self):", "        return 1", "    def start(self):", "        asyncio.create_task(self._work())"]
    asked = 0
    never_suspends = Coroutines.never_suspends

    def counted(self, expr):
        nonlocal asked
        asked += 1
        if asked > 10_000:
            raise AssertionError("judged along every path")
        return never_suspends(self, expr)

    monkeypatch.setattr(Coroutines, "never_suspends", counted)
    result = check_source("\n".join(lines) + "\n")
    assert result.error is None and result.rule_errors == []
    assert asked <= 4 * (depth + 2)
    assert result.findings == []  # nothing in the chain suspends: the dropped task loses nothing
