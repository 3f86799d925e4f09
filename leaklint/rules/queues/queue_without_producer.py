from __future__ import annotations

import libcst as cst

from leaklint.analysis.creations import Creation, QUEUE
from leaklint.analysis.handles import Handle
from leaklint.analysis.queues import owned_privately
from leaklint.analysis.prechecks import may_make_a_queue
from leaklint.rule import HandleRule, Trigger

# Calls that neither put items in nor hand the queue to anyone who might.
METHODS_THAT_PUT_NOTHING_IN = frozenset(
    {"get", "get_nowait", "qsize", "empty", "full", "join", "task_done", "close", "join_thread", "cancel_join_thread"}
)


class QueueWithoutProducer(HandleRule):
    """A queue is read with a blocking `get()` but nobody ever puts into it.

    ## What it does
    Flags a `queue`, `asyncio` or `multiprocessing` queue that its owner reads
    with a `get()` that has no timeout, but never puts anything into
    (`put()`, `put_nowait()`) and never hands to anyone else: not passed to a
    thread, a task or a function, not returned, not stored elsewhere. The
    owner is the function for a local, the class (with its bases and
    subclasses in the module) for a private `self._attr`, the module for a
    private global; a queue on a public attribute or global is an interface
    and is left alone. A `get()` with a timeout, `get(block=False)`,
    `get_nowait()` or `asyncio.wait_for(q.get(), ...)` ends on its own and
    does not count, nor does a queue whose owner checks `empty()` or
    `qsize()` before reading.

    ## Why is this bad?
    `get()` on an empty queue waits until some other thread or task puts an
    item. If nothing can, the reader blocks forever: the Python version of a
    receive on a Go channel that nobody sends on. The thread or task is
    leaked, and whatever joins or awaits it hangs too.

    ## Example
    ```python
    def consume():
        jobs = queue.Queue()
        while True:
            job = jobs.get()
            if job is None:
                break
            print(job)
    ```

    ## Use instead
    Hand the queue to the code that fills it (or read the queue that code fills):
    ```python
    def consume(jobs):
        while True:
            job = jobs.get()
            if job is None:
                break
            print(job)

    def run(items):
        jobs = queue.Queue()
        reader = threading.Thread(target=consume, args=(jobs,))
        reader.start()
        for item in items:
            jobs.put(item)
        jobs.put(None)
        reader.join()
    ```

    ## References
    - [queue.Queue.get](https://docs.python.org/3/library/queue.html#queue.Queue.get)
    - [asyncio.Queue.get](https://docs.python.org/3/library/asyncio-queue.html#asyncio.Queue.get)
    """

    code = "LL403"
    name = "queue-without-producer"
    message = "{call} is read with get() but nothing ever puts into it, and it is never handed on: get() waits forever"
    modules = ("queue", "asyncio", "multiprocessing")
    trigger = Trigger(r"Queue", tree=may_make_a_queue)
    kinds = (QUEUE,)

    def check_handle(self, handle: Handle, creation: Creation) -> None:
        if not owned_privately(handle) or handle.is_released(METHODS_THAT_PUT_NOTHING_IN):
            return
        if handle.calls("empty", "qsize"):
            return  # ``while not q.empty(): q.get()`` never reaches a get on an empty queue
        for get in handle.calls("get"):
            # ``isinstance``: not ``q.get`` handed on as a callback.
            if isinstance(get.node, cst.Call) and self.facts.waits_forever(get.node, creation):
                self.report(handle.call, self.message.format(call=creation.name))
                return
