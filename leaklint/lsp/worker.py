"""The process that checks the editor's buffers, one at a time.

Checks run in a child process, not a thread of the server: a check that takes
longer than the time limit, or whose text has been superseded, can be stopped
for real (the child is killed and a fresh one started), and a crash of native
code (the parser) costs one check, not the server.  The child answers in the
same words as the command line: :func:`check_text` is what the ``leaklint``
command does with one file's text, ``# noqa`` included.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple, Type, Union

from leaklint.analysis.project import host_index
from leaklint.engine import check_source
from leaklint.finding import FileResult, Finding
from leaklint.fixes import FixOutcome, fix_source
from leaklint.noqa import drop_suppressed
from leaklint.registry import all_rules
from leaklint.rule import Rule

CHECK = "check"
FIX_ALL = "fix-all"
# The child imports libcst and every rule before it says it is ready.
_START_SECONDS = 60.0


@dataclass(frozen=True)
class Job:
    kind: str  # CHECK or FIX_ALL
    text: str
    path: str
    rules: Tuple[Type[Rule], ...]


class CheckTimeout(Exception):
    """The check took longer than the time limit; the child was killed."""


class CheckCancelled(Exception):
    """The check was stopped because its text was superseded."""


class WorkerDied(Exception):
    """The child died while checking (a crash in native code)."""


def suppress(findings: Sequence[Finding], text: str) -> list:
    # The lines as the command line splits them (leaklint.runner.Checker.check_bytes).
    return drop_suppressed(findings, text.splitlines())


def check_text(text: str, path: str, rules: Sequence[Type[Rule]]) -> FileResult:
    """The findings of ``text`` the command line would report for a file
    ``path`` with these contents: the engine with the project's facts
    (found from the path, as the flake8 and pylint hosts find them), then
    ``# noqa``."""
    result = check_source(text, path, rules, project=host_index(path))
    if result.findings:
        result.findings = suppress(result.findings, text)
    return result


def fix_text(text: str, path: str, rules: Sequence[Type[Rule]]) -> FixOutcome:
    """Every safe fix applied to ``text``; findings silenced by ``# noqa`` are never fixed."""
    return fix_source(text, path, rules, unsafe=False, suppress=suppress, project=host_index(path))


def run_job(job: Job) -> Union[FileResult, FixOutcome]:
    if job.kind == FIX_ALL:
        return fix_text(job.text, job.path, job.rules)
    return check_text(job.text, job.path, job.rules)


def _child_main(connection: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the editor's terminal is the server's business
    # The server's stdout is the editor's LSP stream: nothing printed here may reach it.
    try:
        os.dup2(sys.stderr.fileno(), 1)
    except (OSError, ValueError, AttributeError):
        pass
    sys.stdout = sys.stderr
    all_rules()  # imported before the first job, whose time limit must not pay for it
    connection.send("ready")
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return  # the server is gone
        if job is None:
            return
        try:
            outcome: Any = run_job(job)
        except Exception as error:  # the engine already guards each rule; this is a last resort
            outcome = FileResult(job.path, error=f"internal error: {type(error).__name__}: {error}")
        connection.send(outcome)


def _context() -> Any:
    """A fork server where there is one: it imports leaklint once, then forks
    each child from a process without threads, so a replaced child starts in
    milliseconds.  Plain fork is unsafe here (the server has threads); spawn,
    elsewhere, pays the imports for every child."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # __main__ too: what the server's main module sets up, its children see.
        context.set_forkserver_preload(["__main__", __name__])
        return context
    return multiprocessing.get_context("spawn")


class CheckWorker:
    """A child process that runs one :class:`Job` at a time.

    :meth:`run` blocks (call it from a thread, never the server's event loop)
    until the outcome arrives, the time limit passes (:class:`CheckTimeout`),
    :meth:`cancel` is called from another thread (:class:`CheckCancelled`) or
    the child dies (:class:`WorkerDied`).  The child is started on first use
    and replaced after every kill."""

    def __init__(self, timeout: Optional[float]):
        self.timeout = timeout
        self._context = _context()
        self._lock = threading.Lock()  # one job at a time
        self._process: Any = None
        self._connection: Any = None
        self._cancelled = False
        self._stopped = False

    def start(self) -> None:
        with self._lock:
            self._ensure_started()

    def run(self, job: Job) -> Union[FileResult, FixOutcome]:
        with self._lock:
            if self._stopped:
                raise CheckCancelled()
            self._cancelled = False
            self._ensure_started()
            connection = self._connection
            try:
                connection.send(job)
                if not connection.poll(self.timeout):
                    self._kill()
                    raise CheckTimeout()
                return connection.recv()
            except (EOFError, OSError):
                cancelled = self._cancelled
                self._kill()
                if cancelled:
                    raise CheckCancelled() from None
                raise WorkerDied() from None

    def cancel(self) -> None:
        """Stop the job that is running, if any (the child is killed: its
        end of the pipe closes and :meth:`run` returns)."""
        process = self._process
        if process is not None and self._lock.locked():
            self._cancelled = True
            process.kill()

    def stop(self) -> None:
        """Kill the child for good; a running :meth:`run` returns at once."""
        self._stopped = self._cancelled = True
        process = self._process
        if process is not None:
            process.kill()
        with self._lock:
            self._kill()

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        self._kill()
        connection, child_end = self._context.Pipe()
        process = self._context.Process(target=_child_main, args=(child_end,), name="leaklint-lsp-check", daemon=True)
        try:
            process.start()
        except OSError:  # no fork server here (a sandbox without Unix sockets): spawn each child
            if self._context.get_start_method() == "spawn":
                raise WorkerDied() from None
            self._context = multiprocessing.get_context("spawn")
            process = self._context.Process(target=_child_main, args=(child_end,), name="leaklint-lsp-check", daemon=True)
            process.start()
        child_end.close()  # so that the child's death reads as end-of-file here
        self._process, self._connection = process, connection
        try:
            ready = connection.poll(_START_SECONDS) and connection.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self._kill()
            raise WorkerDied()

    def _kill(self) -> None:
        process, connection = self._process, self._connection
        self._process = self._connection = None
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join()
        if connection is not None:
            connection.close()
