"""Facts about threads and processes: is one started, is it a daemon, and which
functions run only as a daemon thread's target."""

from __future__ import annotations

from typing import FrozenSet, List, Optional, Set

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


def is_started(tree: SyntaxTree, handle: Handle, creation: Creation) -> bool:
    if handle.destination.chained_method == "start" or handle.calls("start"):
        return True
    return creation.class_def is not None and _class_calls_own(tree, creation.class_def, "start")


def is_daemon(handle: Handle, creation: Creation) -> bool:
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
    return creation.class_def is not None and _class_sets_daemon(creation.class_def)


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


def runs_only_in_daemon_threads(function: cst.FunctionDef, tree: SyntaxTree, daemon_targets: FrozenSet[cst.FunctionDef]) -> bool:
    """``function`` is run by this module only in daemon threads: as their
    ``target``, or as the ``run`` method of a thread class created only as a
    daemon or that makes itself one."""
    if function in daemon_targets:
        return True
    owner = tree.method_owner(function)
    return function.name.value == "run" and owner is not None and _class_sets_daemon(owner)


def daemon_only_targets(tree: SyntaxTree, creations: Creations, classes: ClassHierarchy, handle_of) -> Set[cst.FunctionDef]:
    """The functions and methods that the module runs in threads, but only
    ever in daemon threads."""
    daemon: Set[cst.FunctionDef] = set()
    other: Set[cst.FunctionDef] = set()
    for call in tree.calls:
        creation = creations.creation_of(call)
        if creation is None or creation.kind != WORKER:
            continue
        functions = _thread_functions(tree, classes, call, creation)
        (daemon if is_daemon(handle_of(call), creation) else other).update(functions)
    return daemon - other


def _thread_functions(tree: SyntaxTree, classes: ClassHierarchy, call: cst.Call, creation: Creation) -> List[cst.FunctionDef]:
    """The functions a thread created by ``call`` runs: its ``target``, or the
    ``run`` method of its class (and of that class's local relatives)."""
    target = keyword(call, "target")
    if isinstance(target, cst.Name):
        return [function for function in tree.function_defs if function.name.value == target.value and tree.method_owner(function) is None]
    if isinstance(target, cst.Attribute):
        method = tree.enclosing_method(call)
        family = classes.family(method[1]) if method is not None and _is_name(target.value, method[2]) else None
        return [
            function
            for function in tree.function_defs
            if function.name.value == target.attr.value
            and tree.method_owner(function) is not None
            and (family is None or tree.method_owner(function) in family)
        ]
    if creation.class_def is not None:
        family = classes.family(creation.class_def)
        return [function for function in tree.function_defs if function.name.value == "run" and tree.method_owner(function) in family]
    return []


def _is_name(expr: Optional[cst.BaseExpression], name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name
