"""The classes of a module and how they inherit from each other.

Built once per file, iteratively (a module may chain a thousand subclasses):
which local classes each class derives from, which classes share instances
(a class with its bases and subclasses here: ``self.<attr>`` set in one may be
released in another), and which classes inherit code we cannot see."""

from __future__ import annotations

from typing import Dict, FrozenSet, List, Set

import libcst as cst

from leaklint.analysis.names import ImportTable
from leaklint.analysis.tree import SyntaxTree

# Base classes known not to manage their subclasses' attributes.
INERT_BASES = frozenset(
    {
        "object",
        "Exception",
        "BaseException",
        "abc.ABC",
        "typing.Generic",
        "typing.Protocol",
        "threading.Thread",
        "multiprocessing.Process",
        "unittest.TestCase",
        "unittest.IsolatedAsyncioTestCase",
    }
)


class ClassHierarchy:
    def __init__(self, tree: SyntaxTree, imports: ImportTable):
        self._tree = tree
        self._imports = imports
        by_name: Dict[str, cst.ClassDef] = {}
        for class_def in tree.class_defs:
            by_name.setdefault(class_def.name.value, class_def)
        self._local_bases: Dict[cst.ClassDef, List[cst.ClassDef]] = {}
        self._has_foreign_base: Dict[cst.ClassDef, bool] = {}
        neighbours: Dict[cst.ClassDef, Set[cst.ClassDef]] = {class_def: set() for class_def in tree.class_defs}
        for class_def in tree.class_defs:
            local, foreign = [], False
            for arg in class_def.bases:
                base = arg.value.value if isinstance(arg.value, cst.Subscript) else arg.value  # Generic[T]
                if isinstance(base, cst.Name) and base.value in by_name and by_name[base.value] is not class_def:
                    local.append(by_name[base.value])
                elif (imports.qualified_names(base) or {getattr(base, "value", "?")}).isdisjoint(INERT_BASES):
                    foreign = True
            self._local_bases[class_def] = local
            self._has_foreign_base[class_def] = foreign
            for base in local:
                neighbours[class_def].add(base)
                neighbours[base].add(class_def)
        self._neighbours = neighbours
        self._families: Dict[cst.ClassDef, FrozenSet[cst.ClassDef]] = {}

    def family(self, cls: cst.ClassDef) -> FrozenSet[cst.ClassDef]:
        """``cls`` with every class of this module it shares instances with."""
        family = self._families.get(cls)
        if family is None:
            found, pending = {cls}, [cls]
            while pending:
                for neighbour in self._neighbours.get(pending.pop(), ()):
                    if neighbour not in found:
                        found.add(neighbour)
                        pending.append(neighbour)
            family = frozenset(found)
            for member in family:
                self._families[member] = family
        return family

    def closed_to_other_modules(self, cls: cst.ClassDef) -> bool:
        """No other module can subclass ``cls``: it is defined inside a
        function, or marked ``@final``."""
        if self._tree.enclosing_function(cls) is not None:
            return True
        return any(self._imports.resolves_to(d.decorator, "typing.final", "typing_extensions.final") for d in cls.decorators)

    def inherits_unseen_code(self, cls: cst.ClassDef) -> bool:
        """``cls`` or one of its local ancestors derives from a class defined
        elsewhere (other than a few inert ones): methods we cannot see."""
        seen, pending = {cls}, [cls]
        while pending:
            current = pending.pop()
            if self._has_foreign_base.get(current, False):
                return True
            for base in self._local_bases.get(current, ()):
                if base not in seen:
                    seen.add(base)
                    pending.append(base)
        return False
