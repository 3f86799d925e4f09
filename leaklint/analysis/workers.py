"""Facts about threads and processes: is one started, is it a daemon, and which
functions run only as a daemon thread's target."""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, FrozenSet, List, Optional, Set

import libcst as cst

from leaklint.analysis.classes import ClassHierarchy
from leaklint.analysis.creations import WORKER, Creation, Creations
from leaklint.analysis.handles import CALL, SET, Handle, value_set
from leaklint.analysis.tree import SyntaxTree, walk_all


def keyword(call: cst.Call, name: str) -> Optional[cst.BaseExpression]:
    """The value passed as ``name=...`` to ``call``."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def is_true(expr: Optional[cst.BaseExpression]) -> bool:
    return _is_name(expr, "True")


def is_false(expr: Optional[cst.BaseExpression]) -> bool:
    return _is_name(expr, "False")


class Workers:
    """Facts about the threads and processes of one module, each found once:
    a class's own ``start()`` calls and daemon settings are looked up per
    class, not per creation, and functions are found by name from an index."""

    def __init__(self, tree: SyntaxTree, creations: Creations, classes: ClassHierarchy, handle_of):
        self._tree = tree
        self._creations = creations
        self._classes = classes
        self._handle_of = handle_of
        self._sets_daemon: Dict[cst.ClassDef, bool] = {}
        self._starts_itself: Dict[cst.ClassDef, bool] = {}
        self._daemon_only: Optional[FrozenSet[cst.FunctionDef]] = None
        self._functions_by_name: Optional[Dict[str, List[cst.FunctionDef]]] = None

    def is_started(self, handle: Handle, creation: Creation) -> bool:
        if creation.started or handle.destination.chained_method == "start" or handle.calls("start"):
            return True
        return creation.class_def is not None and self._class_starts_itself(creation.class_def)

    def is_daemon(self, handle: Handle, creation: Creation) -> bool:
        """``daemon=True``, ``t.daemon = True``, ``t.setDaemon(True)``, or a
        subclass that makes itself a daemon.  A value we cannot read
        (``daemon=flag``, ``**options``) may be True: only a literal ``False`` or
        no setting at all makes a worker that must be joined."""
        call = handle.call
        if any(arg.star == "**" for arg in call.args):
            return True
        setting = keyword(call, "daemon")
        if setting is not None and not is_false(setting):
            return True
        for use in handle.uses:
            if use.kind == SET and use.attr == "daemon" and not is_false(value_set(use)):
                return True
            if use.kind == CALL and use.attr == "setDaemon" and isinstance(use.node, cst.Call):
                if not (use.node.args and is_false(use.node.args[0].value)):
                    return True
        return creation.class_def is not None and self._class_sets_daemon(creation.class_def)

    def runs_only_in_daemon_threads(self, function: cst.FunctionDef) -> bool:
        """``function`` is run by this module only in daemon threads: as their
        ``target``, or as the ``run`` method of a thread class created only as a
        daemon or that makes itself one."""
        if function in self._daemon_only_targets():
            return True
        owner = self._tree.method_owner(function)
        return function.name.value == "run" and owner is not None and self._class_sets_daemon(owner)

    def _class_sets_daemon(self, class_def: cst.ClassDef) -> bool:
        answer = self._sets_daemon.get(class_def)
        if answer is None:
            answer = self._sets_daemon[class_def] = _class_sets_daemon(class_def)
        return answer

    def _class_starts_itself(self, class_def: cst.ClassDef) -> bool:
        answer = self._starts_itself.get(class_def)
        if answer is None:
            answer = self._starts_itself[class_def] = _class_calls_own(self._tree, class_def, "start")
        return answer

    def _daemon_only_targets(self) -> FrozenSet[cst.FunctionDef]:
        """The functions and methods that the module runs in threads, but only
        ever in daemon threads."""
        if self._daemon_only is None:
            daemon: Set[cst.FunctionDef] = set()
            other: Set[cst.FunctionDef] = set()
            for call in self._tree.calls:
                creation = self._creations.creation_of(call)
                if creation is None or creation.kind != WORKER:
                    continue
                functions = self._thread_functions(call, creation)
                (daemon if self.is_daemon(self._handle_of(call), creation) else other).update(functions)
            self._daemon_only = frozenset(daemon - other)
        return self._daemon_only

    def _functions_named(self, name: str) -> List[cst.FunctionDef]:
        if self._functions_by_name is None:
            self._functions_by_name = defaultdict(list)
            for function in self._tree.function_defs:
                self._functions_by_name[function.name.value].append(function)
        return self._functions_by_name.get(name, [])

    def _thread_functions(self, call: cst.Call, creation: Creation) -> List[cst.FunctionDef]:
        """The functions a thread created by ``call`` runs: its ``target``, or the
        ``run`` method of its class (and of that class's local relatives)."""
        tree, classes = self._tree, self._classes
        target = keyword(call, "target")
        if isinstance(target, cst.Name):
            return [function for function in self._functions_named(target.value) if tree.method_owner(function) is None]
        if isinstance(target, cst.Attribute):
            method = tree.enclosing_method(call)
            family = classes.family(method[1]) if method is not None and _is_name(target.value, method[2]) else None
            return [
                function
                for function in self._functions_named(target.attr.value)
                if tree.method_owner(function) is not None and (family is None or tree.method_owner(function) in family)
            ]
        if creation.class_def is not None:
            family = classes.family(creation.class_def)
            return [function for function in self._functions_named("run") if tree.method_owner(function) in family]
        return []


def _class_sets_daemon(class_def: cst.ClassDef) -> bool:
    for node in walk_all(class_def):
        if isinstance(node, cst.Arg) and node.keyword is not None and node.keyword.value == "daemon":
            if is_true(node.value):
                return True
        elif isinstance(node, cst.Assign) and is_true(node.value):
            for target in node.targets:
                expr = target.target
                if isinstance(expr, cst.Attribute) and expr.attr.value == "daemon":
                    return True
                if isinstance(expr, cst.Name) and expr.value == "daemon":
                    return True
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value == "setDaemon" and node.args and is_true(node.args[0].value):
                return True
    return False


def _class_calls_own(tree: SyntaxTree, class_def: cst.ClassDef, method: str) -> bool:
    """The class calls ``<self>.<method>()`` on its own instance (a thread that
    starts itself), whatever its methods call their instance."""
    for node in walk_all(class_def):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == method:
            owner = tree.enclosing_method(node)
            if owner is not None and owner[1] is class_def and _is_name(node.func.value, owner[2]):
                return True
    return False


def _is_name(expr: Optional[cst.BaseExpression], name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name
