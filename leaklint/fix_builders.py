"""The fixes rules share, built from the shared analysis.

Each builder answers "how would this be written correctly?" for one handle, as a
:class:`~leaklint.analysis.edits.PlannedFix` of node changes, or None when the
answer is not evidently right (no fix beats a wrong fix).  Rules call them from
a small ``fix`` method and never build edits themselves.

- :func:`keep_in_background_set`: the asyncio documentation's idiom for a task
  nobody keeps: a module-level set holds it until it is done.
- :func:`manage_with`: a local executor, pool or child used only in the rest of
  its block becomes a ``with`` statement around those statements.
- :func:`await_call`: a coroutine called and dropped inside ``async def`` is awaited.
"""

from __future__ import annotations

import weakref
from typing import Dict, FrozenSet, Iterable, Optional, Tuple

import libcst as cst

from leaklint.analysis import FileFacts
from leaklint.analysis.edits import IndentLines, InsertLines, PlannedFix, Replace, end, start
from leaklint.analysis.handles import CALL, DISCARDED, LOCAL, STORE, Handle
from leaklint.analysis.tree import SyntaxTree, walk_all
from leaklint.finding import SAFE, UNSAFE

BACKGROUND_SET = "background_tasks"
TASK_NAME = "task"
# What a module-level set of background tasks is used for, and nothing else.
_BACKGROUND_SET_METHODS = frozenset({"add", "discard"})
# Code that may run after the statement holding it is over.
_DEFERRED = (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.GeneratorExp)
# Where a name is bound rather than read.
_BINDING_PARENTS = (
    cst.AssignTarget,
    cst.AnnAssign,
    cst.AugAssign,
    cst.NamedExpr,
    cst.Param,
    cst.FunctionDef,
    cst.ClassDef,
    cst.AsName,
    cst.ImportAlias,
    cst.NameItem,
    cst.For,
    cst.CompFor,
)


# -- the module: where a module-level statement goes, which set can be reused ------


class _ModuleLayout:
    """Facts about the module's top level that every fix in it shares."""

    def __init__(self, tree: SyntaxTree):
        # A weak reference: ``_layouts`` holds the layout while the tree is
        # alive, and a strong one from the value would keep its key, the
        # whole tree of every file given a fix, alive for good.
        self.tree: SyntaxTree = weakref.proxy(tree)
        body = tree.module.body
        self.index: Dict[cst.CSTNode, int] = {statement: number for number, statement in enumerate(body)}
        self.background_set = self._existing_background_set()
        self.new_set_name = _fresh(BACKGROUND_SET, lambda name: name in tree.names)
        # ``set = ...`` somewhere: a new ``background_tasks = set()`` might not make a set.
        self.set_is_rebound = any(
            isinstance(tree.parent.get(ref), _BINDING_PARENTS) for ref in tree.names.get("set", ())
        )

    def top_level(self, node: cst.CSTNode) -> cst.CSTNode:
        """The statement of the module's body that holds ``node``."""
        for ancestor in (node, *self.tree.ancestors(node)):
            if ancestor in self.index:
                return ancestor
        return self.tree.module

    def top_level_index(self, node: cst.CSTNode) -> Optional[int]:
        return self.index.get(self.top_level(node))

    def module_statement(self, text: str) -> Optional[InsertLines]:
        """``text`` as a statement of its own after the docstring and the
        imports at the top of the module (before any other code runs)."""
        body = self.tree.module.body
        if not body:
            return None
        number = 1 if _is_docstring(body[0]) else 0
        while number < len(body) and _is_import_line(body[number]):
            number += 1
        if number:
            return InsertLines(body[number - 1], ("", text), after=True)
        first = body[0]
        decorators = getattr(first, "decorators", ())
        return InsertLines(decorators[0] if decorators else first, (text, ""), after=False)

    def _existing_background_set(self) -> Optional[Tuple[str, int]]:
        """(name, top-level index) of a module-level ``name = set()`` used only
        as a set of background tasks (``name.add(...)``, ``name.discard``)."""
        for number, statement in enumerate(self.tree.module.body):
            target = _set_assignment_target(statement)
            if target is not None and self._used_only_as_background_set(target):
                return target.value, number
        return None

    def _used_only_as_background_set(self, target: cst.Name) -> bool:
        for ref in self.tree.names.get(target.value, ()):
            if ref is target:
                continue
            parent = self.tree.parent.get(ref)
            if not (isinstance(parent, cst.Attribute) and parent.value is ref and parent.attr.value in _BACKGROUND_SET_METHODS):
                return False
        return True


_layouts: "weakref.WeakKeyDictionary[SyntaxTree, _ModuleLayout]" = weakref.WeakKeyDictionary()


def _layout(tree: SyntaxTree) -> _ModuleLayout:
    layout = _layouts.get(tree)
    if layout is None:
        layout = _layouts[tree] = _ModuleLayout(tree)
    return layout


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _is_import_line(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
    )


def _set_assignment_target(statement: cst.CSTNode) -> Optional[cst.Name]:
    """``name`` when ``statement`` is ``name = set()`` (annotated or not)."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    small = statement.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target, value = small.targets[0].target, small.value
    elif isinstance(small, cst.AnnAssign):
        target, value = small.target, small.value
    else:
        return None
    is_empty_set = (
        isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "set" and not value.args
    )
    return target if isinstance(target, cst.Name) and is_empty_set else None


def _fresh(base: str, taken) -> str:
    """``base``, or ``base_1``, ``base_2``...: the first name not ``taken``."""
    if not taken(base):
        return base
    number = 1
    while taken(f"{base}_{number}"):
        number += 1
    return f"{base}_{number}"


# -- statements --------------------------------------------------------------------


def _own_line(tree: SyntaxTree, small_statement: cst.CSTNode) -> Optional[cst.SimpleStatementLine]:
    """The line of ``small_statement`` when it is the only statement there
    and the line sits in an indented block (so lines can go before or after)."""
    line = tree.parent.get(small_statement)
    if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 and isinstance(tree.parent.get(line), cst.IndentedBlock):
        return line
    return None


def _statement_in_block(tree: SyntaxTree, node: cst.CSTNode, block: cst.IndentedBlock) -> Optional[cst.CSTNode]:
    """The statement of ``block`` that contains ``node``, if ``node`` runs
    while that statement runs (not in a nested function, class, lambda or
    generator expression, which may run later)."""
    child = node
    for ancestor in tree.ancestors(node):
        if ancestor is block:
            return child
        if isinstance(ancestor, _DEFERRED):
            return None
        child = ancestor
    return None


def _called_at_once(node: Optional[cst.CSTNode]) -> bool:
    """A method use is a call right there (``h.method(...)``), not the bound
    method handed on."""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name)


def _has_multiline_string(statements: Iterable[cst.CSTNode]) -> bool:
    """Indenting a line inside a string literal would change the string."""
    for statement in statements:
        for node in walk_all(statement):
            if isinstance(node, (cst.SimpleString, cst.FormattedStringText)) and ("\n" in node.value or "\r" in node.value):
                return True
    return False


# -- the builders ------------------------------------------------------------------


def keep_in_background_set(facts: FileFacts, handle: Handle) -> Optional[PlannedFix]:
    """A task dropped (``create_task(...)``, ``_ = create_task(...)``,
    ``create_task(...).add_done_callback(cb)``) or bound to a local nobody
    reads, inside a function: keep it in a module-level set until it is done::

        task = asyncio.create_task(work())
        background_tasks.add(task)
        task.add_done_callback(background_tasks.discard)

    The set is an existing module-level ``name = set()`` used only that way,
    or a new one after the imports, named to collide with nothing."""
    tree = facts.tree
    call = handle.call
    function = tree.enclosing_function(call)
    if function is None:
        return None
    layout = _layout(tree)
    existing = layout.background_set
    if existing is not None and existing[1] < (layout.top_level_index(function) or 0):
        set_name, new_set = existing[0], None
    else:
        set_name = layout.new_set_name
        new_set = layout.module_statement(f"{set_name} = set()")
        if new_set is None or layout.set_is_rebound:
            return None

    # Unused in the whole top-level definition: a name the enclosing functions
    # use would read as theirs (closures count as reads) and hide their leaks.
    outermost = layout.top_level(function)

    def fresh_local() -> str:
        return _fresh(
            TASK_NAME,
            lambda name: name == set_name or any(tree.is_inside(ref, outermost) for ref in tree.names.get(name, ())),
        )

    named = _name_the_task(tree, handle, fresh_local)
    if named is None:
        return None
    statement, name, changes = named
    changes.append(InsertLines(statement, (f"{set_name}.add({name})", f"{name}.add_done_callback({set_name}.discard)")))
    if new_set is not None:
        changes.append(new_set)
    return PlannedFix(f"Keep the task in `{set_name}` until it is done", UNSAFE, tuple(changes))


def _name_the_task(tree: SyntaxTree, handle: Handle, fresh_local) -> Optional[Tuple[cst.SimpleStatementLine, str, list]]:
    """The statement holding the task, the name it will have there, and the
    changes that give it that name: ``task = create_task(...)`` for a dropped
    one (``_`` becomes ``task``; a chained call moves to its own line), the
    local itself for an unread one."""
    call = handle.call
    destination = handle.destination
    parent = tree.parent.get(call)
    if destination.kind == DISCARDED and not destination.in_container:
        if isinstance(parent, cst.Expr):
            statement = _own_line(tree, parent)
            if statement is None:
                return None
            name = fresh_local()
            return statement, name, [Replace(start(statement), start(statement), f"{name} = ")]
        if isinstance(parent, cst.Assign) and parent.value is call:  # ``_ = create_task(...)``
            statement = _own_line(tree, parent)
            if statement is None:
                return None
            target = parent.targets[0].target
            name = fresh_local()
            return statement, name, [Replace(start(target), end(target), name)]
        chained = destination.chained_call
        if chained is None or call.lpar or not isinstance(parent, cst.Attribute) or parent.lpar or chained.lpar:
            return None
        holder = tree.parent.get(chained)
        statement = _own_line(tree, holder) if isinstance(holder, cst.Expr) and holder.value is chained else None
        if statement is None:
            return None
        name = fresh_local()
        # ``task = create_task(...)``, then ``task.add_done_callback(cb)`` on a line of its own
        changes = [Replace(start(statement), start(statement), f"{name} = "), Replace(end(call), end(call), f"\n{name}", statement)]
        return statement, name, changes
    if destination.kind == LOCAL and not destination.in_container:
        # A name bound once: with two bindings, keeping one task would read the
        # name and hide the other from the analysis.
        single = sum(use.kind == STORE for use in handle.uses) == 1
        if single and isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is call:
            statement = _own_line(tree, parent)
            if statement is not None:
                return statement, destination.name, []
    return None


def manage_with(
    facts: FileFacts,
    handle: Handle,
    only_calls: Optional[FrozenSet[str]] = None,
    needs_call: Optional[FrozenSet[str]] = None,
) -> Optional[PlannedFix]:
    """``name = Creator(...)`` followed, in the same block, by the statements
    that use ``name`` (and nothing outside them does) becomes::

        with Creator(...) as name:
            <those statements>

    ``only_calls``: the methods the rest of the block may call on it (when the
    ``with`` exit would spoil the others' results); ``needs_call``: at least
    one of these must be called (the code evidently means the handle to be
    finished within the block)."""
    tree = facts.tree
    destination = handle.destination
    call = handle.call
    assign = tree.parent.get(call)
    if destination.kind != LOCAL or destination.in_container or call.lpar:
        return None
    if not (isinstance(assign, cst.Assign) and assign.value is call and len(assign.targets) == 1):
        return None
    target = assign.targets[0].target
    statement = _own_line(tree, assign)
    if statement is None or not isinstance(target, cst.Name) or isinstance(assign.semicolon, cst.Semicolon):
        return None
    block = tree.parent[statement]
    position = {id(node): number for number, node in enumerate(block.body)}
    binding = position[id(statement)]
    last = binding
    for ref in tree.names.get(target.value, ()):
        if ref is target or not tree.is_inside(ref, destination.owner):
            continue
        holder = _statement_in_block(tree, ref, block)
        if holder is None or position[id(holder)] <= binding:
            return None  # used before, outside the block, or by a closure that may run after the block
        last = max(last, position[id(holder)])
    uses = handle.uses
    calls = [use.attr for use in uses if use.kind == CALL]
    if last == binding or sum(use.kind == STORE for use in uses) != 1:
        return None  # unused after its creation, or rebound
    if not all(_called_at_once(use.node) for use in uses if use.kind == CALL):
        return None  # ``executor.submit`` handed on may be called after the block
    if only_calls is not None and any(method not in only_calls for method in calls):
        return None
    if needs_call is not None and not any(method in needs_call for method in calls):
        return None
    wrapped = block.body[binding + 1 : last + 1]
    if _has_multiline_string(wrapped):
        return None
    unit = block.indent if block.indent is not None else tree.module.default_indent
    changes = (
        Replace(start(statement), start(call), "with "),
        Replace(end(call), end(call), f" as {target.value}:"),
        IndentLines(statement, block.body[last], unit),
    )
    return PlannedFix(f"Use `{target.value}` in a `with` statement", UNSAFE, changes)


def await_call(facts: FileFacts, call: cst.Call) -> Optional[PlannedFix]:
    """``refresh()`` as a statement of an ``async def`` becomes ``await refresh()``."""
    if not facts.in_coroutine(call) or call.lpar:
        return None
    holder = facts.tree.parent.get(call)
    if not (isinstance(holder, cst.Expr) and holder.value is call):
        return None
    return PlannedFix("Await the coroutine", SAFE, (Replace(start(call), start(call), "await "),))
