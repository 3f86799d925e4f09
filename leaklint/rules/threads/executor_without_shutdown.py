from __future__ import annotations

from leaklint.analysis.creations import Creation, EXECUTOR, POOL
from leaklint.analysis.handles import Handle, DISCARDED, INSTANCE, LOCAL
from leaklint.analysis.prechecks import may_leave_an_executor
from leaklint.fix_builders import manage_with
from leaklint.rule import HandleRule, Trigger

# Calls that hand work to the pool without ever shutting it down.
NEUTRAL_POOL_METHODS = frozenset(
    {
        "submit",
        "map",
        "apply",
        "apply_async",
        "map_async",
        "imap",
        "imap_unordered",
        "starmap",
        "starmap_async",
    }
)


class ExecutorWithoutShutdown(HandleRule):
    """An executor or process pool is created outside `with` and never shut down.

    ## What it does
    Flags a `concurrent.futures.ThreadPoolExecutor` or `ProcessPoolExecutor`,
    a `multiprocessing.Pool` (also from a `multiprocessing.get_context(...)`)
    or a `multiprocessing.pool.ThreadPool` created
    in a function outside a `with` statement and never released with
    `shutdown()` (executors) or `close()`/`terminate()` (pools). An executor
    on `self` counts as released if any method of the class releases it
    (also a method that shuts down the previous one before it makes the
    next). When the class never releases it and a method that may run more
    than once rebinds the attribute on every path (not a constructor, not
    behind `if self.executor is None:`, not after looking at the old value),
    the message says that each run loses the previous executor.
    Executors created at module or class level are program-lifetime
    singletons and are left alone: their workers are joined at exit.
    A local executor (or one on `self` created and shut down in the same
    method and nowhere else) must be shut down, or handed on, on every path
    to the end of the function: one shut down below an early `return` is
    reported with that return's line.

    ## Why is this bad?
    Each executor owns worker threads or processes. One created per call and
    never shut down keeps its workers alive: every call leaks a pool, until
    the process runs out of threads, processes or memory.

    ## Example
    ```python
    def resize_all(images):
        executor = ThreadPoolExecutor(max_workers=4)
        return list(executor.map(resize, images))
    ```

    ## Use instead
    ```python
    def resize_all(images):
        with ThreadPoolExecutor(max_workers=4) as executor:
            return list(executor.map(resize, images))
    ```

    ## Fix safety
    For a local `name = Executor(...)` used only in the statements that
    follow it in the same block (not by a nested function), the fix rewrites
    it as `with Executor(...) as name:` around those statements. It is
    **unsafe**: leaving the `with` waits for the submitted work
    (`shutdown(wait=True)`), so the function may now return later, also when
    it raises. A `multiprocessing` pool's `with` calls `terminate()`, which
    would kill work still pending: for pools the fix is offered only when
    every call on the pool is a blocking `map`, `starmap` or `apply`.

    ## References
    - [Executor.shutdown](https://docs.python.org/3/library/concurrent.futures.html#concurrent.futures.Executor.shutdown)
    - [multiprocessing.pool.Pool](https://docs.python.org/3/library/multiprocessing.html#multiprocessing.pool.Pool)
    """

    code = "LL202"
    name = "executor-without-shutdown"
    message = "{call} is never shut down: use it in a `with` block or call {release}"
    path_message = "{call} is not shut down {path}: use it in a `with` block or call {release} on every path"
    rebinding_message = (
        "{call} is never shut down, and the previous {what} is lost each time `{method}()` rebinds `self.{attr}`:"
        " use it in a `with` block or call {release}"
    )
    modules = ("concurrent", "multiprocessing")
    trigger = Trigger(r"Executor|Pool", tree=may_leave_an_executor)
    kinds = (EXECUTOR, POOL,)

    def check_handle(self, handle: Handle, creation: Creation) -> None:
        destination = handle.destination
        if destination.kind not in (DISCARDED, LOCAL, INSTANCE):
            return
        release = "shutdown()" if creation.kind == EXECUTOR else "close() and join()"
        if not handle.is_released(NEUTRAL_POOL_METHODS):
            what = "executor" if creation.kind == EXECUTOR else "pool"
            self.report_never_released(handle, call=creation.name, release=release, what=what)
            return
        path = handle.leaking_path(NEUTRAL_POOL_METHODS)
        if path is not None:
            self.report(handle.call, self.path_message.format(call=creation.name, path=path, release=release))

    def fix(self, node):
        only_calls = None if self.facts.creation_of(node).kind == EXECUTOR else BLOCKING_POOL_METHODS
        return manage_with(self.facts, self.facts.handle(node), only_calls=only_calls)


# A pool's ``with`` terminates it: only calls whose results are complete on return survive that.
BLOCKING_POOL_METHODS = frozenset({"map", "starmap", "apply"})
