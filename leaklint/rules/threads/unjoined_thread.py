from __future__ import annotations

from leaklint.analysis.creations import Creation, WORKER
from leaklint.analysis.handles import Handle, DISCARDED, GLOBAL, INSTANCE, LOCAL
from leaklint.analysis.prechecks import may_leave_a_worker_running
from leaklint.rule import HandleRule, Trigger

# Calls that neither wait for the worker nor hand it to anyone who will.
NEUTRAL_WORKER_METHODS = frozenset(
    {
        "start",
        "is_alive",
        "isAlive",
        "getName",
        "setName",
        "isDaemon",
        "setDaemon",
        "run",
        "terminate",
        "kill",
        "close",
    }
)


class UnjoinedThread(HandleRule):
    """A worker that runs until told to stop is started, and never stopped or joined.

    ## What it does
    Flags a `threading.Thread`, `threading.Timer` or `multiprocessing.Process`
    (also from a `multiprocessing.get_context(...)`, or a subclass defined in
    the same module) that is started, is not a daemon (`daemon=True`,
    `t.daemon = True`, `t.setDaemon(True)`; a setting that is not a literal
    `False` counts as daemon), is never joined (nor, for a Timer, cancelled),
    **and whose body is long-lived**: its target (a function or method of the
    module, a `functools.partial` of one, a lambda calling one) or its class's
    `run()` loops until told to stop (`while True`, `while not
    stop.is_set()` with nothing ever setting the flag, `for job in
    iter(q.get, None)`), serves forever, or waits with no timeout, itself or
    through a function of the module it calls.

    A one-shot worker (it does its job and ends) is left alone: the
    interpreter waits for it at exit, and joining it is often wrong (it would
    block a UI or an event loop). So is a worker whose target cannot be seen.
    A thread on `self` counts as joined if any method of the class joins it
    (also a method that joins the previous worker before it starts the
    next); one in a module global if any code of the module does; threads
    in a list if a loop over the list joins them.
    A local worker (or one on `self` started and joined in the same method
    and nowhere else) must be joined, or handed on, on every path from its
    `start()` to the end of the function: joined only `if wait:` or below an
    early `return`, it is reported with that path.
    When no method of the class joins a worker on `self` and a method that
    may run more than once rebinds the attribute on every path (not a
    constructor, not behind `if self.worker is None:`, not after looking at
    the old value), the message says that each run loses the previous
    worker.

    ## Why is this bad?
    A worker that can never end by itself and that nobody stops keeps its
    thread or process, and everything it holds, until the process dies: the
    program cannot shut down cleanly (a non-daemon thread blocks interpreter
    exit for ever), tests leak workers into each other, and an unjoined
    `Process` stays a zombie after it dies.

    ## Example
    ```python
    def drain(jobs):
        while True:
            handle(jobs.get())

    def start_draining(jobs):
        worker = threading.Thread(target=drain, args=(jobs,))
        worker.start()
    ```

    ## Use instead
    Give the worker a way to stop, and stop and join it when its owner is done:
    ```python
    def drain(jobs):
        for job in iter(jobs.get, None):
            handle(job)

    def drain_all(jobs, items):
        worker = threading.Thread(target=drain, args=(jobs,))
        worker.start()
        for item in items:
            jobs.put(item)
        jobs.put(None)
        worker.join()
    ```
    or make a worker that may be abandoned a daemon: `Thread(..., daemon=True)`.

    ## References
    - [Thread.join](https://docs.python.org/3/library/threading.html#threading.Thread.join)
    - [Process.join](https://docs.python.org/3/library/multiprocessing.html#multiprocessing.Process.join)
    """

    code = "LL201"
    name = "unjoined-thread"
    message = "{call} runs until told to stop, but it is never stopped or joined (and is not a daemon)"
    path_message = "{call} runs until told to stop, but it is not joined {path} (and is not a daemon)"
    rebinding_message = (
        "{call} runs until told to stop, but it is never stopped or joined (and is not a daemon), and the previous"
        " worker is lost each time `{method}()` rebinds `self.{attr}`"
    )
    modules = ("threading", "multiprocessing")
    trigger = Trigger(r"Thread|Process|Timer", tree=may_leave_a_worker_running)
    kinds = (WORKER,)

    def check_handle(self, handle: Handle, creation: Creation) -> None:
        destination = handle.destination
        if destination.kind not in (DISCARDED, LOCAL, GLOBAL, INSTANCE):
            return
        workers = self.facts.workers
        if not workers.is_started(handle, creation) or workers.is_daemon(handle, creation):
            return
        if not workers.runs_until_stopped(handle.call, creation):
            return  # a one-shot worker ends by itself: the interpreter waits for it at exit
        if not handle.is_released(NEUTRAL_WORKER_METHODS):
            self.report_never_released(handle, call=creation.name)
            return
        # Only a started worker needs joining: the paths run from start().
        path = handle.leaking_path(NEUTRAL_WORKER_METHODS, after="start")
        if path is not None:
            self.report(handle.call, self.path_message.format(call=creation.name, path=path))
