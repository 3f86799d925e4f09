"""Where each variable is bound and read, indexed once per name.

The shared walk records every use of a name in the module (``tree.names``).
Questions such as "which uses of ``t`` lie inside this function?" or "is ``loop``
assigned a call in this scope?" must not rescan those uses for every handle or
call site: in a large class ``self`` alone appears thousands of times, and a
scan per call made the analysis quadratic.  Here the uses of one name are
grouped by scope the first time any question about that name is asked; every
later question is a dictionary lookup.  Building costs O(uses of the name x
nesting depth of scopes), which is linear in the module for any real nesting.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Dict, List, Set, Tuple

import libcst as cst

from leaklint.analysis.tree import SyntaxTree

# A Name whose parent is one of these is being bound, not read.
_BINDING_PARENTS = (cst.Param, cst.FunctionDef, cst.ClassDef, cst.ImportAlias, cst.ImportFrom, cst.AsName)


def is_binding(tree: SyntaxTree, ref: cst.Name) -> bool:
    """``ref`` is (re)bound here: an assignment target, a loop variable, a
    parameter, a ``def``/``class``/``import`` name."""
    parent = tree.parent.get(ref)
    parent_type = type(parent)
    if parent_type is cst.AssignTarget:
        return True
    if parent_type is cst.AnnAssign:
        return parent.target is ref
    if parent_type is cst.For or parent_type is cst.CompFor:
        return parent.target is ref
    return isinstance(parent, _BINDING_PARENTS)


class _NameIndex:
    """Everything about one name, grouped by scope."""

    __slots__ = ("own", "inside", "declared_global", "stored_here", "assigned_calls")

    def __init__(self) -> None:
        self.own: Dict[cst.CSTNode, List[cst.Name]] = defaultdict(list)  # uses whose innermost scope it is
        self.inside: Dict[cst.CSTNode, List[cst.Name]] = defaultdict(list)  # uses at any depth within it
        self.declared_global: Set[cst.CSTNode] = set()  # scopes saying ``global name`` or ``nonlocal name``
        self.stored_here: Set[cst.CSTNode] = set()  # scopes that bind it, parameters aside
        self.assigned_calls: Dict[cst.CSTNode, List[cst.Call]] = defaultdict(list)  # ``name = f(...)`` per scope


class Bindings:
    def __init__(self, tree: SyntaxTree):
        self._tree = tree
        self._names: Dict[str, _NameIndex] = {}
        self._answers: Dict[Tuple[cst.CSTNode, str, Callable], bool] = {}

    def _index(self, name: str) -> _NameIndex:
        index = self._names.get(name)
        if index is None:
            index = self._names[name] = self._build(name)
        return index

    def _build(self, name: str) -> _NameIndex:
        tree = self._tree
        index = _NameIndex()
        for ref in tree.names.get(name, ()):
            scope = tree.enclosing_scope(ref)
            index.own[scope].append(ref)
            for outer in tree.scope_chain(ref):
                index.inside[outer].append(ref)
            parent = tree.parent.get(ref)
            if isinstance(parent, cst.NameItem) and isinstance(tree.parent.get(parent), (cst.Global, cst.Nonlocal)):
                index.declared_global.add(scope)
            elif is_binding(tree, ref):
                if not isinstance(parent, cst.Param):
                    index.stored_here.add(scope)
                value = tree.assigned_value(ref)
                if isinstance(value, cst.Call):
                    index.assigned_calls[scope].append(value)
        return index

    # -- questions --------------------------------------------------------------

    def uses(self, name: str) -> List[cst.Name]:
        """Every use of ``name`` in the module."""
        return self._tree.names.get(name, [])

    def uses_inside(self, scope: cst.CSTNode, name: str) -> List[cst.Name]:
        """The uses of ``name`` anywhere within ``scope``, nested scopes included."""
        return self._index(name).inside.get(scope, [])

    def declares_global(self, scope: cst.CSTNode, name: str) -> bool:
        """``scope`` says ``global name`` (or ``nonlocal name``)."""
        return scope in self._index(name).declared_global

    def is_local(self, function: cst.FunctionDef, name: str) -> bool:
        """``name`` is bound in ``function`` itself, not as a parameter (a
        parameter's value belongs to the caller), and not declared global."""
        index = self._index(name)
        return function in index.stored_here and function not in index.declared_global

    def assigned_calls(self, scope: cst.CSTNode, name: str) -> List[cst.Call]:
        """The calls whose results ``name = f(...)`` binds in ``scope`` itself."""
        return self._index(name).assigned_calls.get(scope, [])

    def bound_to_call(self, ref: cst.Name, is_wanted: Callable[[cst.Call], bool]) -> bool:
        """``ref``'s name is assigned, in ``ref``'s own scope, the result of a
        call that ``is_wanted`` accepts.  Only calls: following ``a = b`` could
        go round in circles (``b = a``).  Answered once per scope, name and
        question."""
        scope = self._tree.enclosing_scope(ref)
        key = (scope, ref.value, is_wanted)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = any(is_wanted(call) for call in self.assigned_calls(scope, ref.value))
        return answer
