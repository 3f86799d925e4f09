from __future__ import annotations

import libcst as cst

from leaklint.analysis.handles import DISCARDED, LOCAL
from leaklint.analysis.prechecks import may_drop_a_coroutine
from leaklint.analysis.project import COROUTINE
from leaklint.fix_builders import await_call
from leaklint.rule import Rule, Trigger


class UnawaitedCoroutine(Rule):
    """A coroutine is created and dropped: it never runs.

    ## What it does
    Flags a call of a coroutine function whose result is thrown away: an
    expression statement, an assignment to `_`, or a local variable that is
    never read. Coroutine functions are the module's `async def` functions
    and methods (`self.method()` where `method` is an `async def` of the
    class or of a base or subclass in the module), those of the project's
    other modules (imported functions, inherited methods, and
    `self.app.method()` where an annotation, `app: App`, says which project
    class `self.app` holds), the standard library's
    (`asyncio.sleep`, `asyncio.wait_for`, `asyncio.wait`,
    `asyncio.open_connection`, `asyncio.start_server`,
    `asyncio.create_subprocess_exec`...) and the coroutine methods of asyncio's
    queues, events, locks and conditions (`put`, `get`, `join`, `wait`,
    `acquire`). It is reported in `async def` and plain functions alike.
    A coroutine passed on (to `asyncio.run`, `create_task`, `gather` or any
    other call), returned, stored, awaited or used in `async with` or
    `async for` is left alone, and so is a call that only shares a name with
    a coroutine function, code under `if TYPE_CHECKING:`, and a test that
    drops the coroutine on purpose under `with self.assertWarns(...)` or
    `pytest.warns(...)`.

    ## Why is this bad?
    Calling a coroutine function does not run it: it only creates the
    coroutine object. Until something awaits or schedules it, none of its
    code runs, and when it is garbage-collected Python merely warns
    "coroutine ... was never awaited". The sleep does not sleep, the message
    is not sent, the lock is not taken.

    ## Example
    ```python
    async def notify(user):
        await asyncio.sleep(0)

    async def sign_up(user):
        notify(user)
    ```

    ## Use instead
    Await it, or schedule it as a task you keep:
    ```python
    async def notify(user):
        await asyncio.sleep(0)

    async def sign_up(user):
        await notify(user)
    ```

    ## Fix safety
    Inside an `async def`, a call dropped as a statement of its own gets
    `await` in front of it: `refresh()` becomes `await refresh()`. The fix is
    **safe**: running the coroutine is what the statement evidently means.
    The function now suspends there until the coroutine is done (for
    `event.wait()` or `queue.join()`: until another task sets or drains it),
    and the coroutine's exceptions reach it. No fix for an unread local or
    `_ = ...`, nor in a plain function, where `await` is not allowed.

    ## References
    - [Coroutines](https://docs.python.org/3/library/asyncio-task.html#coroutines)
    - [Detect never-awaited coroutines](https://docs.python.org/3/library/asyncio-dev.html#detect-never-awaited-coroutines)
    """

    code = "LL103"
    name = "unawaited-coroutine"
    message = "{call}() makes a coroutine that is never awaited: it never runs"
    trigger = Trigger(r"\basync\b|asyncio", tree=may_drop_a_coroutine, sees_project=True)
    kinds = (COROUTINE,)

    def visit_Call(self, node: cst.Call) -> None:
        # Where the value goes is asked first: it is a few steps up the tree,
        # while whether the call makes a coroutine may resolve names through
        # the module, and most calls' values are used (an argument, an
        # operand, a return value), whatever they are.
        handle = self.facts.handle(node)
        destination = handle.destination
        # ``coroutine().send(None)`` or ``.close()``: somebody does use it.
        dropped = destination.kind == DISCARDED and destination.chained_method is None
        if not dropped and destination.kind != LOCAL:
            return
        if self.facts.is_coroutine(node) is not True:
            return
        never_read = destination.kind == LOCAL and not handle.reads()
        if not (dropped or never_read) or self.facts.for_type_checkers_only(node):
            return
        if not self.facts.tree.expected_to_warn(node):  # a test provoking "never awaited"
            self.report(node, self.message.format(call=self.facts.tree.module.code_for_node(node.func)))

    def fix(self, node):
        return await_call(self.facts, node)
