"""The shared analysis on shapes no fixture would hold: it must neither crash
nor recurse without end (each case once made a rule raise)."""

from __future__ import annotations

from leaklint import check_source


def _check(source: str):
    result = check_source(source)
    assert result.error is None and result.rule_errors == []
    return [(finding.line, finding.code) for finding in result.findings]


def test_aliases_that_go_round_in_circles():
    source = (
        "import asyncio\nimport multiprocessing\n"
        "def f():\n"
        "    a = b\n    b = a\n    a.Process(target=g).start()\n"
        "    loop = other\n    other = loop\n    loop.create_task(x)\n"
    )
    assert _check(source) == [(9, "LL101")]


def test_a_thousand_subclasses_deep():
    classes = "class C0:\n    pass\n" + "".join(f"class C{i}(C{i - 1}):\n    pass\n" for i in range(1, 1200))
    leaf = (
        "class Leaf(C1199):\n"
        "    def __init__(self, jobs):\n"
        "        self._worker = threading.Thread(target=drain, args=(jobs,))\n"
        "        self._worker.start()\n"
    )
    drain = "def drain(jobs):\n    for job in iter(jobs.get, None):\n        print(job)\n"
    source = "import threading\n" + drain + classes + leaf
    assert _check(source) == [(source.count("\n") - 1, "LL201")]


def test_a_class_named_like_its_base():
    # ``class A(A)`` derives from an earlier ``A`` we cannot see, which may
    # join the thread: quiet, and above all no endless walk up the bases.
    source = "import threading\nclass A(A):\n    def go(self):\n        self._t = threading.Thread(target=print)\n        self._t.start()\n"
    assert _check(source) == []
