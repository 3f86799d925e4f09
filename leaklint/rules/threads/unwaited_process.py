from __future__ import annotations

from leaklint.analysis.creations import Creation, CHILD_PROCESS
from leaklint.analysis.handles import Handle, DISCARDED, INSTANCE, LOCAL
from leaklint.analysis.prechecks import may_leave_a_child
from leaklint.fix_builders import manage_with
from leaklint.rule import HandleRule, Trigger

# Calls that leave the child unreaped: signalling it is not waiting for it.
NEUTRAL_POPEN_METHODS = frozenset({"kill", "terminate", "send_signal"})


class UnwaitedProcess(HandleRule):
    """A `subprocess.Popen` child is never waited for.

    ## What it does
    Flags `subprocess.Popen(...)` created outside a `with` statement whose
    child is never reaped: no `wait()`, `communicate()` or `poll()` on it,
    and no `os.waitpid()`, `os.wait4()` or `os.waitid(os.P_PID, ...)` (without
    `WNOWAIT`) of its pid: `p.pid` itself, a name or attribute holding it
    (`self.pid = self.proc.pid`), or a function of the module that waits for
    the pid it is passed.
    `kill()` or `terminate()` alone does not count: the child still has to
    be waited for. A process on `self` counts as waited if any method of the
    class waits for it (also a method that waits for the previous child
    before it starts the next one). When the class never waits for it and a
    method that may run more than once rebinds the attribute on every path
    (not a constructor, not behind `if self.proc is None:`, not after
    looking at the old value), the message says that each run loses the
    previous child. A child started by a function that then exits or
    execs the process itself (`os._exit()`, `os.exec*()`, `sys.exit()`) is
    left alone: it is reparented, not leaked. So is a child made by a
    function of the module that returns it: its callers are judged instead,
    and a child its owner marks as finished (`p.returncode = 0`, so that
    `Popen` neither waits for it nor warns at exit): a background child on
    purpose.

    A local child (or one on `self` created and waited in the same method
    and nowhere else) must be waited, or handed on, on every path from its
    creation to the end of the function: waited only `if wait:`, or below an
    early `return`, or not after a `TimeoutExpired` that is caught, it is
    reported with the path that leaks it. A path that ends the process
    (`sys.exit`, `os._exit`, `os.exec*`) leaks nothing.

    ## Why is this bad?
    A child that exits before its parent waits for it stays in the process
    table as a zombie, holding its pid and exit status, and its pipes stay
    open. A long-running service that starts children this way slowly fills
    the process table.

    ## Example
    ```python
    def notify(message):
        subprocess.Popen(["notify-send", message])

    def run(command, timeout):
        child = subprocess.Popen(command, stdout=subprocess.PIPE)
        try:
            out, _ = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None  # the child runs on, and is never reaped
        return out
    ```

    ## Use instead
    ```python
    def notify(message):
        subprocess.run(["notify-send", message], check=False)
    ```
    or keep the `Popen` and `wait()` for it, or use it in a `with` block;
    after a timeout, `kill()` the child and `communicate()` again.

    ## Fix safety
    For a local `child = Popen(...)` that the statements after it in the same
    block kill or terminate (and nothing else uses), the fix rewrites it as
    `with Popen(...) as child:` around those statements, so the killed child
    is waited for. It is **unsafe**: leaving the `with` closes the pipes and
    waits for the child, also when the block raises or takes a path that
    does not reach the kill. No fix is offered for a child that is not
    killed in the block: waiting for it might block for as long as it runs.

    ## References
    - [Popen.wait](https://docs.python.org/3/library/subprocess.html#subprocess.Popen.wait)
    """

    code = "LL203"
    name = "unwaited-process"
    message = "the child made by {call} is never waited for: it becomes a zombie; call wait() or communicate()"
    path_message = (
        "the child made by {call} is not waited for {path}: it becomes a zombie; call wait() or communicate() on every path"
    )
    rebinding_message = (
        "the child made by {call} is never waited for, and the previous child is lost each time `{method}()` rebinds"
        " `self.{attr}`: they become zombies; call wait() or communicate()"
    )
    modules = ("subprocess",)
    trigger = Trigger(r"Popen", tree=may_leave_a_child)
    kinds = (CHILD_PROCESS,)

    def check_handle(self, handle: Handle, creation: Creation) -> None:
        destination = handle.destination
        if destination.kind not in (DISCARDED, LOCAL, INSTANCE):
            return
        if self.facts.ends_the_process(handle.call):
            return  # the process exits (or execs) itself: its children are reparented, not leaked
        if not handle.is_released(NEUTRAL_POPEN_METHODS):
            self.report_never_released(handle, call=creation.name)
            return
        path = handle.leaking_path(NEUTRAL_POPEN_METHODS)
        if path is not None:
            self.report(handle.call, self.path_message.format(call=creation.name, path=path))

    def fix(self, node):
        return manage_with(self.facts, self.facts.handle(node), needs_call=ENDING_CALLS)


# Calls that show the code means the child to end within the block.
ENDING_CALLS = frozenset({"kill", "terminate"})
