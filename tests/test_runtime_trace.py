"""``python -m leaklint.trace`` as a real subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

LEAKY = textwrap.dedent(
    '''\
    import asyncio
    import subprocess
    import sys
    import threading
    import time


    async def poll_forever():
        while True:
            await asyncio.sleep(1)


    async def serve():
        asyncio.create_task(poll_forever())
        done = [asyncio.create_task(asyncio.sleep(0.01)) for _ in range(3)]
        await asyncio.gather(*done)


    def main():
        loop = asyncio.new_event_loop()
        loop.run_until_complete(serve())
        flusher = threading.Thread(target=time.sleep, args=(0.5,), name="flusher")
        flusher.start()
        for _ in range(2):
            helper = threading.Thread(target=time.sleep, args=(0.01,))
            helper.start()
            helper.join()
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
        subprocess.run([sys.executable, "-c", "pass"])
        print("main done", sys.argv[1:])


    main()
    '''
)


def line_of(text: str) -> int:
    (number,) = [n for n, line in enumerate(LEAKY.splitlines(), 1) if text in line]
    return number


def trace(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "leaklint.trace", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_alive_thread_task_and_child_and_a_valid_trace(tmp_path):
    (tmp_path / "leaky.py").write_text(LEAKY)
    result = trace("--output", "trace.json", "leaky.py", "one", "two", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "main done ['one', 'two']\n"
    report = result.stderr
    assert "leaklint.trace: 3 still alive when leaky.py finished" in report
    # No rule code: LL201 flags only workers that can never end by themselves.
    assert "worker that never ends: thread 'flusher' (running sleep) still running\n" in report
    assert f"created at leaky.py:{line_of('flusher.start()')} in main" in report
    assert "lost task: task 'Task-2' (running poll_forever()) still pending  [LL101 dangling-task]" in report
    assert f"created at leaky.py:{line_of('asyncio.create_task(poll_forever())')} in serve" in report
    assert f"called from leaky.py:{line_of('loop.run_until_complete(serve())')} in main" in report
    assert "child not waited: child process 'python" in report
    assert f"created at leaky.py:{line_of('subprocess.Popen(')} in main" in report
    counts = {
        match.group(1): tuple(map(int, match.group(2, 3, 4)))
        for match in re.finditer(r"^(thread|task|child process|worker process|executor) +(\d+) +(\d+) +(\d+)$", report, re.M)
    }
    assert counts == {
        "thread": (3, 2, 1),
        "task": (5, 4, 1),
        "child process": (2, 1, 1),
        "worker process": (0, 0, 0),
        "executor": (0, 0, 0),
    }

    data = json.loads((tmp_path / "trace.json").read_text())
    events = data["traceEvents"]
    slices = [event for event in events if event["ph"] == "X"]
    assert len(slices) == 3 + 5 + 2  # one per recorded object
    for event in slices:
        assert isinstance(event["ts"], (int, float)) and isinstance(event["dur"], (int, float))
        assert event["dur"] >= 0 and isinstance(event["pid"], int) and 0 < event["tid"] < 2**31
        assert event["name"] and event["cat"] in ("thread", "task", "process")
    assert {event["ph"] for event in events} <= {"X", "M"}
    named_tracks = {event["tid"]: event["args"]["name"] for event in events if event["name"] == "thread_name"}
    # One track per thread, with that thread's slice alone on it.
    thread_slices = [event for event in slices if event["cat"] == "thread"]
    assert sorted(named_tracks[event["tid"]] for event in thread_slices) == [
        "thread Thread-1 (sleep)", "thread Thread-2 (sleep)", "thread flusher",
    ]
    assert len({event["tid"] for event in thread_slices}) == 3
    # Slices on one track never overlap.
    by_track: dict = {}
    for event in slices:
        by_track.setdefault(event["tid"], []).append((event["ts"], event["ts"] + event["dur"]))
    for spans in by_track.values():
        spans.sort()
        assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))
    leaked = {event["args"]["name"]: event["args"] for event in slices if "leak" in event["args"]}
    assert sorted(leaked) == ["Task-2", "flusher", "python"]
    assert leaked["Task-2"]["rule"] == "LL101 dangling-task"
    assert "rule" not in leaked["flusher"]
    assert leaked["flusher"]["created at"] == f"leaky.py:{line_of('flusher.start()')}"


def test_a_module_its_arguments_and_its_exit_status(tmp_path):
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(
        "import sys, threading\n"
        "worker = threading.Thread(target=print, args=('worker ran',))\n"
        "worker.start()\n"
        "worker.join()\n"
        "print('args', sys.argv[1:])\n"
        "sys.exit(3)\n"
    )
    result = trace("-m", "app", "--flag", cwd=tmp_path)
    assert result.returncode == 3
    assert result.stdout == "worker ran\nargs ['--flag']\n"
    assert "leaklint.trace: nothing left alive when -m app finished" in result.stderr
    assert re.search(r"^thread +1 +1 +0$", result.stderr, re.M)


def test_a_failing_program_keeps_its_traceback_and_status(tmp_path):
    (tmp_path / "broken.py").write_text("def main():\n    raise ValueError('bad input')\n\nmain()\n")
    result = trace("broken.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "ValueError: bad input" in result.stderr
    assert 'File "' in result.stderr and "broken.py\", line 2, in main" in result.stderr
    assert "leaklint.trace: nothing left alive" in result.stderr


def test_usage_errors(tmp_path):
    assert trace(cwd=tmp_path).returncode == 2
    assert trace("--frobnicate", "x.py", cwd=tmp_path).returncode == 2
    missing = trace("missing.py", cwd=tmp_path)
    assert missing.returncode == 2 and "cannot run missing.py" in missing.stderr
    assert trace("--help", cwd=tmp_path).returncode == 0
