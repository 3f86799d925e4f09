from __future__ import annotations

import libcst as cst

from leaklint.analysis.creations import CONDITION, EVENT, Creation
from leaklint.analysis.handles import INSTANCE, LOCAL, WITH, Handle
from leaklint.analysis.queues import owned_privately
from leaklint.analysis.prechecks import may_wait_on_an_event
from leaklint.rule import HandleRule, Trigger

# Per kind: the waits, and the calls that neither set (notify) nor hand on.
WAITS = {EVENT: ("wait",), CONDITION: ("wait",)}
NEUTRAL_METHODS = {
    EVENT: frozenset({"wait", "is_set", "isSet", "clear"}),
    CONDITION: frozenset({"wait", "wait_for", "acquire", "release", "locked", "__enter__", "__exit__"}),
}
# ``with condition:`` only takes its lock.
NEUTRAL_USES = {EVENT: frozenset(), CONDITION: frozenset({WITH})}
SETTERS = {EVENT: "set()", CONDITION: "notify()"}


class EventNeverSet(HandleRule):
    """An event or condition is waited on without a timeout, and nothing sets it.

    ## What it does
    Flags a `threading.Event`, `asyncio.Event` or `multiprocessing.Event`
    (also from `get_context(...)`) that its owner waits on with no timeout
    but never sets, and a `Condition` waited on with `wait()` but never
    notified (`notify()`, `notify_all()`), when the owner never hands
    it to anyone else either: not passed to a call, not handed on as
    `target=event.set` or `call_soon(event.set)`, not returned, not stored
    elsewhere. The owner is the function for a local (its nested functions
    and callbacks included), the class with its bases and subclasses in the
    module for a private `self._attr`, the module for a private global. A
    public attribute or global is an interface and is left alone, and so is
    an attribute of a class that another module may subclass (unless the
    attribute is name-mangled). A wait with a timeout (`wait(1)`,
    `wait(timeout=...)`, `asyncio.wait_for(event.wait(), ...)`, under
    `async with asyncio.timeout(...)`) ends on its own and does not count,
    nor does `condition.wait_for(predicate)` (it returns at once when the
    predicate holds) or a wait a test expects to raise. A local event that
    is only ever waited on (`never = asyncio.Event()`, `await never.wait()`)
    is the idiom for "wait until cancelled" and is left alone too.

    ## Why is this bad?
    `wait()` returns only once another thread or task calls `set()` (or
    `notify()`). If nothing can, the waiter blocks forever, and so does
    whatever joins or awaits it: the thread or task is leaked.

    ## Example
    ```python
    _stopping = threading.Event()

    def serve(server):
        server.start()
        _stopping.wait()
        server.stop()
    ```

    ## Use instead
    Give the code that decides when to stop a way to set the event:
    ```python
    _stopping = threading.Event()

    def serve(server):
        server.start()
        _stopping.wait()
        server.stop()

    def stop():
        _stopping.set()
    ```

    ## References
    - [threading.Event](https://docs.python.org/3/library/threading.html#event-objects)
    - [asyncio.Event](https://docs.python.org/3/library/asyncio-sync.html#asyncio.Event)
    - [threading.Condition](https://docs.python.org/3/library/threading.html#condition-objects)
    """

    code = "LL501"
    name = "event-never-set"
    message = "{call} is waited on without a timeout but nothing calls {setter} on it, and it is never handed on: the wait blocks forever"
    modules = ("threading", "asyncio", "multiprocessing")
    trigger = Trigger(r"Event|Condition", tree=may_wait_on_an_event)
    kinds = (EVENT, CONDITION)

    def check_handle(self, handle: Handle, creation: Creation) -> None:
        kind = creation.kind
        if not owned_privately(handle) or self._subclasses_elsewhere_may_set(handle):
            return
        if handle.is_released(NEUTRAL_METHODS[kind], NEUTRAL_USES[kind]):
            return
        if handle.destination.kind == LOCAL and all(use.attr in WAITS[kind] for use in handle.reads()):
            return  # made only to be waited on: "wait until cancelled", on purpose
        for wait in handle.calls(*WAITS[kind]):
            if isinstance(wait.node, cst.Call) and self.facts.waits_forever(wait.node, creation):
                self.report(handle.call, self.message.format(call=creation.name, setter=SETTERS[kind]))
                return

    def _subclasses_elsewhere_may_set(self, handle: Handle) -> bool:
        """``self._event`` of a class another module may subclass: the
        subclass may set it (a name-mangled ``self.__event`` it cannot reach)."""
        destination = handle.destination
        if destination.kind != INSTANCE:
            return False
        mangled = destination.name.startswith("__") and not destination.name.endswith("__")
        return not mangled and not self.facts.classes.closed_to_other_modules(destination.owner)
