"""What one module tells the modules that import it: its summary.

Like the *facts* of Go's analysis framework, a summary is computed from one
file and nothing else, is small plain data (JSON, with a stable digest), and is
read by the analysis of the files that import the module
(:mod:`leaklint.analysis.project` resolves it across modules).  It records,
per module-level function, method (``Class.method``) and class:

- ``async def`` functions (calling one makes a coroutine);
- functions that return a fresh handle, and of which kind: ``return
  asyncio.create_task(c)``, ``return self.loop.create_task(...)``, ``t =
  Thread(...); t.start(); return t``; through one level of wrapping in the
  module (``def go(): return spawn(x())``), and as a reference the index
  resolves (``returns_via``) when the wrapped function is imported;
- classes: their bases as written (dotted names resolved through the module's
  imports), whether a base is ``Thread``/``Process`` itself, whether their
  ``run()`` is long-lived and whether they make themselves daemons;
- functions whose body is long-lived (a ``while`` that ends only when told to,
  a blocking wait with no timeout), for thread targets;
- functions that release a parameter (``def stop(t): t.join()``);
- the names the module binds from elsewhere (its re-exports), ``__all__`` and
  star imports.

A *reference* names an object as the module wrote it, resolved through its own
imports only: ``"<module>:<qualified name>"``, where the module is absolute
(``asyncio:create_task``), relative as written (``..util:spawn``) or empty for
this module (``:Worker``).  ``a:b.c`` may mean ``c`` of module ``a.b`` or
attribute ``b.c`` of module ``a``: the index decides, knowing the project's
modules.  Unknown or ambiguous things are left out: unknown means quiet.

Built with Python's ``ast`` (ten times cheaper than libcst), in one pass over
the module: module-level statements once, each function body once.
"""

from __future__ import annotations

import ast
import hashlib
import json
import warnings
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Set, Tuple, Union

from leaklint.analysis.creations import (
    _CONSTRUCTORS,
    _LOOP_FACTORIES,
    _LOOP_METHODS,
    _LOOP_NAMES,
    _QUEUES,
    _WORKER_BASES,
    QUEUE,
    TASK,
    WORKER,
)

FORMAT = 2  # 2: attribute types of classes, coroutines that never suspend

# Methods that release the handle they are called on (a parameter released by
# a function releases the caller's handle).
RELEASE_METHODS = frozenset({"join", "shutdown", "wait", "cancel", "communicate"})
# What a function may do to a handle it creates and still hand it back fresh:
# the caller then owns it alone.
_FRESH_METHODS = frozenset({"start", "setDaemon", "add_done_callback", "set_name", "setName"})
# Decorators that leave what calling the function returns as it is.
_TRANSPARENT_DECORATORS = frozenset({"staticmethod", "classmethod", "abstractmethod", "override", "overload"})
# Calls that block with no timeout when given no arguments.
_BLOCKING_METHODS = frozenset({"get", "wait", "recv", "accept"})
_SERVING_METHODS = frozenset({"serve_forever"})

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_OPTIONAL_TYPES = frozenset({"Optional", "typing.Optional", "Union", "typing.Union"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


class Returned(NamedTuple):
    """A fresh handle a function returns: its kind (see ``creations``) and the
    constructor that made it, for messages (``asyncio.create_task``)."""

    kind: str
    name: str
    started: bool = False  # a worker the function started before returning it
    # For a worker: its target (a function of the same module) or run() runs
    # until told to stop; None when that is not known.
    long_lived: Optional[bool] = None


class FunctionSummary(NamedTuple):
    is_async: bool = False
    returns: Optional[Returned] = None
    # Every return is a call of this reference; the index resolves it (a
    # function of another module, or a class: its instance).
    returns_via: Optional[str] = None
    long_lived: bool = False
    # The positional parameters a caller passes (for a method called on an
    # instance, without ``self``), and those the function releases.
    params: Tuple[str, ...] = ()
    releases: Tuple[str, ...] = ()
    # An ``async def`` with no ``await``, ``async for`` or ``async with`` of
    # its own, and more than a placeholder body: its task ends in one step.
    never_suspends: bool = False


class ClassSummary(NamedTuple):
    bases: Tuple[str, ...] = ()  # references; "?" for a base that is no plain name
    thread_base: Optional[str] = None  # "threading.Thread" when a base is one itself
    run_long_lived: Optional[bool] = None  # None: no run() of its own
    sets_daemon: bool = False
    starts_itself: bool = False  # a method calls ``self.start()``
    # ``self.app = app`` with ``app: App`` (or ``self.app: App``, or ``app:
    # App`` in the class body): the class of an attribute, as a reference.
    attribute_types: Dict[str, str] = {}


_NO_FACTS = FunctionSummary()


class ModuleSummary(NamedTuple):
    functions: Dict[str, FunctionSummary] = {}
    classes: Dict[str, ClassSummary] = {}
    # Module-level names bound from elsewhere (imports, ``x = other.y``); None
    # when bound more than once to different things.
    names: Dict[str, Optional[str]] = {}
    all: Optional[Tuple[str, ...]] = None  # __all__, when it is a literal
    star_imports: Tuple[str, ...] = ()  # modules of ``from m import *``
    imports: Tuple[str, ...] = ()  # every module the file imports, relative as written
    error: Optional[str] = None  # the file does not parse: everything else is empty

    def without_bodies(self) -> "ModuleSummary":
        """What ``summarize(..., bodies=False)`` gives for the same module: its
        names, classes and bases, no facts of function bodies, no ``__all__``
        (the summary of a module being checked, from one the index holds).
        Only ``imports`` keeps the modules imported inside functions too: no
        question of the index reads it."""
        if self.error is not None:
            return self
        return self._replace(
            functions={name: _NO_FACTS for name in self.functions},
            classes={name: ClassSummary(bases=facts.bases, thread_base=facts.thread_base) for name, facts in self.classes.items()},
            all=None,
        )

    # -- plain data -------------------------------------------------------------

    def to_data(self) -> Dict[str, Any]:
        return {
            "format": FORMAT,
            "functions": {name: _function_data(facts) for name, facts in sorted(self.functions.items())},
            "classes": {name: _class_data(facts) for name, facts in sorted(self.classes.items())},
            "names": dict(sorted(self.names.items())),
            "all": list(self.all) if self.all is not None else None,
            "star_imports": list(self.star_imports),
            "imports": list(self.imports),
            "error": self.error,
        }

    @classmethod
    def from_data(cls, data: Dict[str, Any]) -> "ModuleSummary":
        """The inverse of :meth:`to_data`; raises ValueError on anything else."""
        try:
            if data["format"] != FORMAT:
                raise ValueError(f"summary format {data['format']!r}, not {FORMAT}")
            return cls(
                functions={str(name): _function_from(value) for name, value in data["functions"].items()},
                classes={str(name): _class_from(value) for name, value in data["classes"].items()},
                names={str(name): (None if ref is None else str(ref)) for name, ref in data["names"].items()},
                all=None if data["all"] is None else tuple(str(name) for name in data["all"]),
                star_imports=tuple(str(ref) for ref in data["star_imports"]),
                imports=tuple(str(ref) for ref in data["imports"]),
                error=None if data["error"] is None else str(data["error"]),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"malformed summary: {error}") from None

    def to_json(self) -> str:
        """Canonical JSON: equal summaries give equal text."""
        return json.dumps(self.to_data(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "ModuleSummary":
        return cls.from_data(json.loads(text))

    @property
    def digest(self) -> str:
        return hashlib.blake2b(self.to_json().encode("utf-8"), digest_size=12).hexdigest()


def _function_data(facts: FunctionSummary) -> Dict[str, Any]:
    data: Dict[str, Any] = {}
    if facts.is_async:
        data["async"] = True
    if facts.returns is not None:
        data["returns"] = list(facts.returns)
    if facts.returns_via is not None:
        data["returns_via"] = facts.returns_via
    if facts.long_lived:
        data["long_lived"] = True
    if facts.releases:
        data["params"] = list(facts.params)
        data["releases"] = list(facts.releases)
    if facts.never_suspends:
        data["never_suspends"] = True
    return data


def _function_from(data: Dict[str, Any]) -> FunctionSummary:
    returns = data.get("returns")
    return FunctionSummary(
        is_async=bool(data.get("async", False)),
        returns=None if returns is None else Returned(str(returns[0]), str(returns[1]), bool(returns[2]), returns[3]),
        returns_via=data.get("returns_via"),
        long_lived=bool(data.get("long_lived", False)),
        params=tuple(str(name) for name in data.get("params", ())),
        releases=tuple(str(name) for name in data.get("releases", ())),
        never_suspends=bool(data.get("never_suspends", False)),
    )


def _class_data(facts: ClassSummary) -> Dict[str, Any]:
    return {
        "bases": list(facts.bases),
        "thread_base": facts.thread_base,
        "run_long_lived": facts.run_long_lived,
        "sets_daemon": facts.sets_daemon,
        "starts_itself": facts.starts_itself,
        "attribute_types": dict(sorted(facts.attribute_types.items())),
    }


def _class_from(data: Dict[str, Any]) -> ClassSummary:
    run = data["run_long_lived"]
    return ClassSummary(
        bases=tuple(str(ref) for ref in data["bases"]),
        thread_base=data["thread_base"],
        run_long_lived=None if run is None else bool(run),
        sets_daemon=bool(data["sets_daemon"]),
        starts_itself=bool(data["starts_itself"]),
        attribute_types={str(name): str(ref) for name, ref in data["attribute_types"].items()},
    )


EMPTY = ModuleSummary()


# -- building a summary --------------------------------------------------------------


def summarize(source: Union[str, bytes, ast.Module], bodies: bool = True) -> ModuleSummary:
    """The summary of one module, from its source or its ``ast`` tree (the
    engine has one already).  A module that does not parse has an empty
    summary with its error.

    ``bodies=False`` reads no function body and leaves out ``__all__``: the
    names, classes and bases of a module being checked, which is all its own
    analysis needs from the index (what ``project.summary_of_cst`` gives from
    a libcst tree)."""
    if isinstance(source, ast.Module):
        tree = source
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(source)
        except SyntaxError as error:
            return ModuleSummary(error=f"syntax error at {error.lineno}:{error.offset or 1}: {error.msg}")
        except (ValueError, RecursionError, MemoryError) as error:  # null bytes, nesting
            return ModuleSummary(error=f"cannot parse: {type(error).__name__}")
    try:
        return _Summarizer(tree, bodies).summary()
    except RecursionError:
        return ModuleSummary(error="too deeply nested to summarise")


def full_name(ref: str) -> str:
    """``asyncio:create_task`` -> ``asyncio.create_task``."""
    module, _, qualified = ref.partition(":")
    return f"{module}.{qualified}" if module and qualified else module or qualified


def _module_statements(body: List[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run at module level, conditional ones included
    (``if``, ``try``, ``with`` bodies), but not function or class bodies."""
    stack = list(reversed(body))
    while stack:
        statement = stack.pop()
        yield statement
        if isinstance(statement, (ast.If, ast.While, ast.For, ast.AsyncFor)):
            stack.extend(reversed(statement.body + statement.orelse))
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            stack.extend(reversed(statement.body))
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            handlers = [line for handler in statement.handlers for line in handler.body]
            stack.extend(reversed(statement.body + handlers + statement.orelse + statement.finalbody))


def _scope_statements(body: List[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a function's own scope: those of its blocks (``if``,
    loops, ``with``, ``try``, ``match``), not those of nested functions and
    classes."""
    stack = list(body)
    while stack:
        statement = stack.pop()
        yield statement
        if isinstance(statement, _SCOPES):
            continue
        for field in ("body", "orelse", "finalbody"):
            block = getattr(statement, field, None)
            if type(block) is list:
                stack.extend(block)
        for holder in getattr(statement, "handlers", None) or getattr(statement, "cases", None) or ():
            stack.extend(holder.body)


def annotated_class(annotation: Optional[ast.expr]) -> Optional[ast.expr]:
    """The class in ``App``, ``"App"``, ``Optional[App]``, ``App | None``,
    ``App[T]``: a name or a dotted attribute chain; None for anything else."""
    for _ in range(4):  # ``Optional["App"]``: a string inside, or around, the rest
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value.strip(), mode="eval").body
            except (SyntaxError, ValueError):
                return None
        if isinstance(annotation, ast.Subscript):
            if _dotted(annotation.value) not in _OPTIONAL_TYPES:
                annotation = annotation.value  # ``App[Any]``: a generic class
                continue
            inner = annotation.slice
            elements = inner.elts if isinstance(inner, ast.Tuple) else [inner]
            elements = [e for e in elements if not (isinstance(e, ast.Constant) and e.value is None)]
            annotation = elements[0] if len(elements) == 1 else None
        elif isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            sides = [side for side in (annotation.left, annotation.right) if not (isinstance(side, ast.Constant) and side.value is None)]
            annotation = sides[0] if len(sides) == 1 else None
    return annotation if annotation is not None and _dotted(annotation) is not None else None


def _dotted(expr: ast.AST) -> Optional[str]:
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


def _import_module_ref(node: ast.ImportFrom) -> str:
    return "." * (node.level or 0) + (node.module or "")


def _is_false(expr: ast.AST) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is False


def _keyword(call: ast.Call, name: str) -> Optional[ast.expr]:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


class _Bindings:
    """Names bound by imports and aliases, in one scope; a name bound to two
    different things is ambiguous (None)."""

    def __init__(self) -> None:
        self.refs: Dict[str, Optional[str]] = {}

    def bind(self, name: str, ref: Optional[str]) -> None:
        if name in self.refs and self.refs[name] != ref:
            self.refs[name] = None
        else:
            self.refs[name] = ref

    def add_import(self, node: Union[ast.Import, ast.ImportFrom], modules: Set[str], stars: Optional[List[str]]) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules.add(alias.name)
                if alias.asname:
                    self.bind(alias.asname, f"{alias.name}:")
                else:  # ``import a.b`` binds ``a``
                    root = alias.name.split(".")[0]
                    self.bind(root, f"{root}:")
            return
        module = _import_module_ref(node)
        modules.add(module)
        for alias in node.names:
            if alias.name == "*":
                if stars is not None and module not in stars:
                    stars.append(module)
                continue
            self.bind(alias.asname or alias.name, f"{module}:{alias.name}")


class _Summarizer:
    def __init__(self, tree: ast.Module, bodies: bool = True):
        self._tree = tree
        self._bodies = bodies
        self._module = _Bindings()
        self._defined: Dict[str, int] = {}  # local def/class names -> how often bound
        self.imported: Set[str] = set()
        # function -> the module-level function its returned worker runs (``target=``)
        self.worker_targets: Dict[str, str] = {}
        self._reading = ""
        self._stars: List[str] = []
        self._all: Optional[List[str]] = None
        self._all_known = True

    def summary(self) -> ModuleSummary:
        functions: Dict[str, FunctionSummary] = {}
        classes: Dict[str, ClassSummary] = {}
        definitions: List[Tuple[str, Optional[str], ast.AST]] = []  # (qualified, class, node)
        class_nodes: List[ast.ClassDef] = []
        for statement in _module_statements(self._tree.body):
            self._bind_module_statement(statement, definitions, class_nodes)
        class_daemon: Set[str] = set()
        class_starts: Set[str] = set()
        for qualified, class_name, node in definitions:
            if not self._bodies:
                functions[qualified] = FunctionSummary()
                continue
            reader = _FunctionReader(self, node, class_name)
            self._reading = qualified
            facts = reader.read()
            if class_name is not None and reader.sets_daemon:
                class_daemon.add(class_name)
            if class_name is not None and reader.starts_self:
                class_starts.add(class_name)
            functions[qualified] = _merge(functions[qualified], facts) if qualified in functions else facts
        for qualified, target in self.worker_targets.items():
            facts = functions[qualified]
            if facts.returns is not None and facts.returns.kind == WORKER and target in functions:
                functions[qualified] = facts._replace(returns=facts.returns._replace(long_lived=functions[target].long_lived))
        functions = {name: self._through_local_wrappers(facts, functions) for name, facts in functions.items()}
        for class_def in class_nodes:
            name = class_def.name
            run = functions.get(f"{name}.run")
            if not self._bodies:
                facts = ClassSummary(bases=tuple(self._base_ref(base) for base in class_def.bases), thread_base=self._thread_base(class_def))
                classes[name] = facts if name not in classes else ClassSummary(bases=("?",))
                continue
            facts = ClassSummary(
                bases=tuple(self._base_ref(base) for base in class_def.bases),
                thread_base=self._thread_base(class_def),
                run_long_lived=None if run is None else run.long_lived,
                sets_daemon=name in class_daemon or _class_attribute_daemon(class_def),
                starts_itself=name in class_starts,
                attribute_types=self._attribute_types(class_def),
            )
            # A class defined twice (in two branches) may be either: unknown.
            classes[name] = facts if name not in classes else ClassSummary(bases=("?",))
        names = {name: ref for name, ref in self._module.refs.items() if self._defined.get(name) is None}
        for name in self._defined:
            if name in self._module.refs:
                names[name] = None  # both imported and defined: which one wins depends on the path taken
        return ModuleSummary(
            functions=functions,
            classes=classes,
            names=names,
            all=tuple(self._all) if self._all is not None and self._all_known and self._bodies else None,
            star_imports=tuple(self._stars),
            imports=tuple(sorted(self.imported)),
        )

    # -- module level ----------------------------------------------------------

    def _bind_module_statement(self, statement: ast.stmt, definitions, class_nodes) -> None:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            self._module.add_import(statement, self.imported, self._stars)
        elif isinstance(statement, _FUNCTIONS):
            self._define(statement.name)
            definitions.append((statement.name, None, statement))
        elif isinstance(statement, ast.ClassDef):
            self._define(statement.name)
            class_nodes.append(statement)
            for member in statement.body:
                if isinstance(member, _FUNCTIONS):
                    definitions.append((f"{statement.name}.{member.name}", statement.name, member))
        elif isinstance(statement, ast.Assign):
            self._bind_assignment(statement.targets, statement.value)
        elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
            if statement.target.id == "__all__":
                self._extend_all(statement.value)
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            self._bind_assignment([statement.target], statement.value)
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Lambda):
            for target in statement.targets:
                if isinstance(target, ast.Name):  # ``spawn = lambda c: loop.create_task(c)``
                    definitions.append((target.id, None, statement.value))

    def _define(self, name: str) -> None:
        self._defined[name] = self._defined.get(name, 0) + 1

    def _bind_assignment(self, targets: List[ast.expr], value: ast.expr) -> None:
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            if target.id == "__all__":
                self._all = []
                self._extend_all(value)
            elif isinstance(value, ast.Lambda):
                self._define(target.id)
            else:
                # ``spawn = helpers.spawn`` re-exports; anything else binds
                # the name to something we do not know.
                self._module.bind(target.id, self.resolve(value, None) if _dotted(value) else None)

    def _extend_all(self, value: ast.expr) -> None:
        if self._all is None:
            self._all = []
        if isinstance(value, (ast.List, ast.Tuple)) and all(
            isinstance(item, ast.Constant) and isinstance(item.value, str) for item in value.elts
        ):
            self._all.extend(item.value for item in value.elts)
        else:
            self._all_known = False

    def _base_ref(self, base: ast.expr) -> str:
        if isinstance(base, ast.Subscript):  # Generic[T]
            base = base.value
        ref = self.resolve(base, None)
        if ref is None and isinstance(base, ast.Name) and base.id not in self._module.refs:
            return f"builtins:{base.id}"  # ``object``, ``Exception``: bound nowhere in the module
        return ref or "?"

    def _thread_base(self, class_def: ast.ClassDef) -> Optional[str]:
        for base in class_def.bases:
            ref = self.resolve(base, None)
            if ref is not None and full_name(ref) in _WORKER_BASES:
                return full_name(ref)
        return None

    # -- names -----------------------------------------------------------------

    def resolve(self, expr: ast.AST, local: Optional[_Bindings]) -> Optional[str]:
        """The reference ``expr`` stands for, through the imports of the
        function (``local``) and of the module; None if it is no dotted name
        or its head is unknown here."""
        dotted = _dotted(expr)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if local is not None and head in local.refs:
            ref = local.refs[head]
        elif head in self._module.refs:
            ref = None if head in self._defined else self._module.refs[head]
        else:
            return f":{dotted}" if self._defined.get(head) == 1 else None
        if ref is None or not rest:
            return ref
        module, _, qualified = ref.partition(":")
        return f"{module}:{qualified + '.' + rest if qualified else rest}"

    def _attribute_types(self, class_def: ast.ClassDef) -> Dict[str, str]:
        """What the class's annotations say its attributes hold: ``x: T`` in
        the class body, ``self.x: T = ...`` or ``self.x = p`` with ``p: T``
        in a method.  An attribute given two different types is left out."""
        found: Dict[str, Optional[str]] = {}

        def note(attr: str, annotation: ast.expr) -> None:
            ref = self._annotation_ref(annotation)
            found[attr] = ref if found.get(attr, ref) == ref else None

        for member in class_def.body:
            if isinstance(member, ast.AnnAssign) and isinstance(member.target, ast.Name):
                note(member.target.id, member.annotation)
            if not isinstance(member, _FUNCTIONS) or not member.args.args:
                continue
            arguments = member.args
            annotations = {arg.arg: arg.annotation for arg in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
            receiver = (arguments.posonlyargs + arguments.args)[0].arg
            # Assignments are statements: the method's blocks hold them all,
            # and no expression needs reading.
            for node in _scope_statements(member.body):
                if isinstance(node, ast.AnnAssign) and _is_attribute_of(node.target, receiver):
                    note(node.target.attr, node.annotation)
                elif isinstance(node, ast.Assign) and len(node.targets) == 1 and _is_attribute_of(node.targets[0], receiver):
                    value = node.value
                    # Anything but an annotated parameter may hold something else.
                    annotation = annotations.get(value.id) if isinstance(value, ast.Name) else None
                    if annotation is None:
                        found[node.targets[0].attr] = None
                    else:
                        note(node.targets[0].attr, annotation)
        return {attr: ref for attr, ref in found.items() if ref is not None}

    def _annotation_ref(self, annotation: Optional[ast.expr]) -> Optional[str]:
        """The class an annotation names, as a reference."""
        named = annotated_class(annotation)
        return self.resolve(named, None) if named is not None else None

    # -- one level of wrapping in this module -----------------------------------

    def _through_local_wrappers(self, facts: FunctionSummary, functions: Dict[str, FunctionSummary]) -> FunctionSummary:
        """``def go(): return spawn(x())`` returns what ``spawn`` returns, when
        ``spawn`` is a function of this module."""
        via = facts.returns_via
        if via is None or not via.startswith(":"):
            return facts
        wrapped = functions.get(via[1:])
        if wrapped is None or wrapped.is_async:
            return facts  # a class, or something else: the index resolves it
        if wrapped.returns is not None:
            return facts._replace(returns=wrapped.returns, returns_via=None)
        if wrapped.returns_via is not None and not wrapped.returns_via.startswith(":"):
            return facts._replace(returns_via=wrapped.returns_via)  # one level here, the rest by the index
        return facts._replace(returns_via=None)


def _merge(first: FunctionSummary, second: FunctionSummary) -> FunctionSummary:
    """A function defined twice (``if PY2: def f... else: def f...``): only
    what both definitions agree on."""
    return FunctionSummary(
        is_async=first.is_async and second.is_async,
        returns=first.returns if first.returns == second.returns else None,
        returns_via=first.returns_via if first.returns_via == second.returns_via else None,
        long_lived=first.long_lived and second.long_lived,
        params=first.params if first.params == second.params else (),
        releases=tuple(name for name in first.releases if name in second.releases) if first.params == second.params else (),
    )


def _class_attribute_daemon(class_def: ast.ClassDef) -> bool:
    """``daemon = True`` in the class body."""
    for statement in class_def.body:
        if isinstance(statement, ast.Assign) and not _is_false(statement.value):
            if any(isinstance(target, ast.Name) and target.id == "daemon" for target in statement.targets):
                return True
    return False


class _FunctionReader:
    """The facts of one function, from one walk of its own body (nested
    functions and classes are not its body: they run at another time)."""

    def __init__(self, module: _Summarizer, node: Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda], class_name: Optional[str]):
        self._module = module
        self._node = node
        self._class = class_name
        self._local = _Bindings()
        decorators = [_dotted(decorator) for decorator in getattr(node, "decorator_list", ())]
        self._transparent = all(name is not None and name.split(".")[-1] in _TRANSPARENT_DECORATORS for name in decorators)
        self._static = "staticmethod" in decorators
        self._body = [ast.Return(value=node.body)] if isinstance(node, ast.Lambda) else node.body
        self.sets_daemon = False
        self.starts_self = False
        positional = [arg.arg for arg in getattr(node.args, "posonlyargs", []) + node.args.args]
        self._self_name = positional[0] if class_name is not None and positional and not self._static else None
        self._params = tuple(positional[1:] if self._self_name is not None else positional)

    def read(self) -> FunctionSummary:
        """The function's facts; afterwards ``sets_daemon`` and ``starts_self``
        say whether (as a method) it makes its instance a daemon or starts it."""
        returns: List[Optional[ast.expr]] = []
        assigned: Dict[str, List[ast.expr]] = {}  # local name -> values assigned
        loads: Dict[str, int] = {}  # local name -> how often it is read
        uses: Dict[str, List[str]] = {}  # local name -> the reads we understand: "call:start", "set:daemon", "return"
        released: Set[str] = set()
        generator = False
        suspends = False
        long_lived = False
        sets_daemon = False
        params = set(self._params)
        stack: List[Any] = list(reversed(self._body))
        while stack:
            node = stack.pop()
            node_type = type(node)
            if node_type is ast.Name:
                if type(node.ctx) is ast.Load:
                    loads[node.id] = loads.get(node.id, 0) + 1
                continue
            if node_type is ast.Call:
                long_lived = long_lived or _blocks_without_timeout(node)
                sets_daemon = sets_daemon or self._makes_self_daemon(node)
                func = node.func
                if type(func) is ast.Attribute and type(func.value) is ast.Name:
                    uses.setdefault(func.value.id, []).append(f"call:{func.attr}")
                    if func.attr in RELEASE_METHODS and func.value.id in params:
                        released.add(func.value.id)
            elif node_type is ast.Attribute:
                if type(node.ctx) is ast.Store and type(node.value) is ast.Name:
                    uses.setdefault(node.value.id, []).append(f"set:{node.attr}")
            elif node_type is ast.Return:
                returns.append(node.value)
                if type(node.value) is ast.Name:
                    uses.setdefault(node.value.id, []).append("return")
            elif node_type is ast.Assign:
                for target in node.targets:
                    if type(target) is ast.Name:
                        assigned.setdefault(target.id, []).append(node.value)
                    elif type(target) is ast.Attribute and target.attr == "daemon" and not _is_false(node.value):
                        sets_daemon = sets_daemon or _is_name(target.value, self._self_name)
            elif node_type is ast.Yield or node_type is ast.YieldFrom:
                generator = True
            elif node_type is ast.While:
                long_lived = long_lived or _ends_only_when_told(node.test)
            elif node_type is ast.For or node_type is ast.AsyncFor:
                suspends = suspends or node_type is ast.AsyncFor
                long_lived = long_lived or _iterates_until_sentinel(node.iter)
            elif node_type is ast.Await:
                suspends = True
                if type(node.value) is ast.Name and node.value.id in params:
                    released.add(node.value.id)
            elif node_type is ast.AsyncWith or (node_type is ast.comprehension and node.is_async):
                suspends = True
            elif node_type is ast.Import or node_type is ast.ImportFrom:
                self._local.add_import(node, self._module.imported, None)
            elif node_type in _SCOPE_TYPES:
                continue  # runs at another time
            _push_children(node, node_type, stack)
        # A read we do not understand (``keep(t)``, ``t.ident``) may keep the handle.
        for name, count in loads.items():
            if count != len(uses.get(name, ())):
                uses[name] = uses.get(name, []) + ["other"]
        is_async = isinstance(self._node, ast.AsyncFunctionDef) and not generator and self._transparent
        releases = tuple(name for name in self._params if name in released)
        facts = FunctionSummary(
            is_async=is_async,
            long_lived=long_lived,
            params=self._params if releases else (),  # only what the releases need
            releases=releases,
            never_suspends=is_async and not suspends and not _is_placeholder(self._body),
        )
        if not generator and not isinstance(self._node, ast.AsyncFunctionDef) and self._transparent and returns:
            facts = self._with_returns(facts, returns, assigned, uses)
        self.sets_daemon = sets_daemon
        self.starts_self = self._self_name is not None and "call:start" in uses.get(self._self_name, ())
        return facts

    def _makes_self_daemon(self, call: ast.Call) -> bool:
        """``super().__init__(daemon=True)``, ``self.setDaemon(True)``: a
        setting that is not a literal False may be True."""
        setting = _keyword(call, "daemon")
        if setting is not None and not _is_false(setting):
            return True
        func = call.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr == "setDaemon"
            and _is_name(func.value, self._self_name)
            and not (call.args and _is_false(call.args[0]))
        )

    # -- what the function returns ----------------------------------------------

    def _with_returns(self, facts: FunctionSummary, returns, assigned, uses) -> FunctionSummary:
        """Every ``return`` hands back the same kind of fresh handle (or the
        result of calling the same thing): anything else, unknown."""
        found: Set[Tuple[str, Any]] = set()
        for value in returns:
            if isinstance(value, ast.Name) and len(assigned.get(value.id, ())) == 1:
                returned = self._fresh_local(value.id, assigned[value.id][0], uses.get(value.id, []))
                found.add(("returns", returned))
            elif isinstance(value, ast.Call):
                found.add(self._call_result(value))
            else:
                return facts
        if len(found) != 1:
            return facts
        what, detail = found.pop()
        if what == "returns" and detail is not None:
            return facts._replace(returns=detail)
        if what == "via" and detail is not None:
            return facts._replace(returns_via=detail)
        return facts

    def _call_result(self, call: ast.Call) -> Tuple[str, Any]:
        created = self._creation(call)
        if created is not None:
            return ("returns", None if _may_be_daemon(call, created) else created)
        func = call.func
        if isinstance(func, ast.Attribute) and self._class is not None and _is_name(func.value, self._self_name):
            return ("via", f":{self._class}.{func.attr}")  # the index looks it up through the bases
        ref = self._module.resolve(func, self._local)
        return ("via", ref)

    def _fresh_local(self, name: str, value: ast.expr, uses: List[str]) -> Optional[Returned]:
        """``t = Thread(...); t.start(); return t``: a handle made here whose
        only other uses keep no reference to it and release nothing."""
        if not isinstance(value, ast.Call):
            return None
        created = self._creation(value)
        if created is None or _may_be_daemon(value, created):
            return None
        started = False
        for use in uses:
            if use == "call:start":
                started = True
            elif use == "set:daemon":
                return None  # unless it is a literal False: we do not look that closely
            elif use.startswith("call:") and use[5:] in _FRESH_METHODS or use.startswith("set:") or use == "return":
                continue
            else:
                return None
        return created._replace(started=started) if created.kind == WORKER else created

    def _creation(self, call: ast.Call) -> Optional[Returned]:
        """What the call makes, by the one table of constructors."""
        func = call.func
        ref = self._module.resolve(func, self._local)
        if ref is not None and not ref.startswith(":"):
            name = full_name(ref)
            if name in _CONSTRUCTORS:
                target = _keyword(call, "target")
                if _CONSTRUCTORS[name] == WORKER and isinstance(target, ast.Name):
                    self._module.worker_targets[self._module._reading] = target.id
                return Returned(_CONSTRUCTORS[name], name)
            if name in _QUEUES:
                return Returned(QUEUE, name)
        if isinstance(func, ast.Attribute) and func.attr in _LOOP_METHODS and self._is_event_loop(func.value):
            return Returned(TASK, f"loop.{func.attr}")
        return None

    def _is_event_loop(self, expr: ast.expr) -> bool:
        if isinstance(expr, ast.Call):
            ref = self._module.resolve(expr.func, self._local)
            return ref is not None and full_name(ref) in _LOOP_FACTORIES
        if isinstance(expr, ast.Name):
            return expr.id in _LOOP_NAMES
        return isinstance(expr, ast.Attribute) and expr.attr in _LOOP_NAMES


_SCOPE_TYPES = frozenset(_SCOPES)
# Fields that never hold a node worth visiting (contexts, operators).
_SKIPPED_FIELDS = frozenset({"ctx", "op", "ops", "type_comment", "type_ignores"})
_CHILD_FIELDS: Dict[type, Tuple[str, ...]] = {}


def _push_children(node: ast.AST, node_type: type, stack: List[Any]) -> None:
    """``ast.iter_child_nodes`` without its generator: half the cost of the walk."""
    fields = _CHILD_FIELDS.get(node_type)
    if fields is None:
        fields = _CHILD_FIELDS[node_type] = tuple(name for name in getattr(node_type, "_fields", ()) if name not in _SKIPPED_FIELDS)
    for name in fields:
        value = getattr(node, name, None)
        if type(value) is list:
            stack.extend(item for item in value if isinstance(item, ast.AST))
        elif isinstance(value, ast.AST):
            stack.append(value)


def _is_attribute_of(expr: ast.AST, name: str) -> bool:
    return isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == name


def _is_name(expr: ast.AST, name: Optional[str]) -> bool:
    return name is not None and isinstance(expr, ast.Name) and expr.id == name


def _may_be_daemon(call: ast.Call, created: Returned) -> bool:
    if created.kind != WORKER:
        return False
    if any(keyword.arg is None for keyword in call.keywords):  # **options
        return True
    setting = _keyword(call, "daemon")
    return setting is not None and not _is_false(setting)


def _ends_only_when_told(test: ast.expr) -> bool:
    """``while True``, ``while self.running``, ``while not stop.is_set()``: a
    loop that runs until something outside it says stop (a comparison such as
    ``i < n`` counts to an end of its own)."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test = test.operand
    if isinstance(test, ast.Constant):
        return bool(test.value)
    if isinstance(test, (ast.Name, ast.Attribute)):
        return True
    return isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and test.func.attr == "is_set"


def _iterates_until_sentinel(iterable: ast.expr) -> bool:
    """``for item in iter(q.get, None)``."""
    return (
        isinstance(iterable, ast.Call)
        and isinstance(iterable.func, ast.Name)
        and iterable.func.id == "iter"
        and len(iterable.args) == 2
        and isinstance(iterable.args[0], ast.Attribute)
        and iterable.args[0].attr == "get"
    )


def _is_placeholder(body: List[ast.stmt]) -> bool:
    """Only a docstring, ``pass``, ``...`` or ``raise NotImplementedError``:
    a hook for subclasses to fill in."""
    for statement in body:
        if isinstance(statement, ast.Pass) or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)):
            continue
        if isinstance(statement, ast.Raise) and statement.exc is not None:
            raised = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
            if (_dotted(raised) or "").endswith("NotImplementedError"):
                continue
        return False
    return True


def _blocks_without_timeout(call: ast.Call) -> bool:
    """``q.get()``, ``event.wait()``, ``server.serve_forever()``."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr in _SERVING_METHODS:
        return True
    return func.attr in _BLOCKING_METHODS and not call.args and not call.keywords
