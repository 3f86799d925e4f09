from __future__ import annotations

import libcst as cst

from leaklint.analysis.creations import Creation, QUEUE
from leaklint.analysis.handles import Handle
from leaklint.analysis.queues import owned_privately
from leaklint.analysis.prechecks import may_make_a_queue
from leaklint.rule import HandleRule, Trigger

# Every queue method but task_done(): none of them lets join() return.
METHODS_BUT_TASK_DONE = frozenset(
    {"put", "put_nowait", "get", "get_nowait", "qsize", "empty", "full", "join", "close", "shutdown"}
)


class JoinWithoutTaskDone(HandleRule):
    """`queue.join()` waits for `task_done()` calls that never come.

    ## What it does
    Flags `q.join()` on a `queue.Queue`, `asyncio.Queue` or
    `multiprocessing.JoinableQueue` (or a Lifo/Priority variant) whose owner
    never calls `q.task_done()` and never hands the queue to anyone who
    could. The finding is reported on the `.join()` call.

    ## Why is this bad?
    `join()` returns only when every item ever `put()` has been matched by a
    `task_done()`. Taking items out with `get()` is not enough. Without
    `task_done()`, the `join()` blocks forever, and so does the thread or
    task that called it.

    ## Example
    ```python
    async def crawl(urls):
        pending = asyncio.Queue()
        for url in urls:
            pending.put_nowait(url)
        while not pending.empty():
            await fetch(pending.get_nowait())
        await pending.join()
    ```

    ## Use instead
    Mark each item done once it is handled:
    ```python
    async def crawl(urls):
        pending = asyncio.Queue()
        for url in urls:
            pending.put_nowait(url)
        while not pending.empty():
            await fetch(pending.get_nowait())
            pending.task_done()
        await pending.join()
    ```

    ## References
    - [Queue.task_done](https://docs.python.org/3/library/queue.html#queue.Queue.task_done)
    """

    code = "LL402"
    name = "join-without-task-done"
    message = "join() waits for task_done() calls, but nothing calls task_done() on this queue"
    modules = ("queue", "asyncio", "multiprocessing")
    trigger = Trigger(r"Queue", tree=may_make_a_queue)
    kinds = (QUEUE,)

    def check_handle(self, handle: Handle, creation: Creation) -> None:
        if not creation.joinable:
            return
        if not owned_privately(handle) or handle.is_released(METHODS_BUT_TASK_DONE):
            return
        for join in handle.calls("join"):
            if isinstance(join.node, cst.Call):  # not ``q.join`` handed on as a callback
                self.report(join.node)
