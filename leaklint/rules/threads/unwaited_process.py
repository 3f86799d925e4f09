from __future__ import annotations

import libcst as cst

from leaklint.analysis.creations import CHILD_PROCESS
from leaklint.analysis.handles import DISCARDED, INSTANCE, LOCAL
from leaklint.rule import Rule

# Calls that leave the child unreaped: signalling it is not waiting for it.
NEUTRAL_POPEN_METHODS = frozenset({"kill", "terminate", "send_signal"})


class UnwaitedProcess(Rule):
    """A `subprocess.Popen` child is never waited for.

    ## What it does
    Flags `subprocess.Popen(...)` created outside a `with` statement whose
    child is never reaped: no `wait()`, `communicate()` or `poll()` on it.
    `kill()` or `terminate()` alone does not count: the child still has to
    be waited for. A process on `self` counts as waited if any method of the
    class waits for it.

    ## Why is this bad?
    A child that exits before its parent waits for it stays in the process
    table as a zombie, holding its pid and exit status, and its pipes stay
    open. A long-running service that starts children this way slowly fills
    the process table.

    ## Example
    ```python
    def notify(message):
        subprocess.Popen(["notify-send", message])
    ```

    ## Use instead
    ```python
    def notify(message):
        subprocess.run(["notify-send", message], check=False)
    ```
    or keep the `Popen` and `wait()` for it, or use it in a `with` block.

    ## References
    - [Popen.wait](https://docs.python.org/3/library/subprocess.html#subprocess.Popen.wait)
    """

    code = "LL203"
    name = "unwaited-process"
    message = "subprocess.Popen child is never waited for: it becomes a zombie; call wait() or communicate()"
    modules = ("subprocess",)
    trigger = r"Popen"

    def visit_Call(self, node: cst.Call) -> None:
        creation = self.facts.creation_of(node)
        if creation is None or creation.kind != CHILD_PROCESS:
            return
        handle = self.facts.handle(node)
        destination = handle.destination
        if destination.in_container or destination.kind not in (DISCARDED, LOCAL, INSTANCE):
            return
        if not handle.is_released(NEUTRAL_POPEN_METHODS):
            self.report(node)
