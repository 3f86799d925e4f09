"""Can a rule fire at all in this module?  Asked of Python's own parse tree.

A rule's trigger text (``async``, ``while True``, ``Popen``) lets through
many files where the rule cannot fire: most modules with an ``async def``
drop no coroutine, most ``while True:`` loops have a ``break``, and a
``Popen`` in a docstring or a ``with Popen(...)`` makes no child to judge.
Python's parser costs about an eighth of libcst's, and the engine needs it
anyway for a file it does not parse with libcst (to report a broken file,
and for the module's summary), so every rule's trigger carries a question
that the engine asks of the ``ast`` tree first; libcst parses the file only
if some rule can fire.

Each question is a necessary condition, never a guess: it answers False only
when the shared analysis could not find anything to report, whatever the rest
of the module says.  So each mirrors, more loosely, the conditions under which
the rule reports (the docstring says which), and a change there that lets the
rule report in new places must be reflected here; the test that runs every
fixture with and without the pre-checks (tests/test_speed_invariants.py)
catches one that is not.  Each is one walk of the tree, or less, plus the
bodies of the loops it judges; the handle rules share one.
"""

from __future__ import annotations

import ast
from typing import Dict, FrozenSet, Iterator, List, NamedTuple, Optional, Set, Tuple

from leaklint.analysis.coroutines import COROUTINE_FUNCTIONS, OVERLOAD_DECORATORS, PRIMITIVE_COROUTINE_METHODS, TRANSPARENT_DECORATORS
from leaklint.analysis.creations import CHILD_PROCESS, CONDITION, EVENT, EXECUTOR, POOL, QUEUE, TASK, WORKER, constructor_names
from leaklint.analysis.handles import COLLECTING_METHODS
from leaklint.analysis.lifetimes import FLAG_NAME, SERVES_FOREVER, WAITS_FOR_OTHERS, WAITS_FOR_WORK
from leaklint.analysis.project import ModuleView
from leaklint.analysis.summary import annotated_class

# Importing one of these makes its coroutine functions and primitives known.
_COROUTINE_MODULES = frozenset(name.partition(".")[0] for name in (*COROUTINE_FUNCTIONS, *PRIMITIVE_COROUTINE_METHODS))
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)

# Fields that never hold a node worth visiting: names, numbers, and the
# ``Load``/``Add`` singletons of every expression.
_NOT_CHILDREN = frozenset(
    {"ctx", "op", "ops", "id", "attr", "arg", "name", "names", "module", "level", "type_comment", "kind", "conversion", "is_async", "simple", "kwd_attrs"}
)
# Nodes with nothing worth visiting below them, the most common ones.
_LEAVES = (ast.Name, ast.Constant, ast.alias, ast.Pass, ast.Break, ast.Continue)
_child_fields_cache: Dict[type, Tuple[str, ...]] = {leaf: () for leaf in _LEAVES}


# The only lists of nodes that may hold None: ``{**extra}``'s key, and the
# default of a keyword-only parameter that has none.
_LISTS_WITH_GAPS = frozenset({(ast.Dict, "keys"), (ast.arguments, "kw_defaults")})


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
            if (node_type, field) in _LISTS_WITH_GAPS:
                into.extend(item for item in value if item is not None)
            else:
                into.extend(value)
        elif value is not None and isinstance(value, ast.AST):
            into.append(value)


# -- LL103: a coroutine made and dropped ---------------------------------------------


def may_drop_a_coroutine(tree: ast.Module, project: Optional[ModuleView]) -> bool:
    """Some call of the module may make a coroutine and drop it, as
    ``coroutines`` and ``handles`` see it: a call whose value is dropped (an
    expression statement, the value of an assignment to ``_``, a subscript or
    several targets, a lambda's body, what ``append`` and the like add, or an
    element, branch or comprehension result flowing into one of those), or
    bound to a local its function never reads, of something that may make a
    coroutine.

    That is, by the name called (``coroutines.Coroutines._call``): an ``async
    def`` of the module whose decorators leave it alone; a ``def`` of it
    whose every ``return`` hands back such a call, or a local name bound
    only to such calls (found by repeating until nothing changes); when the module imports asyncio, one
    of its coroutine functions (under any name an import gives it) or a
    coroutine method of its queues, locks and events (``q.get()``, on
    whatever receiver); or, through ``project``, an ``async def`` of another
    module, by its imported name, inherited on ``self``, or a method of a
    project class an annotation gives ``self.<attr>``."""
    walk = _CoroutineWalk(tree, project)
    makers = walk.makers()
    if any(walk.may_make_a_coroutine(call.func, class_name, makers) for call, class_name in walk.dropped):
        return True
    read: Dict[int, FrozenSet[str]] = {}  # id of a function -> the names it reads: one walk each
    for call, class_name, function, name in walk.bound_locals:
        if walk.may_make_a_coroutine(call.func, class_name, makers):
            if id(function) not in read:
                read[id(function)] = _names_read(function)
            if name not in read[id(function)]:
                return True
    return False


# What an asyncio coroutine function or primitive's coroutine method is
# called, on whatever receiver: ``asyncio.sleep``, ``aio.wait_for``, ``q.get``.
_ASYNCIO_COROUTINE_ATTRIBUTES = frozenset(
    {name.rpartition(".")[2] for name in COROUTINE_FUNCTIONS}
    | {method for methods in PRIMITIVE_COROUTINE_METHODS.values() for method in methods}
)
_COROUTINE_FUNCTION_NAMES = frozenset(name.rpartition(".")[2] for name in COROUTINE_FUNCTIONS)
# The last part of the decorators ``coroutines`` sees through (``_is_transparent``).
_TRANSPARENT_DECORATOR_NAMES = frozenset(
    name.rpartition(".")[2] for name in (*TRANSPARENT_DECORATORS, *OVERLOAD_DECORATORS)
)
_CONSTANT_NAMES = frozenset({"None", "True", "False", "NotImplemented"})


class _Def(NamedTuple):
    """A ``def`` that makes a coroutine if the calls it returns do."""

    name: str
    returned: Tuple[ast.expr, ...]  # what its ``return <call>``s call
    class_name: Optional[str]


class _CoroutineWalk:
    """One walk of the module for :func:`may_drop_a_coroutine`: the calls
    whose value is dropped, the defs that may make coroutines, and the names
    asyncio's coroutine functions are imported under."""

    def __init__(self, tree: ast.Module, project: Optional[ModuleView]):
        self._project = project
        self.dropped: List[Tuple[ast.Call, Optional[str]]] = []  # with the name of the class around it
        # ``name = call()`` in a function: dropped if the function never reads
        # the name.  (At module or class level it is a global or a class
        # attribute, which ``handles`` never judges dropped.)
        self.bound_locals: List[Tuple[ast.Call, Optional[str], ast.AST, str]] = []
        self._async_defs: Set[str] = set()
        self._sync_defs: List[_Def] = []
        self._imports_asyncio = False
        self._coroutine_aliases: Set[str] = set()  # ``from asyncio import sleep as nap``: nap
        # attribute -> the classes its annotations name (``x: T`` in a class,
        # ``self.x: T = ...``), None for one this cannot name; the same for parameters.
        self._annotated_attributes: Dict[str, Set[Optional[str]]] = {}
        self._annotated_params: Dict[str, Set[Optional[str]]] = {}
        self._attributes_from_names: List[Tuple[str, str]] = []  # ``self.x = p``: (x, p)
        self._walk(tree)
        # ``self.x = p`` with ``p: T``: as good as an annotation (``coroutines._annotated_attribute``).
        for attr, name in self._attributes_from_names:
            if name in self._annotated_params:
                self._annotated_attributes.setdefault(attr, set()).update(self._annotated_params[name])

    def makers(self) -> Set[str]:
        """The names of the module's defs whose call may make a coroutine: the
        ``async def``s, then every ``def`` whose returned calls all may,
        until nothing changes (a chain of wrappers takes one round per link)."""
        makers = set(self._async_defs)
        pending = self._sync_defs
        changed = True
        while changed:
            changed = False
            still_pending = []
            for function in pending:
                if function.name in makers:
                    continue
                if all(self.may_make_a_coroutine(func, function.class_name, makers) for func in function.returned):
                    makers.add(function.name)
                    changed = True
                else:
                    still_pending.append(function)
            pending = still_pending
        return makers

    def may_make_a_coroutine(self, func: ast.expr, class_name: Optional[str], makers: Set[str]) -> bool:
        """Calling ``func`` (inside class ``class_name``) may make a coroutine."""
        if type(func) is ast.Name:
            if func.id in makers or func.id in self._coroutine_aliases:
                return True
        elif type(func) is ast.Attribute:
            if func.attr in makers or (self._imports_asyncio and func.attr in _ASYNCIO_COROUTINE_ATTRIBUTES):
                return True
        else:
            return False  # ``handlers[key]()``: nobody knows what it makes
        return self._project is not None and self._project_may_make_a_coroutine(func, class_name, self._project)

    def _project_may_make_a_coroutine(self, func: ast.expr, class_name: Optional[str], project: ModuleView) -> bool:
        dotted = _dotted_name(func)
        if dotted is not None and project.is_coroutine_function(dotted):
            return True  # an ``async def`` of another module, by its imported name
        if class_name is None or type(func) is not ast.Attribute:
            return False
        receiver = func.value
        if type(receiver) is ast.Name:
            return project.is_coroutine_function(f"{class_name}.{func.attr}")  # ``self.fetch()``, from a base elsewhere
        if type(receiver) is ast.Attribute and type(receiver.value) is ast.Name:
            # ``self.app.fetch()``: an annotation here (``coroutines._typed_attribute_method``
            # asks the one class all of them name) or in a base class elsewhere says what ``self.app`` is.
            for annotated in self._annotated_attributes.get(receiver.attr, ()):
                if annotated is None:
                    return True  # an annotation this cannot read: it may name such a class
                target = project.class_named(annotated)
                facts = project.method_of(target, func.attr) if target is not None else None
                if facts is not None and facts.is_async:
                    return True
            target = project.attribute_class(class_name, receiver.attr)
            facts = project.method_of(target, func.attr) if target is not None else None
            return facts is not None and facts.is_async
        return False

    def _walk(self, tree: ast.Module) -> None:
        # Scopes to walk: (its nodes, the function whose returns they are, the class around them).
        scopes: List[Tuple[List[ast.AST], Optional[ast.AST], Optional[str]]] = [([tree], None, None)]
        while scopes:
            stack, function, class_name = scopes.pop()
            returns: Optional[List[Optional[ast.expr]]] = [] if type(function) is ast.FunctionDef else None
            assigned: Dict[str, List[Optional[ast.expr]]] = {}  # name -> the values ``name = value`` gives it here
            while stack:
                node = stack.pop()
                node_type = type(node)
                if node_type is ast.Import:
                    self._read_import(node)
                elif node_type is ast.ImportFrom:
                    self._read_import_from(node)
                elif node_type is ast.Return:
                    if returns is not None and node.value is not None:
                        returns.append(_returned_call(node.value))
                elif node_type is ast.Expr or node_type is ast.Assign or node_type is ast.AnnAssign:
                    if node.value is not None:
                        target = _FLOWS_ON if node_type is ast.Expr else _assignment_target(node)
                        if target == _FLOWS_ON:
                            _flowing_calls(node.value, class_name, self.dropped)
                        elif target != _KEPT and function is not None:
                            self.bound_locals.append((node.value, class_name, function, target))
                    if node_type is ast.AnnAssign:
                        self._read_annotated(node.target, node.annotation, class_name)
                        if type(node.target) is ast.Name:
                            assigned.setdefault(node.target.id, []).append(node.value)
                    elif node_type is ast.Assign:
                        for target in node.targets:
                            if type(target) is ast.Name:
                                assigned.setdefault(target.id, []).append(node.value)
                            elif type(target) is ast.Attribute and type(node.value) is ast.Name:
                                self._attributes_from_names.append((target.attr, node.value.id))
                elif node_type is ast.arg:
                    if node.annotation is not None:
                        self._annotated_params.setdefault(node.arg, set()).add(_annotated_class_name(node.annotation))
                elif node_type is ast.Lambda:
                    _flowing_calls(node.body, class_name, self.dropped)
                elif node_type is ast.Call:
                    func = node.func
                    if type(func) is ast.Attribute and func.attr in COLLECTING_METHODS:
                        for arg in node.args:
                            if type(arg) is not ast.Starred:
                                _flowing_calls(arg, class_name, self.dropped)
                if node_type is ast.FunctionDef or node_type is ast.AsyncFunctionDef:
                    if node_type is ast.AsyncFunctionDef and _transparent(node.decorator_list):
                        self._async_defs.add(node.name)
                    # Its decorators, defaults and annotations run in this scope; its body in its own.
                    outer: List[ast.AST] = [*node.decorator_list, node.args]
                    if node.returns is not None:
                        outer.append(node.returns)
                    stack.extend(outer)
                    scopes.append((list(node.body), node, class_name))
                elif node_type is ast.ClassDef:
                    stack.extend([*node.decorator_list, *node.bases, *node.keywords])
                    scopes.append((list(node.body), None, node.name))
                else:
                    _children(node, stack)
            if returns and _transparent(function.decorator_list):
                called = _calls_returned(returns, assigned, _parameters(function.args))
                if called is not None:
                    self._sync_defs.append(_Def(function.name, called, class_name))

    def _read_import(self, node: ast.Import) -> None:
        if any(alias.name.partition(".")[0] in _COROUTINE_MODULES for alias in node.names):
            self._imports_asyncio = True

    def _read_import_from(self, node: ast.ImportFrom) -> None:
        if node.level or (node.module or "").partition(".")[0] not in _COROUTINE_MODULES:
            return
        self._imports_asyncio = True
        for alias in node.names:
            if alias.name == "*":
                self._coroutine_aliases.update(_COROUTINE_FUNCTION_NAMES)
            elif alias.name in _COROUTINE_FUNCTION_NAMES:
                self._coroutine_aliases.add(alias.asname or alias.name)

    def _read_annotated(self, target: ast.expr, annotation: ast.expr, class_name: Optional[str]) -> None:
        if type(target) is ast.Attribute:
            name = target.attr  # ``self.app: App = app``
        elif type(target) is ast.Name and class_name is not None:
            name = target.id  # ``app: App`` in a class body (or a method's local: loose)
        else:
            return
        self._annotated_attributes.setdefault(name, set()).add(_annotated_class_name(annotation))


# Where an assignment puts its value, as ``handles._bound_to`` sees it.
_FLOWS_ON = "<flows on>"  # dropped if what it flows into is: ``_ = ...``, ``d[k] = ...``, ``a = b = ...``
_KEPT = "<kept>"  # an attribute (``self.x = ...``) or unpacking: never judged dropped


def _assignment_target(statement: ast.stmt) -> str:
    """What ``handles`` makes of an assignment's target: ``_FLOWS_ON``,
    ``_KEPT`` (neither is an identifier), or the name of the variable that
    holds a call's value (a local in a function; a global or a class
    attribute elsewhere)."""
    targets = statement.targets if type(statement) is ast.Assign else [statement.target]  # type: ignore[attr-defined]
    if len(targets) != 1:
        return _FLOWS_ON
    target_type = type(targets[0])
    if target_type is ast.Attribute or target_type is ast.Tuple or target_type is ast.List or target_type is ast.Starred:
        return _KEPT
    if target_type is ast.Name and targets[0].id != "_" and type(statement.value) is ast.Call:  # type: ignore[attr-defined]
        return targets[0].id
    return _FLOWS_ON


def _names_read(function: ast.AST) -> FrozenSet[str]:
    """The names ``function`` reads, nested scopes included, as ``handles``
    counts the uses of a local (by name: a nested scope's own variable of
    that name counts too; the decorators and defaults run outside)."""
    return frozenset(
        node.id for statement in function.body for node in ast.walk(statement)  # type: ignore[attr-defined]
        if type(node) is ast.Name and type(node.ctx) is ast.Load
    )


def _annotated_class_name(annotation: ast.expr) -> Optional[str]:
    """The dotted name of the class an annotation names (``summary`` reads
    annotations the same way, ``coroutines._annotated_class`` on libcst's tree)."""
    named = annotated_class(annotation)
    return _dotted_name(named) if named is not None else None


def _calls_returned(
    returns: List[Optional[ast.expr]], assigned: Dict[str, List[Optional[ast.expr]]], parameters: Set[str]
) -> Optional[Tuple[ast.expr, ...]]:
    """What a ``def`` calls to make what it returns, if every ``return`` may
    hand back a coroutine (``coroutines._function_answer``): a call, or a
    local name bound here only by ``name = <call>`` (``_name_value``; a
    parameter, or a name not bound here, is no coroutine it knows of).
    None when some ``return`` cannot."""
    called: List[ast.expr] = []
    for value in returns:
        if value is None:
            return None
        if type(value) is ast.Call:
            called.append(value.func)
            continue
        values = assigned.get(value.id) if value.id not in parameters else None  # type: ignore[attr-defined]
        if not values or any(type(bound) is not ast.Call for bound in values):
            return None
        called.extend(bound.func for bound in values)  # type: ignore[union-attr]
    return tuple(called)


def _parameters(arguments: ast.arguments) -> Set[str]:
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
    return {argument.arg for argument in every if argument is not None}


def _returned_call(value: ast.expr) -> Optional[ast.expr]:
    """What ``return value`` hands back, for a ``def``'s answer
    (``coroutines._returned_value``): the call or name itself; None for what
    is never a coroutine or not known to be one (a constant, a literal, an
    attribute, a subscript)."""
    value_type = type(value)
    if value_type is ast.Call:
        return value
    if value_type is ast.Name and value.id not in _CONSTANT_NAMES:
        return value  # what its bindings hold decides
    return None


def _transparent(decorators: List[ast.expr]) -> bool:
    """Every decorator is one ``coroutines`` sees through (by its last name:
    looser than its resolved one, never stricter)."""
    for decorator in decorators:
        target = decorator.func if type(decorator) is ast.Call else decorator
        name = target.attr if type(target) is ast.Attribute else target.id if type(target) is ast.Name else None
        if name not in _TRANSPARENT_DECORATOR_NAMES:
            return False
    return True


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
    """Some ``while`` loop of a function may run forever: its test is always
    true (``loops.is_constant_true``) and its body has no ``break`` of its
    own, ``return`` or ``raise``, no ``yield`` in a generator, no ``await``,
    ``async for`` or ``async with`` in a coroutine (``loops.find_exit``), and
    no enclosing ``try`` with a handler that may fire whatever the loop does
    (``loops.exits_through_handler``).  A loop outside any function is the
    program's main loop, never reported.  Left to the rule: process exits,
    ``contextlib.suppress``, the handlers for ``KeyboardInterrupt`` and
    ``queue.Empty``, whose firing depends on what the names resolve to."""
    aliases_of_empty: Optional[FrozenSet[str]] = None  # read from the imports when a handler asks
    # Each entry: a statement, the function it runs in (None at module level),
    # whether a class body lies between the two (which function the rule asks
    # about there is left to the rule), and whether an enclosing ``try`` of
    # that function has a handler that ends the loop whatever it raises.
    stack: List[Tuple[ast.stmt, Optional[ast.AST], bool, bool]] = [(statement, None, False, False) for statement in tree.body]
    while stack:
        statement, function, in_class, handled = stack.pop()
        statement_type = type(statement)
        if statement_type is ast.FunctionDef or statement_type is ast.AsyncFunctionDef:
            stack.extend((inner, statement, False, False) for inner in statement.body)
        elif statement_type is ast.ClassDef:
            stack.extend((inner, function, True, False) for inner in statement.body)
        elif isinstance(statement, _TRIES):
            if not handled and statement.handlers:
                if aliases_of_empty is None:
                    aliases_of_empty = _names_imported_as_empty(tree)
                fires = any(_handler_fires(handler.type, aliases_of_empty) for handler in statement.handlers)
            else:
                fires = handled
            stack.extend((inner, function, in_class, fires) for inner in statement.body)
            for block in (statement.orelse, statement.finalbody, *(handler.body for handler in statement.handlers)):
                stack.extend((inner, function, in_class, handled) for inner in block)
        else:
            if statement_type is ast.While and function is not None and not handled and _constant_truth(statement.test) is True:
                if in_class or not (_has_own_exit(statement) or _suspends(statement, type(function) is ast.AsyncFunctionDef)):
                    return True
            stack.extend((inner, function, in_class, handled) for inner in _blocks(statement))
    return False


_TRIES = tuple(getattr(ast, name) for name in ("Try", "TryStar") if hasattr(ast, name))
_TRUTH_TYPES = (bool, int, float, complex, str, bytes, type(None))


def _constant_truth(test: ast.AST) -> Optional[bool]:
    """``loops._constant_truth`` on Python's tree: a literal's truth, ``not``
    of one; None for anything else (``...`` and ``-1`` are not literals to
    libcst)."""
    if type(test) is ast.Constant:
        return bool(test.value) if type(test.value) in _TRUTH_TYPES else None
    if type(test) is ast.UnaryOp and type(test.op) is ast.Not:
        inner = _constant_truth(test.operand)
        return None if inner is None else not inner
    return None


def _suspends(loop: ast.While, in_coroutine: bool) -> bool:
    """The loop's body, outside nested scopes, yields (so its function is a
    generator, and ``yield`` gives control back), or, in a coroutine, awaits
    (``await``, ``async for``, ``async with``): cancellation points."""
    stack: List[ast.AST] = list(loop.body)
    children: List[ast.AST] = []
    while stack:
        node = stack.pop()
        node_type = type(node)
        if node_type is ast.Yield or node_type is ast.YieldFrom:
            return True
        if in_coroutine and (node_type is ast.Await or node_type is ast.AsyncFor or node_type is ast.AsyncWith):
            return True
        if isinstance(node, _SCOPES):
            continue
        _children(node, children)
        stack.extend(children)
        children.clear()
    return False


def _handler_fires(kind: Optional[ast.AST], empty_aliases: FrozenSet[str]) -> bool:
    """``except <kind>`` ends a loop in its ``try`` whatever the loop does, as
    ``loops._can_fire`` judges: bare, broad or unknown.  ``KeyboardInterrupt``
    and ``Empty`` (by any name) depend on the loop: not here."""
    if kind is None:
        return True
    if type(kind) is ast.Tuple:
        return any(_handler_fires(element, empty_aliases) for element in kind.elts)
    if type(kind) is ast.Name:
        return kind.id not in ("KeyboardInterrupt", "Empty") and kind.id not in empty_aliases
    if type(kind) is ast.Attribute:
        return kind.attr != "Empty"
    return True


def _names_imported_as_empty(tree: ast.Module) -> FrozenSet[str]:
    """The names an import binds to something called ``Empty`` (``from queue
    import Empty as QueueEmpty``): ``queue.Empty`` to the shared analysis."""
    aliases = set()
    for statement in _statements(tree.body):
        if type(statement) is ast.ImportFrom or type(statement) is ast.Import:
            aliases.update(alias.asname for alias in statement.names if alias.asname and alias.name.rpartition(".")[2] == "Empty")
    return frozenset(aliases)


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


# -- the handle rules: something of theirs is made -----------------------------------
#
# A handle rule judges what a constructor of its kinds makes (``creations``),
# found through import aliases, event-loop methods, ``get_context()`` and
# the module's own wrappers and subclasses: each of those names the
# constructor somewhere in the module (a wrapper returns its call, a subclass
# names it as a base, an alias imports it).  So no name of the constructor
# anywhere in the tree, and the rule has nothing to judge.  What the project
# hands the module (a helper of another module that returns a task) is not
# asked here: the engine runs the rules for the kinds the project offers
# whatever these answer.  One walk per module serves every rule: a
# :class:`_Inventory`, kept on the tree while the engine asks its questions.

_CONSTRUCTOR_NAMES = constructor_names(TASK, WORKER, EXECUTOR, POOL, CHILD_PROCESS, QUEUE, EVENT, CONDITION)
_TASKS = constructor_names(TASK)
_WORKERS = constructor_names(WORKER)
_EXECUTORS = constructor_names(EXECUTOR, POOL)
_CHILDREN = constructor_names(CHILD_PROCESS)
_QUEUE_NAMES = constructor_names(QUEUE)
_EVENTS = constructor_names(EVENT, CONDITION)
_WAIT_METHOD = "wait"  # what an event or condition is waited on with (``event_never_set.WAITS``)


class _Inventory(NamedTuple):
    named: FrozenSet[str]  # constructor names the module reads, or imports under another name
    named_unmanaged: FrozenSet[str]  # the same, but the callee of a call a ``with`` enters
    calls_wait: bool  # some ``<x>.wait(...)``
    may_run_until_stopped: bool  # some loop or wait that ``lifetimes`` may judge long-lived


def _inventory(tree: ast.Module) -> _Inventory:
    found = getattr(tree, "_leaklint_inventory", None)
    if found is None:
        found = _take_inventory(tree)
        # On the tree, so that it goes with the tree: the engine drops it
        # before libcst parses the file.
        tree._leaklint_inventory = found  # type: ignore[attr-defined]
    return found


def _take_inventory(tree: ast.Module) -> _Inventory:
    named: Set[str] = set()
    unmanaged: Set[str] = set()
    managed: Set[int] = set()  # ids of the callees of calls a ``with`` enters directly
    calls_wait = long_lived = False
    stack: List[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        node_type = type(node)
        if node_type is ast.Name:
            if node.id in _CONSTRUCTOR_NAMES:
                named.add(node.id)
                if id(node) not in managed:
                    unmanaged.add(node.id)
            continue
        if node_type is ast.Attribute:
            if node.attr in _CONSTRUCTOR_NAMES:
                named.add(node.attr)
                if id(node) not in managed:
                    unmanaged.add(node.attr)
        elif node_type is ast.Call:
            func = node.func
            if type(func) is ast.Attribute:
                calls_wait = calls_wait or func.attr == _WAIT_METHOD
                long_lived = long_lived or _waits_without_end(func.attr, node)
        elif node_type is ast.With or node_type is ast.AsyncWith:
            for item in node.items:
                if type(item.context_expr) is ast.Call:
                    managed.add(id(item.context_expr.func))
        elif node_type is ast.While:
            long_lived = long_lived or _may_loop_until_told(node)
        elif node_type is ast.For or node_type is ast.AsyncFor:
            long_lived = long_lived or _iterates_until_sentinel(node.iter)
        elif node_type is ast.Import or node_type is ast.ImportFrom:
            for alias in node.names:
                imported = alias.name.rpartition(".")[2]
                if alias.asname is not None and imported in _CONSTRUCTOR_NAMES:
                    named.add(imported)  # ``from subprocess import Popen as P``: P(...) is one
                    unmanaged.add(imported)
            continue
        _children(node, stack)
    return _Inventory(frozenset(named), frozenset(unmanaged), calls_wait, long_lived)


def _may_loop_until_told(loop: ast.While) -> bool:
    """A loop ``lifetimes`` may judge long-lived: always true with no way out
    or with a wait for work between rounds, or testing a stop flag (``not
    self._stop.is_set()``, ``self.running``; whether anything changes the
    flag is left to ``lifetimes``)."""
    truth = _constant_truth(loop.test)
    if truth is not None:
        return truth and (not _has_own_exit(loop) or _calls_one_of(WAITS_FOR_WORK, loop.body))
    test = loop.test
    while type(test) is ast.UnaryOp and type(test.op) is ast.Not:
        test = test.operand
    if type(test) is ast.Call:
        return type(test.func) is ast.Attribute and test.func.attr == "is_set"
    if type(test) is ast.Attribute:
        return FLAG_NAME.search(test.attr) is not None
    return type(test) is ast.Name and FLAG_NAME.search(test.id) is not None


def _calls_one_of(names: FrozenSet[str], body: List[ast.stmt]) -> bool:
    """Something in ``body`` (nested scopes too: a looser answer) calls a
    function or method of one of these names."""
    stack: List[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if type(node) is ast.Call:
            func = node.func
            if (type(func) is ast.Attribute and func.attr in names) or (type(func) is ast.Name and func.id in names):
                return True
        _children(node, stack)
    return False


def _iterates_until_sentinel(iterable: ast.expr) -> bool:
    """``lifetimes._iterates_until_sentinel``: ``iter(q.get, None)``."""
    return (
        type(iterable) is ast.Call
        and type(iterable.func) is ast.Name
        and iterable.func.id == "iter"
        and len(iterable.args) + len(iterable.keywords) == 2  # libcst counts both
        and len(iterable.args) > 0
        and type(iterable.args[0]) is ast.Attribute
        and iterable.args[0].attr in WAITS_FOR_OTHERS
    )


def _waits_without_end(method: str, call: ast.Call) -> bool:
    """``lifetimes._waits_without_end``: ``serve_forever()``, or a ``wait()``,
    ``get()`` or ``accept()`` given nothing."""
    return method in SERVES_FOREVER or (method in WAITS_FOR_OTHERS and not call.args and not call.keywords)


def may_make_a_task(tree: ast.Module, project: Optional[ModuleView]) -> bool:
    """LL101, LL102: some task constructor (``create_task``, ``gather``...) is named."""
    return not _inventory(tree).named.isdisjoint(_TASKS)


def may_leave_a_worker_running(tree: ast.Module, project: Optional[ModuleView]) -> bool:
    """LL201: a thread or process constructor is named outside ``with``, and
    some code of the module may run until told to stop (LL201 judges only
    workers whose target or ``run()``, in this module, does; one whose
    ``run()`` is elsewhere in the project comes through the project's offer)."""
    inventory = _inventory(tree)
    return inventory.may_run_until_stopped and not inventory.named_unmanaged.isdisjoint(_WORKERS)


def may_leave_an_executor(tree: ast.Module, project: Optional[ModuleView]) -> bool:
    """LL202: an executor or pool constructor is named outside ``with``."""
    return not _inventory(tree).named_unmanaged.isdisjoint(_EXECUTORS)


def may_leave_a_child(tree: ast.Module, project: Optional[ModuleView]) -> bool:
    """LL203: ``Popen`` is named outside ``with``."""
    return not _inventory(tree).named_unmanaged.isdisjoint(_CHILDREN)


def may_make_a_queue(tree: ast.Module, project: Optional[ModuleView]) -> bool:
    """LL401, LL402, LL403: a queue constructor is named."""
    return not _inventory(tree).named.isdisjoint(_QUEUE_NAMES)


def may_wait_on_an_event(tree: ast.Module, project: Optional[ModuleView]) -> bool:
    """LL501: an event or condition constructor is named, and something is
    ``wait()``ed on."""
    inventory = _inventory(tree)
    return inventory.calls_wait and not inventory.named.isdisjoint(_EVENTS)
