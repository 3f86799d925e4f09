"""Check many files: read each once, apply per-file ignores and ``# noqa``.

This is the command line's engine room (the plugins call ``check_source``
directly, since their hosts read, schedule and suppress).

:func:`check_files` answers unchanged files from the cache (:mod:`leaklint.cache`),
checks a few files in this process and many in a pool of worker processes.
Every file is bounded in time: one that takes longer than ``timeout`` seconds,
or whose worker dies, gets a one-line error and the run goes on."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import multiprocessing
import os
import stat as stat_module
import signal
import sys
import threading
import time
from collections import deque
from contextlib import contextmanager
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Deque, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Type

from leaklint.analysis.project import ProjectIndex, dependencies_current, stamp_dependencies
from leaklint.cache import ResultCache, StatKey, content_hash, stat_key
from leaklint.config import Settings
from leaklint.engine import check_source, decode_source
from leaklint.files import matches_pattern
from leaklint.finding import FileResult
from leaklint.noqa import drop_suppressed
from leaklint.registry import select_rules
from leaklint.rule import Rule
from leaklint.summary_cache import SummaryCache

DEFAULT_TIMEOUT = 60.0  # seconds per file; the largest stdlib file takes about one
# Below this much source, starting workers costs more than it saves.
_IN_PROCESS_BYTES = 256 * 1024
_MAX_CHUNK = 16
# Parsing a file this large takes 100-200 MiB; the pool parses one at a time,
# so that two such peaks never add up.
_LARGE_FILE_BYTES = 100 * 1024
# The pool kills a worker this long after its own in-process alarm should have
# fired: the alarm cannot interrupt native code (the parser), the kill can.
_KILL_GRACE = 5.0


class Checker:
    """Checks files with the rules a :class:`Settings` enables, and with what
    the project's modules do (one index per run, and per worker process, built
    lazily; summaries cached in ``summary_dir``, preloaded from ``index_files``)."""

    def __init__(self, settings: Settings, summary_dir: Optional[Path] = None, index_files: Sequence[Path] = ()):
        self.settings = settings
        self.rules = select_rules(settings.select, settings.ignore, settings.extend_select)
        self._summary_dir = summary_dir
        self._index_files = tuple(index_files)
        self._project: Optional[ProjectIndex] = None

    @property
    def project(self) -> ProjectIndex:
        if self._project is None:
            cache = SummaryCache(self._summary_dir)
            for file in self._index_files:
                try:
                    cache.load_index(file)
                except (OSError, ValueError):
                    pass  # the command line said why before the run; an index only saves time
            self._project = ProjectIndex(cache)
        return self._project

    def rules_for(self, path: str) -> List[Type[Rule]]:
        ignored = []
        for pattern, codes in self.settings.per_file_ignores.items():
            if matches_pattern(Path(path), pattern, self.settings.root):
                ignored.extend(codes)
        if not ignored:
            return self.rules
        return [rule for rule in self.rules if not any(rule.code.startswith(code.upper()) for code in ignored)]

    def check_file(self, path: str) -> FileResult:
        try:
            data, _ = read_regular_file(path)
        except OSError as error:
            return FileResult(path, error=f"cannot read: {error.strerror or error}")
        return self.check_bytes(path, data)

    def check_bytes(self, path: str, data: bytes) -> FileResult:
        # The bytes, not their text: the project index may know them already.
        result = check_source(data, path, self.rules_for(path), project=self.project)
        if result.findings:
            result.findings = drop_suppressed(result.findings, decode_source(data).splitlines())
        return result


# What checking one file gives back: the result (None when the content hash
# equals the cached one, so the cached result stands), the (mtime_ns, size)
# seen before reading and the content hash (None when not hashed or not read).
Outcome = Tuple[Optional[FileResult], Optional[StatKey], Optional[str]]
# One file to check: its index in the caller's list, its path, and the content
# hash of its cached result, if any.
Task = Tuple[int, str, Optional[str]]


def check_files(
    paths: Sequence[str],
    settings: Settings,
    jobs: Optional[int] = None,
    cache_dir: Optional[Path] = None,
    use_cache: bool = True,
    timeout: Optional[float] = DEFAULT_TIMEOUT,
    index_files: Sequence[Path] = (),
) -> List[FileResult]:
    """Check ``paths``; results come back in the order of ``paths`` and are the
    same whatever ``jobs`` and the cache.  ``timeout`` bounds each file (seconds;
    ``None``: no bound)."""
    cache = ResultCache.open(settings, select_rules(settings.select, settings.ignore, settings.extend_select), cache_dir) if use_cache else None
    checker = Checker(settings, cache.directory if cache is not None else None, index_files)
    if cache is not None:
        cache.dependencies_current = lambda stamped: dependencies_current(checker.project, stamped)
    absolute = [os.path.abspath(path) for path in paths]
    results: List[Optional[FileResult]] = [None] * len(paths)
    tasks: List[Task] = []
    sizes: Dict[int, int] = {}
    for index, path in enumerate(paths):
        try:
            stat: Optional[os.stat_result] = os.stat(path)
        except OSError:
            stat = None  # reading it will say why
        if cache is not None and stat is not None:
            cached = cache.by_stat(absolute[index], stat, path)
            if cached is not None:
                results[index] = cached
                continue
        sizes[index] = stat.st_size if stat is not None else 0
        tasks.append((index, path, cache.known_hash(absolute[index]) if cache is not None else None))

    def record(index: int, outcome: Outcome) -> None:
        result, stat, digest = outcome
        if result is None and cache is not None and digest is not None:
            result = cache.by_hash(absolute[index], digest, stat, paths[index])
            if result is None:  # the cached entry was unreadable after all
                result = _check_one(checker, paths[index], None, False, timeout)[0]
        elif result is not None and cache is not None and stat is not None and digest is not None:
            cache.store(absolute[index], stat, digest, result, stamp_dependencies(result.dependencies))
        results[index] = result

    jobs = max(1, jobs or os.cpu_count() or 1)
    with _fewer_collections():
        if jobs == 1 or len(tasks) < 2 or sum(sizes.values()) < _IN_PROCESS_BYTES:
            for index, path, known_hash in tasks:
                record(index, _check_one(checker, path, known_hash, cache is not None, timeout))
        else:
            largest_first = sorted(tasks, key=lambda task: -sizes[task[0]])
            large = [[task] for task in largest_first if sizes[task[0]] >= _LARGE_FILE_BYTES]
            small = _chunks([task for task in largest_first if sizes[task[0]] < _LARGE_FILE_BYTES], sizes, jobs)
            _run_pool(checker, large, small, jobs, cache is not None, timeout, record)
    if cache is not None:
        cache.save(absolute)
    return [
        result if result is not None else FileResult(path, error="not checked: leaklint lost its result (a bug)")
        for path, result in zip(paths, results)
    ]


# Python's cycle collector runs a young collection every 700 new objects (and
# each tenth of those a middle one): tuned for programs that keep little.
# Checking a file builds a syntax tree of 10^5 to 10^6 objects and drops it
# whole, freed by reference counting (``engine._release`` breaks the facts'
# cycles), so at that pace every parse pays hundreds of collections that
# find nothing to free, a fifth of a run's time.  While it checks files the
# command runs them less often; the plugins leave their host's collector
# alone.  Workers are forked inside, and inherit it.
_COLLECTOR_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    previous = gc.get_threshold()
    gc.set_threshold(*_COLLECTOR_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def read_regular_file(path: str) -> Tuple[bytes, os.stat_result]:
    """The bytes of ``path`` and its status, taken before reading so that a
    later change shows.  A FIFO or a device is refused, not read: opening a
    FIFO for reading would block until a writer comes, forever."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat_module.S_ISREG(status.st_mode):
            raise OSError("not a regular file")
        return handle.read(), status


def _check_one(checker: Checker, path: str, known_hash: Optional[str], hashing: bool, timeout: Optional[float]) -> Outcome:
    try:
        data, status = read_regular_file(path)
        stat = stat_key(status)
    except OSError as error:
        return FileResult(path, error=f"cannot read: {error.strerror or error}"), None, None
    digest = content_hash(data) if hashing else None
    if digest is not None and digest == known_hash:
        return None, stat, digest
    try:
        with _time_limit(timeout):
            result = checker.check_bytes(path, data)
    except _FileTimeout:
        return FileResult(path, error=_timeout_message(timeout)), None, None
    finally:
        if len(data) >= _LARGE_FILE_BYTES:
            _release_free_memory()
    return result, stat, digest


def _load_malloc_trim() -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None).malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc


_malloc_trim = _load_malloc_trim() if sys.platform.startswith("linux") else None


def _release_free_memory() -> None:
    """glibc keeps the memory of a freed syntax tree (over 100 MiB for a large
    file) for later; hand it back, or every process stays at its largest file."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _timeout_message(timeout: Optional[float]) -> str:
    return f"not checked: took longer than {timeout:g} s"


class _FileTimeout(BaseException):
    """Raised by the alarm in the middle of checking a file.  Not an Exception,
    so no ``except Exception`` on the way (the guard around each rule) eats it."""


@contextmanager
def _time_limit(seconds: Optional[float]) -> Iterator[None]:
    """Interrupt the Python code of this block after ``seconds``.  Only on the
    main thread of a POSIX process whose real-time timer is free; the parser's
    native code is not interrupted (the pool kills a worker that overruns)."""
    if (
        not seconds
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
        or signal.getitimer(signal.ITIMER_REAL)[0] != 0
    ):
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise _FileTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- the worker pool ---------------------------------------------------------------
#
# Not concurrent.futures or multiprocessing.Pool: one loses every pending file
# when a worker dies, the other hangs, and neither can stop a worker stuck in
# native code.  Here the parent knows which file each worker is on (results
# come back one file at a time), so a worker that dies or overruns costs that
# one file an error; the rest of its chunk goes back in the queue.


def _chunks(tasks: List[Task], sizes: Dict[int, int], jobs: int) -> List[List[Task]]:
    """Consecutive runs of ``tasks`` (largest first) of about equal size: the
    bigger files alone or in twos, the small ones in batches, so that the last
    chunks are small and the workers finish together."""
    target = max(1, sum(sizes[task[0]] for task in tasks) // (jobs * 16))
    chunks: List[List[Task]] = []
    chunk: List[Task] = []
    chunk_bytes = 0
    for task in tasks:
        chunk.append(task)
        chunk_bytes += sizes[task[0]]
        if chunk_bytes >= target or len(chunk) >= _MAX_CHUNK:
            chunks.append(chunk)
            chunk, chunk_bytes = [], 0
    if chunk:
        chunks.append(chunk)
    return chunks


def _context() -> Any:
    # fork: a worker starts in milliseconds with libcst and the rules already
    # imported.  Not on macOS, where forking after system frameworks ran is unsafe.
    if "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _worker_main(checker: Checker, connection: Any, hashing: bool, timeout: Optional[float]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # on Ctrl-C the parent stops the workers
    while True:
        try:
            chunk = connection.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if chunk is None:
            return
        for index, path, known_hash in chunk:
            connection.send((index, _check_one(checker, path, known_hash, hashing, timeout)))


class _Worker:
    def __init__(self, context: Any, checker: Checker, hashing: bool, timeout: Optional[float]):
        self.connection, child_end = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(checker, child_end, hashing, timeout), daemon=True)
        self.process.start()
        child_end.close()  # so that the worker's death reads as end-of-file here
        self.chunk: List[Task] = []
        self.done = 0
        self.deadline = 0.0
        self.large = False  # the chunk is one large file

    @property
    def busy(self) -> bool:
        return self.done < len(self.chunk)

    def give(self, chunk: List[Task], limit: Optional[float], large: bool) -> None:
        self.chunk, self.done, self.large = chunk, 0, large
        self.deadline = time.monotonic() + (limit or 0.0)
        self.connection.send(chunk)

    def receive(self, record: Any, limit: Optional[float]) -> Optional[str]:
        """Take every result that has arrived; a message if the worker died."""
        try:
            while self.busy and self.connection.poll():
                index, outcome = self.connection.recv()
                record(index, outcome)
                self.done += 1
                self.deadline = time.monotonic() + (limit or 0.0)
        except Exception:  # end of file, or a message cut short: the worker is gone
            return self._death()
        if self.busy and not self.process.is_alive():
            return self._death()
        return None

    def _death(self) -> str:
        self.process.join(1.0)
        code = self.process.exitcode
        if code is None:
            how = "stopped answering"
        elif code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exit status {code}"
        return f"not checked: the worker process checking it died ({how})"

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.connection.send(None)
            except OSError:
                pass
            self.process.join(5.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


def _run_pool(
    checker: Checker,
    large: List[List[Task]],
    small: List[List[Task]],
    jobs: int,
    hashing: bool,
    timeout: Optional[float],
    record: Any,
) -> None:
    """Check the ``large`` chunks (one large file each, largest first) one at a
    time, and the ``small`` chunks on the other workers meanwhile."""
    context = _context()
    limit = timeout + _KILL_GRACE if timeout else None
    queues: Dict[bool, Deque[List[Task]]] = {True: deque(large), False: deque(small)}
    workers: List[_Worker] = []
    finished = False
    try:
        workers = [_Worker(context, checker, hashing, timeout) for _ in range(min(jobs, len(large) + len(small)))]
        while True:
            for position, worker in enumerate(workers):
                if worker.busy:
                    continue
                take_large = bool(queues[True]) and not any(other.busy and other.large for other in workers)
                if not take_large and not queues[False]:
                    continue
                if not worker.process.is_alive():
                    worker.stop(kill=True)
                    worker = workers[position] = _Worker(context, checker, hashing, timeout)
                worker.give(queues[take_large].popleft(), limit, take_large)
            busy = [worker for worker in workers if worker.busy]
            if not busy:
                break
            wait_seconds = None if limit is None else max(0.0, min(worker.deadline for worker in busy) - time.monotonic())
            ready = set(wait([w.connection for w in busy] + [w.process.sentinel for w in busy], wait_seconds))
            for position, worker in enumerate(workers):
                if not worker.busy:
                    continue
                failure = None
                if worker.connection in ready or worker.process.sentinel in ready:
                    failure = worker.receive(record, limit)
                if failure is None and worker.busy and limit is not None and time.monotonic() > worker.deadline:
                    failure = _timeout_message(timeout)
                if failure is not None:
                    index, path, _ = worker.chunk[worker.done]
                    record(index, (FileResult(path, error=failure), None, None))
                    rest = worker.chunk[worker.done + 1 :]
                    if rest:
                        queues[worker.large].appendleft(rest)
                    worker.chunk = []
                    worker.stop(kill=True)  # a fresh one takes its place when there is work
        finished = True
    finally:
        for worker in workers:
            worker.stop(kill=not finished)


def iter_findings(results: Iterable[FileResult]):
    for result in results:
        yield from result.findings
