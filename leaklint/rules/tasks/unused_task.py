from __future__ import annotations

from leaklint.analysis.creations import Creation, TASK
from leaklint.analysis.handles import Handle, LOCAL
from leaklint.analysis.prechecks import may_make_a_task
from leaklint.fix_builders import keep_in_background_set
from leaklint.rule import HandleRule, Trigger


class UnusedTask(HandleRule):
    """A task is bound to a local variable that is never read.

    ## What it does
    Flags a task from `asyncio.create_task(...)`, `asyncio.ensure_future(...)`,
    `loop.create_task(...)` or `loop.run_in_executor(...)` that is assigned to
    a local variable which the function never reads again, or collected into
    a local list, set, dict or deque (`append`, `add`, `extend`, `insert`,
    `appendleft`, `tasks[key] = task`, `setdefault`) that the function never
    reads, returns or hands on: adding to a container is not reading it.
    A task whose coroutine loses nothing when dropped, as LL101 judges it
    (it catches its own failures, never suspends, or is a shutdown hook that
    sleeps until it is cancelled), is left alone.

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

    ## Fix safety
    The fix keeps the task in a module-level set of background tasks until it
    is done, the idiom of the asyncio documentation: `background_tasks.add(task)` and
    `task.add_done_callback(background_tasks.discard)` follow the assignment. It reuses a
    module-level `name = set()` used only that way, or adds
    `background_tasks = set()` after the imports (under a name nothing in the
    module uses). It is **unsafe**: it changes the task's lifetime (it now
    runs to the end instead of possibly vanishing, and holds its memory till
    then) and adds module state; when the task should be awaited or gathered
    instead, do that. Offered only inside a function, for a statement on a
    line of its own.

    ## References
    - [asyncio.create_task](https://docs.python.org/3/library/asyncio-task.html#asyncio.create_task)
    """

    code = "LL102"
    name = "unused-task"
    message = (
        "task {name!r} is never used: when this function returns, only the loop's weak reference is left; "
        "await it, gather it or keep it in a set of background tasks"
    )
    container_message = (
        "the tasks in {name!r} are never used: when this function returns, only the loop's weak references are left; "
        "await or gather them, or keep them in a set of background tasks"
    )
    modules = ("asyncio",)
    trigger = Trigger(r"create_task|ensure_future|run_in_executor|gather|shield|run_coroutine_threadsafe|\bTask\b", tree=may_make_a_task)
    kinds = (TASK,)

    def check_handle(self, handle: Handle, creation: Creation) -> None:
        destination = handle.destination
        if self.facts.loses_nothing_when_dropped(creation):
            return  # fire-and-forget by design, as LL101 judges it
        if destination.kind == LOCAL and not handle.is_read():
            message = self.container_message if destination.in_container else self.message
            self.report(handle.call, message.format(name=destination.name))

    def fix(self, node):
        return keep_in_background_set(self.facts, self.facts.handle(node))
