from __future__ import annotations

import libcst as cst

from leaklint.analysis.loops import exits_through_handler, find_exit, is_constant_true, is_main_program_loop
from leaklint.analysis.prechecks import may_loop_forever
from leaklint.rule import Rule, Trigger


class EndlessLoop(Rule):
    """A `while True` loop has no way out.

    ## What it does
    Flags `while True:` (or `while 1:`, or any other test that is always true)
    whose body has no `break` of its own, no `return`, no `raise`, no process
    exit (`sys.exit()`, `os._exit()`, `os.abort()`, `os.exec*()`,
    `os.kill(os.getpid(), ...)`), and no cancellation point: an `await`,
    `async for` or `async with` in a coroutine, a `yield` in a generator, or
    anyio's (trio's) `from_thread.check_cancelled()` in a thread run from
    async code, which raises when the host's scope is cancelled. Nested function and class bodies do not count, and a `break` inside a
    nested loop ends that loop, not this one.

    An enclosing `try` (or `contextlib.suppress`) ends the loop only if its
    handler can fire: `queue.Empty` needs a `get_nowait()` or a `get` with a
    block flag or timeout in the loop, `KeyboardInterrupt` never reaches a
    thread other than the main one; a broad or unknown exception counts.

    Left alone by design: the program's own main loop (at module level, in
    `main()`, in a function called under `if __name__ == "__main__":` or
    wrapped in `try/except KeyboardInterrupt`, or inside such a `try` itself)
    unless it runs in a coroutine or a thread; a loop in a function the
    module runs only in daemon threads; a loop in a process target whose
    creator terminates or kills it; code under `pytest.raises`/`assertRaises`.

    ## Why is this bad?
    Nothing can stop such a loop: not the caller, not a shutdown flag, not
    `Task.cancel()`. The thread or process that runs it can only be killed,
    so the program cannot shut down cleanly, tests hang, and a thread pool
    worker stuck in it is lost for good.

    ## Example
    ```python
    def pump(source, sink):
        while True:
            sink.write(source.read())
    ```

    ## Use instead
    ```python
    def pump(source, sink, stop: threading.Event):
        while not stop.is_set():
            sink.write(source.read())
    ```
    or `break` when the source is exhausted.
    """

    code = "LL301"
    name = "endless-loop"
    message = "this loop has no exit (no break, return or raise) and no cancellation point"
    trigger = Trigger(r"\bwhile[ \t(]+(?:True|not\b|[\d\"'(.]|[rRbBuUfF]{1,2}[\"'])", tree=may_loop_forever)

    def visit_While(self, node: cst.While) -> None:
        if not is_constant_true(node.test):
            return
        facts = self.facts
        tree, workers = facts.tree, facts.workers
        function = facts.enclosing_function(node)
        in_thread = function is not None and workers.runs_in_a_thread(function)
        exit_node = find_exit(node, facts.imports, facts.in_coroutine(node), facts.in_generator(node))
        if exit_node is not None or exits_through_handler(node, tree, facts.imports, in_thread) or tree.expected_to_raise(node):
            return
        if function is not None and (workers.runs_only_in_daemon_threads(function) or workers.is_terminated_target(function)):
            return  # abandoned at exit, or ended by force: by design
        in_worker = in_thread or facts.in_coroutine(node)
        if not in_worker and is_main_program_loop(node, tree, facts.imports, facts.main_functions):
            return  # the program's own main loop runs until the user stops it
        self.report(node)
