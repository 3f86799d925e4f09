"""Which imported object an expression names.

``import asyncio as aio`` makes ``aio.create_task`` mean ``asyncio.create_task``;
``from asyncio import create_task as spawn`` makes ``spawn`` mean it too.  libcst's
QualifiedNameProvider answers this through a full scope analysis that costs
several parses per file; the rules only need imports resolved, so this table
reads the import statements the shared walk already collected and nothing else.
Like libcst it answers with a set: a name imported in two branches
(``try: import a as x`` / ``except: import b as x``) may mean either.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, FrozenSet, Optional, Set

import libcst as cst

from leaklint.analysis.tree import SyntaxTree

_NOTHING: FrozenSet[str] = frozenset()


def dotted_name(expr: cst.BaseExpression) -> Optional[str]:
    """``a.b.c`` for an attribute chain of names, else None."""
    parts = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


def _module_path(expr: Optional[cst.BaseExpression]) -> str:
    if expr is None:
        return ""
    return dotted_name(expr) or ""


class ImportTable:
    """Local names bound by import statements, per scope."""

    def __init__(self, tree: SyntaxTree):
        self._tree = tree
        self._bindings: Dict[cst.CSTNode, Dict[str, Set[str]]] = defaultdict(lambda: defaultdict(set))
        self.modules: Set[str] = set()
        # Every local name some import binds, in any scope: most names asked
        # about (``self``, ``len``, a parameter) are in none, and need no
        # climb through the scopes around them.
        self._bound_anywhere: Set[str] = set()
        for statement in tree.imports:
            scope = tree.enclosing_scope(statement)
            if isinstance(statement, cst.Import):
                self._add_import(scope, statement)
            else:
                self._add_import_from(scope, statement)

    def _add_import(self, scope: cst.CSTNode, statement: cst.Import) -> None:
        for alias in statement.names:
            module = _module_path(alias.name)
            self._note_module(module)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bindings[scope][alias.asname.name.value].add(module)
                self._bound_anywhere.add(alias.asname.name.value)
            else:
                # ``import a.b`` binds ``a``; ``a.b.x`` then resolves through it.
                root = module.split(".")[0]
                self._bindings[scope][root].add(root)
                self._bound_anywhere.add(root)

    def _add_import_from(self, scope: cst.CSTNode, statement: cst.ImportFrom) -> None:
        if statement.relative:
            return  # the project's own modules: never the standard library's
        module = _module_path(statement.module)
        self._note_module(module)
        if isinstance(statement.names, cst.ImportStar):
            return
        for alias in statement.names:
            name = _module_path(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self._bindings[scope][local].add(f"{module}.{name}")
            self._bound_anywhere.add(local)
            self._note_module(f"{module}.{name}")

    def _note_module(self, module: str) -> None:
        parts = module.split(".")
        for end in range(1, len(parts) + 1):
            self.modules.add(".".join(parts[:end]))

    def imports_any(self, modules) -> bool:
        return any(module in self.modules for module in modules)

    def qualified_names(self, expr: cst.BaseExpression) -> FrozenSet[str]:
        """The imported names ``expr`` may stand for, e.g. {"asyncio.create_task"}."""
        head_expr = expr
        while isinstance(head_expr, cst.Attribute):
            head_expr = head_expr.value
        if not isinstance(head_expr, cst.Name) or head_expr.value not in self._bound_anywhere:
            return _NOTHING
        dotted = dotted_name(expr)
        if dotted is None:
            return _NOTHING
        head, _, rest = dotted.partition(".")
        for scope in self._tree.scope_chain(expr):
            bound = self._bindings.get(scope, {}).get(head)
            if bound:
                return frozenset(f"{target}.{rest}" if rest else target for target in bound)
        return _NOTHING

    def resolves_to(self, expr: cst.BaseExpression, *qualified: str) -> bool:
        return not self.qualified_names(expr).isdisjoint(qualified)

    def is_builtin(self, expr: cst.BaseExpression, name: str) -> bool:
        """``expr`` is the builtin ``name``: written bare and not imported over."""
        return isinstance(expr, cst.Name) and expr.value == name and not self.qualified_names(expr)
