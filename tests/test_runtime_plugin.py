"""``pytest --leaks`` in real inner pytest runs (pytester, in a subprocess)."""

from __future__ import annotations

import re
import textwrap

import pytest

pytest_plugins = ["pytester"]

# The done-when file: three tests that leak, one that cleans up after itself.
LEAKY_TESTS = '''
import asyncio
import subprocess
import sys
import threading
import time


def test_thread_not_joined():
    worker = threading.Thread(target=time.sleep, args=(2,))
    worker.start()


def test_task_left_pending():
    loop = asyncio.new_event_loop()

    async def start():
        loop.create_task(asyncio.sleep(3600))

    loop.run_until_complete(start())


def test_child_not_waited():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])


def test_clean():
    worker = threading.Thread(target=time.sleep, args=(0.01,))
    worker.start()
    worker.join()
    asyncio.run(asyncio.sleep(0))
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
'''

BASE_ARGS = ("-p", "no:cacheprovider", "-p", "no:asyncio")


def line_of(source: str, text: str, after: str = "") -> int:
    """The first line of ``text`` after the line of ``after``, in ``source``
    as pytester writes it (dedented, leading blank lines dropped)."""
    lines = textwrap.dedent(source).lstrip("\n").splitlines()
    start = next(number for number, line in enumerate(lines) if after in line)
    return next(number for number, line in enumerate(lines, 1) if number > start and text in line)


def failure_sections(output: str) -> dict:
    """The text of each failure section, by test name."""
    sections = {}
    for match in re.finditer(r"^_{3,} (\w+) _{3,}$(.*?)(?=^_{3,} |^=+ short test summary)", output, re.S | re.M):
        sections[match.group(1)] = match.group(2)
    return sections


def test_leaks_fails_exactly_the_three_leaking_tests(pytester):
    pytester.makepyfile(test_leaky=LEAKY_TESTS)
    result = pytester.runpytest_subprocess(*BASE_ARGS, "--leaks")
    result.assert_outcomes(passed=1, failed=3)
    output = result.stdout.str()
    sections = failure_sections(output)
    assert sorted(sections) == ["test_child_not_waited", "test_task_left_pending", "test_thread_not_joined"]
    result.stdout.fnmatch_lines([
        "FAILED test_leaky.py::test_thread_not_joined - leaklint: 1 left alive*",
    ])

    thread = sections["test_thread_not_joined"]
    # No rule code: LL201 flags only workers that can never end by themselves.
    assert "worker that never ends: thread 'Thread-1 (sleep)' (running sleep) still running\n" in thread
    line = line_of(LEAKY_TESTS, "worker.start()", after="def test_thread_not_joined")
    assert f"created at test_leaky.py:{line} in test_thread_not_joined" in thread

    task = sections["test_task_left_pending"]
    assert "lost task: task 'Task-" in task and "running sleep()" in task and "still pending" in task
    assert f"created at test_leaky.py:{line_of(LEAKY_TESTS, 'loop.create_task(asyncio.sleep(3600))')} in start" in task
    assert f"called from test_leaky.py:{line_of(LEAKY_TESTS, 'loop.run_until_complete(start())')}" in task
    assert "[LL101 dangling-task]" in task

    child = sections["test_child_not_waited"]
    assert "child not waited: child process 'python" in child
    assert "still running, not waited" in child
    assert f"created at test_leaky.py:{line_of(LEAKY_TESTS, 'subprocess.Popen(')} in test_child_not_waited" in child
    assert "[LL203 unwaited-process]" in child
    # Each report tells only its own test's leak.
    assert "lost task" not in thread + child and "child not waited" not in thread + task


def test_without_leaks_every_test_passes(pytester):
    pytester.makepyfile(test_leaky=LEAKY_TESTS)
    result = pytester.runpytest_subprocess(*BASE_ARGS)
    result.assert_outcomes(passed=4)
    assert "leaklint:" not in result.stdout.str() and "leak check" not in result.stdout.str()


def test_ini_option_turns_it_on_and_no_leaks_off(pytester):
    pytester.makepyfile(test_leaky=LEAKY_TESTS)
    pytester.makeini("[pytest]\nleaks = true\n")
    pytester.runpytest_subprocess(*BASE_ARGS).assert_outcomes(passed=1, failed=3)
    pytester.runpytest_subprocess(*BASE_ARGS, "--no-leaks").assert_outcomes(passed=4)


def test_xdist_workers_check_their_own_tests(pytester):
    pytester.makepyfile(test_leaky=LEAKY_TESTS)
    result = pytester.runpytest_subprocess(*BASE_ARGS, "--leaks", "-n", "2")
    result.assert_outcomes(passed=1, failed=3)
    assert "[LL203 unwaited-process]" in result.stdout.str()


ALLOWED = '''
import threading
import time

import pytest


def spin(seconds):
    time.sleep(seconds)


@pytest.mark.leaks(allow=["thread:poller-"])
def test_allowed_by_name_prefix():
    threading.Thread(target=spin, args=(2,), name="poller-1").start()


@pytest.mark.leaks(allow=["thread:poller-"])
def test_other_names_still_fail():
    threading.Thread(target=spin, args=(2,), name="flusher").start()


@pytest.mark.leaks(allow=["task:*"])
def test_allow_names_the_kind():
    threading.Thread(target=spin, args=(2,), name="poller-2").start()


def test_daemon():
    threading.Thread(target=spin, args=(2,), name="background", daemon=True).start()


def test_ends_within_grace():
    threading.Thread(target=spin, args=(0.1,), name="short").start()
'''


def test_allow_marker_daemon_option_and_grace(pytester):
    pytester.makepyfile(test_allowed=ALLOWED)
    result = pytester.runpytest_subprocess(*BASE_ARGS, "--leaks", "-rf")
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines([
        "FAILED test_allowed.py::test_other_names_still_fail - *",
        "FAILED test_allowed.py::test_allow_names_the_kind - *",
        "FAILED test_allowed.py::test_daemon - *",
    ])
    assert "thread 'background' (running spin, daemon) still running" in result.stdout.str()

    ignoring = pytester.runpytest_subprocess(*BASE_ARGS, "--leaks", "--leaks-ignore-daemon", "--leaks-grace", "0")
    # Without a grace period, the thread that ends after 0.1 s is caught too.
    ignoring.assert_outcomes(passed=2, failed=3)
    ignoring.stdout.fnmatch_lines(["*thread 'short' (running spin) still running*"])
    assert "background" not in ignoring.stdout.str()


def test_a_bad_allow_pattern_is_a_usage_error(pytester):
    pytester.makepyfile("def test_nothing():\n    pass\n")
    pytester.makeini("[pytest]\nleaks_allow =\n    goroutine:x\n")
    result = pytester.runpytest_subprocess(*BASE_ARGS, "--leaks")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*leaks allow pattern 'goroutine:x': the kind must be one of thread, task, *"])


EXECUTORS_AND_FIXTURES = '''
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest


@pytest.fixture(scope="session")
def server():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="server")
    thread.start()
    yield
    stop.set()
    thread.join()


@pytest.fixture
def helper():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="helper")
    thread.start()
    yield
    stop.set()
    thread.join()


def test_session_fixture_belongs_to_the_session(server, helper):
    pass


SERVICES = []  # keeps the executor alive, as a long-lived object would


def test_executor_not_shut_down():
    pool = ThreadPoolExecutor(max_workers=2)
    SERVICES.append(pool)
    pool.submit(time.sleep, 0.01).result()
    pool.submit(time.sleep, 0.01).result()


def test_executor_dropped_while_its_worker_runs():
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dropped")
    pool.submit(time.sleep, 2)


def test_executor_in_with():
    with ThreadPoolExecutor(max_workers=2) as pool:
        pool.submit(time.sleep, 0.01).result()
'''


def test_executors_and_fixture_scopes(pytester):
    pytester.makepyfile(test_scopes=EXECUTORS_AND_FIXTURES)
    result = pytester.runpytest_subprocess(*BASE_ARGS, "--leaks")
    result.assert_outcomes(passed=2, failed=2)
    sections = failure_sections(result.stdout.str())
    assert list(sections) == ["test_executor_not_shut_down", "test_executor_dropped_while_its_worker_runs"]
    report = sections["test_executor_not_shut_down"]
    line = line_of(EXECUTORS_AND_FIXTURES, "pool = ThreadPoolExecutor(max_workers=2)")
    assert "executor not shut down: executor 'ThreadPoolExecutor' not shut down, 1 worker still alive" in report
    assert f"created at test_scopes.py:{line} in test_executor_not_shut_down" in report
    assert "worker that never ends" not in report  # the worker is told with its executor
    # A collected executor is no leak, but a worker still busy after it is.
    dropped = sections["test_executor_dropped_while_its_worker_runs"]
    assert "leaklint: 1 left alive after teardown and a 0.5 s grace period: thread from test_scopes.py:" in dropped
    assert "executor not shut down" not in dropped
    assert "worker that never ends: thread 'dropped_0' (running _worker) still running" in dropped
    line = line_of(EXECUTORS_AND_FIXTURES, "pool.submit(time.sleep, 2)")
    assert f"created at test_scopes.py:{line} in test_executor_dropped_while_its_worker_runs" in dropped


ASYNC_TESTS = '''
import asyncio
import threading

import pytest


async def forever():
    await asyncio.Event().wait()


@pytest.mark.asyncio
async def test_task_cancelled_when_the_loop_closes():
    asyncio.create_task(forever())


@pytest.mark.asyncio(loop_scope="module")
async def test_task_pending_on_a_module_loop():
    asyncio.get_running_loop().create_task(forever())
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_awaited():
    await asyncio.gather(asyncio.sleep(0), asyncio.create_task(asyncio.sleep(0)))


@pytest.mark.asyncio
async def test_thread_from_async_test():
    stop = threading.Event()
    threading.Thread(target=stop.wait, args=(2,), name="from-async").start()
    await asyncio.to_thread(lambda: None)
'''


def test_pytest_asyncio_loops(pytester):
    pytest.importorskip("pytest_asyncio")
    pytester.makepyfile(test_async=ASYNC_TESTS)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--leaks")
    result.assert_outcomes(passed=2, failed=2)
    sections = failure_sections(result.stdout.str())
    assert sorted(sections) == ["test_task_pending_on_a_module_loop", "test_thread_from_async_test"]
    task = sections["test_task_pending_on_a_module_loop"]
    line = line_of(ASYNC_TESTS, "asyncio.get_running_loop().create_task(forever())")
    assert "lost task: task 'Task-" in task and "(running forever()) still pending" in task
    assert f"created at test_async.py:{line} in test_task_pending_on_a_module_loop" in task
    thread = sections["test_thread_from_async_test"]
    assert "worker that never ends: thread 'from-async'" in thread
    # asyncio.to_thread's default executor was shut down with the test's loop.
    assert "executor" not in thread


def test_the_plugin_restores_what_it_patched(pytester):
    import subprocess
    import threading

    before = (threading.Thread.start, subprocess.Popen.__init__)
    pytester.makepyfile("import threading\n\ndef test_one():\n    threading.Thread(target=print).start()\n")
    result = pytester.runpytest_inprocess(*BASE_ARGS, "--leaks", "-n", "0")
    result.assert_outcomes(passed=1)
    assert (threading.Thread.start, subprocess.Popen.__init__) == before


def test_inactive_unless_asked(pytester):
    pytester.makeconftest(
        "def pytest_sessionfinish(session):\n"
        "    print('leak check registered:', session.config.pluginmanager.has_plugin('leaklint-leak-check'))\n"
    )
    pytester.makepyfile("def test_one():\n    pass\n")
    pytester.runpytest_subprocess(*BASE_ARGS, "-s").stdout.fnmatch_lines(["*leak check registered: False*"])
    pytester.runpytest_subprocess(*BASE_ARGS, "-s", "--leaks").stdout.fnmatch_lines(["*leak check registered: True*"])
