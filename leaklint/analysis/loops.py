"""Can a loop ever stop?

A ``while True`` stops only through a ``break`` of its own, a ``return``, a
``raise``, a process exit, or, from the outside, at a cancellation point: an
``await`` (``async for``, ``async with``) lets ``Task.cancel()`` in, a ``yield``
hands control back to a consumer that may simply stop iterating, and a thread
run from async code lets its host's cancellation in with anyio's or trio's
``from_thread.check_cancelled()``.
"""

from __future__ import annotations

import ast
from typing import List, Optional, Set, Tuple

import libcst as cst

from leaklint.analysis.names import ImportTable
from leaklint.analysis.tree import SyntaxTree, iter_children, walk_scope

_EXIT_FUNCTIONS = frozenset(
    {"sys.exit", "os._exit", "os.abort", "_thread.exit", "_thread.interrupt_main", "pytest.exit", "pytest.fail"}
    | {f"os.exec{suffix}" for suffix in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")}
)
_EXIT_BUILTINS = ("exit", "quit")
# Calls a worker thread makes to let its host's cancellation in: they raise
# the host task's cancellation exception, so the loop ends with the scope.
_THREAD_CANCELLATION_POINTS = frozenset({"anyio.from_thread.check_cancelled", "trio.from_thread.check_cancelled"})
_NESTED_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
_LOOPS = (cst.For, cst.While)


def is_constant_true(test: cst.BaseExpression) -> bool:
    """``True``, ``1``, ``"x"``, ``not False``... : a test that never fails."""
    truth = _constant_truth(test)
    return truth is True


def _constant_truth(expr: cst.BaseExpression) -> Optional[bool]:
    if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None"):
        return expr.value == "True"
    if isinstance(expr, (cst.Integer, cst.Float, cst.Imaginary)):
        return bool(expr.evaluated_value)
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        try:
            return bool(ast.literal_eval(_source_of_string(expr)))
        except (ValueError, SyntaxError):
            return None
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        inner = _constant_truth(expr.expression)
        return None if inner is None else not inner
    return None


def _source_of_string(expr: cst.BaseExpression) -> str:
    if isinstance(expr, cst.SimpleString):
        return expr.value
    if isinstance(expr, cst.ConcatenatedString):
        return _source_of_string(expr.left) + " " + _source_of_string(expr.right)
    raise ValueError("not a plain string")


def find_exit(loop: cst.While, imports: ImportTable, in_coroutine: bool, in_generator: bool) -> Optional[cst.CSTNode]:
    """A node through which ``loop`` can stop, or None if it cannot.

    Nested function and class bodies run at another time and do not count; a
    ``break`` inside a nested loop's body ends that loop, not this one (but one in
    its ``else:`` does end this one)."""
    # Each entry: a node to look at, and whether a ``break`` in it ends ``loop``.
    stack: List[Tuple[cst.CSTNode, bool]] = [(loop.body, True)]
    while stack:
        node, break_is_ours = stack.pop()
        node_type = type(node)
        if node_type is cst.Break:
            if break_is_ours:
                return node
            continue
        if node_type is cst.Return or node_type is cst.Raise:
            return node
        if node_type is cst.Yield:
            if in_generator:
                return node
        elif node_type is cst.Await:
            if in_coroutine:
                return node
        elif node_type is cst.Call:
            if _is_exit_call(node, imports):
                return node
        elif (node_type is cst.For or node_type is cst.With) and node.asynchronous is not None:
            if in_coroutine:
                return node
        if isinstance(node, _NESTED_SCOPES):
            continue
        if isinstance(node, _LOOPS):
            stack.append((node.body, False))
            if node.orelse is not None:
                stack.append((node.orelse, break_is_ours))
            for field_name, child in iter_children(node):
                if field_name not in ("body", "orelse"):
                    stack.append((child, break_is_ours))
            continue
        for _, child in iter_children(node):
            stack.append((child, break_is_ours))
    return None


def exits_through_handler(loop: cst.While, tree: SyntaxTree, imports: ImportTable, in_thread: bool) -> bool:
    """``loop`` sits in the body of a ``try`` whose handler, or of a ``with
    contextlib.suppress(...)`` whose exception, something in the loop can
    raise, in its own function: ``try: while True: q.get_nowait() except
    Empty: pass`` is the idiom for "until the call raises", and the handler
    is the exit.  A handler only counts if it can fire: ``queue.Empty`` needs
    a non-blocking or timed ``get``, and ``KeyboardInterrupt`` never reaches
    a thread other than the main one (``in_thread``).  A broad handler, or
    one for an exception we know nothing of, counts."""
    node: cst.CSTNode = loop
    for ancestor in tree.ancestors(loop):
        if isinstance(ancestor, _NESTED_SCOPES):
            return False
        if isinstance(ancestor, (cst.Try, cst.TryStar)) and ancestor.handlers and ancestor.body is node:
            caught = [handler.type for handler in ancestor.handlers]
            if any(_can_fire(kind, loop, imports, in_thread) for kind in caught):
                return True
        if isinstance(ancestor, cst.With) and ancestor.body is node:
            for item in ancestor.items:
                if isinstance(item.item, cst.Call) and imports.resolves_to(item.item.func, "contextlib.suppress"):
                    if any(_can_fire(arg.value, loop, imports, in_thread) for arg in item.item.args):
                        return True
        node = ancestor
    return False


def _can_fire(kind: Optional[cst.BaseExpression], loop: cst.While, imports: ImportTable, in_thread: bool) -> bool:
    """Something in ``loop`` can raise an exception that ``except <kind>`` catches."""
    if kind is None:
        return True  # a bare ``except:``
    if isinstance(kind, cst.Tuple):
        return any(_can_fire(element.value, loop, imports, in_thread) for element in kind.elements)
    name = _exception_name(kind, imports)
    if name == "KeyboardInterrupt":
        return not in_thread  # signals are delivered to the main thread only
    if name == "Empty":
        return _gets_without_blocking(loop)
    return True  # broad, or unknown: it may well fire


def _exception_name(kind: cst.BaseExpression, imports: ImportTable) -> Optional[str]:
    if isinstance(kind, cst.Name):
        if imports.resolves_to(kind, "queue.Empty"):
            return "Empty"  # ``from queue import Empty as QueueEmpty``
        return kind.value if kind.value in ("KeyboardInterrupt", "Empty") else None
    if isinstance(kind, cst.Attribute) and kind.attr.value == "Empty":
        return "Empty"
    return None


def _gets_without_blocking(loop: cst.While) -> bool:
    """The loop calls ``get_nowait()``, ``get(False)``, ``get(block=False)`` or
    ``get(timeout=...)``: calls that raise ``queue.Empty``."""
    for node in walk_scope(loop.body):
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
            continue
        method = node.func.attr.value
        if method == "get_nowait":
            return True
        if method == "get" and node.args:
            return True  # a block flag or a timeout: either can raise Empty
    return False


def is_main_program_loop(loop: cst.While, tree: SyntaxTree, imports: ImportTable, main_functions) -> bool:
    """``loop`` is the program's own main loop, meant to run until the user
    stops it: at module level, in a function the module runs as its main
    program (``main()``, a function called under ``if __name__ ==
    "__main__":`` or wrapped in ``try/except KeyboardInterrupt``), or inside
    a ``try/except KeyboardInterrupt`` of its own."""
    function = tree.enclosing_function(loop)
    if function is None:
        return True
    if function in main_functions:
        return True
    return _inside_keyboard_interrupt_handler(loop, tree, imports)


def _inside_keyboard_interrupt_handler(node: cst.CSTNode, tree: SyntaxTree, imports: ImportTable) -> bool:
    child = node
    for ancestor in tree.ancestors(node):
        if isinstance(ancestor, _NESTED_SCOPES):
            return False
        if isinstance(ancestor, (cst.Try, cst.TryStar)) and ancestor.body is child:
            for handler in ancestor.handlers:
                if handler.type is not None and _catches_keyboard_interrupt(handler.type, imports):
                    return True
        child = ancestor
    return False


def _catches_keyboard_interrupt(kind: cst.BaseExpression, imports: ImportTable) -> bool:
    if isinstance(kind, cst.Tuple):
        return any(_catches_keyboard_interrupt(element.value, imports) for element in kind.elements)
    return _exception_name(kind, imports) == "KeyboardInterrupt"


def main_functions(tree: SyntaxTree, imports: ImportTable) -> Set[cst.FunctionDef]:
    """The module-level functions the module runs as its main program: one
    named ``main``, one called in an ``if __name__ == "__main__":`` block, or
    one whose call the module wraps in ``try/except KeyboardInterrupt``."""
    by_name = {}
    for function in tree.function_defs:
        if tree.method_owner(function) is None and tree.enclosing_function(function) is None:
            by_name.setdefault(function.name.value, []).append(function)
    found: Set[cst.FunctionDef] = set(by_name.get("main", ()))
    for call in tree.calls:
        if not isinstance(call.func, cst.Name) or call.func.value not in by_name:
            continue
        if _under_main_guard(call, tree) or _inside_keyboard_interrupt_handler(call, tree, imports):
            found.update(by_name[call.func.value])
    return found


def _under_main_guard(node: cst.CSTNode, tree: SyntaxTree) -> bool:
    for ancestor in tree.ancestors(node):
        if isinstance(ancestor, _NESTED_SCOPES):
            return False
        if isinstance(ancestor, cst.If) and _is_main_guard(ancestor.test):
            return True
    return False


def _is_main_guard(test: cst.BaseExpression) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
        return False
    sides = (test.left, test.comparisons[0].comparator)
    names = {side.value for side in sides if isinstance(side, cst.Name)}
    strings = {side.evaluated_value for side in sides if isinstance(side, cst.SimpleString)}
    return names == {"__name__"} and strings == {"__main__"}


def ends_the_process(function: cst.FunctionDef, imports: ImportTable) -> bool:
    """``function`` itself calls a process exit (``os._exit()``, ``os.exec*()``,
    ``sys.exit()``...): what it leaves behind goes with the process (an
    ``exec`` emulation that starts a child and exits)."""
    return any(isinstance(node, cst.Call) and _is_exit_call(node, imports) for node in walk_scope(function.body))


def _is_exit_call(call: cst.Call, imports: ImportTable) -> bool:
    func = call.func
    if imports.resolves_to(func, *_EXIT_FUNCTIONS) or imports.resolves_to(func, *_THREAD_CANCELLATION_POINTS):
        return True
    if imports.resolves_to(func, "os.kill") and call.args and isinstance(call.args[0].value, cst.Call):
        return imports.resolves_to(call.args[0].value.func, "os.getpid")  # a signal to this very process
    return any(imports.is_builtin(func, name) for name in _EXIT_BUILTINS)
