"""Does a function run until someone tells it to stop?

A thread that does one job and ends (writes a file, makes a request) is not
a leak: the interpreter waits for it at exit, and joining it is often wrong.
A worker that can never end by itself is: its body loops until told to stop
(``while True``, ``while not self._stop.is_set()``, ``for job in iter(q.get,
None)``), serves forever, or waits with no timeout for someone else to act.
That is what *long-lived* means here.

The question is asked of a thread or process target, and answered from the
function's own body and from the module's functions and methods it calls
(``def run(self): self._serve()``), each function judged once.  What cannot
be seen (a function of another module) is not long-lived: unknown is quiet.
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Iterator, List, Optional, Tuple

import libcst as cst

from leaklint.analysis.loops import find_exit, is_constant_true
from leaklint.analysis.tree import SyntaxTree, walk_scope

# Calls that only return when the program shuts the server or loop down.
SERVES_FOREVER = frozenset({"serve_forever", "run_forever", "forever"})
# Waits that return only when another thread acts, when given no timeout.
WAITS_FOR_OTHERS = frozenset({"wait", "get", "accept"})
# A loop test on state with one of these in its name is a stop flag:
# ``while self._running``, ``while not self.closed``, ``while alive``.
FLAG_NAME = re.compile(
    r"(?i)run|alive|stop|active|clos|shut|done|finish|exit|quit|enabl|keep|live|cancel|termin|continu|serv|work"
)


class Lifetimes:
    def __init__(self, tree: SyntaxTree, imports, family, functions_named, methods_named):
        """``family(cls)`` gives the classes sharing instances with ``cls``;
        ``functions_named(name)`` the module-level functions of that name;
        ``methods_named(function, name)`` the methods of that name in the
        class family of ``function`` (its ``self.<name>``)."""
        self._tree = tree
        self._imports = imports
        self._family = family
        self._functions_named = functions_named
        self._methods_named = methods_named
        self._answers: Dict[cst.FunctionDef, bool] = {}
        self._changed_flags: Dict[Tuple[bool, str, FrozenSet[cst.ClassDef]], bool] = {}

    def runs_until_stopped(self, function: cst.FunctionDef) -> bool:
        """``function`` loops until told to stop, serves forever or waits
        without a timeout, itself or through a function of this module it
        calls."""
        answer = self._answers.get(function)
        if answer is not None:
            return answer
        # Judge the function and what it calls with an explicit stack, so a
        # long call chain cannot recurse; a cycle of calls answers False.
        self._answers[function] = False
        pending: List[cst.FunctionDef] = [function]
        order: List[cst.FunctionDef] = []
        callees: Dict[cst.FunctionDef, List[cst.FunctionDef]] = {}
        while pending:
            current = pending.pop()
            order.append(current)
            own, called = self._own_body(current)
            self._answers[current] = own
            callees[current] = called
            for callee in called:
                if callee not in self._answers:
                    self._answers[callee] = False
                    pending.append(callee)
        # Propagate "long-lived" from callees to callers until nothing changes:
        # callees come after their callers in ``order``, so going backwards
        # settles a call chain in one round; only cycles take another.
        changed = True
        while changed:
            changed = False
            for current in reversed(order):
                if not self._answers[current] and any(self._answers.get(callee) for callee in callees[current]):
                    self._answers[current] = changed = True
        return self._answers[function]

    def _own_body(self, function: cst.FunctionDef):
        """Whether the body itself is long-lived, and the module functions it calls."""
        long_lived = False
        called: List[cst.FunctionDef] = []
        self_name = self._tree.self_name(function)
        for node in walk_scope(function.body):
            node_type = type(node)
            if node_type is cst.While:
                if is_constant_true(node.test):
                    # No way out at all, or one that waits for work between
                    # rounds: a ``while True`` that copies a file and breaks
                    # at its end is a one-shot job.
                    if find_exit(node, self._imports, False, False) is None or _waits_between_rounds(node):
                        long_lived = True
                else:
                    flag = _flag_tested(node.test)
                    if flag is not None and not self._flag_is_ever_changed(flag, self._family_of(function)):
                        long_lived = True
            elif node_type is cst.For:
                if _iterates_until_sentinel(node.iter):
                    long_lived = True
            elif node_type is cst.Call:
                if _waits_without_end(node):
                    long_lived = True
                called.extend(self._callees(function, self_name, node))
        return long_lived, called

    def _flag_is_ever_changed(self, flag: cst.BaseExpression, family: FrozenSet[cst.ClassDef]) -> bool:
        """Some code sets the flag (``<x>.<flag>.set()``) or assigns it outside
        ``__init__``: the owner can stop the loop, so the worker ends when
        told.  ``self.<flag>`` counts in the loop's own class family (another
        class's attribute of that name is another flag); ``other.<flag>``
        anywhere.  Answered once per flag name and family."""
        is_attribute = isinstance(flag, cst.Attribute)
        key = (is_attribute, flag.attr.value if is_attribute else flag.value, family)
        answer = self._changed_flags.get(key)
        if answer is None:
            answer = self._changed_flags[key] = self._is_changed(*key)
        return answer

    def _is_changed(self, is_attribute: bool, name: str, family: FrozenSet[cst.ClassDef]) -> bool:
        tree = self._tree
        for use in tree.attributes.get(name, ()) if is_attribute else tree.names.get(name, ()):
            if is_attribute and family:
                method = tree.enclosing_method(use)
                if method is not None and _is_name(use.value, method[2]) and method[1] not in family:
                    continue  # another class's own flag of the same name
            parent = tree.parent.get(use)
            if isinstance(parent, cst.Attribute) and parent.value is use and parent.attr.value in ("set", "clear", "cancel"):
                return True
            if isinstance(parent, (cst.AssignTarget, cst.AugAssign)) or (isinstance(parent, cst.AnnAssign) and parent.target is use):
                function = tree.enclosing_function(use)
                if function is not None and function.name.value != "__init__":
                    return True
        return False

    def _family_of(self, function: cst.FunctionDef) -> FrozenSet[cst.ClassDef]:
        owner = self._tree.method_owner(function)
        return self._family(owner) if owner is not None else frozenset()

    def _callees(self, function: cst.FunctionDef, self_name: Optional[str], call: cst.Call) -> Iterator[cst.FunctionDef]:
        func = call.func
        if isinstance(func, cst.Name):
            yield from self._functions_named(func.value)
        elif isinstance(func, cst.Attribute) and self_name is not None and _is_name(func.value, self_name):
            yield from self._methods_named(function, func.attr.value)


def _flag_tested(test: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """The flag in ``not self._stop.is_set()``, ``self.running``, ``not closed``:
    state that another thread changes to stop the loop."""
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test = test.expression
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute) and test.func.attr.value == "is_set":
        return test.func.value
    if isinstance(test, cst.Attribute) and FLAG_NAME.search(test.attr.value):
        return test
    if isinstance(test, cst.Name) and FLAG_NAME.search(test.value):
        return test
    return None


# Calls that wait for work or time to pass: a loop that makes one between rounds
# waits for something else to happen, however it is meant to end.
WAITS_FOR_WORK = frozenset({"get", "wait", "accept", "sleep", "select", "poll", "serve_forever", "run_forever"})


def _waits_between_rounds(loop: cst.While) -> bool:
    for node in walk_scope(loop.body):
        if isinstance(node, cst.Call):
            func = node.func
            name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
            if name in WAITS_FOR_WORK:
                return True
    return False


def _iterates_until_sentinel(iterable: cst.BaseExpression) -> bool:
    """``iter(q.get, None)``: a blocking call repeated until a sentinel comes."""
    return (
        isinstance(iterable, cst.Call)
        and _is_name(iterable.func, "iter")
        and len(iterable.args) == 2
        and isinstance(iterable.args[0].value, cst.Attribute)
        and iterable.args[0].value.attr.value in WAITS_FOR_OTHERS
    )


def _waits_without_end(call: cst.Call) -> bool:
    """``server.serve_forever()``, or ``event.wait()`` / ``q.get()`` /
    ``sock.accept()`` with no argument: it returns only when another thread
    (or a client) acts, if ever."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return False
    if func.attr.value in SERVES_FOREVER:
        return True
    return func.attr.value in WAITS_FOR_OTHERS and not call.args


def _is_name(expr: Optional[cst.BaseExpression], name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name
