"""Can a rule fire at all in this module?  Asked of Python's own parse tree.

A rule's trigger text (``async``, ``while True``) lets through many files
where the rule cannot fire: most modules with an ``async def`` drop no
coroutine, and most ``while True:`` loops have a ``break``.  Python's parser
costs about an eighth of libcst's, and the engine needs it anyway for a file
it does not parse with libcst (to report a broken file, and for the module's
summary), so for a rule whose trigger carries one of these questions the
engine asks it of the ``ast`` tree first and parses with libcst only if some
rule can fire.

Each question is a necessary condition, never a guess: it answers False only
when the shared analysis could not find anything to report, whatever the rest
of the module says.  So each mirrors, more loosely, the conditions under which
the rule reports (the docstring says which), and a change there that lets the
rule report in new places must be reflected here; the test that runs every
fixture with and without the pre-checks (tests/test_speed_invariants.py)
catches one that is not.  Each is one walk of the tree, or less.
"""

from __future__ import annotations

import ast
from typing import Dict, Iterator, List, Optional, Set, Tuple

from leaklint.analysis.coroutines import COROUTINE_FUNCTIONS, PRIMITIVE_COROUTINE_METHODS
from leaklint.analysis.handles import COLLECTING_METHODS
from leaklint.analysis.project import ModuleView

# Importing one of these makes its coroutine functions and primitives known.
_COROUTINE_MODULES = frozenset(name.partition(".")[0] for name in (*COROUTINE_FUNCTIONS, *PRIMITIVE_COROUTINE_METHODS))
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
# Values whose ``return`` makes no coroutine (``coroutines._PLAIN_VALUES``).
_PLAIN_VALUES = (ast.JoinedStr, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.SetComp, ast.DictComp, ast.Compare)

# Fields that never hold a node worth visiting: names, numbers, and the
# ``Load``/``Add`` singletons of every expression.
_NOT_CHILDREN = frozenset(
    {"ctx", "op", "ops", "id", "attr", "arg", "name", "names", "module", "level", "type_comment", "kind", "conversion", "is_async", "simple", "kwd_attrs"}
)
# Nodes with nothing worth visiting below them, the most common ones.
_LEAVES = (ast.Name, ast.Constant, ast.alias, ast.Pass, ast.Break, ast.Continue)
_child_fields_cache: Dict[type, Tuple[str, ...]] = {leaf: () for leaf in _LEAVES}


def _children(node: ast.AST, into: List[ast.AST]) -> None:
    """Append the child nodes of ``node`` to ``into`` (``ast.iter_child_nodes``
    without its generator and the fields that hold no node: this walk is most
    of a pre-check's cost)."""
    node_type = type(node)
    fields = _child_fields_cache.get(node_type)
    if fields is None:
        fields = _child_fields_cache[node_type] = tuple(field for field in node_type._fields if field not in _NOT_CHILDREN)
    for field in fields:
        value = getattr(node, field, None)
        if type(value) is list:
            into.extend(item for item in value if item is not None)
        elif value is not None and isinstance(value, ast.AST):
            into.append(value)


# -- LL103: a coroutine made and dropped ---------------------------------------------


def may_drop_a_coroutine(tree: ast.Module, project: Optional[ModuleView]) -> bool:
    """Some call of the module may make a coroutine and drop it, as
    ``coroutines`` and ``handles`` see it: a call whose value is dropped (an
    expression statement, the value of an assignment, a lambda's body, what
    ``append`` and the like add, or an element, branch or comprehension result
    flowing into one of those), of a function that may make a coroutine: an
    ``async def`` of the module, a ``def`` of it that returns something other
    than a plain value, an ``async def`` of the project (through ``project``),
    or, when the module imports asyncio, anything (its coroutine functions and
    its queues' and locks' methods go by many local names)."""
    makers: Set[str] = set()  # names of the defs whose call may make a coroutine
    dropped: List[Tuple[ast.Call, Optional[str]]] = []  # with the name of the class around it
    # Scopes to walk: (its nodes, the function whose returns they are, the class around them).
    scopes: List[Tuple[List[ast.AST], Optional[str], Optional[str]]] = [([tree], None, None)]
    while scopes:
        stack, function, class_name = scopes.pop()
        while stack:
            node = stack.pop()
            node_type = type(node)
            if node_type is ast.Import:
                if any(alias.name.partition(".")[0] in _COROUTINE_MODULES for alias in node.names):
                    return True
            elif node_type is ast.ImportFrom:
                if not node.level and (node.module or "").partition(".")[0] in _COROUTINE_MODULES:
                    return True
            elif node_type is ast.Return:
                if function is not None and node.value is not None and not _is_plain(node.value):
                    makers.add(function)
            elif node_type is ast.Expr or node_type is ast.Assign or node_type is ast.AnnAssign:
                if node.value is not None:
                    _flowing_calls(node.value, class_name, dropped)
            elif node_type is ast.Lambda:
                _flowing_calls(node.body, class_name, dropped)
            elif node_type is ast.Call:
                func = node.func
                if type(func) is ast.Attribute and func.attr in COLLECTING_METHODS:
                    for arg in node.args:
                        if type(arg) is not ast.Starred:
                            _flowing_calls(arg, class_name, dropped)
            if node_type is ast.FunctionDef or node_type is ast.AsyncFunctionDef:
                if node_type is ast.AsyncFunctionDef:
                    makers.add(node.name)
                # Its decorators, defaults and annotations run in this scope; its body in its own.
                outer: List[ast.AST] = [*node.decorator_list, node.args]
                if node.returns is not None:
                    outer.append(node.returns)
                stack.extend(outer)
                scopes.append((list(node.body), node.name, class_name))
            elif node_type is ast.ClassDef:
                stack.extend([*node.decorator_list, *node.bases, *node.keywords])
                scopes.append((list(node.body), None, node.name))
            else:
                _children(node, stack)
    for call, class_name in dropped:
        func = call.func
        if type(func) is ast.Name:
            called = func.id
        elif type(func) is ast.Attribute:
            called = func.attr
        else:
            continue  # ``handlers[key]()``: nobody knows what it makes
        if called in makers:
            return True
        if project is None:
            continue
        dotted = _dotted_name(func)
        if dotted is not None and project.is_coroutine_function(dotted):
            return True  # an ``async def`` of another module, by its imported name
        if class_name is not None and type(func) is ast.Attribute and type(func.value) is ast.Name:
            if project.is_coroutine_function(f"{class_name}.{called}"):
                return True  # ``self.fetch()``, ``fetch`` an ``async def`` of a base elsewhere
    return False


def _flowing_calls(value: ast.AST, class_name: Optional[str], into: List[Tuple[ast.Call, Optional[str]]]) -> None:
    """The calls whose value becomes ``value``: itself, the elements of a
    literal, the result of a comprehension, either branch of ``a if c else b``
    and ``a or b`` (``handles._destination`` follows the same ones)."""
    stack = [value]
    while stack:
        expr = stack.pop()
        expr_type = type(expr)
        if expr_type is ast.Call:
            into.append((expr, class_name))
        elif expr_type is ast.List or expr_type is ast.Tuple or expr_type is ast.Set:
            stack.extend(expr.elts)
        elif expr_type is ast.Starred:
            stack.append(expr.value)
        elif expr_type is ast.Dict:
            stack.extend(key for key in expr.keys if key is not None)
            stack.extend(expr.values)
        elif expr_type is ast.ListComp or expr_type is ast.SetComp or expr_type is ast.GeneratorExp:
            stack.append(expr.elt)
        elif expr_type is ast.DictComp:
            stack.append(expr.value)
        elif expr_type is ast.IfExp:
            stack.extend((expr.test, expr.body, expr.orelse))
        elif expr_type is ast.BoolOp:
            stack.extend(expr.values)


def _is_plain(value: ast.AST) -> bool:
    if isinstance(value, ast.Constant):
        return value.value is not Ellipsis
    if isinstance(value, ast.Name):
        return value.id == "NotImplemented"
    return isinstance(value, _PLAIN_VALUES)


def _dotted_name(expr: ast.AST) -> Optional[str]:
    parts = []
    while type(expr) is ast.Attribute:
        parts.append(expr.attr)
        expr = expr.value
    if type(expr) is not ast.Name:
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


# -- LL301: a loop with no way out --------------------------------------------------


def may_loop_forever(tree: ast.Module, project: Optional[ModuleView]) -> bool:
    """Some ``while`` loop has a test that may always be true (a constant, or
    ``not`` of something) and no ``break`` of its own, ``return`` or
    ``raise`` in its body (``loops.find_exit`` finds these first, then the
    cancellation points and process exits this leaves out)."""
    for statement in _statements(tree.body):
        if type(statement) is ast.While and _may_be_constant(statement.test) and not _has_own_exit(statement):
            return True
    return False


def _may_be_constant(test: ast.AST) -> bool:
    return isinstance(test, ast.Constant) or (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not))


def _has_own_exit(loop: ast.While) -> bool:
    """A ``break`` that ends ``loop`` (not one in a nested loop's body, but
    one in its ``else:``), or a ``return`` or ``raise``, outside nested
    scopes.  All three are statements: only blocks of statements are read."""
    stack: List[Tuple[ast.stmt, bool]] = [(statement, True) for statement in loop.body]
    while stack:
        statement, break_is_ours = stack.pop()
        statement_type = type(statement)
        if statement_type is ast.Break:
            if break_is_ours:
                return True
        elif statement_type is ast.Return or statement_type is ast.Raise:
            return True
        elif isinstance(statement, _LOOPS):
            stack.extend((inner, False) for inner in statement.body)
            stack.extend((inner, break_is_ours) for inner in statement.orelse)
        elif not isinstance(statement, _SCOPES):
            stack.extend((inner, break_is_ours) for inner in _blocks(statement))
    return False


def _statements(body: List[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of ``body`` and of the blocks within, nested function
    and class bodies included."""
    stack = list(body)
    while stack:
        statement = stack.pop()
        yield statement
        stack.extend(_blocks(statement))


def _blocks(statement: ast.stmt) -> List[ast.stmt]:
    """The statements directly inside a compound statement's blocks: its body,
    ``else``/``finally``, its handlers' and its ``case``s' bodies."""
    inner: List[ast.stmt] = []
    for field in _BLOCK_FIELDS:
        block = getattr(statement, field, None)
        if block:
            for item in block:
                if isinstance(item, ast.stmt):
                    inner.append(item)
                else:  # an ``except`` handler or a ``case``
                    inner.extend(item.body)
    return inner


_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
