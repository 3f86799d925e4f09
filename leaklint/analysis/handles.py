"""Where a handle goes: the one analysis every leak rule stands on.

A *handle* is the object a creating call returns: a task, a thread, an executor,
a process, a queue.  Whether it leaks depends on two questions answered here once
for every rule:

1. Where does the result of the call go?  (:class:`Destination`) It may be
   dropped on the floor, bound to a local, a global or ``self.<attr>``, managed by
   ``with``, awaited, or escape (returned, passed to a call, stored on some other
   object).  A handle put into a list, a comprehension or a ``local.append(...)``
   goes wherever that container goes.
2. What happens to it afterwards?  (:func:`Handle.uses`) Every later reference is
   classified as a method call (``t.join()``), an attribute store
   (``t.daemon = True``), an await, a ``with``, an iteration, a plain read, a
   rebinding, or an escape.  For a container, ``for t in threads:`` is followed:
   what the loop does with ``t`` is what happens to each handle.  A child whose
   pid is waited for (``os.waitpid(p.pid, 0)``, or ``self.pid = p.pid`` and
   ``os.waitpid(self.pid, 0)`` elsewhere in the class) is reaped there.

A rule then only states which method calls do *not* release its kind of handle.
Anything this module does not understand counts as an escape: a missed leak
costs less than a false alarm.
"""

from __future__ import annotations

from typing import Callable, Dict, FrozenSet, List, NamedTuple, Optional, Tuple

import libcst as cst

from leaklint.analysis.bindings import Bindings
from leaklint.analysis.classes import ClassHierarchy
from leaklint.analysis.flow import HEADER, FlowNode, Flows
from leaklint.analysis.names import ImportTable
from leaklint.analysis.tree import SyntaxTree, walk_scope

# Kinds of destination.
DISCARDED = "discarded"  # an expression statement, ``_ = ...``, or only chained on
LOCAL = "local"  # a variable of a function: the function owns it
GLOBAL = "global"  # a module variable: the module owns it
INSTANCE = "instance"  # ``self.<attr>``: the class owns it
CLASS = "class"  # a class attribute: lives as long as the program
MANAGED = "managed"  # ``with X() as x``: released by the with statement
AWAITED = "awaited"  # ``await X()``
ESCAPED = "escaped"  # returned, passed on, stored elsewhere: somebody else's now

# Methods that put an item into the container they are called on.
COLLECTING_METHODS = frozenset({"append", "add", "appendleft", "extend", "insert", "setdefault"})

# Kinds of use.
CALL = "call"  # ``h.method(...)``, or ``h.method`` handed on as a callback
SET = "set"  # ``h.attr = value``, ``h[key] = value``
READ = "read"  # a look that keeps nothing: ``h.name``, ``if h``, ``h is None``
STORE = "store"  # the name is (re)bound, not read
AWAIT = "await"
WITH = "with"
ITERATE = "iterate"
ESCAPE = "escape"
REAP = "reap"  # the child is waited for through its pid: ``os.waitpid(h.pid, 0)``

_NEUTRAL_KINDS = frozenset({SET, READ, STORE})

_READ_PARENTS = (
    cst.Comparison,
    cst.ComparisonTarget,
    cst.If,
    cst.While,
    cst.UnaryOperation,
    cst.BooleanOperation,
    cst.Assert,
    cst.FormattedStringExpression,
    cst.Del,
    cst.NameItem,
)
# Data attributes of the standard handles: reading one releases nothing.
_DATA_ATTRIBUTES = frozenset(
    {"pid", "returncode", "args", "stdin", "stdout", "stderr", "name", "ident", "native_id", "daemon", "exitcode", "sentinel"}
)
_STORE_PARENTS = (cst.Param, cst.FunctionDef, cst.ClassDef, cst.ImportAlias, cst.ImportFrom, cst.AsName)


class Destination(NamedTuple):
    kind: str
    name: Optional[str] = None  # the variable or attribute holding the handle
    owner: Optional[cst.CSTNode] = None  # the function, class or module that owns it
    in_container: bool = False  # the handle sits in a list/set/... held there
    chained_call: Optional[cst.Call] = None  # ``X().start()``: the ``.start()`` call
    chained_method: Optional[str] = None


class Use(NamedTuple):
    kind: str
    attr: Optional[str] = None  # the method or attribute, for CALL, SET and READ
    node: Optional[cst.CSTNode] = None  # the Call for CALL, the Assign for SET
    ref: Optional[cst.CSTNode] = None  # the Name or Attribute that refers to the handle


class Handles:
    """The handles of one module and the books they share.

    Many handles live in the same variable or attribute (every method of a
    class may set ``self._worker``): the references of a destination are found
    and classified once, and a release over them is judged once per set of
    neutral methods, so a question costs O(its uses), never a rescan."""

    def __init__(self, tree: SyntaxTree, classes: ClassHierarchy, bindings: Bindings, flows: Callable[[], Flows]):
        self.tree = tree
        self.classes = classes
        self.bindings = bindings
        self.flows = flows  # built on the first question about paths
        self._handles: Dict[cst.Call, Handle] = {}
        self._uses: Dict[tuple, List[Use]] = {}
        self._released: Dict[tuple, bool] = {}
        self._instance_attributes: Dict[str, List[Tuple[cst.Attribute, Optional[cst.ClassDef]]]] = {}
        self._pid_waits: Optional[PidWaits] = None

    def handle(self, call: cst.Call) -> "Handle":
        handle = self._handles.get(call)
        if handle is None:
            handle = self._handles[call] = Handle(self, call)
        return handle

    def uses_of(self, destination: Destination) -> List[Use]:
        """The uses of what ``destination`` names, in its owner (shared: do not change it)."""
        key = _key(destination)
        uses = self._uses.get(key)
        if uses is None:
            uses = [_classify(self.tree, ref) for ref in self._references(destination)]
            if destination.in_container:
                uses = _through_loops(self.tree, self.bindings, uses)
            pids = [self.tree.parent[use.ref] for use in uses if use.kind == READ and use.attr == "pid" and use.ref is not None]
            for pid in pids:
                uses = uses + self.reaps_through_pid(pid)
            self._uses[key] = uses
        return uses

    def reaps_through_pid(self, pid: cst.BaseExpression) -> List[Use]:
        """The waits for the child whose pid ``pid`` (``h.pid``) reads:
        ``os.waitpid(h.pid, 0)`` itself, or, with the pid bound to a local, a
        global or ``self.<attr>`` (``self.pid = self.proc.pid``), every wait
        for that binding (in the class and the classes sharing its
        instances).  A wait is also a call of a function of the module that
        waits for the parameter the pid is passed as.  One binding deep."""
        waits = self.pid_waits()
        call = waits.reap_of(pid)
        if call is not None:
            return [Use(REAP, None, call, pid)]
        holder = self.tree.parent.get(pid)
        if isinstance(holder, cst.Assign) and holder.value is pid and len(holder.targets) == 1:
            target = holder.targets[0].target
        elif isinstance(holder, cst.AnnAssign) and holder.value is pid:
            target = holder.target
        else:
            return []
        binding = _bound_to(self.tree, self.bindings, target, False)
        if binding.kind not in (LOCAL, GLOBAL, INSTANCE):
            return []
        if binding.kind == INSTANCE:
            family = self.classes.family(binding.owner)
            refs = [attribute for attribute, cls in self._instance_attributes_named(binding.name) if cls in family]
        else:
            refs = self._references(binding)
        reaps = []
        for ref in refs:
            reap = waits.reap_of(ref)
            if reap is not None:
                reaps.append(Use(REAP, None, reap, ref))
        return reaps

    def is_worker_class(self, family: FrozenSet[cst.ClassDef]) -> bool:
        """A class of ``family`` derives from ``threading.Thread`` or ``multiprocessing.Process``."""
        imports = self.flows().imports
        return any(imports.resolves_to(base.value, *_WORKER_BASES) for cls in family for base in cls.bases)

    def pid_waits(self) -> "PidWaits":
        if self._pid_waits is None:
            self._pid_waits = PidWaits(self.tree, self.flows().imports, self.classes)
        return self._pid_waits

    def released_through_uses(self, destination: Destination, neutral_methods: FrozenSet[str], neutral_uses: FrozenSet[str]) -> bool:
        key = (_key(destination), neutral_methods, neutral_uses)
        answer = self._released.get(key)
        if answer is None:
            self._released[key] = True  # while we look: containers that hold each other end here, quiet
            answer = self._released[key] = any(self._use_releases(use, neutral_methods, neutral_uses) for use in self.uses_of(destination))
        return answer

    def _use_releases(self, use: Use, neutral_methods: FrozenSet[str], neutral_uses: FrozenSet[str]) -> bool:
        container = self.collected_into(use)
        if container is not None:  # ``tasks.append(t)``: what happens to ``tasks`` happens to ``t``
            return self.released_through_uses(container, neutral_methods | COLLECTING_METHODS, neutral_uses)
        return _may_release(use, neutral_methods, neutral_uses)

    def collected_into(self, use: Use) -> Optional[Destination]:
        """The local container an ESCAPE use puts the handle into
        (``tasks.append(t)``, ``tasks[key] = t``), if it is one."""
        if use.kind != ESCAPE or use.ref is None:
            return None
        parent_of = self.tree.parent.get
        holder = parent_of(use.ref)
        container: Optional[cst.BaseExpression] = None
        if isinstance(holder, cst.Arg):
            container = _collecting_receiver(parent_of(holder), holder)
        elif isinstance(holder, cst.Assign) and holder.value is use.ref and len(holder.targets) == 1:
            target = holder.targets[0].target
            if isinstance(target, cst.Subscript):
                container = target.value
        if not isinstance(container, cst.Name):
            return None
        destination = _container_binding(self.tree, self.bindings, container)
        return destination if destination.kind == LOCAL else None

    def _references(self, destination: Destination) -> List[cst.CSTNode]:
        kind, name, owner = destination.kind, destination.name, destination.owner
        if kind == LOCAL:
            # Nested functions count: a closure that joins the thread releases it.
            return self.bindings.uses_inside(owner, name)
        if kind == GLOBAL:
            return self.bindings.uses(name)
        if kind == INSTANCE:
            # ``self.<name>`` in the owning class and the classes it shares
            # instances with (its bases and subclasses in this module), and
            # ``other.<name>`` wherever another object (a helper, a test) reaches in.
            family = self.classes.family(owner)
            return [attribute for attribute, cls in self._instance_attributes_named(name) if cls is None or cls in family]
        return []

    def _instance_attributes_named(self, name: str) -> List[Tuple[cst.Attribute, Optional[cst.ClassDef]]]:
        """Every ``<x>.<name>`` with the class whose instance ``x`` is (None
        when ``x`` is not a method's own instance)."""
        found = self._instance_attributes.get(name)
        if found is None:
            found = self._instance_attributes[name] = []
            for attribute in self.tree.attributes.get(name, ()):
                instance = _instance_attribute(self.tree, attribute)
                found.append((attribute, instance[0] if instance is not None else None))
        return found


class Handle:
    """The object created by ``call``, followed through the module."""

    def __init__(self, handles: Handles, call: cst.Call):
        self._handles = handles
        self.call = call
        self.destination = _destination(handles.tree, handles.bindings, call)
        self._uses: Optional[List[Use]] = None

    @property
    def uses(self) -> List[Use]:
        """Every reference to the handle's variable or attribute within its owner."""
        if self._uses is None:
            uses = self._handles.uses_of(self.destination)
            chained = self._chained_use()
            self._uses = uses + [chained] if chained is not None else uses
        return self._uses

    def _chained_use(self) -> Optional[Use]:
        destination = self.destination
        if destination.chained_call is not None:
            return Use(CALL, destination.chained_method, destination.chained_call)
        if destination.chained_method == "pid":
            reaps = self._handles.reaps_through_pid(self._handles.tree.parent[self.call])
            if reaps:
                return reaps[0]  # ``os.waitpid(Popen(...).pid, 0)``
        if destination.chained_method is not None:
            return Use(READ, destination.chained_method)
        return None

    def reads(self) -> List[Use]:
        return [use for use in self.uses if use.kind != STORE]

    def is_read(self) -> bool:
        """Some use reads the handle.  In a local container only a read of
        the container counts (putting more into it reads nothing), and a
        handle put into one (``tasks.append(t)``) is read when the container is."""
        return _reads(self._handles, self.destination, self.uses, set())

    def calls(self, *methods: str) -> List[Use]:
        return [use for use in self.uses if use.kind == CALL and use.attr in methods]

    def is_released(self, neutral_methods: FrozenSet[str], neutral_uses: FrozenSet[str] = frozenset()) -> bool:
        """Some use may release the handle or hand it to someone who will.

        ``neutral_methods`` are the calls that do neither (``start``, ``put``...),
        ``neutral_uses`` the other kinds of use that do not (``with condition:``
        only holds its lock).  For a handle inside a container, the
        container's own collecting calls (``tasks.append(t)``) are neutral too."""
        destination = self.destination
        if destination.kind == INSTANCE and self._handles.classes.inherits_unseen_code(destination.owner):
            return True  # a base class from elsewhere may release it
        if destination.in_container:
            neutral_methods = neutral_methods | COLLECTING_METHODS
        chained = self._chained_use()
        if chained is not None and _may_release(chained, neutral_methods, neutral_uses):
            return True
        return self._handles.released_through_uses(destination, neutral_methods, neutral_uses)

    def leaking_path(self, neutral_methods: FrozenSet[str], after: Optional[str] = None) -> Optional[str]:
        """For a handle released somewhere in its function, the path on which
        it is not: "when `wait` is false", "on the return at line 12", "after
        TimeoutExpired at line 9" ("on some path" when no branch names it).
        None when every path from the creation (or from each ``<after>()``
        call, e.g. ``start``) to the end of the function releases the handle
        or hands it on, and when the question is not the function's.

        It is the function's for a local, and for ``self.<attr>`` created and
        released in one method with no release anywhere else in the class.  A
        handle in a container or released in a nested function or lambda
        keeps today's answer; rebinding the name ends the question."""
        function = self._path_owner(neutral_methods)
        if function is None:
            return None
        flows = self._handles.flows()
        graph = flows.graph(function)
        creation = graph.node_of(self.call)
        if creation is None:
            return None
        tree = self._handles.tree
        stops = {creation.index}  # coming round to the creation again is the next handle's question
        releases = set()
        starts = []
        for use in self.uses:
            node = graph.node_of(use.ref) if use.ref is not None else None
            if node is None:
                if use.ref is not None and _may_release(use, neutral_methods):
                    return None  # a local's pid waited for elsewhere (``self.pid = p.pid``)
                continue  # in another method of the class: neutral there (see _path_owner)
            if _may_release(use, neutral_methods):
                if tree.enclosing_scope(use.ref) is not function:
                    return None  # a closure or lambda releases it, when it runs
                stops.add(node.index)
                releases.add(node.index)
            elif use.kind == STORE and tree.assigned_value(use.ref) is not self.call:
                stops.add(node.index)  # rebound: what follows is another handle's
            elif _tests_state(use, node):
                stops.add(node.index)  # a branch on its state (``if t.is_alive():``) knows more than we do
            elif use.kind == CALL and use.attr == after and not tree.expected_to_raise(use.node):
                starts.append(node)
        is_stop = lambda node: node.index in stops  # noqa: E731
        if self.destination.kind == INSTANCE and not releases.isdisjoint(_runs_before(graph, creation)):
            # ``if self.proc: self.proc.wait()`` and then ``self.proc = Popen(...)``:
            # each run of the method releases the child the last run made; the
            # class owns the attribute, not this method's paths.
            return None
        if after is None:
            starts = [creation]
        elif starts:
            # Only the starts this handle reaches, not those of an earlier or
            # later value of the name, nor those after it was handed on.
            reached = graph.reachable(creation, is_stop)
            starts = [start for start in starts if start.index in reached]
        for start in starts:
            path = graph.leaks_on_some_path(start, is_stop)
            if path is not None:
                return path.describe(flows.line_of) or "on some path"
        return None

    def rebinding_method(self) -> Optional[cst.FunctionDef]:
        """For a handle stored on ``self.<attr>``, the method that stores it
        each time it runs, so that a second run loses the previous handle:
        a method that may run more than once on the same object (not a
        constructor, not cached, not a private method called only from
        constructors, not a worker's ``run()``), that stores it on every path
        through it (no guard such as ``if self.proc is None:`` or an early
        ``return``), and that does not look at the old value first
        (``if self.proc: ...``, ``old = self.proc``).  None otherwise.

        Whether the old value was released is the rule's question: this
        answers only whether it is overwritten."""
        destination = self.destination
        if destination.kind != INSTANCE or destination.in_container:
            return None
        handles = self._handles
        tree = handles.tree
        method = tree.enclosing_function(self.call)
        if method is None or tree.method_owner(method) is None or not self._may_run_again(method):
            return None
        graph = handles.flows().graph(method)
        store = graph.node_of(self.call)
        if store is None:
            return None
        if store is not graph.entry and graph.leaks_on_some_path(graph.entry, lambda node: node is store) is not None:
            return None  # some path through the method leaves the attribute alone
        before = _runs_before(graph, store)
        for use in self.uses:
            node = graph.node_of(use.ref) if use.kind != STORE and use.ref is not None else None
            if node is not None and (node is store or node.index in before):
                return None  # it looks at the old value first: it may well release it
        return method

    def _may_run_again(self, method: cst.FunctionDef) -> bool:
        tree = self._handles.tree
        name = method.name.value
        if name in _RUN_ONCE_METHODS or any(_decorator_name(d) in _RUN_ONCE_DECORATORS for d in method.decorators):
            return False
        owner = tree.method_owner(method)
        family = self._handles.classes.family(owner)
        if name == "run" and self._handles.is_worker_class(family):
            return False  # a thread or process runs its run() once
        if name.startswith("_") and not name.endswith("__"):
            # A private helper of the constructor (``__init__`` calls ``self._spawn()``).
            references = tree.attributes.get(name, ())
            callers = [tree.enclosing_function(attribute) for attribute in references if _is_called(tree, attribute)]
            if callers and len(callers) == len(references):
                return not all(
                    caller is not None and caller.name.value in _RUN_ONCE_METHODS and tree.method_owner(caller) in family for caller in callers
                )
        return True

    def _path_owner(self, neutral_methods: FrozenSet[str]) -> Optional[cst.FunctionDef]:
        """The function whose paths decide whether the handle is released."""
        destination = self.destination
        if destination.in_container:
            return None
        if destination.kind == LOCAL:
            return destination.owner if isinstance(destination.owner, cst.FunctionDef) else None
        tree = self._handles.tree
        if destination.kind != INSTANCE or self._handles.classes.inherits_unseen_code(destination.owner):
            return None
        method = tree.enclosing_function(self.call)
        if method is None or tree.method_owner(method) is None:
            return None
        releases = [use for use in self.uses if _may_release(use, neutral_methods)]
        if releases and all(use.ref is not None and tree.is_inside(use.ref, method) for use in releases):
            return method
        return None


# The waits that reap a child given its pid: the pid's position among the arguments.
_PID_WAITS = {"os.waitpid": 0, "os.wait4": 0, "os.waitid": 1}


class PidWaits:
    """Where the module waits for a child by its pid: ``os.waitpid(pid, ...)``,
    ``os.wait4(pid, ...)``, ``os.waitid(os.P_PID, pid, ...)`` (not with
    ``WNOWAIT``, which leaves the child unreaped), and the functions and
    methods of the module that do so for one of their parameters (tornado's
    ``Subprocess._try_cleanup_process(pid)``).  Built once, from the module's
    calls."""

    def __init__(self, tree: SyntaxTree, imports: ImportTable, classes: ClassHierarchy):
        self._tree = tree
        self._classes = classes
        self._classes_named: Optional[Dict[str, List[cst.ClassDef]]] = None
        self._waited: Dict[cst.CSTNode, cst.Call] = {}  # a pid argument -> its wait
        # function name -> (the function, its parameter that is waited for)
        self._waiting_functions: Dict[str, List[Tuple[cst.FunctionDef, str]]] = {}
        for call in tree.calls:
            pid = _waited_pid(call, imports)
            if pid is None:
                continue
            self._waited[pid] = call
            function = tree.enclosing_function(pid)
            if isinstance(pid, cst.Name) and function is not None and tree.enclosing_scope(pid) is function:
                if pid.value in _parameter_names(function):
                    self._waiting_functions.setdefault(function.name.value, []).append((function, pid.value))

    def reap_of(self, pid: cst.BaseExpression) -> Optional[cst.Call]:
        """The call that waits for the child whose pid ``pid`` is, if it is a
        pid argument of a wait or of a function that waits for that parameter."""
        wait = self._waited.get(pid)
        if wait is not None:
            return wait
        arg = self._tree.parent.get(pid)
        call = self._tree.parent.get(arg) if isinstance(arg, cst.Arg) else None
        if not isinstance(call, cst.Call) or arg.star or not self._waiting_functions:
            return None
        for function, bound in self._callees(call):
            parameter = _parameter_for(function, call, arg, bound)
            if parameter is not None and any(f is function and p == parameter for f, p in self._waiting_functions[function.name.value]):
                return call
        return None

    def _callees(self, call: cst.Call) -> List[Tuple[cst.FunctionDef, bool]]:
        """The waiting functions ``call`` may call, each with whether the call
        binds an instance or a class to the first parameter: ``reap(pid)`` (a
        function of the module), ``self.reap(pid)``, ``cls.reap(pid)``,
        ``Supervisor.reap(pid)`` (a method of the class around, or of the
        class named, or of the classes sharing their instances)."""
        func = call.func
        if isinstance(func, cst.Name):
            return [(f, False) for f, _ in self._waiting_functions.get(func.value, ()) if isinstance(self._tree.enclosing_scope(f), cst.Module)]
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return []
        candidates = [f for f, _ in self._waiting_functions.get(func.attr.value, ()) if self._tree.method_owner(f) is not None]
        if not candidates:
            return []
        receiver = func.value.value
        caller = self._tree.enclosing_function(call)
        owner = self._tree.method_owner(caller) if caller is not None else None
        if owner is not None and receiver == _first_parameter(caller) and not _has_decorator(caller, "staticmethod"):
            named = [owner]
            on_instance = not _is_class_method(caller)
        else:
            if self._classes_named is None:
                self._classes_named = {}
                for cls in self._tree.class_defs:
                    self._classes_named.setdefault(cls.name.value, []).append(cls)
            named = self._classes_named.get(receiver, [])
            on_instance = False
        classes = set()
        for cls in named:
            classes |= self._classes.family(cls)
        callees = []
        for function in dict.fromkeys(candidates):
            if self._tree.method_owner(function) in classes:
                static = _has_decorator(function, "staticmethod")
                callees.append((function, not static and (on_instance or _is_class_method(function))))
        return callees


def _waited_pid(call: cst.Call, imports: ImportTable) -> Optional[cst.BaseExpression]:
    """The pid argument of ``call`` if it is a wait that reaps a child by pid."""
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
    if name not in ("waitpid", "wait4", "waitid"):
        return None
    position = next((_PID_WAITS[q] for q in imports.qualified_names(func) if q in _PID_WAITS), None)
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    if position is None or len(positional) <= position or len(positional) != len(call.args):
        return None
    if name == "waitid":
        if not imports.resolves_to(positional[0].value, "os.P_PID"):
            return None
        options = positional[2].value if len(positional) > 2 else None
        if options is not None and any(_named(node, "WNOWAIT") for node in walk_scope(options)):
            return None  # it looks at the child and leaves it to be reaped
    return positional[position].value


def _named(node: cst.CSTNode, name: str) -> bool:
    return (isinstance(node, cst.Name) and node.value == name) or (isinstance(node, cst.Attribute) and node.attr.value == name)


def _parameter_names(function: cst.FunctionDef) -> List[str]:
    params = function.params
    return [param.name.value for param in list(params.posonly_params) + list(params.params) + list(params.kwonly_params)]


def _first_parameter(function: cst.FunctionDef) -> Optional[str]:
    params = list(function.params.posonly_params) + list(function.params.params)
    return params[0].name.value if params else None


def _has_decorator(function: cst.FunctionDef, name: str) -> bool:
    return any(isinstance(d.decorator, cst.Name) and d.decorator.value == name for d in function.decorators)


def _is_class_method(function: cst.FunctionDef) -> bool:
    return _has_decorator(function, "classmethod")


def _parameter_for(function: cst.FunctionDef, call: cst.Call, arg: cst.Arg, bound: bool) -> Optional[str]:
    """The parameter of ``function`` that ``arg`` of ``call`` is passed as
    (``bound``: the call's receiver fills the first one)."""
    if arg.keyword is not None:
        return arg.keyword.value
    positional = [param.name.value for param in list(function.params.posonly_params) + list(function.params.params)]
    if bound:
        positional = positional[1:]
    index = 0
    for other in call.args:
        if other is arg:
            return positional[index] if index < len(positional) else None
        if other.keyword is not None or other.star:
            return None  # a keyword or unpacked argument before it: we cannot tell
        index += 1
    return None


# Methods that run once per object.
_RUN_ONCE_METHODS = frozenset(
    {"__init__", "__new__", "__post_init__", "__init_subclass__", "__set_name__", "setUp", "asyncSetUp", "setup_method", "setUpClass", "setup_class"}
)
# Decorators whose method body runs once per object.
_RUN_ONCE_DECORATORS = frozenset({"cached_property", "cache", "lru_cache", "reify"})
_WORKER_BASES = frozenset({"threading.Thread", "multiprocessing.Process", "multiprocessing.context.Process"})


def _decorator_name(decorator: cst.Decorator) -> Optional[str]:
    """The last part of a decorator's name: ``lru_cache`` for ``@functools.lru_cache(None)``."""
    expr = decorator.decorator
    if isinstance(expr, cst.Call):
        expr = expr.func
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return expr.value if isinstance(expr, cst.Name) else None


def _is_called(tree: SyntaxTree, attribute: cst.Attribute) -> bool:
    call = tree.parent.get(attribute)
    return isinstance(call, cst.Call) and call.func is attribute


def _runs_before(graph, node: FlowNode) -> FrozenSet[int]:
    """The nodes of ``graph`` some path from the function's entry reaches
    before ``node`` (not those it reaches only through ``node``)."""
    if graph.entry is node:
        return frozenset()
    return (graph.reachable(graph.entry, lambda reached: reached is node) | {graph.entry.index}) - {node.index}


def _reads(handles: Handles, destination: Destination, uses: List[Use], seen: set) -> bool:
    seen.add(_key(destination))
    for use in uses:
        if use.kind == STORE or (destination.in_container and _puts_into(use)):
            continue
        container = handles.collected_into(use)
        if container is None:
            return True
        if _key(container) not in seen and _reads(handles, container, handles.uses_of(container), seen):
            return True
    return False


# Attributes that tell whether a worker or child has ended.
_STATE_ATTRIBUTES = frozenset({"returncode", "exitcode"})


def _tests_state(use: Use, node: FlowNode) -> bool:
    """``use`` is in the test of an ``if`` or ``while`` and looks at the
    handle's state: ``if t.is_alive():``, ``while p.returncode is None:``,
    ``if not proc:`` (not ``if p.stdout is None:``)."""
    if node.kind != HEADER or not isinstance(node.statement, (cst.If, cst.While)):
        return False
    return use.kind == CALL or use.attr is None or use.attr in _STATE_ATTRIBUTES


def _puts_into(use: Use) -> bool:
    """A use of a container that adds an item: ``tasks.append(...)``, ``tasks[key] = ...``."""
    return (use.kind == CALL and use.attr in COLLECTING_METHODS) or (use.kind == SET and use.attr is None)


def _key(destination: Destination) -> tuple:
    return (destination.kind, destination.name, destination.owner, destination.in_container)


def _may_release(use: Use, neutral_methods: FrozenSet[str], neutral_uses: FrozenSet[str] = frozenset()) -> bool:
    if use.kind == SET and use.attr == "returncode" and use.kind not in neutral_uses:
        # ``p.returncode = 0``: the owner tells ``Popen`` the child is done,
        # so that nothing waits for it or warns at exit: a child left to run
        # in the background on purpose (virtualenv's periodic update).
        return True
    if use.kind in _NEUTRAL_KINDS or use.kind in neutral_uses:
        return False
    return not (use.kind == CALL and use.attr in neutral_methods)


# -- 1. where the result of the call goes --------------------------------------


def _destination(tree: SyntaxTree, bindings: Bindings, call: cst.Call) -> Destination:
    if tree.expected_to_raise(call):
        return Destination(ESCAPED)  # no handle is ever created
    parent_of = tree.parent.get
    node: cst.CSTNode = call
    in_container = False
    while True:
        parent = parent_of(node)
        parent_type = type(parent)
        if parent_type is cst.Expr:
            return Destination(DISCARDED, in_container=in_container)
        if parent_type is cst.Await:
            return Destination(AWAITED)
        if parent_type is cst.Attribute and parent.value is node:
            outer = parent_of(parent)
            if in_container:
                return Destination(ESCAPED)
            # ``X().start()`` or ``Popen(...).stdout``: only the chained result lives on.
            chained_call = outer if type(outer) is cst.Call and outer.func is parent else None
            return Destination(DISCARDED, chained_call=chained_call, chained_method=parent.attr.value)
        if parent_type is cst.Assign and parent.value is node:
            if len(parent.targets) != 1:
                return Destination(ESCAPED)
            return _bound_to(tree, bindings, parent.targets[0].target, in_container)
        if parent_type is cst.AnnAssign and parent.value is node:
            return _bound_to(tree, bindings, parent.target, in_container)
        if parent_type is cst.WithItem and parent.item is node:
            return Destination(MANAGED)
        if parent_type in (cst.Element, cst.StarredElement, cst.DictElement):
            node = parent_of(parent)  # the list, tuple, set or dict literal
            in_container = True
            continue
        if parent_type in (cst.ListComp, cst.SetComp, cst.GeneratorExp) and parent.elt is node:
            node, in_container = parent, True
            continue
        if parent_type is cst.DictComp and parent.value is node:
            node, in_container = parent, True
            continue
        if parent_type in (cst.IfExp, cst.BooleanOperation):
            node = parent  # either branch's value flows on
            continue
        if parent_type is cst.Lambda and parent.body is node:
            # ``loop.call_soon(lambda: asyncio.create_task(c))``: whoever calls
            # the callback drops what it returns.
            return Destination(DISCARDED) if _is_callback(tree, parent) else Destination(ESCAPED)
        if parent_type is cst.Arg:
            collector = _collecting_receiver(parent_of(parent), parent)
            if collector is not None:
                return _container_binding(tree, bindings, collector)
            return Destination(ESCAPED)
        return Destination(ESCAPED)


# Calls that run a callback and throw its result away.
_CALLBACK_TAKERS = frozenset(
    {
        "call_soon",
        "call_soon_threadsafe",
        "call_later",
        "call_at",
        "add_done_callback",
        "add_signal_handler",
        "add_reader",
        "add_writer",
        "register",
        "Timer",
        "Thread",
    }
)


def _is_callback(tree: SyntaxTree, function: cst.Lambda) -> bool:
    """``function`` is handed to a call that runs it and drops its result: a
    loop's ``call_soon``, ``add_done_callback``, ``atexit.register``, a
    thread's target."""
    arg = tree.parent.get(function)
    call = tree.parent.get(arg) if isinstance(arg, cst.Arg) else None
    if not isinstance(call, cst.Call):
        return False
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
    return name in _CALLBACK_TAKERS


def _collecting_receiver(call: Optional[cst.CSTNode], arg: cst.Arg) -> Optional[cst.BaseExpression]:
    """``tasks`` in ``tasks.append(<arg>)``, else None."""
    if type(call) is not cst.Call or arg.keyword is not None or arg.star:
        return None
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in COLLECTING_METHODS:
        return func.value
    return None


def _bound_to(tree: SyntaxTree, bindings: Bindings, target: cst.BaseExpression, in_container: bool) -> Destination:
    if isinstance(target, cst.Name):
        if target.value == "_":
            return Destination(DISCARDED, in_container=in_container)
        scope = tree.enclosing_scope(target)
        if isinstance(scope, cst.Module):
            return Destination(GLOBAL, target.value, scope, in_container)
        if isinstance(scope, cst.ClassDef):
            return Destination(CLASS, target.value, scope, in_container)
        if isinstance(scope, cst.FunctionDef):
            if bindings.declares_global(scope, target.value):
                return Destination(GLOBAL, target.value, tree.module, in_container)
            return Destination(LOCAL, target.value, scope, in_container)
        return Destination(ESCAPED)
    if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
        container = _container_binding(tree, bindings, target.value)  # ``tasks[key] = ...``
        return container if container.kind == LOCAL else Destination(ESCAPED)
    instance = _instance_attribute(tree, target)
    if instance is not None:
        cls, attr = instance
        return Destination(INSTANCE, attr, cls, in_container)
    return Destination(ESCAPED)  # another subscript, another object's attribute, unpacking


def _container_binding(tree: SyntaxTree, bindings: Bindings, container: cst.BaseExpression) -> Destination:
    """Where a container that a handle was added to lives."""
    if isinstance(container, cst.Name):
        function = tree.enclosing_function(container)
        if function is not None and bindings.is_local(function, container.value):
            return Destination(LOCAL, container.value, function, in_container=True)
        return Destination(ESCAPED)  # a module-level registry such as background_tasks
    instance = _instance_attribute(tree, container)
    if instance is not None:
        cls, attr = instance
        return Destination(INSTANCE, attr, cls, in_container=True)
    return Destination(ESCAPED)


def _instance_attribute(tree: SyntaxTree, expr: cst.BaseExpression):
    """(class, attr) when ``expr`` is ``self.<attr>`` inside a method."""
    if not (isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name)):
        return None
    method = tree.enclosing_method(expr)
    if method is None or expr.value.value != method[2]:
        return None
    return method[1], expr.attr.value


# -- 2. what happens to it afterwards -------------------------------------------


def _classify(tree: SyntaxTree, ref: cst.CSTNode) -> Use:
    return _use_kind(tree, ref)._replace(ref=ref)


def _use_kind(tree: SyntaxTree, ref: cst.CSTNode) -> Use:
    parent_of = tree.parent.get
    parent = parent_of(ref)
    parent_type = type(parent)
    if parent_type is cst.Attribute and parent.value is ref:
        outer = parent_of(parent)
        outer_type = type(outer)
        attr = parent.attr.value
        if outer_type is cst.Call and outer.func is parent:
            return Use(CALL, attr, outer)
        if outer_type is cst.AssignTarget:
            return Use(SET, attr, parent_of(outer))
        if isinstance(outer, _READ_PARENTS) or outer_type in (cst.Attribute, cst.Subscript, cst.Expr):
            return Use(READ, attr)  # ``p.stdout.read()``, ``if t.daemon:``
        if attr in _DATA_ATTRIBUTES or outer_type in (cst.For, cst.CompFor, cst.WithItem):
            return Use(READ, attr)  # ``log(p.pid)``, ``for line in p.stdout:``
        # A method handed on (``atexit.register(t.join)``, ``return t.join``)
        # may be called later: count it as called.
        return Use(CALL, attr, outer)
    if parent_type is cst.Await:
        return Use(AWAIT)
    if parent_type is cst.AssignTarget or (parent_type is cst.AnnAssign and parent.target is ref):
        return Use(STORE)
    if parent_type in (cst.For, cst.CompFor):
        return Use(STORE) if parent.target is ref else Use(ITERATE, None, parent)
    if parent_type is cst.WithItem and parent.item is ref:
        return Use(WITH)
    if parent_type is cst.Subscript and parent.value is ref:
        outer = parent_of(parent)
        if type(outer) is cst.AssignTarget:
            return Use(SET, None, parent_of(outer))  # ``tasks[key] = value`` stores an item, reads none
        return Use(ESCAPE)  # an element taken out (``await tasks[0]``) goes its own way
    if isinstance(parent, _STORE_PARENTS):
        return Use(STORE)
    if isinstance(parent, _READ_PARENTS):
        return Use(READ)
    return Use(ESCAPE)


def _through_loops(tree: SyntaxTree, bindings: Bindings, uses: List[Use]) -> List[Use]:
    """For a container of handles, ``for worker in workers: ...`` uses each
    handle through ``worker``: replace the iteration by what the loop variable
    does (``worker.start()`` starts, ``worker.join()`` joins).  A loop that
    unpacks (``for i, w in enumerate(...)``) stays a use we cannot follow."""
    expanded: List[Use] = []
    for use in uses:
        loop = use.node
        if use.kind != ITERATE or not isinstance(loop, (cst.For, cst.CompFor)) or not isinstance(loop.target, cst.Name):
            expanded.append(use)
            continue
        for ref in bindings.uses_inside(tree.enclosing_scope(loop), loop.target.value):
            if ref is not loop.target:
                expanded.append(_classify(tree, ref))
    return expanded


def value_set(use: Use) -> Optional[cst.BaseExpression]:
    """For a SET use (``h.attr = value``), the value."""
    if use.kind == SET and isinstance(use.node, cst.Assign):
        return use.node.value
    return None
