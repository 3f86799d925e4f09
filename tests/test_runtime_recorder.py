"""The recorder: what it records, that it restores, keeps nothing alive, and
never raises into the program."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import multiprocessing
import subprocess
import sys
import threading
import time
import warnings

import pytest

from leaklint.runtime.recorder import EXECUTOR, PROCESS, TASK, THREAD, WORKER_PROCESS, Recorder, _popen_unwaited
from leaklint.runtime.report import StaticFindings, is_allowed, parse_allow


def this_line() -> int:
    return sys._getframe(1).f_lineno


def patched_attributes():
    import asyncio.base_events
    import multiprocessing.pool
    import multiprocessing.process

    return [
        threading.Thread.start,
        vars(threading.Thread)["_bootstrap_inner"],
        asyncio.base_events.BaseEventLoop.create_task,
        subprocess.Popen.__init__,
        multiprocessing.process.BaseProcess.start,
        concurrent.futures.ThreadPoolExecutor.__init__,
        concurrent.futures.ThreadPoolExecutor.shutdown,
        multiprocessing.pool.Pool.close,
    ]


def test_stop_puts_back_every_attribute():
    before = patched_attributes()
    recorder = Recorder().start()
    during = patched_attributes()
    recorder.stop()
    assert patched_attributes() == before
    assert all(a is not b for a, b in zip(before, during))


def test_a_thread_with_its_creation_line_start_and_end():
    with Recorder() as recorder:
        worker = threading.Thread(target=time.sleep, args=(0.05,), name="napper")
        worker.start(); line = this_line()  # noqa: E702
        assert [(r.name, r.kind) for r, state in recorder.alive()] == [("napper", THREAD)]
        worker.join()
    (record,) = recorder.records
    assert record.site[0] == __file__ and record.site[1] == line
    assert record.site[2] == "test_a_thread_with_its_creation_line_start_and_end"
    assert record.detail == "sleep"
    assert record.end is not None and record.end - record.start >= 0.04
    assert recorder.alive() == []


def test_a_pending_task_and_a_finished_one():
    loop = asyncio.new_event_loop()
    with Recorder() as recorder:
        async def main():
            done = asyncio.create_task(asyncio.sleep(0))
            pending = asyncio.ensure_future(asyncio.sleep(10)); line = this_line()  # noqa: E702
            await done
            return pending, line

        pending, line = loop.run_until_complete(main())
    states = {record.detail: state for record, state in recorder.alive()}
    assert states == {"sleep": "still pending"}
    (record,) = [r for r, _ in recorder.alive()]
    assert record.kind == TASK and record.site[1] == line and record.site[2] == "main"
    pending.cancel()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    assert recorder.alive() == []


def test_records_keep_nothing_alive():
    loop = asyncio.new_event_loop()
    with Recorder() as recorder:
        task = loop.create_task(asyncio.sleep(0))
        loop.run_until_complete(task)
        worker = threading.Thread(target=print, args=("",))
        worker.start()
        worker.join()
        pool = concurrent.futures.ThreadPoolExecutor(1)
        pool.shutdown()
    loop.close()
    refs = [record.ref for record in recorder.records]
    assert len(refs) == 3
    del task, worker, pool, loop
    gc.collect()
    assert [ref() for ref in refs] == [None] * 3


@pytest.mark.filterwarnings("ignore:coroutine 'sleep' was never awaited")
def test_a_task_destroyed_while_pending_is_lost():
    with Recorder() as recorder:
        loop = asyncio.new_event_loop()
        loop.run_until_complete(asyncio.sleep(0))
        loop.create_task(asyncio.sleep(10))  # noqa: LL101 (the lost task under test)
        loop.create_task(asyncio.sleep(0))  # noqa: LL101
        loop.run_until_complete(asyncio.sleep(0))  # the second one is done
        del loop
        gc.collect()  # "Task was destroyed but it is pending!"
    states = [(record.kind, record.detail, state) for record, state in recorder.alive()]
    assert states == [(TASK, "sleep", "destroyed while pending")]
    assert [record.end is not None for record in recorder.records] == [True] * 4  # freed: ended


def test_children_unwaited_and_waited():
    with Recorder() as recorder:
        waited = subprocess.Popen([sys.executable, "-c", "pass"])
        waited.wait()
        running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
        exited = subprocess.Popen([sys.executable, "-c", "pass"])
    time.sleep(0.5)
    states = {record.pid: state for record, state in recorder.alive()}
    assert states == {running.pid: "still running, not waited", exited.pid: "exited, never waited (a zombie)"}
    assert all(record.kind == PROCESS for record in recorder.records)
    running.kill()
    running.wait()
    exited.wait()
    assert recorder.alive() == []


def test_a_dropped_popen_is_followed_until_reaped():
    with Recorder() as recorder:
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])  # noqa: LL203 (the zombie under test)
    gc.collect()  # Popen.__del__ puts the running child on subprocess._active
    ((record, state),) = recorder.alive()
    assert state == "still running, not waited"
    (victim,) = [p for p in subprocess._active if p.pid == record.pid]
    # Collected in a cycle, the weak reference is gone: the pid is looked up there.
    assert _popen_unwaited(None, record.pid)
    victim.kill()
    victim.wait()
    assert not _popen_unwaited(None, record.pid)
    assert recorder.alive() == []


def test_worker_processes_and_executors_with_their_workers():
    context = multiprocessing.get_context("fork")
    with Recorder() as recorder:
        process = context.Process(target=time.sleep, args=(0.01,))
        process.start()
        pool = concurrent.futures.ThreadPoolExecutor(2)
        pool.submit(time.sleep, 0.01).result()
        alive = {record.kind: state for record, state in recorder.alive()}
        process.join()
        pool.shutdown()
    assert alive[EXECUTOR] == "not shut down"
    assert alive[WORKER_PROCESS].startswith(("still running", "exited"))
    (worker,) = [r for r in recorder.records if r.kind == THREAD]
    (executor,) = [r for r in recorder.records if r.kind == EXECUTOR]
    assert worker.owner is executor
    assert recorder.alive() == []


def test_an_internal_error_stops_recording_with_one_warning(monkeypatch):
    recorder = Recorder().start()
    try:
        def broken(*args):
            raise RuntimeError("boom")

        monkeypatch.setattr(recorder, "_stack", broken)
        results = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                worker = threading.Thread(target=results.append, args=(1,))
                worker.start()
                worker.join()
        assert results == [1, 1, 1]  # the program went on
        assert [str(w.message) for w in caught] == ["leaklint: recording stopped after an internal error: RuntimeError: boom"]
        assert not recorder.active
    finally:
        recorder.stop()


def test_warnings_as_errors_do_not_reach_the_program(monkeypatch, capsys):
    recorder = Recorder()
    monkeypatch.setattr(recorder, "_stack", lambda *args: 1 / 0)
    recorder.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            asyncio.run(asyncio.sleep(0))
        assert "leaklint: recording stopped after an internal error: ZeroDivisionError" in capsys.readouterr().err
    finally:
        recorder.stop()


def test_library_frames_are_folded_and_user_frames_come_first():
    def make_task():
        return asyncio.create_task(asyncio.sleep(0))

    async def main():
        return await make_task()

    with Recorder() as recorder:
        asyncio.run(main())
    record = next(r for r in recorder.records if r.detail == "sleep")
    frames = [entry for entry in record.stack if not isinstance(entry, int)]
    assert [frame[2] for frame in frames[:2]] == ["make_task", "main"]
    # Under xdist the worker's bootstrap is exec'd code (``<string>``): not a
    # file of anyone's, so neither user nor library; every real file is ours.
    assert all(frame[0] == __file__ for frame in frames if not frame[0].startswith("<")), frames
    assert all(isinstance(entry, int) for entry in record.stack if not isinstance(entry, tuple))
    assert not any("asyncio" in frame[0] or "leaklint" + "/runtime" in frame[0] for frame in frames)


def test_allow_patterns():
    with Recorder() as recorder:
        worker = threading.Thread(target=time.sleep, args=(0,), name="poller-7")
        worker.start()
        worker.join()
    (record,) = recorder.records
    assert is_allowed(record, parse_allow(["thread:poller-"]))
    assert is_allowed(record, parse_allow(["thread:sleep"]))  # the target
    assert is_allowed(record, parse_allow(["thread"]))
    assert not is_allowed(record, parse_allow(["task:poller-", "thread:flusher"]))
    with pytest.raises(ValueError):
        parse_allow(["thread-poller"])


def test_the_static_rule_of_the_same_creation(tmp_path):
    source = tmp_path / "service.py"
    source.write_text(
        "import threading\n"
        "import time\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "\n"
        "RUNNING = True\n"
        "\n"
        "def poll():\n"
        "    while RUNNING:\n"
        "        time.sleep(0.01)\n"
        "\n"
        "def run(job):\n"
        "    pool = ThreadPoolExecutor()\n"
        "    pool.submit(job)\n"
        "    worker = threading.Thread(\n"
        "        target=poll,\n"
        "    )\n"
        "    worker.start()\n"
        "\n"
        "def clean(job):\n"
        "    worker = threading.Thread(target=poll)\n"
        "    worker.start()\n"
        "    worker.join()\n"
    )
    namespace: dict = {}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    with Recorder() as recorder:
        namespace["run"](lambda: None)
        (poller,) = [r() for r in recorder.records if r.kind == THREAD and r.detail == "poll"]
        namespace["RUNNING"] = False  # what no static analysis of the file sees
        poller.join()
        namespace["clean"](lambda: None)
    rules = StaticFindings()
    found = [
        (record.kind, record.site[1], rules.rule_for(record))
        for record in recorder.records
        if record.site[0] == str(source)
    ]
    assert (EXECUTOR, 12, ("LL202", "executor-without-shutdown")) in found
    # Started on line 17, made (and reported by LL201) on line 14; the clean one.
    assert (THREAD, 17, ("LL201", "unjoined-thread")) in found
    assert (THREAD, 21, None) in found
