"""The language server's check process, driven directly: what a job returns,
and how a job is stopped (time limit, cancellation, shutdown)."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from dataclasses import replace

import pytest

from leaklint.config import Settings
from leaklint.finding import SAFE, Edit, Fix
from leaklint.lsp.worker import CHECK, FIX_ALL, CheckCancelled, CheckTimeout, CheckWorker, Job, check_text
from leaklint.registry import all_rules
from leaklint.runner import Checker

TEXT = "import asyncio\n\n\nasync def main():\n    asyncio.create_task(a())\n    asyncio.create_task(b())  # noqa: LL101\n    t = asyncio.create_task(c())\n"
SLOW = "import asyncio\n\n" + "".join(f"async def f{n}():\n    asyncio.create_task(work())\n" for n in range(1500))


@pytest.fixture
def worker():
    made = []

    def make(timeout=30.0):
        made.append(CheckWorker(timeout))
        return made[-1]

    yield make
    for each in made:
        each.stop()


def test_a_check_is_what_the_command_line_reports(worker, tmp_path):
    path = tmp_path / "app.py"
    path.write_text(TEXT)
    result = worker().run(Job(CHECK, TEXT, str(path), all_rules()))
    assert [(f.line, f.code) for f in result.findings] == [(5, "LL101"), (7, "LL102")]
    assert result.findings == Checker(Settings()).check_file(str(path)).findings
    assert result.findings == check_text(TEXT, str(path), all_rules()).findings


def test_fix_all_without_fixes_changes_nothing(worker):
    outcome = worker().run(Job(FIX_ALL, TEXT, "app.py", all_rules()))
    assert outcome.text == TEXT and outcome.applied == [] and outcome.error is None


def test_the_time_limit_kills_the_check_and_a_fresh_process_takes_over(worker):
    impatient = worker(0.3)
    with pytest.raises(CheckTimeout):
        impatient.run(Job(CHECK, SLOW, "slow.py", all_rules()))
    impatient.timeout = 30.0
    assert [f.code for f in impatient.run(Job(CHECK, TEXT, "app.py", all_rules())).findings] == ["LL101", "LL102"]


def test_a_check_is_cancelled_from_another_thread(worker):
    checker = worker(None)
    checker.start()
    canceller = threading.Timer(0.3, checker.cancel)
    canceller.start()
    try:
        with pytest.raises(CheckCancelled):
            checker.run(Job(CHECK, SLOW, "slow.py", all_rules()))
    finally:
        canceller.join()
    assert len(checker.run(Job(CHECK, TEXT, "app.py", all_rules())).findings) == 2


def test_after_stop_nothing_runs(worker):
    checker = worker()
    checker.start()
    checker.stop()
    with pytest.raises(CheckCancelled):
        checker.run(Job(CHECK, TEXT, "app.py", all_rules()))


def test_spawned_children_work_too(worker):
    # Where there is no fork server (Windows), each child is spawned.
    checker = worker()
    checker._context = multiprocessing.get_context("spawn")
    assert len(checker.run(Job(CHECK, TEXT, "app.py", all_rules())).findings) == 2


def test_fixes_travel_back_from_the_child():
    # Findings cross the process boundary by pickling: a fix must survive it.
    fix = Fix("Keep it", SAFE, (Edit(1, 1, 1, 1, "t = "),))
    finding = check_text(TEXT, "app.py", all_rules()).findings[0]
    copy = pickle.loads(pickle.dumps(replace(finding, fix=fix)))
    assert copy.fix == fix and copy == finding
