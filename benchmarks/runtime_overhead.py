"""What recording costs: create 100,000 asyncio tasks and 1,000 threads with
leaklint's runtime recorder off, on (as ``pytest --leaks`` records), on with a
timeline (as ``python -m leaklint.trace --output`` records: a done callback per
task for its exact end), and off again after it was stopped.

    python benchmarks/runtime_overhead.py [--tasks N] [--threads N] [--repeat N]

Each measurement is the best of ``--repeat`` runs (the machine is shared; the
best run is the one least disturbed), in CPU time of the whole process
(``time.process_time``, all threads), which other processes on a busy machine
disturb less than the wall clock; the wall clock is printed too.  "off" is before the recorder was ever
started; "stopped" is after a start and a stop, which must cost nothing.
Not a test: timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from leaklint.runtime.recorder import Recorder  # noqa: E402


async def _noop() -> None:
    pass


async def _spawn_tasks(count: int, batch: int = 1000) -> None:
    for start in range(0, count, batch):
        await asyncio.gather(*[asyncio.create_task(_noop()) for _ in range(min(batch, count - start))])


def tasks(count: int) -> float:
    asyncio.run(_spawn_tasks(count))


def threads(count: int, batch: int = 10) -> None:
    for _ in range(0, count, batch):
        workers = [threading.Thread(target=_nothing) for _ in range(batch)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()


def _nothing() -> None:
    pass


def timed(work, count: int):
    """(CPU seconds, wall seconds) of one run."""
    cpu_began, wall_began = time.process_time(), time.perf_counter()
    work(count)
    return time.process_time() - cpu_began, time.perf_counter() - wall_began


def fastest(runs):
    """The best CPU time and the best wall time of ``runs``."""
    return min(run[0] for run in runs), min(run[1] for run in runs)


def measure(work, count: int, repeat: int, depth: int):
    """off, on, timeline and stopped, each the best of ``repeat`` runs.

    "off" runs first, before any recorder was started.  Then on, timeline and
    stopped take turns, one run of each per round, so that a disturbance of
    the machine (a noisy neighbour, a warmer cache) falls on all three alike
    instead of on whichever came last: the ratios compare runs made side by
    side."""
    off = [timed(work, count) for _ in range(repeat)]
    runs = {"on": [], "timeline": [], "stopped": []}
    recorded = 0
    for _ in range(repeat):
        for mode in ("on", "timeline", "stopped"):
            if mode == "stopped":
                runs[mode].append(timed(work, count))
                continue
            recorder = Recorder(depth=depth, timeline=mode == "timeline").start()
            runs[mode].append(timed(work, count))
            recorded = len(recorder.records)
            recorder.stop()
            recorder.clear()
    return fastest(off), fastest(runs["on"]), fastest(runs["timeline"]), fastest(runs["stopped"]), recorded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--depth", type=int, default=4, help="user frames kept per creation (the recorder's default: 4)")
    options = parser.parse_args()

    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    rows = []
    for name, work, count in (("tasks", tasks, options.tasks), ("threads", threads, options.threads)):
        rows.append((f"{count:,} {name}", *measure(work, count, options.repeat, options.depth)))

    print(
        f"{'CPU seconds':16}{'off':>8}{'on':>8}{'timeline':>9}{'stopped':>9}"
        f"{'on/off':>8}{'timeline/off':>13}{'stopped/off':>12}  records  (wall: off, on)"
    )
    for label, off, on, timeline, stopped, recorded in rows:
        print(
            f"{label:16}{off[0]:>8.3f}{on[0]:>8.3f}{timeline[0]:>9.3f}{stopped[0]:>9.3f}"
            f"{on[0] / off[0]:>8.2f}{timeline[0] / off[0]:>13.2f}{stopped[0] / off[0]:>12.2f}"
            f"  {recorded:,}  ({off[1]:.2f} s, {on[1]:.2f} s)"
        )


if __name__ == "__main__":
    main()
