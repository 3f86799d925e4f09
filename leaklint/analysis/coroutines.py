"""Which calls make a coroutine: the coroutine functions of a module, indexed once.

``is_coroutine(expr)`` answers for a call (or a name bound, in its own scope,
to calls) with True when the value is certainly a coroutine, False when it is
certainly not, None when this module cannot tell:

- a call of a function of the module, resolved by name through Python's
  scopes (a class body is not a scope its methods see): an ``async def`` makes
  a coroutine, an ``async def`` that yields makes an async generator (not a
  coroutine), a plain ``def`` makes one only when every ``return`` hands on a
  coroutine, and none when nothing it returns can be one;
- ``self.m()``, ``cls.m()``, ``super().m()``: the methods ``m`` of the class
  and of the classes of this module it shares instances with;
- the standard library's coroutine functions (``asyncio.sleep``...) and the
  coroutine methods of asyncio's queues, events, locks and conditions, when
  the receiver is bound to one in its scope or class;
- futures (``loop.create_future()``, ``asyncio.Future()``...) are not coroutines.

A name bound by anything else as well (an import, an assignment, a parameter, a
decorator that may wrap the function) is unknown.  Every index is built on
first use, once per name: no question scans the module again.
"""

from __future__ import annotations

from functools import cached_property
from typing import Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Set, Tuple, Union

import libcst as cst

from leaklint.analysis.classes import ClassHierarchy
from leaklint.analysis.names import ImportTable, dotted_name
from leaklint.analysis.tree import SyntaxTree, is_async, walk_scope

# Coroutine functions of the standard library.
COROUTINE_FUNCTIONS = frozenset(
    {
        "asyncio.sleep",
        "asyncio.wait_for",
        "asyncio.wait",
        "asyncio.to_thread",
        "asyncio.open_connection",
        "asyncio.open_unix_connection",
        "asyncio.start_server",
        "asyncio.start_unix_server",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "asyncio.tasks.sleep",
        "asyncio.tasks.wait_for",
        "asyncio.tasks.wait",
        "asyncio.streams.open_connection",
        "asyncio.streams.start_server",
        "asyncio.subprocess.create_subprocess_exec",
        "asyncio.subprocess.create_subprocess_shell",
    }
)

# Calls that return a future or a task: awaitable, but not a coroutine.
FUTURE_FACTORIES = frozenset(
    {
        "asyncio.Future",
        "asyncio.futures.Future",
        "concurrent.futures.Future",
        "concurrent.futures._base.Future",
        "asyncio.create_task",
        "asyncio.ensure_future",
        "asyncio.gather",
        "asyncio.shield",
        "asyncio.wrap_future",
        "asyncio.run_coroutine_threadsafe",
        "asyncio.tasks.create_task",
        "asyncio.tasks.ensure_future",
        "asyncio.tasks.gather",
    }
)
# Event-loop methods that return a future or a task.
_LOOP_FUTURE_METHODS = frozenset({"create_future", "create_task", "run_in_executor"})

# asyncio's synchronisation primitives and their coroutine methods.
_QUEUE_METHODS = frozenset({"put", "get", "join"})
_LOCK_METHODS = frozenset({"acquire"})
_CONDITION_METHODS = frozenset({"acquire", "wait", "wait_for"})
_WAIT_METHODS = frozenset({"wait"})
PRIMITIVE_COROUTINE_METHODS: Dict[str, FrozenSet[str]] = {
    "asyncio.Queue": _QUEUE_METHODS,
    "asyncio.LifoQueue": _QUEUE_METHODS,
    "asyncio.PriorityQueue": _QUEUE_METHODS,
    "asyncio.queues.Queue": _QUEUE_METHODS,
    "asyncio.queues.LifoQueue": _QUEUE_METHODS,
    "asyncio.queues.PriorityQueue": _QUEUE_METHODS,
    "asyncio.Event": _WAIT_METHODS,
    "asyncio.locks.Event": _WAIT_METHODS,
    "asyncio.Barrier": _WAIT_METHODS,
    "asyncio.Lock": _LOCK_METHODS,
    "asyncio.locks.Lock": _LOCK_METHODS,
    "asyncio.Semaphore": _LOCK_METHODS,
    "asyncio.BoundedSemaphore": _LOCK_METHODS,
    "asyncio.locks.Semaphore": _LOCK_METHODS,
    "asyncio.locks.BoundedSemaphore": _LOCK_METHODS,
    "asyncio.Condition": _CONDITION_METHODS,
    "asyncio.locks.Condition": _CONDITION_METHODS,
}
_PRIMITIVE_METHOD_NAMES = frozenset(name for methods in PRIMITIVE_COROUTINE_METHODS.values() for name in methods)

# Decorators that leave what calling the function returns as it was.
TRANSPARENT_DECORATORS = frozenset(
    {
        "staticmethod",
        "classmethod",
        "abc.abstractmethod",
        "functools.wraps",
        "typing.override",
        "typing.final",
        "typing_extensions.override",
        "typing_extensions.final",
    }
)
OVERLOAD_DECORATORS = frozenset({"typing.overload", "typing_extensions.overload"})

# Kinds of binding of a name in a scope.
_DEF = "def"  # ``def name`` / ``async def name``
_ASSIGN = "assign"  # ``name = value`` or ``name: annotation [= value]``
_PARAM = "param"
_IMPORT = "import"
_OTHER = "other"  # for target, with ... as, unpacking, global...


class _Binding(NamedTuple):
    kind: str
    node: cst.CSTNode  # the FunctionDef, the assigned value (or None), the Param
    annotation: Optional[cst.BaseExpression] = None


# Expressions whose value is never a coroutine.
_PLAIN_VALUES = (
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
    cst.List,
    cst.Tuple,
    cst.Set,
    cst.Dict,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.Comparison,
)
_MAX_WRAPPERS = 40
_CONSTANTS = frozenset({"None", "True", "False", "NotImplemented"})


class Coroutines:
    def __init__(self, tree: SyntaxTree, imports: ImportTable, classes: ClassHierarchy, is_event_loop, project=None):
        self._tree = tree
        self._project = project  # a ModuleView: the project's coroutine functions
        self._imports = imports
        self._classes = classes
        self._is_event_loop = is_event_loop
        self._function_names: Set[str] = {function.name.value for function in tree.function_defs}
        self._answers: Dict[cst.CSTNode, Optional[bool]] = {}
        self._in_progress: Set[cst.CSTNode] = set()
        self._name_bindings: Dict[str, Dict[cst.CSTNode, List[_Binding]]] = {}
        self._methods: Dict[cst.ClassDef, Dict[str, List[_Binding]]] = {}
        self._attribute_bindings: Dict[str, Tuple[Dict[cst.ClassDef, List[_Binding]], bool]] = {}
        self._function_answers: Dict[cst.FunctionDef, Optional[bool]] = {}
        self._suspension_asked: Set[cst.FunctionDef] = set()  # a coroutine awaiting itself has no answer
        self._never_suspending: Dict[cst.FunctionDef, bool] = {}
        self._instance_classes: Dict[Tuple[cst.CSTNode, Optional[str]], Optional[cst.ClassDef]] = {}

    # -- the questions ------------------------------------------------------------

    def is_coroutine(self, expr: cst.BaseExpression) -> Optional[bool]:
        """True: certainly a coroutine; False: certainly not; None: unknown."""
        if expr in self._answers:
            return self._answers[expr]
        if expr in self._in_progress or len(self._in_progress) > _MAX_WRAPPERS:
            # ``def f(): return f()`` has no answer, and a chain of wrappers
            # deeper than any real one is not worth Python's stack.
            return None
        self._in_progress.add(expr)
        try:
            answer = self._answer(expr)
        finally:
            self._in_progress.discard(expr)
        self._answers[expr] = answer
        return answer

    def catches_its_own_failures(self, expr: cst.BaseExpression) -> bool:
        """``expr`` calls one ``async def`` of the module (by name, or on
        ``self``) whose every ``await``, but ``asyncio.sleep``, runs in the body
        of a ``try`` with an ``except`` clause: a coroutine that handles what
        its work can raise, fire-and-forget by design (discord.py's
        ``delete_after``, a ``logging_coroutine(coro)`` wrapper)."""
        function = self._one_function_called(expr)
        if function is None or function.asynchronous is None:
            return False
        guarded = False
        for node in self._tree.scope_nodes(function.body).get(cst.Await, ()):
            if isinstance(node.expression, cst.Call) and self._imports.resolves_to(node.expression.func, "asyncio.sleep"):
                continue
            if not self._inside_a_handled_try(node, function):
                return False
            guarded = True
        return guarded

    def never_suspends(self, expr: cst.BaseExpression) -> bool:
        """``expr`` calls one ``async def`` of the module (by name, or on
        ``self``, a private one) with no ``await``, ``async for`` or ``async
        with`` of its own: the task that runs it finishes in its first step
        (textual's ``async def _post_message(m): return self.post_message(m)``)."""
        if not isinstance(expr, cst.Call):
            return False
        if isinstance(expr.func, cst.Attribute) and not expr.func.attr.value.startswith("_"):
            return False  # a public method: a subclass elsewhere may override it with one that suspends
        function = self._one_function_called(expr)
        if function is None:
            return self._project_method_never_suspends(expr.func)
        if function.asynchronous is None or _is_placeholder(function) or function in self._suspension_asked:
            return False  # an empty body is a hook: what runs is someone's override
        known = self._never_suspending.get(function)
        if known is not None:
            return known
        # Once per function: coroutines that each await the next twice were
        # followed along every path, 2 ** depth of them.  (A function met
        # again while it is being looked at may suspend, whoever asked first:
        # the answers of a cycle do not depend on where it is entered.)
        self._suspension_asked.add(function)
        try:
            own = self._tree.scope_nodes(function.body)
            answer = not any(self._suspends(node) for kind in _MAY_SUSPEND for node in own.get(kind, ()))
        finally:
            self._suspension_asked.discard(function)
        self._never_suspending[function] = answer
        return answer

    def waits_to_be_cancelled(self, expr: cst.BaseExpression) -> bool:
        """``expr`` calls one ``async def`` of the module that does nothing
        but sleep forever until it is cancelled, and then does its work:

            try:
                await asyncio.sleep(math.inf)
            except asyncio.CancelledError:
                ...clean up...

        A shutdown hook (anyio's process pool): its task is pending by design
        until ``asyncio.run`` cancels and awaits every task left at exit, and
        the loop's timer holds it until then."""
        function = self._one_function_called(expr)
        if function is None or function.asynchronous is None or not isinstance(function.body, cst.IndentedBlock):
            return False
        for statement in function.body.body:
            if isinstance(statement, (cst.Try, cst.TryStar)):
                return self._sleeps_until_cancelled(statement)
            if not isinstance(statement, cst.SimpleStatementLine) or any(
                isinstance(node, cst.Await) for node in walk_scope(statement)
            ):
                return False  # something before the wait may suspend or fail
        return False

    def _sleeps_until_cancelled(self, statement: Union[cst.Try, cst.TryStar]) -> bool:
        body = statement.body.body
        if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine) or len(body[0].body) != 1:
            return False
        only = body[0].body[0]
        if not (isinstance(only, cst.Expr) and isinstance(only.value, cst.Await) and self._sleeps_forever(only.value.expression)):
            return False
        if statement.finalbody is not None:
            return True
        return any(handler.type is None or _names_cancellation(handler.type) for handler in statement.handlers)

    def _sleeps_forever(self, expr: cst.BaseExpression) -> bool:
        """``asyncio.sleep(math.inf)``, ``anyio.sleep(float("inf"))`` or
        ``anyio.sleep_forever()``: a timer that never fires."""
        if not isinstance(expr, cst.Call):
            return False
        if self._imports.resolves_to(expr.func, "anyio.sleep_forever", "trio.sleep_forever"):
            return not expr.args
        if not self._imports.resolves_to(expr.func, "asyncio.sleep", "anyio.sleep", "trio.sleep") or len(expr.args) != 1:
            return False
        delay = expr.args[0].value
        if self._imports.resolves_to(delay, "math.inf"):
            return True
        return (
            isinstance(delay, cst.Call)
            and isinstance(delay.func, cst.Name)
            and delay.func.value == "float"
            and len(delay.args) == 1
            and isinstance(delay.args[0].value, cst.SimpleString)
            and delay.args[0].value.evaluated_value in ("inf", "infinity")
        )

    def _suspends(self, node: cst.CSTNode) -> bool:
        """``node`` may hand control back to the event loop: an ``await``,
        but of a coroutine that never suspends itself; ``async for`` and
        ``async with`` (a ``yield`` makes an async generator, never a task's
        coroutine)."""
        if isinstance(node, cst.Await):
            return not self.never_suspends(node.expression)
        if isinstance(node, cst.Yield):
            return True
        return isinstance(node, (cst.For, cst.With, cst.CompFor)) and node.asynchronous is not None

    def _project_method_never_suspends(self, func: cst.BaseExpression) -> bool:
        """``self.app._post_message(...)``: ``self.app`` annotated as a
        class of the project whose method never suspends."""
        facts = self._typed_attribute_method(func)
        return facts is not None and facts.never_suspends

    def _typed_attribute_method(self, func: cst.BaseExpression):
        """The project's facts of the method ``self.<attr>.<method>`` calls,
        where an annotation, here or in a base class elsewhere, says which
        project class ``self.<attr>`` is; None when unknown."""
        if self._project is None or not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Attribute):
            return None
        receiver = func.value
        cls = self._instance_class(receiver.value)
        if cls is None:
            return None
        annotated = self._annotated_attribute(cls, receiver.attr.value)
        if annotated is not None:
            target = self._project.class_named(annotated)
        else:
            target = self._project.attribute_class(cls.name.value, receiver.attr.value)
        return self._project.method_of(target, func.attr.value) if target is not None else None

    def _annotated_attribute(self, cls: cst.ClassDef, attr: str) -> Optional[str]:
        """The class, as a dotted name of this module, that every binding of
        ``self.<attr>`` in the class family is annotated with: ``x: T`` in
        the class body, ``self.x: T = ...``, or ``self.x = p`` with ``p: T``."""
        by_class, assigned_elsewhere = self._attribute_bindings_of(attr)
        if assigned_elsewhere:
            return None
        names: Set[str] = set()
        for member in self._classes.family(cls):
            for binding in [*by_class.get(member, ()), *self._class_bindings(member).get(attr, ())]:
                annotation = binding.annotation
                if annotation is None and binding.kind == _ASSIGN and isinstance(binding.node, cst.Name):
                    resolved = self._resolve(binding.node) or []
                    if len(resolved) == 1 and resolved[0].kind == _PARAM:
                        annotation = resolved[0].annotation
                name = _annotated_class(annotation)
                if name is None:
                    return None
                names.add(name)
        return names.pop() if len(names) == 1 else None

    def _one_function_called(self, expr: cst.BaseExpression) -> Optional[cst.FunctionDef]:
        if not isinstance(expr, cst.Call):
            return None
        func = expr.func
        if isinstance(func, cst.Name) and func.value in self._function_names and not self._imports.qualified_names(func):
            bindings = self._resolve(func) or []
        elif isinstance(func, cst.Attribute) and func.attr.value in self._function_names:
            cls = self._instance_class(func.value)
            if cls is None:
                return None
            bindings = [b for member in self._classes.family(cls) for b in self._class_bindings(member).get(func.attr.value, ())]
        else:
            return None
        if len(bindings) != 1 or bindings[0].kind != _DEF:
            return None
        return bindings[0].node

    def _inside_a_handled_try(self, node: cst.CSTNode, function: cst.FunctionDef) -> bool:
        child = node
        for ancestor in self._tree.ancestors(node):
            if ancestor is function:
                return False
            if isinstance(ancestor, (cst.Try, cst.TryStar)) and ancestor.body is child and ancestor.handlers:
                return True
            child = ancestor
        return False

    @cached_property
    def functions(self) -> FrozenSet[cst.FunctionDef]:
        """The module's functions and methods whose call makes a coroutine."""
        return frozenset(f for f in self._tree.function_defs if self._function_makes_coroutine(f) is True)

    # -- expressions ----------------------------------------------------------------

    def _answer(self, expr: cst.BaseExpression) -> Optional[bool]:
        if isinstance(expr, cst.Call):
            return self._call(expr)
        if isinstance(expr, cst.Name):
            return self._name_value(expr)
        return None

    def _call(self, call: cst.Call) -> Optional[bool]:
        func = call.func
        qualified = self._imports.qualified_names(func)
        if qualified:
            if not self._names_an_import(func):
                return None  # ``sleep = time.sleep`` over ``from asyncio import sleep``
            if qualified <= COROUTINE_FUNCTIONS:
                return True
            if qualified <= FUTURE_FACTORIES:
                return False
            return self._project_answer(func)
        if isinstance(func, cst.Name):
            if func.value not in self._function_names:
                return self._project_answer(func) if self._names_an_import(func) else None
            return self._of_bindings(self._resolve(func), self._function_makes_coroutine)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in _LOOP_FUTURE_METHODS and self._is_event_loop(func.value):
                return False
            if method in self._function_names:
                answer = self._method_call(func.value, method)
                if answer is not None:
                    return answer
            if method in _PRIMITIVE_METHOD_NAMES:
                kind = self._primitive_kind(func.value)
                if kind is not None and method in PRIMITIVE_COROUTINE_METHODS[kind]:
                    return True
            if self._project is not None:
                cls = self._instance_class(func.value) if isinstance(func.value, cst.Name) else None
                if cls is not None and method not in self._function_names:
                    # ``self.fetch()``, ``fetch`` an ``async def`` of a base class in another module
                    return True if self._project.is_coroutine_function(f"{cls.name.value}.{method}") else None
                if self._names_an_import(func):
                    return self._project_answer(func)  # ``from . import helpers``; ``helpers.fetch()``
                facts = self._typed_attribute_method(func)  # ``self.app.fetch()``, ``app: App``
                if facts is not None and facts.is_async:
                    return True
        return None

    def _project_answer(self, func: cst.BaseExpression) -> Optional[bool]:
        """An ``async def`` of another module of the project: a coroutine.
        Anything else the project says stays unknown here."""
        if self._project is None:
            return None
        dotted = dotted_name(func)
        return True if dotted is not None and self._project.is_coroutine_function(dotted) else None

    def _names_an_import(self, expr: cst.BaseExpression) -> bool:
        """The first name of ``a.b.c`` refers to what an import bound, not
        to a local of the same name."""
        while isinstance(expr, cst.Attribute):
            expr = expr.value
        bindings = self._resolve(expr) if isinstance(expr, cst.Name) else None
        return bool(bindings) and all(binding.kind == _IMPORT for binding in bindings)

    def _name_value(self, name: cst.Name) -> Optional[bool]:
        """A variable bound, in its own scope, only to values with one answer."""
        scope = self._tree.enclosing_scope(name)
        bindings = self._bindings_of(name.value).get(scope)
        if not bindings or any(binding.kind != _ASSIGN or not isinstance(binding.node, cst.Call) for binding in bindings):
            return None
        answers = {self.is_coroutine(binding.node) for binding in bindings}
        return answers.pop() if len(answers) == 1 else None

    def _of_bindings(self, bindings: Optional[List[_Binding]], answer_for_def) -> Optional[bool]:
        """One answer for every ``def`` that binds the name, or None when
        something else binds it too (an import, an assignment, a parameter)."""
        if not bindings or any(binding.kind != _DEF for binding in bindings):
            return None
        defs = [binding.node for binding in bindings if not self._decorated_with(binding.node, OVERLOAD_DECORATORS)]
        answers = {answer_for_def(function) for function in defs}
        return answers.pop() if len(answers) == 1 else None

    # -- functions ------------------------------------------------------------------

    def _function_makes_coroutine(self, function: cst.FunctionDef) -> Optional[bool]:
        if function in self._function_answers:
            return self._function_answers[function]
        self._function_answers[function] = None  # while we look: recursion is unknown
        answer = self._function_answer(function)
        self._function_answers[function] = answer
        return answer

    def _function_answer(self, function: cst.FunctionDef) -> Optional[bool]:
        for decorator in function.decorators:
            if not self._is_transparent(decorator.decorator):
                return None  # the decorator may return anything
        own = self._tree.scope_nodes(function.body)
        if cst.Yield in own:
            return False  # a generator, or an async generator: not a coroutine
        if is_async(function):
            return True
        returned = [node.value for node in own.get(cst.Return, ()) if node.value is not None]
        if not returned:
            return False
        answers = {self._returned_value(value) for value in returned}
        return answers.pop() if len(answers) == 1 else None

    def _returned_value(self, value: cst.BaseExpression) -> Optional[bool]:
        if isinstance(value, _PLAIN_VALUES) or (isinstance(value, cst.Name) and value.value in _CONSTANTS):
            return False
        return self.is_coroutine(value)

    def _is_transparent(self, decorator: cst.BaseExpression) -> bool:
        target = decorator.func if isinstance(decorator, cst.Call) else decorator
        names = self._imports.qualified_names(target)
        if not names and isinstance(target, cst.Name):
            names = frozenset({target.value})  # the builtins staticmethod, classmethod
        return bool(names) and names <= (TRANSPARENT_DECORATORS | OVERLOAD_DECORATORS)

    def _decorated_with(self, function: cst.FunctionDef, wanted: FrozenSet[str]) -> bool:
        return any(not self._imports.qualified_names(d.decorator).isdisjoint(wanted) for d in function.decorators)

    # -- methods ---------------------------------------------------------------------

    def _method_call(self, receiver: cst.BaseExpression, method: str) -> Optional[bool]:
        cls = self._instance_class(receiver)
        assigned_by_class, assigned_elsewhere = self._attribute_bindings_of(method)
        if cls is None or assigned_by_class or assigned_elsewhere:
            return None  # not our instance, or ``obj.<method> = ...`` somewhere
        bindings: List[_Binding] = []
        for member in self._classes.family(cls):
            bindings.extend(self._class_bindings(member).get(method, ()))
        return self._of_bindings(bindings, self._function_makes_coroutine)

    def _instance_class(self, receiver: cst.BaseExpression) -> Optional[cst.ClassDef]:
        """The class of this module whose instance (or class) ``receiver`` is:
        ``self``, ``cls`` or ``super()`` inside one of its methods."""
        if type(receiver) is cst.Name:
            name: Optional[str] = receiver.value
        elif type(receiver) is cst.Call and not receiver.args and self._imports.is_builtin(receiver.func, "super"):
            name = None
        else:
            return None
        # Every ``self.<method>()`` asks: answered once per scope and name.
        key = (self._tree.enclosing_scope(receiver), name)
        if key not in self._instance_classes:
            self._instance_classes[key] = self._class_of_instance_in(*key)
        return self._instance_classes[key]

    def _class_of_instance_in(self, innermost: cst.CSTNode, name: Optional[str]) -> Optional[cst.ClassDef]:
        """The class whose instance ``name`` (``None``: ``super()``) is in
        scope ``innermost``: the first parameter of the method around it."""
        tree = self._tree
        scope = innermost
        while type(scope) is not cst.Module:
            if type(scope) is cst.ClassDef:
                return None
            if type(scope) is cst.FunctionDef:
                owner = tree.method_owner(scope)
                if owner is not None:
                    if name is None:
                        return owner
                    params = scope.params.posonly_params or scope.params.params
                    static = any(
                        type(d.decorator) is cst.Name and d.decorator.value == "staticmethod" for d in scope.decorators
                    )
                    return owner if params and not static and params[0].name.value == name else None
                # a closure inside a method sees the method's ``self``
            scope = tree.enclosing_scope(scope)
        return None

    def _class_bindings(self, cls: cst.ClassDef) -> Dict[str, List[_Binding]]:
        """What the class body binds: its methods, and its other names."""
        found = self._methods.get(cls)
        if found is None:
            found = self._methods[cls] = {}
            for statement in _statements(cls.body):
                if isinstance(statement, cst.FunctionDef):
                    found.setdefault(statement.name.value, []).append(_Binding(_DEF, statement))
                elif isinstance(statement, cst.ClassDef):
                    found.setdefault(statement.name.value, []).append(_Binding(_OTHER, statement))
                elif isinstance(statement, cst.SimpleStatementLine):
                    for small in statement.body:
                        for target, binding in _class_level_assignments(small):
                            found.setdefault(target, []).append(binding)
        return found

    def _attribute_bindings_of(self, attr: str) -> Tuple[Dict[cst.ClassDef, List[_Binding]], bool]:
        """The assignments ``self.<attr> = value`` by class, and whether
        anything else assigns ``<something>.<attr>``: one scan per name."""
        found = self._attribute_bindings.get(attr)
        if found is None:
            by_class: Dict[cst.ClassDef, List[_Binding]] = {}
            elsewhere = False
            for attribute in self._tree.attributes.get(attr, ()):
                binding = _assignment(self._tree, attribute)
                if binding is None:
                    if _is_other_target(self._tree, attribute):
                        elsewhere = True
                    continue
                cls = self._instance_class(attribute.value)
                if cls is None:
                    elsewhere = True
                else:
                    by_class.setdefault(cls, []).append(binding)
            found = self._attribute_bindings[attr] = (by_class, elsewhere)
        return found

    # -- asyncio primitives ------------------------------------------------------

    def _primitive_kind(self, receiver: cst.BaseExpression) -> Optional[str]:
        """The asyncio primitive (``asyncio.Queue``...) ``receiver`` is bound
        to: a variable in the scope it resolves to, or ``self.<attr>`` in the
        class and the classes it shares instances with."""
        if isinstance(receiver, cst.Name):
            return self._one_primitive(self._resolve(receiver))
        if isinstance(receiver, cst.Attribute):
            cls = self._instance_class(receiver.value)
            if cls is None:
                return None
            by_class, assigned_elsewhere = self._attribute_bindings_of(receiver.attr.value)
            if assigned_elsewhere:
                return None
            bindings: List[_Binding] = []
            for member in self._classes.family(cls):
                bindings.extend(by_class.get(member, ()))
                bindings.extend(self._class_bindings(member).get(receiver.attr.value, ()))
            return self._one_primitive(bindings)
        return None

    def _one_primitive(self, bindings: Optional[List[_Binding]]) -> Optional[str]:
        """The one primitive every binding makes (``None`` placeholders
        aside), or None when some binding may be anything else."""
        kinds = set()
        for binding in bindings or ():
            if binding.kind not in (_ASSIGN, _PARAM):
                return None
            value = binding.node if binding.kind == _ASSIGN else None
            if isinstance(value, cst.Name) and value.value == "None":
                continue  # ``self._queue = None`` until it is made
            if isinstance(value, cst.Call):
                kind = self._primitive_of(value.func)
            elif value is None and binding.annotation is not None:
                kind = self._primitive_of(binding.annotation)  # ``queue: asyncio.Queue``
            else:
                return None
            if kind is None:
                return None
            kinds.add(kind)
        return kinds.pop() if len(kinds) == 1 else None

    def _primitive_of(self, expr: cst.BaseExpression) -> Optional[str]:
        if isinstance(expr, cst.Subscript):
            expr = expr.value  # ``asyncio.Queue[int]``
        if isinstance(expr, cst.SimpleString):
            return None
        names = [name for name in self._imports.qualified_names(expr) if name in PRIMITIVE_COROUTINE_METHODS]
        return names[0] if len(names) == 1 else None

    # -- names and scopes ------------------------------------------------------------

    def _resolve(self, name: cst.Name) -> Optional[List[_Binding]]:
        """The bindings of the scope ``name`` refers to, following Python's
        rules: the innermost function scope (or the class body itself) that
        binds it, skipping the class bodies around methods, then the module."""
        by_scope = self._bindings_of(name.value)
        for depth, scope in enumerate(self._tree.scope_chain(name)):
            if isinstance(scope, cst.ClassDef) and depth > 0:
                continue
            bindings = by_scope.get(scope)
            if not bindings:
                continue
            if any(binding.kind == _OTHER and isinstance(binding.node, cst.Global) for binding in bindings):
                return by_scope.get(self._tree.module)
            if any(binding.kind == _OTHER and isinstance(binding.node, cst.Nonlocal) for binding in bindings):
                continue
            return bindings
        return None

    def _bindings_of(self, name: str) -> Dict[cst.CSTNode, List[_Binding]]:
        """Every binding of ``name``, by scope: one scan of its references."""
        found = self._name_bindings.get(name)
        if found is None:
            found = {}
            for ref in self._tree.names.get(name, ()):
                scoped = self._binding(ref)
                if scoped is not None:
                    scope, binding = scoped
                    found.setdefault(scope, []).append(binding)
            self._name_bindings[name] = found
        return found

    def _binding(self, ref: cst.Name) -> Optional[Tuple[cst.CSTNode, _Binding]]:
        tree = self._tree
        parent = tree.parent.get(ref)
        parent_type = type(parent)
        if parent_type in _READ_ONLY_PARENTS:
            return None  # most uses: ``self.x``, ``f(x)``, ``x + 1``
        if parent_type is cst.Attribute and parent.value is ref and type(tree.parent.get(parent)) not in _IMPORTED_CHAIN:
            return None  # ``self.x``, read or assigned: the name itself is read
        if (parent_type is cst.FunctionDef or parent_type is cst.ClassDef) and parent.name is ref:
            kind = _DEF if parent_type is cst.FunctionDef else _OTHER
            return tree.enclosing_scope(parent), _Binding(kind, parent)
        scope = tree.enclosing_scope(ref)
        if parent_type is cst.Param and parent.name is ref:
            return scope, _Binding(_PARAM, parent, parent.annotation.annotation if parent.annotation else None)
        if parent_type is cst.NameItem:
            return scope, _Binding(_OTHER, tree.parent[parent])  # global or nonlocal
        if _is_import(tree, ref):
            return scope, _Binding(_IMPORT, ref)
        binding = _assignment(tree, ref)
        if binding is not None:
            return scope, binding
        if _is_other_target(tree, ref):
            return scope, _Binding(_OTHER, ref)
        return None


_OPTIONAL_TYPES = frozenset({"Optional", "typing.Optional", "Union", "typing.Union"})


def _annotated_class(annotation: Optional[cst.BaseExpression]) -> Optional[str]:
    """``App``, ``"App"``, ``Optional[App]``, ``App | None``, ``App[T]``: the dotted name of the class."""
    for _ in range(4):  # ``Optional["App"]``: a string inside, or around, the rest
        if isinstance(annotation, cst.SimpleString):
            try:
                annotation = cst.parse_expression(annotation.evaluated_value.strip())
            except (cst.ParserSyntaxError, ValueError, TypeError):
                return None
        if isinstance(annotation, cst.Subscript):
            if dotted_name(annotation.value) not in _OPTIONAL_TYPES:
                annotation = annotation.value  # ``App[Any]``: a generic class
                continue
            elements = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
            elements = [e for e in elements if not (isinstance(e, cst.Name) and e.value == "None")]
            annotation = elements[0] if len(elements) == 1 else None
        elif isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
            sides = [side for side in (annotation.left, annotation.right) if not (isinstance(side, cst.Name) and side.value == "None")]
            annotation = sides[0] if len(sides) == 1 else None
    return dotted_name(annotation) if annotation is not None else None


def _names_cancellation(expr: cst.BaseExpression) -> bool:
    """An ``except`` type that catches cancellation: ``CancelledError`` (of
    asyncio or ``concurrent.futures``) or ``BaseException``, alone or in a tuple."""
    if isinstance(expr, cst.Tuple):
        return any(_names_cancellation(element.value) for element in expr.elements)
    name = dotted_name(expr)
    return name is not None and name.rsplit(".", 1)[-1] in ("CancelledError", "BaseException")


def _is_placeholder(function: cst.FunctionDef) -> bool:
    """A body of only a docstring, ``pass``, ``...`` or ``raise
    NotImplementedError``: a hook for subclasses to fill in."""
    body = function.body
    statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
    for statement in statements:
        smalls = statement.body if isinstance(statement, cst.SimpleStatementLine) else [statement]
        for small in smalls:
            if isinstance(small, cst.Pass):
                continue
            if isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis)):
                continue
            if isinstance(small, cst.Raise) and small.exc is not None and "NotImplementedError" in _source_head(small.exc):
                continue
            return False
    return True


def _source_head(expr: cst.BaseExpression) -> str:
    while isinstance(expr, (cst.Call, cst.Attribute)):
        expr = expr.func if isinstance(expr, cst.Call) else expr.attr
    return expr.value if isinstance(expr, cst.Name) else ""


def _statements(block: cst.BaseSuite) -> Iterable[cst.CSTNode]:
    """The statements of a class body, those under ``if``/``try``/``with`` included."""
    pending = list(getattr(block, "body", ()))
    while pending:
        statement = pending.pop()
        if isinstance(statement, (cst.If, cst.Try, cst.TryStar, cst.With, cst.For, cst.While)):
            pending.extend(inner for suite in _suites(statement) for inner in getattr(suite, "body", ()))
        else:
            yield statement


def _suites(statement: cst.CSTNode) -> Iterable[cst.BaseSuite]:
    """The blocks of a compound statement: body, else/elif, handlers, finally."""
    yield statement.body
    for handler in getattr(statement, "handlers", ()):
        yield handler.body
    orelse = getattr(statement, "orelse", None)
    if isinstance(orelse, cst.If):
        yield from _suites(orelse)
    elif orelse is not None:
        yield orelse.body
    finalbody = getattr(statement, "finalbody", None)
    if finalbody is not None:
        yield finalbody.body


def _class_level_assignments(small: cst.BaseSmallStatement) -> Iterable[Tuple[str, _Binding]]:
    """``name = value`` and ``name: annotation [= value]`` in a class body;
    any other target binds something we do not follow."""
    if isinstance(small, cst.Assign):
        for target in small.targets:
            if isinstance(target.target, cst.Name):
                yield target.target.value, _Binding(_ASSIGN, small.value)
    elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
        yield small.target.value, _Binding(_ASSIGN, small.value, small.annotation.annotation)
    elif isinstance(small, (cst.AugAssign, cst.Import, cst.ImportFrom)):
        for node in _bound_names(small):
            yield node, _Binding(_OTHER, small)


def _bound_names(small: cst.BaseSmallStatement) -> Iterable[str]:
    if isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
        yield small.target.value
    elif isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
        for alias in small.names:
            local = alias.asname.name if alias.asname is not None else alias.name
            while isinstance(local, cst.Attribute):
                local = local.value
            if isinstance(local, cst.Name):
                yield local.value


def _assignment(tree: SyntaxTree, target: cst.BaseExpression) -> Optional[_Binding]:
    """``target = value`` or ``target: annotation [= value]``, as a binding."""
    holder = tree.parent.get(target)
    if type(holder) is cst.AssignTarget and holder.target is target:
        return _Binding(_ASSIGN, tree.parent[holder].value)
    if type(holder) is cst.AnnAssign and holder.target is target:
        return _Binding(_ASSIGN, holder.value, holder.annotation.annotation)
    return None


def _is_import(tree: SyntaxTree, ref: cst.Name) -> bool:
    """``ref`` is the name an import binds (``import a.b`` binds ``a``)."""
    node: cst.CSTNode = ref
    parent = tree.parent.get(ref)
    while type(parent) is cst.Attribute and parent.value is node:
        node, parent = parent, tree.parent.get(parent)
    if type(parent) is cst.AsName:
        return type(tree.parent.get(parent)) is cst.ImportAlias
    return type(parent) is cst.ImportAlias


# The nodes that ``Coroutines._suspends`` may say yes to, the ones it answers
# without looking elsewhere first: an ``await`` is followed into what it
# awaits, so a body with an ``async with`` is known to suspend before any.
_MAY_SUSPEND = (cst.Yield, cst.For, cst.With, cst.CompFor, cst.Await)

# Sets of concrete node types, compared with ``type(node) in``: libcst's
# classes are ABCs, and an ``isinstance`` that fails costs a call of
# ``ABCMeta.__instancecheck__``, which these checks of every name's parent
# made a tenth of a large module's analysis.
_TARGET_HOLDERS = frozenset({cst.Element, cst.StarredElement, cst.Tuple, cst.List})
_TARGETED = frozenset({cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.NamedExpr, cst.For, cst.CompFor})
_PATTERN_CAPTURES = frozenset({cst.MatchAs, cst.MatchStar, cst.MatchMapping})
# What may hold ``a.b`` when ``a`` is the name an import binds (``import a.b.c``).
_IMPORTED_CHAIN = frozenset({cst.Attribute, cst.ImportAlias})
# A name under one of these is read, never bound (``_binding`` asks these first).
_READ_ONLY_PARENTS = frozenset(
    {
        cst.Call,
        cst.Arg,
        cst.Expr,
        cst.Return,
        cst.Await,
        cst.Comparison,
        cst.ComparisonTarget,
        cst.BinaryOperation,
        cst.BooleanOperation,
        cst.UnaryOperation,
        cst.Subscript,
        cst.Index,
        cst.IfExp,
        cst.If,
        cst.While,
        cst.DictElement,
        cst.FormattedStringExpression,
        cst.Decorator,
        cst.Annotation,
        cst.Raise,
        cst.Assert,
    }
)


def _is_other_target(tree: SyntaxTree, target: cst.BaseExpression) -> bool:
    """``target`` (a name or an attribute) is bound by something other than a
    plain assignment: a ``for``, ``with ... as``, ``except ... as``,
    unpacking, an augmented assignment, ``del``, ``:=`` or a pattern."""
    node: cst.CSTNode = target
    parent = tree.parent.get(node)
    while type(parent) in _TARGET_HOLDERS:
        node, parent = parent, tree.parent.get(parent)
    parent_type = type(parent)
    if parent_type is cst.AsName:
        return parent.name is node
    if parent_type in _TARGETED:
        return parent.target is node
    return parent_type is cst.Del or parent_type in _PATTERN_CAPTURES
