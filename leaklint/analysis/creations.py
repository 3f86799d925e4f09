"""What a call creates: the one table of constructors every rule reads.

``creation_of(call)`` answers "does this call make a task, a thread, an executor,
a child process or a queue?", seeing through import aliases, event-loop methods
and subclasses of ``Thread``/``Process`` defined in the same module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, FrozenSet, List, NamedTuple, Optional, Set

import libcst as cst

from leaklint.analysis.bindings import Bindings
from leaklint.analysis.names import ImportTable, dotted_name
from leaklint.analysis.tree import SyntaxTree

if TYPE_CHECKING:
    from leaklint.analysis.project import ModuleView

TASK = "task"
WORKER = "worker"  # a thread or a process: started, then joined
EXECUTOR = "executor"  # concurrent.futures: shut down
POOL = "pool"  # multiprocessing pools: closed or terminated
CHILD_PROCESS = "child process"  # subprocess.Popen: waited
QUEUE = "queue"
EVENT = "event"  # waited on, set
CONDITION = "condition"  # waited on, notified

_CONSTRUCTORS: Dict[str, str] = {
    "asyncio.create_task": TASK,
    "asyncio.ensure_future": TASK,
    "asyncio.tasks.create_task": TASK,
    "asyncio.tasks.ensure_future": TASK,
    "asyncio.Task": TASK,
    "asyncio.tasks.Task": TASK,
    # A gathered or shielded future carries the outcome of what it wraps, and
    # a threadsafe future carries the only copy of the coroutine's exception.
    "asyncio.gather": TASK,
    "asyncio.tasks.gather": TASK,
    "asyncio.shield": TASK,
    "asyncio.tasks.shield": TASK,
    "asyncio.run_coroutine_threadsafe": TASK,
    "asyncio.tasks.run_coroutine_threadsafe": TASK,
    "threading.Thread": WORKER,
    "threading.Timer": WORKER,
    "multiprocessing.Process": WORKER,
    "multiprocessing.context.Process": WORKER,
    "concurrent.futures.ThreadPoolExecutor": EXECUTOR,
    "concurrent.futures.ProcessPoolExecutor": EXECUTOR,
    "concurrent.futures.InterpreterPoolExecutor": EXECUTOR,
    "concurrent.futures.thread.ThreadPoolExecutor": EXECUTOR,
    "concurrent.futures.process.ProcessPoolExecutor": EXECUTOR,
    "multiprocessing.Pool": POOL,
    "multiprocessing.pool.Pool": POOL,
    "multiprocessing.pool.ThreadPool": POOL,
    "multiprocessing.dummy.Pool": POOL,
    "subprocess.Popen": CHILD_PROCESS,
    "threading.Event": EVENT,
    "asyncio.Event": EVENT,
    "asyncio.locks.Event": EVENT,
    "multiprocessing.Event": EVENT,
    "threading.Condition": CONDITION,
    "asyncio.Condition": CONDITION,
    "asyncio.locks.Condition": CONDITION,
    "multiprocessing.Condition": CONDITION,
}

# Queues, with whether they count unfinished tasks (have join() and task_done()).
_QUEUES: Dict[str, bool] = {
    "queue.Queue": True,
    "queue.LifoQueue": True,
    "queue.PriorityQueue": True,
    "queue.SimpleQueue": False,
    "asyncio.Queue": True,
    "asyncio.LifoQueue": True,
    "asyncio.PriorityQueue": True,
    "asyncio.queues.Queue": True,
    "multiprocessing.Queue": False,
    "multiprocessing.JoinableQueue": True,
    "multiprocessing.SimpleQueue": False,
}

_CONTEXT_FACTORY = "multiprocessing.get_context"
_LOOP_FACTORIES = ("asyncio.get_event_loop", "asyncio.get_running_loop", "asyncio.new_event_loop")
_LOOP_NAMES = frozenset({"loop", "_loop", "event_loop"})
_LOOP_METHODS = frozenset({"create_task", "run_in_executor"})
_WORKER_BASES = frozenset(name for name, kind in _CONSTRUCTORS.items() if kind == WORKER)


def constructor_names(*kinds: str) -> FrozenSet[str]:
    """The last part of the name of every constructor of ``kinds``
    (``Popen`` for CHILD_PROCESS): what the pre-checks look for in Python's
    tree, whatever module or alias it is reached through."""
    names = {name for name, kind in _CONSTRUCTORS.items() if kind in kinds}
    if QUEUE in kinds:
        names.update(_QUEUES)
    if TASK in kinds:
        names.update(_LOOP_METHODS)  # ``loop.run_in_executor(...)``
    return frozenset(name.rpartition(".")[2] for name in names)


# What ``multiprocessing.get_context(...)`` can make: only a call of one of these
# names on some object is worth asking whether that object is a context.
_CONTEXT_MADE = frozenset(
    name.rpartition(".")[2] for name in (*_CONSTRUCTORS, *_QUEUES) if name.startswith("multiprocessing.")
)

# What a wrapper may hand back for its caller to own.  A worker's start and
# daemon settings, a queue's puts and gets happen inside the wrapper: those
# stay the wrapper's own business.
_WRAPPED_KINDS = frozenset({TASK, CHILD_PROCESS})

# Task constructors whose first argument is the coroutine the task runs.
_RUN_THEIR_FIRST_ARGUMENT = frozenset(
    {
        "asyncio.create_task",
        "asyncio.tasks.create_task",
        "asyncio.ensure_future",
        "asyncio.tasks.ensure_future",
        "asyncio.Task",
        "asyncio.tasks.Task",
        "asyncio.run_coroutine_threadsafe",
        "asyncio.tasks.run_coroutine_threadsafe",
    }
)

MODULES = ("asyncio", "threading", "multiprocessing", "concurrent", "subprocess", "queue")


class Creation(NamedTuple):
    kind: str
    name: str  # what was called, for messages: "asyncio.create_task", "Worker"
    class_def: Optional[cst.ClassDef] = None  # a Thread/Process subclass of this module
    joinable: bool = False  # for queues: join() waits for task_done()
    started: bool = False  # a project helper or class that starts the worker itself
    long_lived: Optional[bool] = None  # from the project: its run() or target runs until told to stop
    # For a task: the coroutine expression it runs, where this module shows it
    # (``create_task(c)``'s ``c``, or what a wrapper of the module hands on).
    runs: Optional[cst.BaseExpression] = None


class Creations:
    def __init__(self, tree: SyntaxTree, imports: ImportTable, bindings: Bindings, project: Optional["ModuleView"] = None):
        self._tree = tree
        self._imports = imports
        self._bindings = bindings
        self._project = project
        self._cache: Dict[cst.Call, Optional[Creation]] = {}
        self._loop_attributes: Dict[str, Set[cst.ClassDef]] = {}
        self._functions_by_name: Optional[Dict[str, List[cst.FunctionDef]]] = None
        self._returns: Dict[cst.FunctionDef, Optional[Creation]] = {}
        self.worker_classes: Dict[str, cst.ClassDef] = self._find_worker_classes()

    def creation_of(self, call: cst.Call) -> Optional[Creation]:
        if call not in self._cache:
            self._cache[call] = None  # a wrapper that calls itself creates nothing
            self._cache[call] = self._creation_of(call) or self._wrapper_creation(call)
        return self._cache[call]

    # -- the module's own wrappers ------------------------------------------------

    def _wrapper_creation(self, call: cst.Call) -> Optional[Creation]:
        """``spawn(coro)`` where ``def spawn(c): return loop.create_task(c)``
        (or ``self._schedule()``, a method of the class family): a function of
        the module that hands back a fresh task or child, and keeps no
        reference of its own, creates what it returns."""
        for function in self._functions_called(call):
            inner = self._returned_creation(function)
            if inner is not None:
                runs = self._wrapped_coroutine(function, inner.runs, call)
                return Creation(inner.kind, f"{function.name.value}() (which returns {inner.name})", runs=runs)
        return None

    def _wrapped_coroutine(
        self, function: cst.FunctionDef, runs: Optional[cst.BaseExpression], call: cst.Call
    ) -> Optional[cst.BaseExpression]:
        """What the task a wrapper returns runs, seen from the wrapper's
        caller: a call the wrapper makes (``wrapped = self._run_event(...)``,
        bound once and only handed on), or the caller's argument for the
        parameter it hands on (``def spawn(c): return create_task(c)``)."""
        if not isinstance(runs, cst.Name):
            return runs
        if self._bindings.is_local(function, runs.value):
            calls = self._bindings.assigned_calls(function, runs.value)
            if len(calls) == 1 and len(self._bindings.uses_inside(function, runs.value)) == 2:
                return calls[0]
            return None
        return _argument_for(function, runs.value, call)

    def _functions_called(self, call: cst.Call) -> List[cst.FunctionDef]:
        func, tree = call.func, self._tree
        if isinstance(func, cst.Name):
            if self._imports.qualified_names(func):
                return []
            found = [f for f in self._functions_named(func.value) if tree.method_owner(f) is None]
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            method = tree.enclosing_method(call)
            if method is None or func.value.value != method[2]:
                return []
            found = [f for f in self._functions_named(func.attr.value) if tree.method_owner(f) is method[1]]
        else:
            return []
        return found if len(found) == 1 else []  # two definitions: which one runs is a guess

    def _functions_named(self, name: str) -> List[cst.FunctionDef]:
        if self._functions_by_name is None:
            self._functions_by_name = {}
            for function in self._tree.function_defs:
                self._functions_by_name.setdefault(function.name.value, []).append(function)
        return self._functions_by_name.get(name, [])

    def _returned_creation(self, function: cst.FunctionDef) -> Optional[Creation]:
        """The creation every ``return <value>`` of ``function`` hands back
        untouched, when there is one and it is a task or a child process."""
        if function in self._returns:
            return self._returns[function]
        self._returns[function] = None
        found: Optional[Creation] = None
        for node in self._tree.scope_nodes(function.body).get(cst.Return, ()):
            if node.value is None:
                continue
            creation = self._fresh_creation(function, node.value)
            if creation is None or creation.kind not in _WRAPPED_KINDS or (found is not None and found.kind != creation.kind):
                found = None
                break
            found = found or creation
        self._returns[function] = found
        return found

    def _fresh_creation(self, function: cst.FunctionDef, value: cst.BaseExpression) -> Optional[Creation]:
        if isinstance(value, cst.Call):
            return self.creation_of(value)
        if isinstance(value, cst.Name) and self._bindings.is_local(function, value.value):
            calls = self._bindings.assigned_calls(function, value.value)
            uses = self._bindings.uses_inside(function, value.value)
            # Bound once, then only returned: anything else might keep it.
            if len(calls) == 1 and len(uses) == 2:
                return self.creation_of(calls[0])
        return None

    def _creation_of(self, call: cst.Call) -> Optional[Creation]:
        func = call.func
        for name in self._imports.qualified_names(func):
            kind = _CONSTRUCTORS.get(name)
            if kind is not None:
                return Creation(kind, name, runs=_first_argument(call) if name in _RUN_THEIR_FIRST_ARGUMENT else None)
            if name in _QUEUES:
                return Creation(QUEUE, name, joinable=_QUEUES[name])
        if isinstance(func, cst.Name) and func.value in self.worker_classes:
            if not self._imports.qualified_names(func):
                return Creation(WORKER, func.value, self.worker_classes[func.value])
        if isinstance(func, cst.Attribute) and func.attr.value in _LOOP_METHODS:
            if self.is_event_loop(func.value):
                runs = _first_argument(call) if func.attr.value == "create_task" else None
                return Creation(TASK, f"loop.{func.attr.value}", runs=runs)
        if isinstance(func, cst.Attribute) and func.attr.value in _CONTEXT_MADE and self._is_multiprocessing_context(func.value):
            # ``multiprocessing.get_context("spawn").Process(...)`` makes what
            # ``multiprocessing.Process(...)`` makes.
            name = f"multiprocessing.{func.attr.value}"
            if name in _CONSTRUCTORS:
                return Creation(_CONSTRUCTORS[name], name)
            if name in _QUEUES:
                return Creation(QUEUE, name, joinable=_QUEUES[name])
        return self._project_creation(func) if self._project is not None else None

    def _project_creation(self, func: cst.BaseExpression) -> Optional[Creation]:
        """A call of a project function that returns a fresh handle (a helper
        of another module wrapping ``asyncio.create_task``, a method inherited
        from a base class there), or of a project class that is a Thread: that
        handle's creation, named after the wrapper."""
        assert self._project is not None
        dotted = dotted_name(func)
        if dotted is None:
            return None
        head = dotted.partition(".")[0]
        method = self._tree.enclosing_method(func) if isinstance(func, cst.Attribute) and dotted.count(".") == 1 else None
        if method is not None and head == method[2]:
            # ``self._schedule_event(...)``: through the class's bases, wherever they are.
            found = self._project.method_returned_handle(method[1].name.value, func.attr.value)
        else:
            found = self._project.returned_handle(dotted)
            if found is not None and self._bound_in_a_function(func, head):
                return None  # a local or a parameter, not what the module imported
        if found is None:
            return None
        returned, _ = found
        class_def = self.worker_classes.get(dotted) or self._local_class(dotted) if returned.kind == WORKER else None
        name = dotted if returned.kind == WORKER or dotted == returned.name else f"{dotted} (which returns {returned.name})"
        return Creation(
            returned.kind,
            name,
            class_def,
            joinable=_QUEUES.get(returned.name, False),
            started=returned.started,
            long_lived=returned.long_lived,
        )

    def _bound_in_a_function(self, node: cst.CSTNode, name: str) -> bool:
        for scope in self._tree.scope_chain(node):
            if isinstance(scope, cst.FunctionDef):
                params = scope.params
                every = (*params.posonly_params, *params.params, *params.kwonly_params)
                if self._bindings.is_local(scope, name) or any(param.name.value == name for param in every):
                    return True
        return False

    def _local_class(self, name: str) -> Optional[cst.ClassDef]:
        """A module-level class of this module (a subclass of a project
        Thread class): its own body says whether it is a daemon."""
        for class_def in self._tree.class_defs:
            if class_def.name.value == name and self._tree.enclosing_scope(class_def) is self._tree.module:
                return class_def
        return None

    def _is_multiprocessing_context(self, expr: cst.BaseExpression) -> bool:
        """A fresh ``multiprocessing.get_context(...)``, or a variable of the
        same scope bound to one."""
        if isinstance(expr, cst.Call):
            return self._imports.resolves_to(expr.func, _CONTEXT_FACTORY)
        if isinstance(expr, cst.Name):
            return self._bindings.bound_to_call(expr, self._is_multiprocessing_context)
        return False

    # -- event loops ------------------------------------------------------------

    def is_event_loop(self, expr: cst.BaseExpression) -> bool:
        """``expr`` is an asyncio event loop: fresh from ``asyncio.get_event_loop()``
        and friends, a variable or ``self.<attr>`` bound to one, or something
        (a name, or the last attribute of a chain) named
        ``loop``/``_loop``/``event_loop``.  A ``TaskGroup`` or a REST client
        with a ``create_task`` method is none of these."""
        if isinstance(expr, cst.Call):
            return self._imports.resolves_to(expr.func, *_LOOP_FACTORIES)
        if isinstance(expr, cst.Name):
            return expr.value in _LOOP_NAMES or self._bindings.bound_to_call(expr, self.is_event_loop)
        if isinstance(expr, cst.Attribute):
            if expr.attr.value in _LOOP_NAMES:
                return True  # ``self.loop``, ``self.client._loop``, ``app.event_loop``
            if isinstance(expr.value, cst.Name):
                method = self._tree.enclosing_method(expr)
                if method is not None and expr.value.value == method[2]:
                    return self._attribute_bound_to_loop_factory(method[1], expr.attr.value)
        return False

    def _attribute_bound_to_loop_factory(self, cls: cst.ClassDef, attr: str) -> bool:
        """Some method of ``cls`` sets ``<...>.<attr> = asyncio.get_event_loop()``."""
        classes = self._loop_attributes.get(attr)
        if classes is None:
            # Every class around such an assignment, found once per attribute name.
            classes = self._loop_attributes[attr] = {
                scope
                for attribute in self._tree.attributes.get(attr, ())
                if isinstance(self._tree.assigned_value(attribute), cst.Call)
                and self.is_event_loop(self._tree.assigned_value(attribute))
                for scope in self._tree.scope_chain(attribute)
                if type(scope) is cst.ClassDef
            }
        return cls in classes

    # -- Thread and Process subclasses ------------------------------------------

    def _find_worker_classes(self) -> Dict[str, cst.ClassDef]:
        found: Dict[str, cst.ClassDef] = {}
        pending = list(self._tree.class_defs)
        changed = True
        while changed:  # a subclass of a subclass of Thread is a thread too
            changed = False
            for class_def in list(pending):
                if any(self._is_worker_base(base.value, found) for base in class_def.bases):
                    found[class_def.name.value] = class_def
                    pending.remove(class_def)
                    changed = True
        return found

    def _is_worker_base(self, base: cst.BaseExpression, found: Dict[str, cst.ClassDef]) -> bool:
        if isinstance(base, cst.Name) and base.value in found:
            return True
        return not self._imports.qualified_names(base).isdisjoint(_WORKER_BASES)


def _first_argument(call: cst.Call) -> Optional[cst.BaseExpression]:
    if call.args and call.args[0].keyword is None and not call.args[0].star:
        return call.args[0].value
    return None


def _argument_for(function: cst.FunctionDef, parameter: str, call: cst.Call) -> Optional[cst.BaseExpression]:
    """The argument ``call`` passes for ``function``'s ``parameter``, when the
    call says it plainly (positionally before any ``*args``, or by keyword)."""
    params = function.params
    positional = list(params.posonly_params) + list(params.params)
    names = [param.name.value for param in positional]
    if parameter not in names and parameter not in (param.name.value for param in params.kwonly_params):
        return None  # not a parameter: a global, a closure's variable
    if names and names[0] in ("self", "cls") and isinstance(call.func, cst.Attribute):
        names = names[1:]  # a method called on its instance: the receiver is not an argument
    for argument in call.args:
        if argument.keyword is not None and argument.keyword.value == parameter:
            return argument.value
    if parameter not in names:
        return None
    index = names.index(parameter)
    plain = []
    for argument in call.args:
        if argument.star or argument.keyword is not None:
            break
        plain.append(argument.value)
    return plain[index] if index < len(plain) else None
