"""Facts about one module that every rule shares, each computed once, on demand.

Rules never walk the tree or keep books of their own: they ask a
:class:`FileFacts` what a call creates, where its handle goes and whether a loop
can stop.  A fix here helps every rule.
"""

from __future__ import annotations

from functools import cached_property
from typing import Dict, FrozenSet, Optional

import libcst as cst

from leaklint.analysis.bindings import Bindings
from leaklint.analysis.classes import ClassHierarchy
from leaklint.analysis.coroutines import Coroutines
from leaklint.analysis.creations import Creation, Creations
from leaklint.analysis.flow import Flows
from leaklint.analysis.handles import Handle, Handles
from leaklint.analysis.loops import ends_the_process, main_functions
from leaklint.analysis.names import ImportTable
from leaklint.analysis.project import ModuleView
from leaklint.analysis.tree import SyntaxTree, is_async
from leaklint.analysis.waits import waits_forever
from leaklint.analysis.workers import Workers


# Task factories whose first argument is the coroutine the task runs.


class FileFacts:
    def __init__(self, tree: SyntaxTree, project: Optional[ModuleView] = None):
        self.tree = tree
        # The project as this module sees it (what its imports do), if known.
        self.project = project
        self._process_enders: Dict[cst.FunctionDef, bool] = {}
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
        return Creations(self.tree, self.imports, self.bindings, self.project)

    def creation_of(self, call: cst.Call) -> Optional[Creation]:
        """What ``call`` creates.  ``ensure_future(x)`` makes a task only when
        ``x`` is a coroutine: given a future it returns that future, and there
        is nothing to lose; when we cannot tell, we stay quiet."""
        creation = self.creations.creation_of(call)
        if creation is not None and creation.name.endswith("ensure_future"):
            # What it was given must certainly be a coroutine: an awaitable of
            # another module (tornado's ``lock.acquire()``) is usually a future.
            if not call.args or self.is_coroutine(call.args[0].value) is not True:
                return None
        return creation

    @cached_property
    def flows(self) -> Flows:
        """Control-flow graphs, built only for the functions a path question is asked about."""
        return Flows(self.tree, self.imports)

    @cached_property
    def handles(self) -> Handles:
        return Handles(self.tree, self.classes, self.bindings, lambda: self.flows)

    @cached_property
    def coroutines(self) -> Coroutines:
        return Coroutines(self.tree, self.imports, self.classes, self.creations.is_event_loop, self.project)

    def is_coroutine(self, expr: cst.BaseExpression) -> Optional[bool]:
        """True: ``expr`` is certainly a coroutine (a call of an ``async def``
        of the module, of ``asyncio.sleep``...); False: certainly not (a
        future, a plain function's result); None: unknown."""
        return self.coroutines.is_coroutine(expr)

    def loses_nothing_when_dropped(self, creation: Creation) -> bool:
        """The task ``creation`` makes runs a coroutine of the module that
        catches the failures of its own work (nothing it raises reaches the
        task), never suspends (it runs to its end in its first step, and the
        loop holds it until then), or sleeps until it is cancelled and then
        does its work (a shutdown hook, which ``asyncio.run`` cancels and
        awaits at exit): dropping it loses nothing."""
        if creation.runs is None:
            return False
        coroutines = self.coroutines
        return (
            coroutines.catches_its_own_failures(creation.runs)
            or coroutines.never_suspends(creation.runs)
            or coroutines.waits_to_be_cancelled(creation.runs)
        )

    @property
    def coroutine_functions(self) -> FrozenSet[cst.FunctionDef]:
        """The functions and methods of this module whose call makes a coroutine."""
        return self.coroutines.functions

    def for_type_checkers_only(self, node: cst.CSTNode) -> bool:
        """``node`` never runs: it sits under ``if TYPE_CHECKING:`` or in an annotation."""
        child = node
        for ancestor in self.tree.ancestors(node):
            if isinstance(ancestor, cst.Annotation):
                return True
            if isinstance(ancestor, cst.If) and child is ancestor.body:
                test = ancestor.test
                if self.imports.resolves_to(test, "typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING") or (
                    isinstance(test, cst.Name) and test.value == "TYPE_CHECKING"
                ):
                    return True
            child = ancestor
        return False

    def waits_forever(self, call: cst.Call, creation: Creation) -> bool:
        """``call`` (a ``get``/``wait``/``wait_for`` on what ``creation`` made)
        waits with no timeout of its own: only a put, set or notify ends it."""
        return waits_forever(self.tree, self.imports, call, creation.kind, creation.name.startswith("asyncio."))

    def handle(self, call: cst.Call) -> Handle:
        return self.handles.handle(call)

    def ends_the_process(self, node: cst.CSTNode) -> bool:
        """The function around ``node`` exits the process itself."""
        function = self.tree.enclosing_function(node)
        if function is None:
            return False
        if function not in self._process_enders:
            self._process_enders[function] = ends_the_process(function, self.imports)
        return self._process_enders[function]

    @cached_property
    def main_functions(self) -> FrozenSet[cst.FunctionDef]:
        """The functions the module runs as its main program (``main()``,
        those called under ``if __name__ == "__main__":``)."""
        return frozenset(main_functions(self.tree, self.imports))

    @cached_property
    def workers(self) -> Workers:
        return Workers(self.tree, self.imports, self.creations, self.classes, self.handle)

    def enclosing_function(self, node: cst.CSTNode) -> Optional[cst.FunctionDef]:
        return self.tree.enclosing_function(node)

    def in_coroutine(self, node: cst.CSTNode) -> bool:
        return is_async(self.tree.enclosing_function(node))

    def in_generator(self, node: cst.CSTNode) -> bool:
        function = self.tree.enclosing_function(node)
        if function not in self._generators:
            self._generators[function] = self.tree.yields(function)
        return self._generators[function]
