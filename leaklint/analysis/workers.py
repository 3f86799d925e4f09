"""Facts about threads and processes: is one started, is it a daemon, and which
functions run only as a daemon thread's target."""

from __future__ import annotations

from typing import Optional, Set

import libcst as cst

from leaklint.analysis.creations import WORKER, Creation, Creations
from leaklint.analysis.handles import CALL, SET, Handle, assigned_value
from leaklint.analysis.tree import SyntaxTree, walk_all


def keyword(call: cst.Call, name: str) -> Optional[cst.BaseExpression]:
    """The value passed as ``name=...`` to ``call``."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def is_true(expr: Optional[cst.BaseExpression]) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


def is_started(handle: Handle, creation: Creation) -> bool:
    if handle.destination.chained_method == "start" or handle.calls("start"):
        return True
    return creation.class_def is not None and _class_calls_own(creation.class_def, "start")


def is_daemon(handle: Handle, creation: Creation) -> bool:
    """``daemon=True``, ``t.daemon = True``, ``t.setDaemon(True)``, or a
    subclass that makes itself a daemon."""
    if is_true(keyword(handle.call, "daemon")):
        return True
    for use in handle.uses:
        if use.kind == SET and use.attr == "daemon" and is_true(assigned_value(use)):
            return True
        if use.kind == CALL and use.attr == "setDaemon" and isinstance(use.node, cst.Call):
            if use.node.args and is_true(use.node.args[0].value):
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


def _class_calls_own(class_def: cst.ClassDef, method: str) -> bool:
    """The class calls ``self.<method>()`` itself (a thread that starts itself)."""
    for node in walk_all(class_def):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value == method and isinstance(node.func.value, cst.Name):
                if node.func.value.value == "self":
                    return True
    return False


def runs_only_in_daemon_threads(function: cst.FunctionDef, tree: SyntaxTree, daemon_targets: Set[str]) -> bool:
    """``function`` is run by this module only as a daemon thread's target, or
    is the ``run`` method of a thread class that makes itself a daemon."""
    if function.name.value in daemon_targets:
        return True
    owner = tree.method_owner(function)
    return function.name.value == "run" and owner is not None and _class_sets_daemon(owner)


def daemon_only_targets(tree: SyntaxTree, creations: Creations, handle_of) -> Set[str]:
    """Names of the functions (and methods) that the module runs as a thread
    target, but only ever in daemon threads."""
    daemon: Set[str] = set()
    other: Set[str] = set()
    for call in tree.calls:
        creation = creations.creation_of(call)
        if creation is None or creation.kind != WORKER:
            continue
        target = keyword(call, "target")
        name = _callable_name(target)
        if name is None:
            continue
        (daemon if is_daemon(handle_of(call), creation) else other).add(name)
    return daemon - other


def _callable_name(expr: Optional[cst.BaseExpression]) -> Optional[str]:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return None
