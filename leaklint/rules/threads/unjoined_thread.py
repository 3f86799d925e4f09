from __future__ import annotations

from leaklint.analysis.creations import Creation, WORKER
from leaklint.analysis.handles import Handle, DISCARDED, GLOBAL, INSTANCE, LOCAL
from leaklint.rule import HandleRule

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
    """A thread or process is started and never joined.

    ## What it does
    Flags a `threading.Thread`, `threading.Timer` or `multiprocessing.Process`
    (also from a `multiprocessing.get_context(...)`, or a subclass defined in
    the same module) that is started but never
    joined (nor, for a Timer, cancelled), and is not a daemon (`daemon=True`,
    `t.daemon = True`, `t.setDaemon(True)`; a setting that is not a literal
    `False` counts as daemon). A thread on `self` counts as joined if any
    method of the class joins it; one in a module global if any code of the
    module does; threads in a list if a loop over the list joins them. Unlike executors (LL202), a thread started at module level
    is not exempt: nothing joins it but interpreter shutdown.

    ## Why is this bad?
    Nobody knows when an unjoined worker finishes, whether it failed, or
    whether it is still running: the program cannot shut down cleanly, tests
    leak threads into each other, and a stuck worker runs until the process
    dies. An unjoined `Process` stays a zombie until it is reaped.

    ## Example
    ```python
    def refresh_all(urls):
        for url in urls:
            worker = threading.Thread(target=fetch, args=(url,))
            worker.start()
    ```

    ## Use instead
    ```python
    def refresh_all(urls):
        workers = [threading.Thread(target=fetch, args=(url,)) for url in urls]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    ```
    or make a worker that may be abandoned a daemon: `Thread(..., daemon=True)`.

    ## References
    - [Thread.join](https://docs.python.org/3/library/threading.html#threading.Thread.join)
    - [Process.join](https://docs.python.org/3/library/multiprocessing.html#multiprocessing.Process.join)
    """

    code = "LL201"
    name = "unjoined-thread"
    message = "{call} is started but never joined (and is not a daemon)"
    modules = ("threading", "multiprocessing")
    trigger = r"Thread|Process|Timer"
    kinds = (WORKER,)

    def check_handle(self, handle: Handle, creation: Creation) -> None:
        destination = handle.destination
        if destination.kind not in (DISCARDED, LOCAL, GLOBAL, INSTANCE):
            return
        workers = self.facts.workers
        if not workers.is_started(handle, creation) or workers.is_daemon(handle, creation):
            return
        if not handle.is_released(NEUTRAL_WORKER_METHODS):
            self.report(handle.call, self.message.format(call=creation.name))
