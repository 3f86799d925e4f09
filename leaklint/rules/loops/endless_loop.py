from __future__ import annotations

import libcst as cst

from leaklint.analysis.loops import exits_through_handler, find_exit, is_constant_true
from leaklint.rule import Rule


class EndlessLoop(Rule):
    """A `while True` loop has no way out.

    ## What it does
    Flags `while True:` (or `while 1:`, or any other test that is always true)
    whose body has no `break` of its own, no `return`, no `raise`, no
    `sys.exit()`/`os._exit()`, no enclosing `try` whose `except` clause
    (or `contextlib.suppress`) ends it when a call raises (nor a `pytest.raises`/`assertRaises` block
    expecting it to), and no cancellation point: an `await`,
    `async for` or `async with` in a coroutine, or a `yield` in a generator.
    Nested function and class bodies do not count, and a `break` inside a
    nested loop ends that loop, not this one. A loop in a function that the
    module runs only as the target of daemon threads is left alone.

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
    trigger = r"\bwhile[ \t(]+(?:True|not\b|[\d\"'(.]|[rRbBuUfF]{1,2}[\"'])"

    def visit_While(self, node: cst.While) -> None:
        if not is_constant_true(node.test):
            return
        facts = self.facts
        exit_node = find_exit(node, facts.imports, facts.in_coroutine(node), facts.in_generator(node))
        if exit_node is not None or exits_through_handler(node, facts.tree, facts.imports) or facts.tree.expected_to_raise(node):
            return
        function = facts.enclosing_function(node)
        if function is not None and facts.workers.runs_only_in_daemon_threads(function):
            return
        self.report(node)
