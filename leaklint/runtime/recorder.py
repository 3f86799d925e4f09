"""Record what a program starts: threads, asyncio tasks, child processes and
executors, each with where it was created and when it began and ended.

Recording is opt-in: nothing is patched until :meth:`Recorder.start`, and
:meth:`Recorder.stop` puts every patched attribute back (unless someone else
replaced it meanwhile: then our wrapper stays, and passes calls through).

The hooks, one per kind, each the narrowest the standard library offers:

- threads: ``Thread.start`` (the creation stack) and ``Thread._bootstrap_inner``
  (the end, in the thread itself);
- tasks: ``BaseEventLoop.create_task``, which ``asyncio.create_task``,
  ``ensure_future``, ``gather``, ``TaskGroup`` and runners all go through,
  custom task factories included; the end when seen done or freed (with a
  done callback when a timeline is wanted), and asyncio's own "Task was
  destroyed but it is pending!" report (``call_exception_handler``) for a task
  freed while pending;
- children: ``subprocess.Popen.__init__`` (asyncio subprocesses are Popen
  objects too) and ``multiprocessing``'s ``BaseProcess.start``;
- executors: the ``__init__`` of ``ThreadPoolExecutor``, ``ProcessPoolExecutor``
  and ``multiprocessing.pool.Pool``; the end when ``shutdown``, ``close`` or
  ``terminate`` is called.

No audit hook is installed: ``sys.addaudithook`` cannot be undone, and the
``subprocess.Popen`` event carries no object to follow.

A record is a weak reference to its object, never holds the object, and frames
are reduced to (file, line, function) at once, so nothing is kept alive.  Every
hook runs the original first or last, untouched; the recorder's own work is
guarded: an exception in it stops recording with one warning and is never
raised into the program.
"""

from __future__ import annotations

import itertools
import os
import site
import subprocess
import sys
import sysconfig
import threading
import time
import warnings
import weakref
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

THREAD = "thread"
TASK = "task"
PROCESS = "process"  # a subprocess.Popen child
WORKER_PROCESS = "worker-process"  # a multiprocessing.Process
EXECUTOR = "executor"
KINDS = (THREAD, TASK, PROCESS, WORKER_PROCESS, EXECUTOR)

# (file, line, function, first line of the function)
Frame = Tuple[str, int, str, int]
# User frames, and between them the number of library frames folded away.
Stack = Tuple[Union[Frame, int], ...]

# Library frames in these files belong to a pool: a worker started from them
# belongs to the executor that is ``self`` there.
_POOL_FILES = (
    os.path.join("concurrent", "futures", "thread.py"),
    os.path.join("concurrent", "futures", "process.py"),
    os.path.join("multiprocessing", "pool.py"),
)

_LEAKLINT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_LONGEST_STACK = 24  # entries of a creation stack joined with its tasks' stacks
_USER, _LIBRARY, _OWN = 0, 1, 2  # where a frame's file is; leaklint's own frames are left out
_AT_LOOP = -1  # a frame where the event loop steps a task: a task's creation stack ends there


def _library_roots() -> Tuple[str, ...]:
    roots = set()
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            roots.add(paths[key])
    try:
        roots.update(site.getsitepackages())
        roots.add(site.getusersitepackages())
    except AttributeError:  # an old virtualenv's site module
        pass
    roots = {os.path.abspath(root) for root in roots if root}
    return tuple(sorted(root.rstrip(os.sep) + os.sep for root in roots))


class Record(weakref.ref):
    """One thread, task, child or executor, from creation to end.

    A record is a weak reference to its object (``record()`` is the object,
    or None once it is gone): one small object per task, nothing kept alive."""

    # What every record has is a slot, set where the record is made; what only
    # some have (a thread's ident, a child's pid, an end seen) is a class
    # default that an instance overrides in its ``__dict__``, made on the first
    # such write.  A task record is then a weak reference and eight slots, made
    # without a Python-level ``__init__``: tasks are recorded by the hundred
    # thousand (see benchmarks/runtime_overhead.py).
    __slots__ = ("seq", "kind", "detail", "own_stack", "parent", "start", "tag", "creator", "__dict__")

    _name: Optional[str] = None  # None: asked of the object when needed (a task's name)
    pid: Optional[int] = None
    ident: Optional[int] = None  # a thread's ident once it runs
    end: Optional[float] = None
    owner: Optional["Record"] = None  # the executor a worker belongs to
    daemon = False
    lost = False  # a task destroyed while pending
    _stack: Optional[Stack] = None  # ``stack``, once joined

    # Slots, set by ``new`` or the task hook:
    #   seq       the order of creation
    #   kind      THREAD, TASK, ...
    #   detail    what it runs: target, coroutine, command line
    #   own_stack its creation stack, up to the event loop when made in a task
    #   parent    the task it was made in, if recorded
    #   start     perf_counter() at creation
    #   tag       set while a longer-lived scope creates things
    #   creator   the thread that created it

    @classmethod
    def new(cls, obj: Any, seq: int, kind: str, name: Optional[str], detail: str, stack: Stack,
            tag: Optional[str] = None, callback: Optional[Callable[..., Any]] = None) -> "Record":
        record = cls(obj, callback)
        record.seq = seq
        record.kind = kind
        if name is not None:
            record._name = name
        record.detail = detail
        record.own_stack = stack
        record.parent = None
        record.start = time.perf_counter()
        record.tag = tag
        record.creator = threading.get_ident()
        return record

    @property
    def name(self) -> str:
        """What allow patterns match: thread name, task name, program, class."""
        if self._name is None:
            get_name = getattr(self(), "get_name", None)
            if get_name is None:
                return "?"
            self._name = get_name()
        return self._name

    @property
    def stack(self) -> Stack:
        """The creation stack: its own frames and, when it was made in a task,
        that task's creation stack after them, as goleak says "created by".
        Joined when a report asks, and kept short, so that a long chain of
        tasks that start tasks costs nothing while recording."""
        if self._stack is None:
            stack = self.own_stack
            parent, seen = self.parent, 1
            while parent is not None and len(stack) < _LONGEST_STACK and seen < _LONGEST_STACK:
                gap: Stack = () if stack and isinstance(stack[-1], int) else (-1,)
                stack = stack + gap + parent.own_stack
                parent, seen = parent.parent, seen + 1
            if len(stack) > _LONGEST_STACK:
                stack = stack[:_LONGEST_STACK] + (-1,)
            self._stack = stack
        return self._stack

    @property
    def ref(self) -> "Record":
        return self

    def finish(self, *_: Any) -> None:
        """Mark the end (the first time only)."""
        if self.end is None:
            self.end = time.perf_counter()

    @property
    def site(self) -> Optional[Frame]:
        """The innermost frame of the creation stack: where it was made."""
        for entry in self.stack:
            if not isinstance(entry, int):
                return entry
        return None

    def __repr__(self) -> str:
        return f"<Record {self.kind} {self._name!r} #{self.seq}>"

    # Records are compared and hashed as themselves, not as their objects.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__


class Recorder:
    """Record while started; :meth:`status` says what is still alive."""

    def __init__(self, depth: int = 4, walk: int = 48, timeline: bool = False):
        self.depth = depth  # user frames kept per creation
        self.timeline = timeline  # exact task ends, for a trace file: a done callback per task
        self.walk = walk  # frames looked at, at most
        self.active = False
        self.failed: Optional[str] = None
        self.tag: Optional[str] = None
        self.records: List[Record] = []  # in the order of creation (of ``seq``)
        self.epoch = time.perf_counter()
        self._seq = itertools.count()
        self._patches: List[Tuple[Any, str, Any, Any]] = []  # owner, attribute, original, wrapper
        self._library: Dict[str, int] = {}  # file -> _USER, _LIBRARY or _OWN
        # id(code) -> (code, 1 if a user's file else 0, or _AT_LOOP where the
        # event loop steps a task): one look-up per frame of a creation.
        self._codes: Dict[int, Tuple[Any, int]] = {}
        self._stacks: Dict[Tuple[int, ...], Tuple[Stack, bool]] = {}
        self._roots = _library_roots()
        self._boundaries = _loop_boundaries()  # held: their ids must stay theirs
        self._boundary_ids = frozenset(id(code) for code in self._boundaries)
        for code in self._boundaries:
            self._codes[id(code)] = (code, _AT_LOOP)
        import asyncio

        self._current_task = asyncio.current_task
        self._threads: Dict[int, Record] = {}  # id(thread) -> record, while it runs
        self._by_object: "weakref.WeakKeyDictionary[Any, Record]" = weakref.WeakKeyDictionary()
        self._executors: Dict[int, Record] = {}  # id(executor) -> record, while alive
        self._tasks: Dict[int, Record] = {}  # id(task) -> record of the last task at that address

    # -- starting and stopping ------------------------------------------------

    def start(self) -> "Recorder":
        if self.active:
            return self
        self.epoch = time.perf_counter()
        self.failed = None
        try:
            self._install()
        except Exception as error:  # a Python whose internals moved: record nothing
            self._restore()
            self._warn(f"recording not started: {type(error).__name__}: {error}")
            return self
        self.active = True
        return self

    def stop(self) -> None:
        self.active = False
        self._restore()

    def __enter__(self) -> "Recorder":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def clear(self) -> None:
        """Forget the records (not the executors workers may still belong to)."""
        self.records.clear()  # in place: the task hook holds its ``append``
        self._tasks.clear()

    def mark(self) -> int:
        """A position: :meth:`since` gives what was created after it."""
        return next(self._seq)

    def since(self, mark: int) -> List[Record]:
        records = self.records
        first = len(records)
        while first and records[first - 1].seq > mark:
            first -= 1
        return records[first:]

    # -- what is alive ----------------------------------------------------------

    def status(self, record: Record) -> Optional[str]:
        """None when the object has ended; otherwise how it is still alive."""
        obj = record()
        kind = record.kind
        if kind == THREAD:
            if obj is not None and obj.is_alive():
                record.ident = obj.ident
                return "still running"
        elif kind == TASK:
            if obj is None:
                if record.end is None:  # freed unseen (no callback without a timeline): ended by now
                    record.end = time.perf_counter()
                return "destroyed while pending" if record.lost else None
            if not obj.done():
                record.name  # while the task can still tell it
                return "still pending"
        elif kind == PROCESS:
            if _popen_unwaited(obj, record.pid):
                return _child_state(record.pid)
        elif kind == WORKER_PROCESS:
            popen = getattr(obj, "_popen", None)
            if popen is not None and popen.returncode is None:
                return _child_state(record.pid)
        elif kind == EXECUTOR:
            if obj is not None and record.end is None:
                return "not shut down"
        if record.end is None:
            record.end = time.perf_counter()
        return None

    def alive(self, records: Optional[List[Record]] = None) -> List[Tuple[Record, str]]:
        found = []
        for record in list(self.records) if records is None else records:
            state = self.status(record)
            if state is not None:
                found.append((record, state))
        return found

    # -- the hooks ---------------------------------------------------------------

    def _install(self) -> None:
        import asyncio.base_events
        import concurrent.futures.process
        import concurrent.futures.thread
        import multiprocessing.pool
        import multiprocessing.process

        self._wrap(threading.Thread, "start", self._thread_start)
        if "_bootstrap_inner" in vars(threading.Thread):
            self._wrap(threading.Thread, "_bootstrap_inner", self._thread_body)
        self._wrap(asyncio.base_events.BaseEventLoop, "create_task", self._create_task)
        self._wrap(asyncio.base_events.BaseEventLoop, "call_exception_handler", self._loop_exception)
        self._wrap(subprocess.Popen, "__init__", self._popen_init)
        if "_handle_exitstatus" in vars(subprocess.Popen):
            self._wrap(subprocess.Popen, "_handle_exitstatus", self._popen_reaped)
        self._wrap(multiprocessing.process.BaseProcess, "start", self._process_start)
        self._wrap(multiprocessing.process.BaseProcess, "join", self._process_join)
        for executor, ends in (
            (concurrent.futures.thread.ThreadPoolExecutor, ("shutdown",)),
            (concurrent.futures.process.ProcessPoolExecutor, ("shutdown",)),
            (multiprocessing.pool.Pool, ("close", "terminate")),
        ):
            self._wrap(executor, "__init__", self._executor_init)
            for end in ends:
                self._wrap(executor, end, self._executor_end)

    def _wrap(self, owner: Any, attribute: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        original = vars(owner)[attribute]
        wrapper = make(original)
        for name in ("__name__", "__qualname__", "__doc__", "__module__"):
            try:
                setattr(wrapper, name, getattr(original, name))
            except (AttributeError, TypeError):
                pass
        wrapper.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(owner, attribute, wrapper)
        self._patches.append((owner, attribute, original, wrapper))

    def _restore(self) -> None:
        while self._patches:
            owner, attribute, original, wrapper = self._patches.pop()
            if vars(owner).get(attribute) is wrapper:
                setattr(owner, attribute, original)

    def _thread_start(self, original: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self

        def start(thread: threading.Thread) -> None:
            record = recorder._guard(recorder._new_thread, thread) if recorder.active else None
            try:
                original(thread)
            except BaseException:
                if record is not None:
                    recorder._forget(record)
                raise

        return start

    def _new_thread(self, thread: threading.Thread) -> Record:
        target = getattr(thread, "_target", None)
        detail = _callable_name(target) if target is not None else f"{type(thread).__qualname__}.run"
        record = self._record(THREAD, thread.name, detail, thread, owned=True)
        record.daemon = bool(thread.daemon)
        self._threads[id(thread)] = record
        return record

    def _thread_body(self, original: Callable[..., Any]) -> Callable[..., Any]:
        threads = self._threads

        def bootstrap_inner(thread: threading.Thread) -> None:
            try:
                original(thread)
            finally:
                record = threads.pop(id(thread), None)
                if record is not None:
                    record.ident = thread.ident
                    record.finish()

        return bootstrap_inner

    def _create_task(self, original: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self
        stack_of = self._stack
        counter = self._seq
        tasks = self._tasks
        now = time.perf_counter
        get_ident = threading.get_ident
        append_record = self.records.append
        # The task each running loop is stepping (``asyncio.current_task``
        # without the look-up of the running loop, which costs as much as the
        # rest of a task's record; before 3.12 it is also a Python function).
        tasks_by_loop = getattr(sys.modules.get("asyncio.tasks"), "_current_tasks", None)
        if not isinstance(tasks_by_loop, dict):
            tasks_by_loop = None

        def freed(record: Record) -> None:
            # The entry stays: a collection clears weak references before it
            # runs finalizers, where asyncio reports a pending task.  The next
            # task at the same address replaces it.
            if record.end is None:
                record.end = now()

        timeline = self.timeline
        # Without a timeline no end time is wanted, only whether a task is
        # still alive: no callback at all, neither when done nor when freed.
        on_freed = freed if timeline else None

        # The hot path (100,000 tasks in the benchmark), inlined.  A done
        # callback costs each task a turn of the loop, so it is added only for
        # a timeline; otherwise a task's end is when it is seen done or freed.
        # A task freed while pending is told by asyncio's own "Task was
        # destroyed but it is pending!" report.  The name is asked of the task
        # only when a report needs it.
        def create_task(loop: Any, coro: Any, *args: Any, **kwargs: Any) -> Any:
            task = original(loop, coro, *args, **kwargs)
            if recorder.active:
                try:
                    seq = next(counter)
                    stack, _, in_task = stack_of(sys._getframe(1), False)
                    creator = get_ident()
                    parent = None
                    if in_task:  # made in a task, whose record goes on after its stack
                        if tasks_by_loop is not None and getattr(loop, "_thread_id", None) == creator:
                            running = tasks_by_loop.get(loop)
                            parent = tasks.get(id(running))
                            if parent is not None and parent() is not running:
                                parent = None
                        else:
                            parent = recorder._running_task()
                    record = Record(task, on_freed)
                    record.seq = seq
                    record.kind = TASK
                    record.detail = getattr(coro, "__qualname__", "?")
                    record.own_stack = stack
                    record.parent = parent
                    record.start = now()
                    record.tag = recorder.tag
                    record.creator = creator
                    tasks[id(task)] = record
                    append_record(record)
                    if timeline:
                        task.add_done_callback(record.finish)
                except Exception as error:
                    recorder._fail(error)
            return task

        return create_task

    def _loop_exception(self, original: Callable[..., Any]) -> Callable[..., Any]:
        tasks = self._tasks

        def call_exception_handler(loop: Any, context: Any) -> None:
            try:
                if context.get("message") == "Task was destroyed but it is pending!":
                    record = tasks.get(id(context.get("task")))
                    if record is not None:
                        record.lost = True
            except Exception:  # not a dict: asyncio will say so
                pass
            original(loop, context)

        return call_exception_handler

    def _popen_init(self, original: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self

        def __init__(popen: subprocess.Popen, *args: Any, **kwargs: Any) -> None:
            original(popen, *args, **kwargs)
            if recorder.active:
                recorder._guard(recorder._new_popen, popen)

        return __init__

    def _new_popen(self, popen: subprocess.Popen) -> None:
        args = popen.args
        argv = [os.fsdecode(args)] if isinstance(args, (str, bytes, os.PathLike)) else [str(a) for a in args]
        program = os.path.basename(argv[0]) if argv else "?"
        record = self._record(PROCESS, program, " ".join(argv)[:120], popen)
        record.pid = popen.pid
        self._by_object[popen] = record

    def _popen_reaped(self, original: Callable[..., Any]) -> Callable[..., Any]:
        by_object = self._by_object

        def _handle_exitstatus(popen: subprocess.Popen, *args: Any, **kwargs: Any) -> Any:
            result = original(popen, *args, **kwargs)
            record = by_object.get(popen)
            if record is not None:
                record.finish()
            return result

        return _handle_exitstatus

    def _process_start(self, original: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self

        def start(process: Any) -> None:
            original(process)
            if recorder.active:
                recorder._guard(recorder._new_process, process)

        return start

    def _new_process(self, process: Any) -> None:
        target = _callable_name(getattr(process, "_target", None))
        record = self._record(WORKER_PROCESS, process.name, target, process, owned=True)
        record.pid = process.pid
        record.daemon = bool(process.daemon)
        self._by_object[process] = record

    def _process_join(self, original: Callable[..., Any]) -> Callable[..., Any]:
        by_object = self._by_object

        def join(process: Any, *args: Any, **kwargs: Any) -> None:
            original(process, *args, **kwargs)
            record = by_object.get(process)
            popen = getattr(process, "_popen", None)
            if record is not None and (popen is None or popen.returncode is not None):
                record.finish()

        return join

    def _executor_init(self, original: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self

        def __init__(executor: Any, *args: Any, **kwargs: Any) -> None:
            # Recorded first, so that the workers __init__ starts find their owner.
            record = recorder._guard(recorder._new_executor, executor) if recorder.active else None
            try:
                original(executor, *args, **kwargs)
            except BaseException:
                if record is not None:
                    recorder._forget(record)
                raise

        return __init__

    def _new_executor(self, executor: Any) -> Record:
        key = id(executor)
        executors = self._executors
        record = self._record(EXECUTOR, type(executor).__name__, "", executor,
                              callback=lambda _, key=key: executors.pop(key, None))
        executors[key] = record
        self._by_object[executor] = record
        return record

    def _executor_end(self, original: Callable[..., Any]) -> Callable[..., Any]:
        by_object = self._by_object

        def end(executor: Any, *args: Any, **kwargs: Any) -> Any:
            record = by_object.get(executor)
            if record is not None:
                record.finish()
            return original(executor, *args, **kwargs)

        return end

    # -- recording -----------------------------------------------------------------

    def _record(self, kind: str, name: str, detail: str, obj: Any, owned: bool = False,
                callback: Optional[Callable[..., Any]] = None) -> Record:
        stack, owner, in_task = self._stack(sys._getframe(1), owned)
        seq = next(self._seq)
        record = Record.new(obj, seq, kind, name, detail, stack, self.tag, callback)
        record.owner = owner
        record.parent = self._running_task() if in_task else None
        self.records.append(record)
        return record

    def _forget(self, record: Record) -> None:
        if record in self.records:  # only when a start failed: rare
            self.records.remove(record)
        for key in [key for key, value in self._threads.items() if value is record]:
            del self._threads[key]  # in place: the thread hook holds this dict

    def _stack(self, frame: Any, owned: bool) -> Tuple[Stack, Optional[Record], bool]:
        """The creation stack up to the event loop, its owner (the executor of
        a worker) and whether it reached the loop (made in a task).

        Stacks come from a cache keyed by the code objects and instruction
        offsets of the frames they are made of: tasks are created by the
        thousand from the same few places, and reading line numbers is the
        costly part.  Workers are not cached: their executor is looked up in
        the frames."""
        if owned:
            return self._read_stack(frame, owned)
        codes = self._codes
        key: List[int] = []
        append = key.append
        users = 0
        depth = self.depth
        top = frame
        for _ in range(self.walk):
            if frame is None or users >= depth:
                break
            code = frame.f_code
            code_id = id(code)
            known = codes.get(code_id)
            if known is None or known[0] is not code:
                known = codes[code_id] = (code, 1 if self._where(code.co_filename) == _USER else 0)
            weight = known[1]
            if weight == _AT_LOOP:
                break  # the key ends here; whether it did is cached with the stack
            users += weight
            append(code_id)
            append(frame.f_lasti)
            frame = frame.f_back
        stacks = self._stacks
        cached = stacks.get(tuple(key))
        if cached is None:
            if len(stacks) >= 10_000:
                stacks.clear()
            stack, _, at_boundary = self._read_stack(top, owned)
            cached = stacks[tuple(key)] = (stack, at_boundary)
        return cached[0], None, cached[1]

    def _read_stack(self, frame: Any, owned: bool) -> Tuple[Stack, Optional[Record], bool]:
        """The user frames of a creation, innermost first, library frames folded.

        When no user frame is found, the innermost library frames stand in, so
        that something says where the object came from.  The walk stops at the
        event loop, and says whether it got there."""
        library = self._library
        entries: List[Union[Frame, int]] = []
        fallback: List[Frame] = []
        folded = users = 0
        owner: Optional[Record] = None
        boundaries = self._boundary_ids
        at_boundary = False
        for _ in range(self.walk):
            if frame is None or users >= self.depth:
                break
            code = frame.f_code
            if id(code) in boundaries:  # by identity: code objects compare by content
                at_boundary = True
                break
            filename = code.co_filename
            where = library.get(filename)
            if where is None:
                where = library[filename] = self._where(filename)
            if where == _LIBRARY:
                folded += 1
                if len(fallback) < 3:
                    fallback.append((filename, frame.f_lineno, code.co_name, code.co_firstlineno))
                if owned and owner is None and filename.endswith(_POOL_FILES):
                    owner = self._executors.get(id(frame.f_locals.get("self")))
            elif where == _USER:
                if folded and entries:
                    entries.append(folded)
                folded = 0
                entries.append((filename, frame.f_lineno, code.co_name, code.co_firstlineno))
                users += 1
            frame = frame.f_back
        if not entries:
            stack: Stack = tuple(fallback)
        else:
            if folded or frame is not None:
                entries.append(folded or -1)  # -1: the stack goes on, not looked at
            stack = tuple(entries)
        return stack, owner, at_boundary

    def _running_task(self) -> Optional[Record]:
        """The record of the task running now, whose creation stack goes on
        where a stack that reached the event loop stops: the frames above the
        loop are its machinery and whoever ran it, the same for every task."""
        try:
            task = self._current_task()
        except RuntimeError:  # no loop running in this thread
            return None
        record = self._tasks.get(id(task))
        return record if record is not None and record() is task else None

    def _where(self, filename: str) -> int:
        if filename.startswith("<"):
            return _LIBRARY if filename.startswith("<frozen") else _USER
        path = os.path.abspath(filename)
        if path.startswith(_LEAKLINT_DIR):
            return _OWN
        return _LIBRARY if path.startswith(self._roots) else _USER

    # -- never raise into the program ----------------------------------------------

    def _guard(self, work: Callable[..., Any], *args: Any) -> Any:
        try:
            return work(*args)
        except Exception as error:
            self._fail(error)
            return None

    def _fail(self, error: Exception) -> None:
        if not self.active:
            return
        self.active = False
        self.failed = f"{type(error).__name__}: {error}"
        self._warn(f"recording stopped after an internal error: {self.failed}")

    @staticmethod
    def _warn(message: str) -> None:
        try:
            warnings.warn(f"leaklint: {message}", RuntimeWarning, stacklevel=2)
        except Exception:  # warnings turned into errors: say it once on stderr
            try:
                sys.stderr.write(f"leaklint: {message}\n")
            except Exception:
                pass


def _loop_boundaries() -> Tuple[Any, ...]:
    """The code objects where an event loop runs a task's step: a creation
    stack stops there.  Above them is the loop's machinery and whoever called
    ``asyncio.run``, the same for every task; walking them cost most of a
    task's recording (the boundary's code objects live as long as asyncio)."""
    import asyncio.events

    codes = []
    for function in (asyncio.events.Handle._run,):
        code = getattr(function, "__code__", None)
        if code is not None:
            codes.append(code)
    return tuple(codes)


def _callable_name(obj: Any) -> str:
    if obj is None:
        return "?"
    code = getattr(obj, "cr_code", None) or getattr(obj, "gi_code", None)
    if code is not None:
        return getattr(obj, "__qualname__", code.co_name)
    return getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__qualname__


def _popen_unwaited(popen: Optional[subprocess.Popen], pid: Optional[int]) -> bool:
    if popen is not None:
        return popen.returncode is None
    # Collected unwaited, Popen.__del__ put it on subprocess._active to reap later.
    for pending in getattr(subprocess, "_active", None) or ():
        if getattr(pending, "pid", None) == pid and getattr(pending, "returncode", 0) is None:
            return True
    return False


def _child_state(pid: Optional[int]) -> str:
    """Running or a zombie, asked without reaping it (``WNOWAIT``)."""
    waitid = getattr(os, "waitid", None)
    if pid is None or waitid is None:
        return "not waited"
    try:
        exited = waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except (OSError, ValueError):
        return "not waited"
    return "exited, never waited (a zombie)" if exited is not None else "still running, not waited"
