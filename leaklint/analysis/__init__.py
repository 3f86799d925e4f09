"""Facts about one module that every rule shares, each computed once, on demand.

Rules never walk the tree or keep books of their own: they ask a
:class:`FileFacts` what a call creates, where its handle goes and whether a loop
can stop.  A fix here helps every rule.
"""

from __future__ import annotations

from functools import cached_property
from typing import Dict, Optional

import libcst as cst

from leaklint.analysis.bindings import Bindings
from leaklint.analysis.classes import ClassHierarchy
from leaklint.analysis.creations import Creation, Creations
from leaklint.analysis.handles import Handle, Handles
from leaklint.analysis.names import ImportTable
from leaklint.analysis.tree import SyntaxTree, is_async, is_generator
from leaklint.analysis.workers import Workers


class FileFacts:
    def __init__(self, tree: SyntaxTree):
        self.tree = tree
        self._generators: Dict[Optional[cst.FunctionDef], bool] = {}

    @cached_property
    def imports(self) -> ImportTable:
        return ImportTable(self.tree)

    @cached_property
    def classes(self) -> ClassHierarchy:
        return ClassHierarchy(self.tree, self.imports)

    @cached_property
    def bindings(self) -> Bindings:
        return Bindings(self.tree)

    @cached_property
    def creations(self) -> Creations:
        return Creations(self.tree, self.imports, self.bindings)

    def creation_of(self, call: cst.Call) -> Optional[Creation]:
        return self.creations.creation_of(call)

    @cached_property
    def handles(self) -> Handles:
        return Handles(self.tree, self.classes, self.bindings)

    def handle(self, call: cst.Call) -> Handle:
        return self.handles.handle(call)

    @cached_property
    def workers(self) -> Workers:
        return Workers(self.tree, self.creations, self.classes, self.handle)

    def enclosing_function(self, node: cst.CSTNode) -> Optional[cst.FunctionDef]:
        return self.tree.enclosing_function(node)

    def in_coroutine(self, node: cst.CSTNode) -> bool:
        return is_async(self.tree.enclosing_function(node))

    def in_generator(self, node: cst.CSTNode) -> bool:
        function = self.tree.enclosing_function(node)
        if function not in self._generators:
            self._generators[function] = is_generator(function)
        return self._generators[function]
