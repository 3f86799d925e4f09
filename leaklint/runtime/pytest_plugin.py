"""``pytest --leaks``: fail a test that leaves a thread running, a task pending,
a child unwaited or an executor open.

Installed with leaklint (the ``pytest11`` entry point ``leaklint``) and
inactive unless asked for with ``--leaks`` or the ini option ``leaks = true``.
After each test, and after its fixtures are torn down, everything created
during the test's setup, call and teardown must have ended; what has not after
the grace period fails the test, with the stack where it was created.

Things created while a fixture of a wider scope (class, module, package,
session) is set up belong to that scope and are not checked per test.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, List, Tuple

import pytest

from leaklint.runtime.recorder import THREAD, WORKER_PROCESS, Record, Recorder
from leaklint.runtime.report import NOUN, StaticFindings, describe, group_workers, is_allowed, location, parse_allow

MARKER = (
    "leaks(allow=[...]): leaks this test may leave without failing: patterns "
    "'kind:name-prefix' with kind thread, task, process or executor (leaklint --leaks)"
)


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("leaks", "leaklint: threads, tasks, children and executors left alive by a test")
    group.addoption(
        "--leaks", action="store_true", dest="leaks", default=None,
        help="fail tests that leave threads, asyncio tasks, child processes or executors alive",
    )
    group.addoption("--no-leaks", action="store_false", dest="leaks", help="turn off an ini 'leaks = true'")
    group.addoption(
        "--leaks-grace", type=float, dest="leaks_grace", default=None, metavar="SECONDS",
        help="how long to wait for things that are just ending (default 0.5)",
    )
    group.addoption(
        "--leaks-ignore-daemon", action="store_true", dest="leaks_ignore_daemon", default=None,
        help="do not report daemon threads and daemonic processes",
    )
    parser.addini("leaks", "check every test for leaks, as --leaks does", type="bool", default=False)
    parser.addini("leaks_grace", "seconds to wait for things that are just ending", default="0.5")
    parser.addini("leaks_ignore_daemon", "do not report daemon threads and processes", type="bool", default=False)
    parser.addini("leaks_allow", "leaks every test may leave: kind:name-prefix, one a line", type="linelist", default=[])


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", MARKER)
    enabled = config.getoption("leaks")
    if enabled is None:
        enabled = config.getini("leaks")
    if not enabled:
        return
    grace = config.getoption("leaks_grace")
    if grace is None:
        try:
            grace = float(config.getini("leaks_grace"))
        except ValueError:
            raise pytest.UsageError(f"leaks_grace must be a number of seconds, not {config.getini('leaks_grace')!r}")
    ignore_daemon = config.getoption("leaks_ignore_daemon")
    if ignore_daemon is None:
        ignore_daemon = config.getini("leaks_ignore_daemon")
    try:
        allow = parse_allow(config.getini("leaks_allow"))
    except ValueError as error:
        raise pytest.UsageError(str(error))
    config.pluginmanager.register(LeakCheck(config, grace, bool(ignore_daemon), allow), "leaklint-leak-check")


class LeakCheck:
    """The check, registered only when asked for."""

    def __init__(self, config: Any, grace: float, ignore_daemon: bool, allow: list):
        self.config = config
        self.grace = max(0.0, grace)
        self.ignore_daemon = ignore_daemon
        self.allow = allow
        self.rules = StaticFindings()
        self.recorder = Recorder().start()

    def pytest_unconfigure(self) -> None:
        self.recorder.stop()

    def pytest_report_header(self) -> str:
        return f"leaklint leak check: on (grace {self.grace:g} s{', daemon threads ignored' if self.ignore_daemon else ''})"

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any) -> Any:
        if fixturedef.scope == "function" or self.recorder.tag is not None:
            yield
            return
        self.recorder.tag = f"{fixturedef.scope}-scoped fixture {fixturedef.argname!r}"
        try:
            yield
        finally:
            self.recorder.tag = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> bool:
        # pytest's own protocol, with the reports held back until the check
        # after teardown can mark the test failed (as pytest-rerunfailures does).
        from _pytest.runner import runtestprotocol

        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        mark = self.recorder.mark()
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        call = next((report for report in reports if report.when == "call"), None)
        if call is not None and not call.skipped:
            self._check(item, mark, call)
        self.recorder.clear()
        for report in reports:
            ihook.pytest_runtest_logreport(report=report)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    def _check(self, item: Any, mark: int, call: Any) -> None:
        try:
            allow = self.allow + [
                pattern for marker in item.iter_markers("leaks") for pattern in parse_allow(marker.kwargs.get("allow", ()))
            ]
        except ValueError as error:
            leaks_text = f"leaklint: {error}"
        else:
            leaks = self._leaks(mark, allow)
            if not leaks:
                return
            leaks_text = self._format(leaks)
        if call.passed and not hasattr(call, "wasxfail"):
            call.outcome = "failed"
            call.longrepr = leaks_text
        else:
            call.sections.append(("leaklint: leaks", leaks_text))

    def _leaks(self, mark: int, allow: list) -> List[Tuple[Record, str, int]]:
        recorder = self.recorder
        candidates = [
            record for record in recorder.since(mark)
            if record.tag is None
            and not (self.ignore_daemon and record.daemon and record.kind in (THREAD, WORKER_PROCESS))
            and not is_allowed(record, allow)
        ]
        deadline = time.monotonic() + self.grace
        while True:
            try:
                leaks = recorder.alive(candidates)
            except Exception as error:  # never let the check itself break a run
                warnings.warn(f"leaklint: leak check skipped: {type(error).__name__}: {error}", RuntimeWarning)
                return []
            if not leaks or time.monotonic() >= deadline:
                break
            time.sleep(0.01)
        return group_workers(leaks)

    def _format(self, leaks: List[Tuple[Record, str, int]]) -> str:
        # The first line is what pytest's short summary shows: what, and where from.
        sites = ", ".join(
            f"{NOUN[record.kind]} from {location(record.site) if record.site else '?'}" for record, _, _ in leaks
        )
        lines = [
            f"leaklint: {len(leaks)} left alive after teardown and a {self.grace:g} s grace period: {sites}",
        ]
        for record, state, workers in leaks:
            lines.append("")
            lines.extend(describe(record, state, self.rules, workers))
        lines.append("")
        lines.append("Allow a known leak with @pytest.mark.leaks(allow=['thread:name-prefix', ...]).")
        return "\n".join(lines)
