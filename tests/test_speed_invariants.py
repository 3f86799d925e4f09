"""What the speed machinery must never change: the findings.

Whatever the number of processes, a cold or warm cache, or the textual
pre-check, every file gets the same result; a stale, corrupt or unwritable
cache never leaks into the results; a worker that dies or a file that takes
forever costs that one file a one-line error, not the run.  No timings are
asserted here: speed lives in ``benchmarks/``."""

from __future__ import annotations

import ast
import json
import os
import signal
import sysconfig
import threading
import time
from pathlib import Path
from typing import List

import pytest

from leaklint import runner
from leaklint.cache import CACHE_DIR_NAME
from leaklint.config import Settings
from leaklint.engine import check_source
from leaklint.registry import select_rules
from leaklint.runner import Checker, check_files
from tests.expectations import fixture_files

STDLIB_SAMPLE_SIZE = 150


def outcome(results) -> List[tuple]:
    return [(result.path, result.findings, result.error, result.rule_errors) for result in results]


def stdlib_sample() -> List[str]:
    """About 150 stdlib files, every n-th in path order (the same on every run)
    of those under 40 kB (to keep this quick), plus a few test modules (in
    every Python version) where the rules find things."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    everything = sorted(
        path
        for path in stdlib.rglob("*.py")
        if not {"site-packages", "dist-packages", "__pycache__"} & set(path.relative_to(stdlib).parts)
    )
    small = [path for path in everything if path.stat().st_size < 40_000]
    step = max(1, len(small) // (STDLIB_SAMPLE_SIZE - 3))
    chosen = set(small[::step])
    with_findings = {"test/test_asyncio/test_locks.py", "test/test_asyncio/test_queues.py", "test/test_threading.py"}
    chosen.update(path for path in everything if path.relative_to(stdlib).as_posix() in with_findings)
    return [str(path) for path in sorted(chosen)]


@pytest.fixture
def pool_always(monkeypatch):
    """Send even a few small files to the worker pool, and treat some as large
    (checked one at a time) so that both lanes of the pool are used."""
    monkeypatch.setattr(runner, "_IN_PROCESS_BYTES", 0)
    monkeypatch.setattr(runner, "_LARGE_FILE_BYTES", 4096)


def requires_fork():
    if runner._context().get_start_method() != "fork":
        pytest.skip("the worker-failure tests patch the checker in the parent, which only forked workers inherit")


def count_checks(monkeypatch) -> List[str]:
    """Record every file really checked (not answered from the cache) in this process."""
    checked: List[str] = []
    original = Checker.check_bytes

    def counting(self, path, data):
        checked.append(path)
        return original(self, path, data)

    monkeypatch.setattr(Checker, "check_bytes", counting)
    return checked


# -- same findings whatever the route -------------------------------------------------


@pytest.mark.parametrize("corpus", ["fixtures", "stdlib sample"])
def test_findings_are_the_same_with_any_jobs_and_cache(corpus, tmp_path, pool_always):
    paths = [str(path) for path in fixture_files()] if corpus == "fixtures" else stdlib_sample()
    settings = Settings(root=tmp_path)
    one_process = outcome(check_files(paths, settings, jobs=1, use_cache=False))
    assert [entry[0] for entry in one_process] == paths  # in the order given
    assert any(entry[1] for entry in one_process), "the corpus should hold findings, or this test proves little"
    assert outcome(check_files(paths, settings, jobs=2, use_cache=False)) == one_process
    cache_dir = tmp_path / "cache"
    assert outcome(check_files(paths, settings, jobs=2, cache_dir=cache_dir)) == one_process  # cold
    assert outcome(check_files(paths, settings, jobs=2, cache_dir=cache_dir)) == one_process  # warm
    assert outcome(check_files(paths, settings, jobs=1, cache_dir=cache_dir)) == one_process  # warm, one process


def test_precheck_changes_no_finding_on_a_real_tree():
    from leaklint.analysis.project import ProjectIndex

    rules = select_rules()
    index = ProjectIndex()  # as the command checks: the pre-checks ask the project too
    for path in stdlib_sample():
        source = Path(path).read_bytes()
        with_precheck = check_source(source, path, rules, project=index)
        without = check_source(source, path, rules, precheck=False, project=index)
        assert with_precheck.findings == without.findings, path
        if with_precheck.error != without.error:
            # Valid Python that libcst rejects (``(name): int = 1`` in 3.13's
            # test/typinganndata/ann_module.py): a file no rule can fire in is
            # only read by Python's parser, so only the full parse reports it.
            assert with_precheck.error is None and python_accepts(source), path
            assert without.error is not None and without.error.startswith("syntax error"), path


def python_accepts(source: bytes) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


# -- the cache -------------------------------------------------------------------------

LEAKY = "import asyncio\n\nasync def main():\n    asyncio.create_task(work())\n"
CLEAN = "import asyncio\n\nasync def main():\n    await work()\n"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "leaky.py").write_text(LEAKY, encoding="utf-8")
    (tmp_path / "clean.py").write_text(CLEAN, encoding="utf-8")
    (tmp_path / "broken.py").write_text("def (:\n", encoding="utf-8")
    paths = [str(tmp_path / name) for name in ("leaky.py", "clean.py", "broken.py")]
    return Settings(root=tmp_path), paths


def test_a_warm_cache_answers_without_checking_and_gives_the_same_results(project, monkeypatch):
    settings, paths = project
    cold = outcome(check_files(paths, settings, jobs=1))
    assert cold[0][1] and not cold[1][1] and cold[2][2]  # a finding, none, a file error
    checked = count_checks(monkeypatch)
    assert outcome(check_files(paths, settings, jobs=1)) == cold
    assert checked == []  # findings, "no findings" and file errors all came from the cache
    cache_dir = settings.root / CACHE_DIR_NAME
    assert (cache_dir / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"


def test_the_cache_follows_the_path_it_is_asked_with(project, monkeypatch):
    settings, paths = project
    check_files(paths, settings, jobs=1)
    monkeypatch.chdir(settings.root)
    relative = [os.path.basename(path) for path in paths]
    results = check_files(relative, settings, jobs=1)
    assert [finding.path for result in results for finding in result.findings] == ["leaky.py"]


def test_a_changed_setting_is_not_answered_from_the_cache(project):
    settings, paths = project
    assert check_files(paths, settings, jobs=1)[0].findings
    ignoring = Settings(root=settings.root, ignore=["LL1"])
    assert check_files(paths, ignoring, jobs=1)[0].findings == []
    per_file = Settings(root=settings.root, per_file_ignores={"leaky.py": ["LL101"]})
    assert check_files(paths, per_file, jobs=1)[0].findings == []
    assert check_files(paths, settings, jobs=1)[0].findings  # and back


def test_another_leaklint_version_does_not_read_the_cache(project, monkeypatch):
    settings, paths = project
    check_files(paths, settings, jobs=1)
    monkeypatch.setattr("leaklint.cache.__version__", "999.0")
    checked = count_checks(monkeypatch)
    check_files(paths, settings, jobs=1)
    assert len(checked) == len(paths)


@pytest.mark.parametrize("same_size", [True, False])
def test_changed_content_is_checked_again(project, same_size):
    settings, paths = project
    leaky = Path(paths[0])
    assert check_files(paths, settings, jobs=1)[0].findings
    # Same size and (on a coarse clock) the same mtime: only the content tells.
    fixed = LEAKY.replace("asyncio.create_task(work())", "await asyncio.sleep(100000)")
    if not same_size:
        fixed += "\n\n"
    before = leaky.stat()
    leaky.write_text(fixed, encoding="utf-8")
    if same_size:
        os.utime(leaky, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert leaky.stat().st_size == before.st_size
    assert check_files(paths, settings, jobs=1)[0].findings == []


def test_a_touched_but_unchanged_file_is_not_checked_again(project, monkeypatch):
    settings, paths = project
    cold = outcome(check_files(paths, settings, jobs=1))
    later = time.time() + 10
    os.utime(paths[0], (later, later))
    checked = count_checks(monkeypatch)
    assert outcome(check_files(paths, settings, jobs=1)) == cold
    assert checked == []


@pytest.mark.parametrize(
    "garbage",
    [b"\x00\xffnot json", b"[1, 2]", b'{"format": 1, "entries": {"x": 1}}', b'{"format": 1, "entries": []}', None],
)
def test_a_corrupt_cache_is_ignored(project, garbage):
    settings, paths = project
    cold = outcome(check_files(paths, settings, jobs=1))
    cache_files = list((settings.root / CACHE_DIR_NAME).glob("*.json"))
    assert len(cache_files) == 1
    if garbage is None:  # well-formed, with every entry mangled
        document = json.loads(cache_files[0].read_bytes())
        for entry in document["entries"].values():
            entry[3] = ["not", "a", "result", "at all"]
        garbage = json.dumps(document).encode()
        for path in paths:  # make the stat match fail, so the hash path reads the mangled entry too
            os.utime(path, (time.time() - 100, time.time() - 100))
    cache_files[0].write_bytes(garbage)
    assert outcome(check_files(paths, settings, jobs=1)) == cold
    assert outcome(check_files(paths, settings, jobs=1)) == cold


def test_an_unwritable_cache_is_ignored(project, tmp_path):
    settings, paths = project
    cold = outcome(check_files(paths, settings, jobs=1, use_cache=False))
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    for cache_dir in (blocker, blocker / "cache"):  # a file where the directory should be, and below one
        assert outcome(check_files(paths, settings, jobs=1, cache_dir=cache_dir)) == cold
        assert outcome(check_files(paths, settings, jobs=2, cache_dir=cache_dir)) == cold


def test_no_cache_writes_nothing(project):
    settings, paths = project
    check_files(paths, settings, jobs=1, use_cache=False)
    assert not (settings.root / CACHE_DIR_NAME).exists()


# -- failures in the pool ----------------------------------------------------------------


def sabotage(monkeypatch, target: str, action) -> None:
    original = Checker.check_bytes

    def sabotaged(self, path, data):
        if os.path.basename(path) == target:
            action()
        return original(self, path, data)

    monkeypatch.setattr(Checker, "check_bytes", sabotaged)


def many_files(tmp_path: Path, count: int = 12) -> List[str]:
    paths = []
    for number in range(count):
        path = tmp_path / f"module_{number:02d}.py"
        path.write_text(LEAKY if number % 2 else CLEAN, encoding="utf-8")
        paths.append(str(path))
    return paths


def test_a_worker_that_dies_costs_one_file(tmp_path, monkeypatch, pool_always):
    requires_fork()
    paths = many_files(tmp_path)
    settings = Settings(root=tmp_path)
    expected = outcome(check_files(paths, settings, jobs=1, use_cache=False))
    sabotage(monkeypatch, "module_05.py", lambda: os._exit(3))
    results = outcome(check_files(paths, settings, jobs=2, cache_dir=tmp_path / "cache"))
    assert results[5][2] == "not checked: the worker process checking it died (exit status 3)"
    assert results[:5] + results[6:] == expected[:5] + expected[6:]
    # The failure was not cached: with the worker healthy again the file is checked.
    monkeypatch.undo()
    assert outcome(check_files(paths, settings, jobs=2, cache_dir=tmp_path / "cache")) == expected


def test_a_file_that_takes_forever_costs_one_file(tmp_path, monkeypatch, pool_always):
    requires_fork()
    paths = many_files(tmp_path)
    settings = Settings(root=tmp_path)
    expected = outcome(check_files(paths, settings, jobs=1, use_cache=False))
    sabotage(monkeypatch, "module_03.py", lambda: time.sleep(600))
    results = outcome(check_files(paths, settings, jobs=2, use_cache=False, timeout=0.5))
    assert results[3][2] == "not checked: took longer than 0.5 s"
    assert results[:3] + results[4:] == expected[:3] + expected[4:]


def test_a_worker_stuck_where_the_alarm_cannot_reach_is_killed(tmp_path, monkeypatch, pool_always):
    """Native code (the parser) does not see the alarm; the parent kills the worker."""
    requires_fork()
    monkeypatch.setattr(runner, "_KILL_GRACE", 0.5)
    paths = many_files(tmp_path)
    settings = Settings(root=tmp_path)
    expected = outcome(check_files(paths, settings, jobs=1, use_cache=False))

    def deaf_to_alarms():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(600)

    sabotage(monkeypatch, "module_08.py", deaf_to_alarms)
    results = outcome(check_files(paths, settings, jobs=2, use_cache=False, timeout=0.5))
    assert results[8][2] == "not checked: took longer than 0.5 s"
    assert results[:8] + results[9:] == expected[:8] + expected[9:]


def test_a_file_that_takes_forever_in_process_costs_one_file(tmp_path, monkeypatch):
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        pytest.skip("the in-process time limit needs SIGALRM on the main thread")
    paths = many_files(tmp_path, 4)
    settings = Settings(root=tmp_path)
    expected = outcome(check_files(paths, settings, jobs=1, use_cache=False))
    sabotage(monkeypatch, "module_01.py", lambda: time.sleep(600))
    results = outcome(check_files(paths, settings, jobs=1, cache_dir=tmp_path / "cache", timeout=0.5))
    assert results[1][2] == "not checked: took longer than 0.5 s"
    assert results[:1] + results[2:] == expected[:1] + expected[2:]
    monkeypatch.undo()
    assert outcome(check_files(paths, settings, jobs=1, cache_dir=tmp_path / "cache")) == expected


def test_an_unreadable_file_is_an_error_in_every_route(tmp_path, pool_always):
    paths = many_files(tmp_path, 4) + [str(tmp_path / "missing.py")]
    settings = Settings(root=tmp_path)
    expected = outcome(check_files(paths, settings, jobs=1, use_cache=False))
    assert expected[-1][2].startswith("cannot read: ")
    assert outcome(check_files(paths, settings, jobs=2, cache_dir=tmp_path / "cache")) == expected
    assert outcome(check_files(paths, settings, jobs=2, cache_dir=tmp_path / "cache")) == expected


# -- the pre-checks themselves ---------------------------------------------------------

# A trigger's text, searched the engine's fast way, must match where the
# regular expression does: the alternatives one by one, a leading ``\b`` moved
# behind the word.
@pytest.mark.parametrize(
    "pattern",
    [
        r"create_task|ensure_future|\bTask\b",
        r"\basync\b|asyncio",
        r"\bwhile[ \t(]+(?:True|not\b|[\d\"'(.])",
        r"a(?:b|c)|[|x]|d\|e",
        r"(?i)event|condition",
        r"\bwhile+",
    ],
)
def test_fast_trigger_searches_match_where_the_pattern_does(pattern):
    import re

    from leaklint.engine import _fast_searches

    texts = [
        "", "Task", "Tasks", "MyTask", "t = Task(x)", "async def f(): pass", "asynchronous", "xasync", "import asyncio",
        "while True:", "awhile True:", "while (1):", "while x:", "ab", "ac", "|", "x", "d|e", "d", "EVENT", "Condition",
        "whilee", "whil", "\nwhile\t'x'",
    ]
    searches = _fast_searches(pattern)
    for text in texts:
        assert (re.search(pattern, text) is not None) == any(search(text) for search in searches), (pattern, text)


@pytest.mark.parametrize(
    "text, imported",
    [
        ("import asyncio", True),
        ("import os, asyncio", True),
        ("import os, \\\n    asyncio.tasks", True),
        ("from asyncio.tasks import sleep", True),
        ("from\tasyncio import (\n    sleep,\n)", True),
        ("if TYPE_CHECKING: import asyncio", True),
        ("import os; import asyncio as aio", True),
        ("x = asyncio.sleep(1)", False),
        ("# this module needs asyncio", False),
        ("import asyncio_extras", False),
        ("import myasyncio", False),
        ("from concurrent import asyncio_like", False),
        ("from pkg import asyncio_helpers", False),
    ],
)
def test_a_module_is_imported_only_where_its_name_follows_import_from_or_a_comma(text, imported):
    from leaklint.engine import _may_import

    assert _may_import(text, "asyncio") is imported
    if imported:  # the engine's own reading of imports agrees
        import libcst as cst

        from leaklint.analysis.names import ImportTable
        from leaklint.analysis.tree import SyntaxTree

        assert ImportTable(SyntaxTree(cst.parse_module(text))).imports_any(("asyncio",))


def test_a_rule_whose_modules_are_not_imported_is_no_candidate():
    from leaklint.engine import _candidate_rules

    rules = select_rules()
    codes = lambda text: {rule.code for rule in _candidate_rules(text, rules, True)}  # noqa: E731
    assert "LL101" not in codes("loop.create_task(work())\n")  # no asyncio imported: it cannot fire
    assert "LL101" in codes("import asyncio\nasyncio.create_task(work())\n")


# Each case: a module, whether LL103 reports in it, and what the pre-check
# says.  It must say True wherever the rule reports (else a finding is lost);
# where it says False the libcst parse is saved.  It may say True where the
# rule finds nothing after all (a coroutine put into a list: what becomes of
# the list decides).
DROPPED_COROUTINES = [
    ("async def f(): pass\ndef g():\n    f()\n", True, True),
    ("async def f(): pass\nasync def g():\n    _ = f()\n", True, True),
    ("async def f(): pass\nasync def g():\n    c = f()\n", True, True),
    ("async def f(): pass\nasync def g():\n    [f(), f()]\n", True, True),
    ("async def f(): pass\nasync def g(x):\n    f() if x else None\n", True, True),
    ("async def f(): pass\ndef make():\n    return f()\nasync def g():\n    make()\n", True, True),
    ("class A:\n    async def run(self): pass\n    def go(self):\n        self.run()\n", True, True),
    ("import asyncio\nasync def g():\n    asyncio.sleep(1)\n", True, True),
    ("from asyncio import sleep as nap\nasync def g():\n    nap(1)\n", True, True),
    ("async def f(): pass\nasync def g():\n    pending = []\n    pending.append(f())\n", False, True),
    ("async def f(): pass\nasync def g():\n    await f()\n", False, False),
    ("async def f(): pass\nasync def g():\n    return f()\n", False, False),
    ("async def f(): pass\ndef g(loop):\n    loop.run_until_complete(f())\n", False, False),
    ("async def f(): pass\ndef g():\n    print('f')\n", False, False),
    ("def f(): return 1\ndef g():\n    f()\n", False, False),
    ("def f(): return g()\ndef h():\n    f()\n", False, False),  # ``g`` is nothing the module defines or imports
    ("async def f(): pass\ndef a(): return f()\ndef b(): return a()\ndef g():\n    b()\n", True, True),
    ("async def f(): pass\ndef a(x):\n    if x:\n        return f()\n    return None\ndef g():\n    a(1)\n", False, False),
    ("async def f(): pass\ndef a():\n    c = f()\n    return c\ndef g():\n    a()\n", True, True),
    ("async def f(): pass\ndef a(c):\n    return c\ndef g():\n    a(f())\n", False, False),  # a parameter: unknown
    ("async def f(): pass\ndef a():\n    c = []\n    return c\ndef g():\n    a()\n", False, False),
    ("@cache\nasync def f(): pass\ndef g():\n    f()\n", False, False),  # the decorator may return anything
    ("import asyncio\ndef f(): return 1\ndef g():\n    f()\n", False, False),
    ("import asyncio\nasync def g(q: asyncio.Queue):\n    q.put(1)\n", True, True),
    ("import asyncio\nasync def g(q):\n    q.put(1)\n", False, True),  # any receiver may be an asyncio queue
    # A call's value bound to a name: a local is dropped unless read (in a closure too).
    ("async def f(): pass\nasync def g():\n    c = f()\n", True, True),
    ("async def f(): pass\ndef g():\n    c: object = f()\n", True, True),
    ("async def f(): pass\nasync def g():\n    c = f()\n    await c\n", False, False),
    ("async def f(): pass\ndef g():\n    c = f()\n    def h():\n        return c\n    return h\n", False, False),
    ("async def f(): pass\ndef g(xs):\n    c = f()\n    return sorted(xs, key=lambda c: c)\n", False, False),
    ("async def f(): pass\ndef g():\n    _ = f()\n", True, True),
    ("async def f(): pass\ndef g():\n    c = [f()]\n", True, True),
    ("async def f(): pass\nx = f()\n", False, False),  # a global
    ("async def f(): pass\nclass K:\n    x = f()\n", False, False),  # a class attribute
    ("async def f(): pass\nclass K:\n    def m(self):\n        self.c = [f()]\n", False, False),
    ("async def f(): pass\ndef g():\n    a, b = f(), f()\n", False, False),
    ("async def f(): pass\ndef g(d):\n    d['k'] = f()\n", False, True),  # a local container may hold it
    ("async def f(): pass\ndef g():\n    global c\n    c = f()\n", False, True),
]


# LL301's question: each source, whether the rule reports it, and what the
# question answers (yes wherever the rule reports; no saves the libcst parse).
ENDLESS_LOOPS = [
    ("def f():\n    while True:\n        work()\n", True, True),
    ("def f():\n    while 1:\n        for x in y:\n            break\n", True, True),
    ("def f():\n    while not False:\n        work()\n", True, True),
    ("def f():\n    while True:\n        if done():\n            break\n", False, False),
    ("def f():\n    while True:\n        for x in y:\n            pass\n        else:\n            break\n", False, False),
    ("def f():\n    while True:\n        return work()\n", False, False),
    ("def f():\n    while True:\n        raise StopIteration\n", False, False),
    ("def f():\n    while x:\n        work()\n", False, False),
    ("def f():\n    while not ready():\n        work()\n", False, False),
    ("def f():\n    while 0:\n        work()\n", False, False),
    ("def f():\n    while ...:\n        work()\n", False, False),
    ("while True:\n    work()\n", False, False),  # the program's main loop
    ("def f():\n    while True:\n        yield work()\n", False, False),
    ("def f():\n    while True:\n        x = yield from work()\n", False, False),
    ("async def f():\n    while True:\n        await work()\n", False, False),
    ("async def f():\n    while True:\n        async with lock:\n            work()\n", False, False),
    ("async def f():\n    while True:\n        work(lambda: (yield))\n", True, True),
    ("async def f():\n    while True:\n        [x async for x in y]\n", True, True),
    ("def f():\n    try:\n        while True:\n            work()\n    except Exception:\n        pass\n", False, False),
    ("def f():\n    try:\n        while True:\n            work()\n    except (OSError, ValueError):\n        pass\n", False, False),
    ("def f():\n    try:\n        pass\n    except Exception:\n        while True:\n            work()\n", True, True),
    ("def f():\n    try:\n        def g():\n            while True:\n                work()\n    except Exception:\n        pass\n", True, True),
    # Left to the rule: what these handlers and calls resolve to.
    ("def f():\n    try:\n        while True:\n            work()\n    except KeyboardInterrupt:\n        pass\n", False, True),
    ("from queue import Empty as E\ndef f(q):\n    try:\n        while True:\n            q.get()\n    except E:\n        pass\n", True, True),
    ("import sys\ndef f():\n    while True:\n        sys.exit(work())\n", False, True),
    ("def f():\n    class C:\n        while True:\n            yield\n", True, True),  # a class body is no generator
]


# The handle rules' questions (``prechecks.may_make_a_task``...): each
# source, whether the rule reports it, and what the question answers.  Where
# the rule reports, the question must say yes; where it says no, the libcst
# parse is saved.
HANDLE_PRE_CHECKS = [
    ("LL101", "import asyncio\nasync def f():\n    await asyncio.sleep(1)\nasync def g():\n    asyncio.create_task(f())\n", True, True),
    ("LL101", "import asyncio\nasync def g(loop, f):\n    loop.run_in_executor(None, f)\n", True, True),
    ("LL101", 'import asyncio\n"""create_task is named only here"""\nasync def g():\n    await asyncio.sleep(1)\n', False, False),
    ("LL201", "import threading\ndef run():\n    while True:\n        work()\nthreading.Thread(target=run).start()\n", True, True),
    ("LL201", "from threading import Thread as T\ndef run(q):\n    q.get()\ndef go(q):\n    T(target=run, args=(q,)).start()\n", True, True),
    ("LL201", "import threading\nclass W(threading.Thread):\n    def run(self):\n        while not self._stop.is_set():\n            work()\nW().start()\n", True, True),
    ("LL201", "import threading\ndef run():\n    work()\nthreading.Thread(target=run).start()\n", False, False),  # one-shot
    ("LL202", "from concurrent.futures import ThreadPoolExecutor\ndef f(xs):\n    ex = ThreadPoolExecutor()\n    return list(ex.map(abs, xs))\n", True, True),
    ("LL202", "from concurrent.futures import ThreadPoolExecutor\ndef f(xs):\n    with ThreadPoolExecutor() as ex:\n        return list(ex.map(abs, xs))\n", False, False),
    ("LL203", "import subprocess\ndef f():\n    subprocess.Popen(['ls'])\n", True, True),
    ("LL203", "import subprocess\ndef spawn():\n    return subprocess.Popen(['ls'])\ndef f():\n    spawn()\n", True, True),
    ("LL203", "import subprocess\ndef f():\n    with subprocess.Popen(['ls']) as child:\n        child.kill()\n", False, False),
    ("LL203", "import subprocess\ndef f():\n    return subprocess.run(['ls'])  # not Popen\n", False, False),
    ("LL401", "import queue\ndef f(xs):\n    q = queue.Queue()\n    for x in xs:\n        q.put(x)\n", True, True),
    ("LL401", "import queue\ndef f(q: queue.Queue, xs):\n    for x in xs:\n        q.put(x)\n", False, True),
    ("LL501", "import threading\ndef f():\n    _ready = threading.Event()\n    _ready.wait()\n    _ready.clear()\n", True, True),
    ("LL501", "import threading\ndef f():\n    ready = threading.Event()\n    ready.set()\n", False, False),  # never waited on
]


PRE_CHECKS = [
    *(("LL103", source, reported, may_drop) for source, reported, may_drop in DROPPED_COROUTINES),
    *(("LL301", source, reported, may_report) for source, reported, may_report in ENDLESS_LOOPS),
    *HANDLE_PRE_CHECKS,
]


@pytest.mark.parametrize("code, source, reported, may_report", PRE_CHECKS)
def test_every_pre_check_says_yes_wherever_its_rule_reports(code, source, reported, may_report):
    from leaklint.registry import rule_by_code

    rule = rule_by_code(code)
    assert bool(check_source(source, "case.py", [rule], precheck=False).findings) is reported
    assert rule.tree_trigger()(ast.parse(source), None) is may_report
    assert check_source(source, "case.py", [rule]).findings == check_source(source, "case.py", [rule], precheck=False).findings


def test_every_rule_asks_python_s_tree_before_libcst_parses():
    """Only when every rule whose text matched has a tree question does the
    engine ask them: one rule without would send every file it matches to
    libcst."""
    from leaklint.registry import all_rules

    assert [rule.code for rule in all_rules() if rule.tree_trigger() is None] == []


def test_a_module_the_index_has_read_is_not_parsed_again(tmp_path, monkeypatch):
    """A module another file imports is summarised by the index from its
    bytes; checking it afterwards needs no second parse when no rule's text
    occurs in it, and finds the same."""
    from leaklint import engine
    from leaklint.analysis.project import ProjectIndex

    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    helpers = tmp_path / "helpers.py"
    helpers.write_bytes(b"def spawn(coro):\n    return loop_of(coro)\n")
    main = tmp_path / "main.py"
    main.write_bytes(b"from helpers import spawn\nasync def go():\n    await spawn(None)\n")
    index = ProjectIndex()
    parsed: List[str] = []
    original = engine._python_parse
    monkeypatch.setattr(engine, "_python_parse", lambda text: parsed.append(text) or original(text))
    check_source(main.read_bytes(), str(main), project=index)  # reads helpers.py into the index
    first = check_source(helpers.read_bytes(), str(helpers), project=index)
    assert len(parsed) == 1  # main.py only
    again = check_source(helpers.read_bytes(), str(helpers), project=ProjectIndex())
    assert (first.findings, first.error, first.dependencies) == (again.findings, again.error, again.dependencies)
    assert len(parsed) == 2


def test_a_summary_without_bodies_is_the_summary_read_without_bodies():
    from leaklint.analysis.summary import summarize

    for path in [*fixture_files(), *stdlib_sample()[::3]]:
        source = Path(path).read_bytes()
        projected, read = summarize(source).without_bodies(), summarize(source, bodies=False)
        assert projected._replace(imports=()) == read._replace(imports=()), path
        assert set(read.imports) <= set(projected.imports), path  # and those of function bodies


def test_a_file_no_tree_trigger_fires_in_is_not_parsed_by_libcst(monkeypatch):
    from leaklint import engine

    parsed = []
    original = engine._parse
    monkeypatch.setattr(engine, "_parse", lambda text: parsed.append(text) or original(text))
    quiet = "async def f(): pass\nasync def g():\n    await f()\n    while True:\n        break\n"
    assert check_source(quiet).findings == [] and parsed == []
    loud = quiet.replace("await f()", "f()")
    assert [finding.code for finding in check_source(loud).findings] == ["LL103"] and parsed == [loud]


@pytest.mark.parametrize(
    "main",
    [
        "from helpers import fetch\nasync def go():\n    fetch()\n",
        "import helpers\nasync def go():\n    helpers._refresh()\n",
        "from helpers import Base\nclass Client(Base):\n    async def go(self):\n        self.reconnect()\n",
    ],
)
def test_the_dropped_coroutine_pre_check_asks_the_project(tmp_path, main):
    from leaklint.analysis.prechecks import may_drop_a_coroutine
    from leaklint.analysis.project import ProjectIndex
    from leaklint.analysis.summary import summarize

    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "helpers.py").write_text(
        "async def fetch(): pass\nasync def _refresh(): pass\nclass Base:\n    async def reconnect(self): pass\n", encoding="utf-8"
    )
    path = tmp_path / "main.py"
    path.write_text(main, encoding="utf-8")
    tree = ast.parse(main)
    assert not may_drop_a_coroutine(tree, None)  # alone, nothing here makes a coroutine
    assert may_drop_a_coroutine(tree, ProjectIndex().view(str(path), summarize(tree, bodies=False)))
    with_precheck = check_source(main, str(path), project=ProjectIndex())
    assert [finding.code for finding in with_precheck.findings] == ["LL103"]
    assert with_precheck.findings == check_source(main, str(path), project=ProjectIndex(), precheck=False).findings


def test_a_rule_the_project_offers_asks_its_question_first(tmp_path, monkeypatch):
    """A module that imports an ``async def`` is offered LL103 whatever its
    text says; LL103's question asks the project too, so libcst parses the
    module only where a call may drop a coroutine."""
    from leaklint import engine
    from leaklint.analysis.project import ProjectIndex
    from leaklint.registry import rule_by_code

    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "helpers.py").write_bytes(b"async def fetch():\n    pass\n")
    quiet = tmp_path / "quiet.py"
    quiet.write_bytes(b"from helpers import fetch\ndef go():\n    return fetch()\n")
    loud = tmp_path / "loud.py"
    loud.write_bytes(b"from helpers import fetch\ndef go():\n    fetch()\n")
    assert rule_by_code("LL103").tree_sees_project()
    parsed: List[str] = []
    original = engine._parse
    monkeypatch.setattr(engine, "_parse", lambda text: parsed.append(text) or original(text))
    for module, codes in ((quiet, []), (loud, ["LL103"])):
        asked = check_source(module.read_bytes(), str(module), project=ProjectIndex())
        assert [finding.code for finding in asked.findings] == codes
        everything = check_source(module.read_bytes(), str(module), project=ProjectIndex(), precheck=False)
        assert asked.findings == everything.findings
    assert parsed.count(quiet.read_text()) == 1  # with precheck=False only
    assert parsed.count(loud.read_text()) == 2


@pytest.mark.parametrize(
    "client, reported, may_report",
    [
        ("from app import App\nclass Client:\n    app: App\n    def go(self):\n        self.app.fetch()\n", True, True),
        ("from app import App\nclass Client:\n    app: 'Optional[App]'\n    def go(self):\n        self.app.fetch()\n", True, True),
        ("from app import App\nclass Client:\n    def __init__(self, app: App):\n        self.app = app\n    def go(self):\n        self.app.fetch()\n", True, True),
        ("from app import App\nclass Client:\n    app: App\n    def go(self):\n        self.app.close()\n", False, False),
        ("from app import App\nclass Client:\n    app: bytearray\n    def go(self):\n        self.app.clear()\n", False, False),
        ("from app import App\nclass Client:\n    app: 'App['\n    def go(self):\n        self.app.fetch()\n", False, True),  # unreadable
        ("from base import Base\nclass Client(Base):\n    def go(self):\n        self.app.fetch()\n", True, True),  # base.py: app: App
    ],
)
def test_ll103_asks_the_project_what_an_annotated_attribute_holds(tmp_path, client, reported, may_report):
    """``self.app.fetch()`` may make a coroutine only where an annotation
    names a project class whose ``fetch`` is an ``async def``; the project
    offers LL103 to a module whose text never says ``async`` (before, the
    four that report were missed: LL103 never ran on them)."""
    from leaklint.analysis.project import ProjectIndex
    from leaklint.analysis.summary import summarize
    from leaklint.registry import rule_by_code

    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "app.py").write_text("class App:\n    async def fetch(self):\n        pass\n    def close(self):\n        pass\n", encoding="utf-8")
    (tmp_path / "base.py").write_text("from app import App\nclass Base:\n    app: App\n", encoding="utf-8")
    path = tmp_path / "client.py"
    path.write_text(client, encoding="utf-8")
    rule = rule_by_code("LL103")
    result = check_source(client.encode(), str(path), [rule], precheck=False, project=ProjectIndex())
    assert bool(result.findings) is reported
    index = ProjectIndex()
    tree = ast.parse(client)
    assert rule.tree_trigger()(tree, index.view(str(path), summarize(tree, bodies=False))) is may_report
    assert check_source(client.encode(), str(path), [rule], project=ProjectIndex()).findings == result.findings
