from __future__ import annotations

from leaklint.analysis.creations import Creation, TASK
from leaklint.analysis.handles import DISCARDED, Handle
from leaklint.analysis.prechecks import may_make_a_task
from leaklint.fix_builders import keep_in_background_set
from leaklint.rule import HandleRule, Trigger

# Calls on a task that keep no reference to it and never look at its outcome.
NEUTRAL_TASK_METHODS = frozenset(
    {"add_done_callback", "remove_done_callback", "set_name", "get_name", "done", "cancelled", "get_coro", "get_loop"}
)


class DanglingTask(HandleRule):
    """The result of `create_task()` or `ensure_future()` is dropped.

    ## What it does
    Flags `asyncio.create_task(...)`, `asyncio.ensure_future(...)` of a
    coroutine, `asyncio.Task(...)`, `asyncio.gather(...)`, `asyncio.shield(...)`,
    `asyncio.run_coroutine_threadsafe(...)`, `loop.create_task(...)` and
    `loop.run_in_executor(...)` (on anything that is an event loop:
    `asyncio.get_running_loop()`, a variable or attribute bound to one, or a
    name or attribute chain ending in `loop`, `_loop` or `event_loop`) whose
    result is thrown away: an expression statement, an assignment to `_`, a
    call chained straight onto it (`create_task(c).add_done_callback(cb)`), or
    the value of a lambda handed to the loop as a callback
    (`loop.call_soon(lambda: asyncio.create_task(c))`).
    `ensure_future(x)` counts only when `x` is certainly a coroutine (a call
    of an `async def` of the module or of asyncio): given a future it creates
    no task, and an awaitable from elsewhere (tornado's `lock.acquire()`) is
    usually a future, so it is left alone. So is a task whose coroutine is an
    `async def` of the module (called directly, or handed on by one of the
    module's wrappers) that catches what its work raises (every `await` but
    `asyncio.sleep` inside a `try` with an `except`): a fire-and-forget
    designed as one; or that never suspends (no `await`, `async for` or
    `async with`, but of coroutines that never suspend either): it runs to
    its end in its first step, and the loop holds it until then, so nothing
    is left pending to lose. That holds for a function or a private method
    (`self._post()`, or `self.app._post()` where an annotation says which
    project class `self.app` is, in this file or a base class's); a public
    or empty coroutine method is a hook a subclass may override, and is
    judged as any other task. Left alone too is a shutdown hook: an `async
    def` of the module whose first wait is `await asyncio.sleep(math.inf)`
    (or `anyio.sleep_forever()`) in a `try` that catches `CancelledError`
    or has a `finally`, and does its work there. It is pending by design,
    the loop's timer holds it, and `asyncio.run` cancels and awaits it at
    exit.

    ## Why is this bad?
    The event loop keeps only a weak reference to a task. A task nobody holds
    may be garbage-collected before it finishes; if it fails, the failure
    bypasses the code that started it (CPython only logs "Task exception was
    never retrieved" when the task is collected); and it may still be pending
    when the program shuts down. A dropped threadsafe or gathered future
    carries the only copy of its coroutine's outcome.

    ## Example
    ```python
    async def handle(request):
        asyncio.create_task(audit(request))
    ```

    ## Use instead
    Keep a strong reference until the task is done, or await it:
    ```python
    background_tasks = set()

    async def handle(request):
        task = asyncio.create_task(audit(request))
        background_tasks.add(task)
        task.add_done_callback(background_tasks.discard)
    ```
    or, on Python 3.11+, run it in an `asyncio.TaskGroup`.

    ## Fix safety
    The fix keeps the task in a module-level set of background tasks until it
    is done, the idiom of the asyncio documentation: `create_task(...)` (also `_ = ...`, or with a chained call)
    becomes `task = create_task(...)`, `background_tasks.add(task)`,
    `task.add_done_callback(background_tasks.discard)`. It reuses a
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

    code = "LL101"
    name = "dangling-task"
    message = (
        "the task made by {call} is dropped: the loop keeps only a weak reference, so it may be collected before "
        "it finishes, and its failure bypasses this code"
    )
    modules = ("asyncio",)
    trigger = Trigger(r"create_task|ensure_future|run_in_executor|gather|shield|run_coroutine_threadsafe|\bTask\b", tree=may_make_a_task)
    kinds = (TASK,)

    def check_handle(self, handle: Handle, creation: Creation) -> None:
        # A local holds its task while the function runs (and one never read
        # is LL102's): only a result dropped on the spot is certainly lost.
        if self.facts.loses_nothing_when_dropped(creation):
            return  # fire-and-forget by design: nothing of the coroutine's can be lost
        if handle.destination.kind == DISCARDED and not handle.is_released(NEUTRAL_TASK_METHODS):
            self.report(handle.call, self.message.format(call=creation.name))

    def fix(self, node):
        return keep_in_background_set(self.facts, self.facts.handle(node))
