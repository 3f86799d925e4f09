from __future__ import annotations

from leaklint.analysis.creations import Creation, TASK
from leaklint.analysis.handles import Handle, LOCAL
from leaklint.rule import HandleRule


class UnusedTask(HandleRule):
    """A task is bound to a local variable that is never read.

    ## What it does
    Flags a task from `asyncio.create_task(...)`, `asyncio.ensure_future(...)`,
    `loop.create_task(...)` or `loop.run_in_executor(...)` that is assigned to
    a local variable (or put in a local list) which the function never reads
    again.

    ## Why is this bad?
    The name looks like a reference, but the function returns and the local
    dies with it: the task is left with only the event loop's weak reference,
    may be garbage-collected mid-flight, and nobody will see its exception.
    The unused name usually means an `await` or a `gather` was forgotten.

    ## Example
    ```python
    async def refresh():
        task = asyncio.create_task(reload_cache())
        await notify_clients()
    ```

    ## Use instead
    ```python
    async def refresh():
        task = asyncio.create_task(reload_cache())
        await notify_clients()
        await task
    ```

    ## References
    - [asyncio.create_task](https://docs.python.org/3/library/asyncio-task.html#asyncio.create_task)
    """

    code = "LL102"
    name = "unused-task"
    message = (
        "task {name!r} is never used: when this function returns, only the loop's weak reference is left; "
        "await it, gather it or keep it in a set of background tasks"
    )
    modules = ("asyncio",)
    trigger = r"create_task|ensure_future|run_in_executor|gather|shield|run_coroutine_threadsafe|\bTask\b"
    kinds = (TASK,)

    def check_handle(self, handle: Handle, creation: Creation) -> None:
        destination = handle.destination
        if destination.kind == LOCAL and not handle.reads():
            self.report(handle.call, self.message.format(name=destination.name))
