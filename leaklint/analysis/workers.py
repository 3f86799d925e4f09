"""Facts about threads and processes: is one started, is it a daemon, and which
functions run only as a daemon thread's target."""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, FrozenSet, List, NamedTuple, Optional, Set

import libcst as cst

from leaklint.analysis.classes import ClassHierarchy
from leaklint.analysis.creations import WORKER, Creation, Creations
from leaklint.analysis.handles import CALL, SET, Handle, value_set
from leaklint.analysis.lifetimes import Lifetimes
from leaklint.analysis.names import ImportTable
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


class _Targets(NamedTuple):
    everything: FrozenSet[cst.FunctionDef]  # run by some thread or process
    daemon_only: FrozenSet[cst.FunctionDef]  # run only by daemon threads
    terminated: FrozenSet[cst.FunctionDef]  # run by a worker its creator terminates or kills


class Workers:
    """Facts about the threads and processes of one module, each found once:
    a class's own ``start()`` calls and daemon settings are looked up per
    class, not per creation, and functions are found by name from an index."""

    def __init__(self, tree: SyntaxTree, imports: ImportTable, creations: Creations, classes: ClassHierarchy, handle_of):
        self._tree = tree
        self._creations = creations
        self._classes = classes
        self._handle_of = handle_of
        self._sets_daemon: Dict[cst.ClassDef, bool] = {}
        self._starts_itself: Dict[cst.ClassDef, bool] = {}
        self._targets_found: Optional[_Targets] = None
        self._functions_by_name: Optional[Dict[str, List[cst.FunctionDef]]] = None
        self._lifetimes = Lifetimes(tree, imports, classes.family, self._module_functions_named, self._family_methods_named)

    def runs_until_stopped(self, call: cst.Call, creation: Creation) -> bool:
        """The worker ``call`` creates is long-lived: its target or ``run()``
        loops until told to stop, serves forever or waits with no timeout.
        A target we cannot see is not: unknown is quiet."""
        if creation.long_lived:  # the project's summary says so: a run() or target in another module
            return True
        return any(self._lifetimes.runs_until_stopped(function) for function in self._thread_functions(call, creation))

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

    def runs_in_a_thread(self, function: cst.FunctionDef) -> bool:
        """``function`` is a thread's or process's target, or the ``run()`` of
        a Thread/Process class of this module."""
        if function in self._targets().everything:
            return True
        owner = self._tree.method_owner(function)
        return function.name.value == "run" and owner is not None and owner.name.value in self._creations.worker_classes

    def is_terminated_target(self, function: cst.FunctionDef) -> bool:
        """``function`` runs in a process whose creator ends it by force
        (``terminate()``/``kill()``): its loop need not end by itself."""
        return function in self._targets().terminated

    def _daemon_only_targets(self) -> FrozenSet[cst.FunctionDef]:
        """The functions and methods that the module runs in threads, but only
        ever in daemon threads."""
        return self._targets().daemon_only

    def _targets(self) -> "_Targets":
        """What every worker of the module runs, found in one pass."""
        if self._targets_found is None:
            daemon: Set[cst.FunctionDef] = set()
            other: Set[cst.FunctionDef] = set()
            terminated: Set[cst.FunctionDef] = set()
            for call in self._tree.calls:
                creation = self._creations.creation_of(call)
                if creation is None or creation.kind != WORKER:
                    continue
                functions = self._thread_functions(call, creation)
                handle = self._handle_of(call)
                (daemon if self.is_daemon(handle, creation) else other).update(functions)
                if handle.calls("terminate", "kill"):
                    terminated.update(functions)
            self._targets_found = _Targets(frozenset(daemon | other), frozenset(daemon - other), frozenset(terminated))
        return self._targets_found

    def _functions_named(self, name: str) -> List[cst.FunctionDef]:
        if self._functions_by_name is None:
            self._functions_by_name = defaultdict(list)
            for function in self._tree.function_defs:
                self._functions_by_name[function.name.value].append(function)
        return self._functions_by_name.get(name, [])

    def _module_functions_named(self, name: str) -> List[cst.FunctionDef]:
        return [function for function in self._functions_named(name) if self._tree.method_owner(function) is None]

    def _family_methods_named(self, method: cst.FunctionDef, name: str) -> List[cst.FunctionDef]:
        """The methods ``name`` of ``method``'s class and the classes it shares instances with."""
        owner = self._tree.method_owner(method)
        if owner is None:
            return []
        family = self._classes.family(owner)
        return [function for function in self._functions_named(name) if self._tree.method_owner(function) in family]

    def _thread_functions(self, call: cst.Call, creation: Creation) -> List[cst.FunctionDef]:
        """The functions a thread created by ``call`` runs: its ``target`` (seen
        through ``functools.partial`` and a lambda that calls it; a Timer's
        ``function``), or the ``run`` method of its class (and of that
        class's local relatives)."""
        tree, classes = self._tree, self._classes
        target = _unwrapped(keyword(call, "target") or keyword(call, "function") or _timer_function(call, creation))
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


def _timer_function(call: cst.Call, creation: Creation) -> Optional[cst.BaseExpression]:
    """``Timer(interval, function)``: the function is the second positional argument."""
    if creation.name.endswith("Timer") and len(call.args) >= 2 and call.args[1].keyword is None and not call.args[1].star:
        return call.args[1].value
    return None


def _unwrapped(target: Optional[cst.BaseExpression]) -> Optional[cst.BaseExpression]:
    """The function a target calls: ``partial(f, x)`` and ``lambda: f(x)`` run ``f``."""
    if isinstance(target, cst.Lambda) and isinstance(target.body, cst.Call):
        return target.body.func
    if isinstance(target, cst.Call) and target.args and target.args[0].keyword is None and not target.args[0].star:
        func = target.func
        if (isinstance(func, cst.Name) and func.value == "partial") or (
            isinstance(func, cst.Attribute) and func.attr.value == "partial" and _is_name(func.value, "functools")
        ):
            return target.args[0].value
    return target


def _is_name(expr: Optional[cst.BaseExpression], name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name
