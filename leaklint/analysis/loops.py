"""Can a loop ever stop?

A ``while True`` stops only through a ``break`` of its own, a ``return``, a
``raise``, a process exit, or, from the outside, at a cancellation point: an
``await`` (``async for``, ``async with``) lets ``Task.cancel()`` in, a ``yield``
hands control back to a consumer that may simply stop iterating.
"""

from __future__ import annotations

import ast
from typing import List, Optional, Tuple

import libcst as cst

from leaklint.analysis.names import ImportTable
from leaklint.analysis.tree import SyntaxTree, iter_children

_EXIT_FUNCTIONS = frozenset({"sys.exit", "os._exit", "os.abort", "_thread.exit", "_thread.interrupt_main"})
_EXIT_BUILTINS = ("exit", "quit")
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


def exits_through_handler(loop: cst.While, tree: SyntaxTree, imports: ImportTable) -> bool:
    """``loop`` sits in the body of a ``try`` with ``except`` clauses, or of a
    ``with contextlib.suppress(...)``, in its own function:
    ``try: while True: q.get_nowait() except Empty: pass`` is the idiom for
    "until the call raises", and the handler is the exit."""
    node: cst.CSTNode = loop
    for ancestor in tree.ancestors(loop):
        if isinstance(ancestor, _NESTED_SCOPES):
            return False
        if isinstance(ancestor, (cst.Try, cst.TryStar)) and ancestor.handlers and ancestor.body is node:
            return True
        if isinstance(ancestor, cst.With) and ancestor.body is node:
            for item in ancestor.items:
                if isinstance(item.item, cst.Call) and imports.resolves_to(item.item.func, "contextlib.suppress"):
                    return True
        node = ancestor
    return False


def _is_exit_call(call: cst.Call, imports: ImportTable) -> bool:
    func = call.func
    if imports.resolves_to(func, *_EXIT_FUNCTIONS):
        return True
    return any(imports.is_builtin(func, name) for name in _EXIT_BUILTINS)
