"""The summaries of a project's modules, and what a name means across them.

A :class:`ProjectIndex` finds a module's file from its dotted name the way the
interpreter would (package ``__init__.py`` chains, ``src/`` layouts, namespace
packages under the nearest ``pyproject.toml``/``setup.py``/``setup.cfg``/``.git``
root), and holds the :mod:`summary <leaklint.analysis.summary>` of each module
it was asked about, computed once (cached by content hash in the
:class:`~leaklint.summary_cache.SummaryCache`).  Nothing is read before a
question needs it: checking one file summarises only what that file's names
lead to.

A :class:`ModuleView` is the index as seen from one checked module: it resolves
the names written there (``spawn``, ``helpers.spawn``, ``self._schedule_event``
in a class whose base lives in another file) through relative and absolute
imports, ``from x import y as z``, re-exports through ``__init__.py`` and star
imports, and answers the questions the shared analysis asks: does calling this
return a fresh handle, is it a coroutine function, is this class a thread.  It
records the modules its answers depended on, with their summaries' digests,
so a cached result can be invalidated exactly when one of them changes.

Import cycles, star imports, unparsable modules, two files claiming one name,
conditional imports: every walk is bounded and remembers where it has been,
and whatever cannot be resolved is unknown, which means quiet.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterator, List, NamedTuple, Optional, Set, Tuple, Union

import libcst as cst

from leaklint.analysis.creations import _CONSTRUCTORS, _QUEUES, _WORKER_BASES, QUEUE, WORKER
from leaklint.analysis.names import dotted_name
from leaklint.analysis.summary import ClassSummary, FunctionSummary, ModuleSummary, Returned, full_name, summarize
from leaklint.summary_cache import SummaryCache

_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
# How many references one answer may follow (re-export to re-export, wrapper
# to wrapper, base to base): far more than real code needs, and a bound on
# anything circular that the visited sets do not catch.
_MAX_HOPS = 24
# How many references one question may follow in all.  Hops bound a chain;
# a module that star-imports several others, each star-importing more, fans
# out, and a cycle among them (scipy's ``cobyqa``) used to be followed to the
# depth of 24 hops along every branch: minutes and gigabytes for one name.
_MAX_STEPS = 512
_MAX_WRAPPERS = 4  # wrappers of wrappers of ... a creation, across modules
_MAX_ANCESTORS = 256  # classes looked at for one hierarchy


class ModuleLocation(NamedTuple):
    name: str  # dotted module name
    is_package: bool  # an __init__.py: relative imports start from itself
    roots: Tuple[str, ...]  # where its absolute imports are looked for, in order


class Target(NamedTuple):
    """What a reference resolved to."""

    kind: str  # FUNCTION, CLASS, MODULE, or EXTERNAL (not a module of the project)
    module: str  # the module it is defined in; for EXTERNAL the full dotted name
    qualified: str = ""  # "spawn", "Worker", "Base._schedule_event"
    facts: Any = None  # FunctionSummary or ClassSummary


FUNCTION = "function"
CLASS = "class"
MODULE = "module"
EXTERNAL = "external"

COROUTINE = "coroutine"  # for kinds_offered: calling it makes a coroutine


class ThreadClass(NamedTuple):
    """A class of the project that is a Thread or Process, through any chain of
    bases across modules."""

    name: str  # "pkg.workers.Poller", for messages
    sets_daemon: bool  # it, or a class between it and Thread, makes itself a daemon
    run_long_lived: Optional[bool]  # of the first run() found; None: Thread's own
    starts_itself: bool  # a method calls ``self.start()``


class ProjectIndex:
    """Module summaries of one or more projects, keyed by file, found by name."""

    def __init__(self, cache: Optional[SummaryCache] = None):
        self.cache = cache if cache is not None else SummaryCache()
        self._is_file: Dict[str, bool] = {}
        self._markers: Dict[str, Optional[str]] = {}
        self._found: Dict[Tuple[Tuple[str, ...], str], Optional[Tuple[str, bool]]] = {}
        # absolute path -> its summary and digest, as first read in this index's life
        self._summaries: Dict[str, Tuple[ModuleSummary, str]] = {}
        # (roots, absolute dotted name) -> what it resolved to, and the files that answer read
        self._resolved: Dict[Tuple[Tuple[str, ...], str], Tuple[Optional["Target"], Dict[str, str]]] = {}
        self._stats: Dict[str, Optional[Tuple[int, int]]] = {}
        self.errors: Dict[str, str] = {}  # path -> why its summary is empty
        # id of a summary the index holds -> it, and its classes with an ``async def`` method
        self._coroutine_classes: Dict[int, Tuple[ModuleSummary, FrozenSet[str]]] = {}

    # -- where modules are ------------------------------------------------------

    def location(self, path: Union[str, Path]) -> ModuleLocation:
        """The module a file is, and where its absolute imports are searched."""
        file = Path(os.path.abspath(path))
        is_package = file.name == "__init__.py"
        parts: List[str] = [] if is_package else [_module_stem(file.name)]
        directory = file.parent
        while self._file_exists(str(directory / "__init__.py")) and directory.parent != directory:
            parts.insert(0, directory.name)
            directory = directory.parent
        chain_root = directory
        roots = [str(chain_root)]
        project = self._project_root(str(file.parent))
        if project is not None:
            source = os.path.join(project, "src")
            base = source if _is_within(str(chain_root), source) else project
            prefix = os.path.relpath(str(chain_root), base).split(os.sep) if str(chain_root) != base else []
            if _is_within(str(chain_root), base) and all(part.isidentifier() for part in prefix):
                parts = prefix + parts  # a namespace package between the project root and the chain
                roots.append(base)
            roots += [project, source]
        return ModuleLocation(".".join(parts), is_package, tuple(dict.fromkeys(roots)))

    def find(self, name: str, roots: Tuple[str, ...]) -> Optional[Tuple[str, bool]]:
        """The file of module ``name`` (and whether it is a package) in the
        first root that has it; a package wins over a module of the same name,
        as in the interpreter."""
        key = (roots, name)
        if key not in self._found:
            self._found[key] = self._search(name, roots)
        return self._found[key]

    def _search(self, name: str, roots: Tuple[str, ...]) -> Optional[Tuple[str, bool]]:
        parts = name.split(".")
        if not all(part.isidentifier() for part in parts):
            return None
        for root in roots:
            base = os.path.join(root, *parts)
            if self._file_exists(os.path.join(base, "__init__.py")):
                return os.path.join(base, "__init__.py"), True
            if self._file_exists(base + ".py"):
                return base + ".py", False
        return None

    def _file_exists(self, path: str) -> bool:
        known = self._is_file.get(path)
        if known is None:
            known = self._is_file[path] = os.path.isfile(path)
        return known

    def _project_root(self, directory: str) -> Optional[str]:
        """The nearest directory at or above ``directory`` holding a project marker."""
        seen = []
        current = directory
        while True:
            if current in self._markers:
                found = self._markers[current]
                break
            seen.append(current)
            if any(os.path.exists(os.path.join(current, marker)) for marker in _PROJECT_MARKERS):
                found = current
                break
            parent = os.path.dirname(current)
            if parent == current:
                found = None
                break
            current = parent
        for directory_seen in seen:
            self._markers[directory_seen] = found if found is not None and _is_within(directory_seen, found) else None
        return found

    # -- summaries ----------------------------------------------------------------

    def summary_at(self, path: str) -> Optional[Tuple[ModuleSummary, str]]:
        """The summary of the file at ``path`` and its digest; None if it cannot
        be read.  Read once in the index's life (a long-lived host calls
        :meth:`forget` when a file changes)."""
        known = self._summaries.get(path)
        if known is not None:
            return known
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        summary = self.summary_of_bytes(data)
        if summary.error is not None:
            self.errors.setdefault(path, summary.error)
        self._summaries[path] = (summary, summary.digest)
        return self._summaries[path]

    def classes_with_coroutine_methods(self, summary: ModuleSummary) -> FrozenSet[str]:
        """The classes of a summary the index holds that have an ``async
        def`` method of their own: read once per summary, however many
        modules import its classes."""
        known = self._coroutine_classes.get(id(summary))
        if known is None or known[0] is not summary:
            known = self._coroutine_classes[id(summary)] = (summary, _classes_with_coroutine_methods(summary))
        return known[1]

    def known_summary(self, data: bytes) -> Optional[ModuleSummary]:
        """The summary of ``data`` if the index has made it already (the file
        is a module another file imports), without parsing anything."""
        from leaklint.cache import content_hash

        return self.cache.get(content_hash(data))

    def summary_of_bytes(self, data: bytes) -> ModuleSummary:
        from leaklint.cache import content_hash  # the result cache's hash: one notion of "same content"

        key = content_hash(data)
        summary = self.cache.get(key)
        if summary is None:
            summary = summarize(data)
            self.cache.put(key, summary)
        return summary

    def forget(self, path: Optional[str] = None) -> None:
        """Read ``path`` (every file, if None) again when next asked."""
        if path is None:
            self._summaries.clear()
            self._is_file.clear()
            self._found.clear()
            self._stats.clear()
        else:
            self._summaries.pop(os.path.abspath(path), None)
            self._stats.pop(os.path.abspath(path), None)
        self._resolved.clear()

    def stat_of(self, path: str) -> Optional[Tuple[int, int]]:
        """``(mtime_ns, size)`` of ``path``, taken once in the index's life."""
        if path not in self._stats:
            try:
                status = os.stat(path)
                self._stats[path] = (status.st_mtime_ns, status.st_size)
            except OSError:
                self._stats[path] = None
        return self._stats[path]

    def digest_at(self, path: str) -> Optional[str]:
        """The digest of the summary of ``path`` now; None if it is gone."""
        found = self.summary_at(path)
        return found[1] if found is not None else None

    def view(self, path: Union[str, Path], summary: Optional[ModuleSummary] = None) -> "ModuleView":
        """The index as seen from the module at ``path``; ``summary`` is that
        module's own (from the text being checked, which may be an unsaved
        buffer), read from the file when not given."""
        if summary is None:
            found = self.summary_at(os.path.abspath(path))
            summary = found[0] if found is not None else ModuleSummary()
        return ModuleView(self, self.location(path), summary, os.path.abspath(path))


class ModuleView:
    """The project as one module sees it."""

    def __init__(self, index: ProjectIndex, location: ModuleLocation, summary: ModuleSummary, path: str = ""):
        self.index = index
        self.path = path
        self.location = location
        self.summary = summary
        # The files whose summaries the answers so far depended on -> digest.
        self.dependencies: Dict[str, str] = {}
        self._resolved: Dict[str, Optional[Target]] = {}
        # While resolving: the answer read this module's own summary (which
        # may be an unsaved buffer), or ran out of hops; either way it is not
        # shared with other views.
        self._read_own = False
        self._exhausted = False
        # The references being followed (a cycle is cut, and the answers it
        # cut are not shared), and the steps left to the question asked.
        self._following: Set[Tuple[Tuple[str, ...], str]] = set()
        self._steps_left = _MAX_STEPS
        own = summary
        self._bound = set(own.names) | set(own.classes) | {name.partition(".")[0] for name in own.functions}

    # -- the questions -------------------------------------------------------------

    def resolve(self, dotted: str) -> Optional[Target]:
        """What a dotted name written at module level of this module means."""
        if dotted in self._resolved:
            return self._resolved[dotted]
        if dotted.partition(".")[0] not in self._bound and not self.summary.star_imports:
            target = None  # a local variable, a builtin, an attribute of one: nothing the project defines
        else:
            target = self._resolve(f":{dotted}", self.location, _MAX_HOPS)
        self._resolved[dotted] = target
        return target

    def returned_handle(self, dotted: str) -> Optional[Tuple[Returned, str]]:
        """The fresh handle that calling ``dotted`` returns, with the name of
        the wrapper called (for messages); None if none or unknown."""
        target = self.resolve(dotted)
        return self._returned_handle(target, _MAX_WRAPPERS) if target is not None else None

    def method_returned_handle(self, class_name: str, method: str) -> Optional[Tuple[Returned, str]]:
        """The fresh handle ``self.<method>()`` returns in a method of this
        module's class ``class_name``: the method found through the class's
        bases, wherever they are defined."""
        return self.returned_handle(f"{class_name}.{method}")

    def is_coroutine_function(self, dotted: str) -> bool:
        """Calling ``dotted`` makes a coroutine (an ``async def`` of the project)."""
        target = self.resolve(dotted)
        return target is not None and target.kind == FUNCTION and target.facts.is_async

    def attribute_class(self, class_name: str, attr: str) -> Optional[Target]:
        """The project class that the annotations of this module's class
        ``class_name``, or of its bases, give ``self.<attr>`` (``self.app =
        app`` with ``app: App``); None when unknown or not a project class."""
        for class_location, _, facts in self._ancestry(self.location, class_name):
            if facts is None:
                return None  # an unknown base comes first: it may bind the attribute
            ref = facts.attribute_types.get(attr)
            if ref is not None:
                target = self._resolve(ref, class_location, _MAX_HOPS)
                return target if target is not None and target.kind == CLASS else None
        return None

    def class_named(self, dotted: str) -> Optional[Target]:
        """The project class a dotted name of this module means."""
        target = self.resolve(dotted)
        return target if target is not None and target.kind == CLASS else None

    def method_of(self, cls: Target, method: str) -> Optional[FunctionSummary]:
        """The facts of ``cls.<method>``, found through the class's bases."""
        location = self._location_of(cls.module, self.location)
        found = self._method(location, cls.qualified, method, _MAX_HOPS)
        return found.facts if found is not None else None

    def thread_class(self, dotted: str) -> Optional[ThreadClass]:
        """``dotted`` is a class of the project derived from Thread or Process."""
        target = self.resolve(dotted)
        return self._thread_class(target) if target is not None and target.kind == CLASS else None

    def releases_argument(self, dotted: str, position: Optional[int] = None, keyword: Optional[str] = None) -> bool:
        """Calling ``dotted`` with a handle as argument ``position`` (or
        ``keyword=``) releases it: ``def stop(t): t.join()``."""
        target = self.resolve(dotted)
        if target is None or target.kind != FUNCTION:
            return False
        facts: FunctionSummary = target.facts
        if keyword is not None:
            return keyword in facts.releases
        return position is not None and position < len(facts.params) and facts.params[position] in facts.releases

    def kinds_offered(self) -> FrozenSet[str]:
        """What this module can get from the rest of the project: the kinds of
        handle (``creations.TASK``...) returned by the functions and classes it
        imports, or by the methods its classes inherit from project bases, and
        COROUTINE if it imports an ``async def``.  The engine runs the rules
        for these kinds even where their usual trigger text is absent."""
        kinds: Set[str] = set()
        for name, ref in self.summary.names.items():
            if ref is not None:
                target = self.resolve(name)
                if target is not None:
                    kinds |= self._kinds_of(target)
        for star in self.summary.star_imports:
            target = self._resolve(f"{star}:", self.location, _MAX_HOPS)
            if target is not None and target.kind == MODULE:
                kinds |= self._kinds_of(target)
        for class_name in self.summary.classes:
            for class_location, name, facts in self._ancestry(self.location, class_name):
                if facts is None:
                    continue
                if facts.thread_base is not None and not facts.sets_daemon:
                    kinds.add(WORKER)
                if class_location.name != self.location.name:
                    kinds |= self._module_kinds(class_location, prefix=f"{name}.")
                    if COROUTINE not in kinds and self._types_an_attribute_with_coroutines(class_location, facts):
                        kinds.add(COROUTINE)  # ``app: App`` in a base elsewhere; ``self.app.fetch()`` here
        return frozenset(kinds)

    def _types_an_attribute_with_coroutines(self, location: ModuleLocation, facts: ClassSummary) -> bool:
        for ref in facts.attribute_types.values():
            target = self._resolve(ref, location, _MAX_HOPS)
            if target is not None and target.kind == CLASS and self._has_coroutine_method(target):
                return True
        return False

    def _kinds_of(self, target: Target) -> Set[str]:
        if target.kind == FUNCTION:
            kinds = {COROUTINE} if target.facts.is_async else set()
            found = self._returned_handle(target, _MAX_WRAPPERS)
            return kinds | {found[0].kind} if found is not None else kinds
        if target.kind == CLASS:
            kinds = {WORKER} if self._returned_handle(target, _MAX_WRAPPERS) is not None else set()
            # ``app: App``, then ``self.app.fetch()``: LL103 follows the annotation to the class.
            return kinds | {COROUTINE} if self._has_coroutine_method(target) else kinds
        if target.kind == MODULE:  # ``import helpers; helpers.spawn(...)``
            found = self.index.find(target.module, self.location.roots)
            if found is not None:
                return self._module_kinds(ModuleLocation(target.module, found[1], self.location.roots), prefix="")
        return set()

    def _has_coroutine_method(self, cls: Target) -> bool:
        """``cls`` or one of its project bases has an ``async def`` method."""
        for class_location, name, facts in self._ancestry(self._location_of(cls.module, self.location), cls.qualified):
            summary = self._summary_of(class_location) if facts is not None else None
            if summary is not None:
                own = class_location.name == self.location.name  # may be an unsaved buffer: not kept
                if name in (_classes_with_coroutine_methods(summary) if own else self.index.classes_with_coroutine_methods(summary)):
                    return True
        return False

    def _module_kinds(self, location: ModuleLocation, prefix: str) -> Set[str]:
        """The kinds offered by the functions of a module whose qualified name
        starts with ``prefix`` (module-level ones for "", a class's methods for
        "Class.").  For a whole module (``import helpers``), only its public
        names, and only what its own summary says: a private helper is not
        what another module calls, and following every wrapper of every module
        imported would read half the project for each file."""
        summary = self._summary_of(location)
        if summary is None:
            return set()
        kinds: Set[str] = set()
        for qualified, facts in summary.functions.items():
            name = qualified[len(prefix) :]
            if not qualified.startswith(prefix) or "." in name:
                continue
            if prefix:
                kinds |= self._kinds_of(Target(FUNCTION, location.name, qualified, facts))
            elif not name.startswith("_"):
                kinds |= {COROUTINE} if facts.is_async else set()
                kinds |= {facts.returns.kind} if facts.returns is not None else set()
        if not prefix:
            for name, facts in summary.classes.items():
                if not name.startswith("_") and facts.thread_base is not None and not facts.sets_daemon:
                    kinds.add(WORKER)
        return kinds

    # -- resolution ----------------------------------------------------------------

    def _resolve(self, ref: str, location: ModuleLocation, hops: int) -> Optional[Target]:
        if not self._following:
            self._steps_left = _MAX_STEPS  # a new question
        if hops <= 0 or self._steps_left <= 0:
            self._exhausted = True
            return None
        self._steps_left -= 1
        full = self._absolute(ref, location)
        if full is None:
            return None
        key = (location.roots, full)
        own = self.location.name
        known = None if full == own or full.startswith(own + ".") else self.index._resolved.get(key)
        if known is not None:
            self.dependencies.update(known[1])
            return known[0]
        if key in self._following:
            self._exhausted = True  # round a cycle: what it would find is being looked for already
            return None
        outer, read_own, exhausted = self.dependencies, self._read_own, self._exhausted
        self.dependencies, self._read_own, self._exhausted = {}, False, False
        self._following.add(key)
        try:
            target = self._resolve_absolute(full, location.roots, hops)
        finally:
            self._following.discard(key)
            found, shareable = self.dependencies, not (self._read_own or self._exhausted)
            outer.update(found)
            self.dependencies = outer
            self._read_own, self._exhausted = read_own or self._read_own, exhausted or self._exhausted
        if shareable:
            self.index._resolved[key] = (target, found)
        self.dependencies.pop(self.path, None)  # the file itself: its content hash covers it
        return target

    def _absolute(self, ref: str, location: ModuleLocation) -> Optional[str]:
        module_part, _, qualified = ref.partition(":")
        if not module_part:
            base: Optional[str] = location.name
        elif module_part.startswith("."):
            base = _relative(module_part, location.name, location.is_package)
        else:
            base = module_part
        if not base:
            return None
        return f"{base}.{qualified}" if qualified else base

    def _resolve_absolute(self, full: str, roots: Tuple[str, ...], hops: int) -> Optional[Target]:
        parts = full.split(".")
        for end in range(len(parts), 0, -1):
            module = self._module(".".join(parts[:end]), roots)
            if module is not None:
                return self._member(module, parts[end:], hops)
        return Target(EXTERNAL, full)

    def _module(self, name: str, roots: Tuple[str, ...]) -> Optional[Tuple[ModuleLocation, ModuleSummary]]:
        if name == self.location.name:
            self._read_own = True
            return self.location, self.summary
        found = self.index.find(name, roots)
        if found is None:
            return None
        path, is_package = found
        summary = self.index.summary_at(path)
        if summary is None:
            return None
        self.dependencies[path] = summary[1]
        # Its own imports are searched from the same roots: one project.
        return ModuleLocation(name, is_package, roots), summary[0]

    def _member(self, module: Tuple[ModuleLocation, ModuleSummary], rest: List[str], hops: int) -> Optional[Target]:
        location, summary = module
        if not rest:
            return Target(MODULE, location.name)
        first = rest[0]
        if first in summary.classes:
            if len(rest) == 1:
                return Target(CLASS, location.name, first, summary.classes[first])
            if len(rest) == 2:
                return self._method(location, first, rest[1], hops)
            return None
        if first in summary.functions:
            return Target(FUNCTION, location.name, first, summary.functions[first]) if len(rest) == 1 else None
        if first in summary.names:
            ref = summary.names[first]
            if ref is None:
                return None  # bound to two different things: either may be meant
            if len(rest) > 1:
                tail = ".".join(rest[1:])
                ref = f"{ref}{tail}" if ref.endswith(":") else f"{ref}.{tail}"
            return self._resolve(ref, location, hops - 1)
        for star in summary.star_imports:
            target = self._resolve(f"{star}:{'.'.join(rest)}", location, hops - 1)
            if target is not None and target.kind != EXTERNAL:
                return target
        return None

    def _method(self, location: ModuleLocation, class_name: str, method: str, hops: int) -> Optional[Target]:
        """``Class.method`` through the bases, depth first and left to right (the
        order of the MRO for the hierarchies people write); None as soon as a
        base we cannot see might define it first."""
        for class_location, name, facts in self._ancestry(location, class_name):
            if facts is None:
                return None  # an unknown base comes first: it may define the method
            class_summary = self._summary_of(class_location)
            qualified = f"{name}.{method}"
            if class_summary is not None and qualified in class_summary.functions:
                return Target(FUNCTION, class_location.name, qualified, class_summary.functions[qualified])
        return None

    def _summary_of(self, location: ModuleLocation) -> Optional[ModuleSummary]:
        module = self._module(location.name, location.roots)
        return module[1] if module is not None else None

    def _ancestry(self, location: ModuleLocation, class_name: str):
        """The class and its project ancestors, depth first, each once:
        ``(where, name, facts)``; facts None for a base we cannot see (an
        unresolved name, or a class outside the project other than a few
        known ones)."""
        seen: Set[Tuple[str, str]] = set()
        stack: List[Tuple[ModuleLocation, str]] = [(location, class_name)]
        budget = _MAX_ANCESTORS
        while stack:
            if budget == 0:
                self._exhausted = True
                return
            budget -= 1
            class_location, name = stack.pop()
            if (class_location.name, name) in seen:
                continue
            seen.add((class_location.name, name))
            summary = self._summary_of(class_location)
            facts = summary.classes.get(name) if summary is not None else None
            yield class_location, name, facts
            if facts is None:
                return
            pending = []
            for base in facts.bases:
                target = None if base == "?" else self._resolve(base, class_location, _MAX_HOPS)
                if target is not None and target.kind == CLASS:
                    pending.append((self._location_of(target.module, class_location), target.qualified))
                elif target is None or (target.kind == EXTERNAL and target.module not in _KNOWN_EXTERNAL_BASES):
                    pending.append((class_location, f"?{base}"))  # yields facts None: unknown
            stack.extend(reversed(pending))

    def _location_of(self, module_name: str, near: ModuleLocation) -> ModuleLocation:
        if module_name == self.location.name:
            return self.location
        found = self.index.find(module_name, near.roots)
        return ModuleLocation(module_name, found[1] if found is not None else False, near.roots)

    def _thread_class(self, target: Target) -> Optional[ThreadClass]:
        location = self._location_of(target.module, self.location)
        sets_daemon = False
        run_long_lived: Optional[bool] = None
        is_thread = False
        starts_itself = False
        for class_location, name, facts in self._ancestry(location, target.qualified):
            if facts is None:
                continue  # a mixin we cannot see: it may not be a thread, it may not set daemon
            sets_daemon = sets_daemon or facts.sets_daemon
            starts_itself = starts_itself or facts.starts_itself
            if run_long_lived is None:
                run_long_lived = facts.run_long_lived
            if facts.thread_base is not None:
                is_thread = True
            else:
                for base in facts.bases:
                    resolved = None if base == "?" else self._resolve(base, class_location, _MAX_HOPS)
                    if resolved is not None and resolved.kind == EXTERNAL and resolved.module in _WORKER_BASES:
                        is_thread = True  # Thread re-exported through a project module
        if not is_thread:
            return None
        return ThreadClass(f"{target.module}.{target.qualified}", sets_daemon, run_long_lived, starts_itself)

    def _returned_handle(self, target: Target, depth: int) -> Optional[Tuple[Returned, str]]:
        wrapper = f"{target.module}.{target.qualified}" if target.qualified else target.module
        if target.kind == EXTERNAL:
            if target.module in _CONSTRUCTORS:
                return Returned(_CONSTRUCTORS[target.module], target.module), wrapper
            if target.module in _QUEUES:
                return Returned(QUEUE, target.module), wrapper
            return None
        if target.kind == CLASS:
            thread = self._thread_class(target)
            if thread is None or thread.sets_daemon:
                return None
            return Returned(WORKER, thread.name, started=thread.starts_itself, long_lived=thread.run_long_lived), wrapper
        if target.kind != FUNCTION:
            return None
        facts: FunctionSummary = target.facts
        if facts.returns is not None:
            return facts.returns, wrapper
        if facts.returns_via is None or depth <= 0:
            return None
        location = self._location_of(target.module, self.location)
        inner = self._resolve(facts.returns_via, location, _MAX_HOPS)
        if inner is None:
            return None
        found = self._returned_handle(inner, depth - 1)
        return (found[0], wrapper) if found is not None else None


# -- one index per process, for the plugins and the language server ---------------------

_HOST_INDEX: Optional[ProjectIndex] = None
# What hosts call a buffer that is no file: it is checked alone.
NO_FILE_NAMES = frozenset({"", "-", "<stdin>", "stdin", "<string>"})


def host_index(path: Optional[str]) -> Optional[ProjectIndex]:
    """The index a plugin host (flake8, pylint, an editor) uses for the file
    at ``path``: one per process, its summaries cached in the
    ``.leaklint_cache`` of the file's project root (memory only when the file
    has no project around it).  None for a buffer with no file name: it is
    checked alone, as before there were project facts."""
    global _HOST_INDEX
    if not path or path in NO_FILE_NAMES:
        return None
    if _HOST_INDEX is None:
        from leaklint.cache import CACHE_DIR_NAME

        index = ProjectIndex()
        root = index._project_root(os.path.dirname(os.path.abspath(path)))
        index.cache = SummaryCache(Path(root) / CACHE_DIR_NAME if root is not None else None)
        _HOST_INDEX = index
    return _HOST_INDEX


# -- what a cached result depended on -------------------------------------------------

# A file modified this recently may change again within the same timestamp tick:
# its stat is not trusted, only its summary's digest.
_RACY_NS = 2_000_000_000


def stamp_dependencies(dependencies: Dict[str, str]) -> Dict[str, List[Any]]:
    """``{path: [mtime_ns or None, size, digest]}`` for a result cache entry:
    the summaries an answer depended on, with the stat they were read at, so
    that a later run checks them with a ``stat`` and reads only those that
    changed."""
    now = time.time_ns()
    stamped: Dict[str, List[Any]] = {}
    for path, digest in dependencies.items():
        try:
            status = os.stat(path)
        except OSError:
            continue
        mtime: Optional[int] = status.st_mtime_ns if status.st_mtime_ns < now - _RACY_NS else None
        stamped[path] = [mtime, status.st_size, digest]
    return stamped


def dependencies_current(index: ProjectIndex, stamped: Any) -> bool:
    """Every summary a cached result depended on is still the same: the file
    is unchanged (same stat), or its summary's digest is (an edit that changed
    no fact, such as a function body or a comment).  Anything unreadable or
    malformed: not current."""
    if not isinstance(stamped, dict):
        return False
    try:
        for path, (mtime, size, digest) in stamped.items():
            if mtime is not None and index.stat_of(path) == (mtime, size):
                continue
            if index.digest_at(path) != digest:
                return False
    except (TypeError, ValueError):
        return False
    return True


def summary_of_cst(module: cst.Module) -> ModuleSummary:
    """The part of a checked module's own summary that its answers need, from
    the libcst tree the engine parsed anyway (a second parse with ``ast`` would
    cost a tenth of the check): the names it binds at module level (imports,
    relative ones too), its classes with their bases, and the names of its
    functions and methods, with no facts (a definition here shadows the one
    of a base elsewhere; what it does, the module's own analysis knows)."""
    bindings: Dict[str, Optional[str]] = {}
    defined: Dict[str, int] = {}
    stars: List[str] = []
    imports: Set[str] = set()
    class_defs: List[cst.ClassDef] = []
    functions: Dict[str, FunctionSummary] = {}

    def bind(name: str, ref: Optional[str]) -> None:
        bindings[name] = ref if bindings.get(name, ref) == ref else None

    def ref_of(expr: cst.BaseExpression, unknown: Optional[str] = "?") -> Optional[str]:
        if isinstance(expr, cst.Subscript):  # Generic[T]
            expr = expr.value
        dotted = dotted_name(expr)
        if dotted is None:
            return unknown
        head, _, rest = dotted.partition(".")
        if head in bindings:
            ref = None if head in defined else bindings[head]
            if ref is None:
                return unknown
            module, _, qualified = ref.partition(":")
            return f"{module}:{'.'.join(part for part in (qualified, rest) if part)}"
        if head in defined:
            return f":{dotted}" if defined[head] == 1 else unknown
        return f"builtins:{dotted}" if not rest and unknown == "?" else unknown

    for statement in _cst_module_statements(module.body):
        if isinstance(statement, cst.Import):
            for alias in statement.names:
                name = dotted_name(alias.name) or ""
                imports.add(name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    bind(alias.asname.name.value, f"{name}:")
                else:
                    bind(name.split(".")[0], f"{name.split('.')[0]}:")
        elif isinstance(statement, cst.ImportFrom):
            source = "." * len(statement.relative) + (dotted_name(statement.module) or "" if statement.module else "")
            imports.add(source)
            if isinstance(statement.names, cst.ImportStar):
                stars.append(source)
                continue
            for alias in statement.names:
                name = dotted_name(alias.name) or ""
                local = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
                bind(local, f"{source}:{name}")
        elif isinstance(statement, cst.FunctionDef):
            defined[statement.name.value] = defined.get(statement.name.value, 0) + 1
            functions[statement.name.value] = FunctionSummary()
        elif isinstance(statement, cst.ClassDef):
            defined[statement.name.value] = defined.get(statement.name.value, 0) + 1
            class_defs.append(statement)
        elif isinstance(statement, (cst.Assign, cst.AnnAssign)) and statement.value is not None:
            targets = statement.targets if isinstance(statement, cst.Assign) else [statement]
            for target in targets:
                if isinstance(target.target, cst.Name) and target.target.value != "__all__":
                    if isinstance(statement.value, cst.Lambda):
                        defined[target.target.value] = defined.get(target.target.value, 0) + 1
                        functions[target.target.value] = FunctionSummary()
                    else:  # ``spawn = helpers.spawn`` re-binds; anything else, unknown
                        bind(target.target.value, ref_of(statement.value, None) if dotted_name(statement.value) else None)

    names = {name: (None if name in defined else ref) for name, ref in bindings.items()}
    classes: Dict[str, ClassSummary] = {}
    for class_def in class_defs:
        name = class_def.name.value
        bases = tuple("?" if arg.star else ref_of(arg.value) or "?" for arg in class_def.bases)
        thread_base = next((full_name(ref) for ref in bases if full_name(ref) in _WORKER_BASES), None)
        classes[name] = ClassSummary(bases=bases, thread_base=thread_base) if name not in classes else ClassSummary(bases=("?",))
        if isinstance(class_def.body, cst.IndentedBlock):
            for member in class_def.body.body:
                if isinstance(member, cst.FunctionDef):
                    functions[f"{name}.{member.name.value}"] = FunctionSummary()
    return ModuleSummary(functions=functions, classes=classes, names=names, star_imports=tuple(stars), imports=tuple(sorted(imports)))


def _cst_module_statements(body) -> Iterator[cst.CSTNode]:
    """Module-level statements, those in ``if``/``try``/``with`` blocks included,
    small statements out of their lines; not function or class bodies."""
    stack = list(reversed(body))
    while stack:
        statement = stack.pop()
        if isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body
            continue
        yield statement
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        blocks = []
        for field in ("body", "orelse", "finalbody"):
            block = getattr(statement, field, None)
            if isinstance(block, (cst.If, cst.Else, cst.Finally)) or hasattr(block, "body"):
                blocks.append(block)
        blocks.extend(getattr(statement, "handlers", ()))
        for block in reversed(blocks):
            if isinstance(block, cst.If):
                stack.append(block)
                continue
            inner = block.body if not isinstance(block, (cst.IndentedBlock, cst.SimpleStatementSuite)) else block
            inner_body = inner.body if hasattr(inner, "body") else ()
            stack.extend(reversed(list(inner_body)))


# Bases that are not project classes but are known to define no methods a
# subclass would call on itself and expect a handle from.
_KNOWN_EXTERNAL_BASES = frozenset({"builtins.object", "abc.ABC", "typing.Generic", "typing.Protocol"}) | _WORKER_BASES


def _module_stem(file_name: str) -> str:
    return file_name[:-3] if file_name.endswith(".py") else file_name


def _is_within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _relative(module_part: str, name: str, is_package: bool) -> Optional[str]:
    """``..util`` seen from module ``a.b.c`` is ``a.util``; None past the top."""
    level = len(module_part) - len(module_part.lstrip("."))
    package = name if is_package else name.rpartition(".")[0]
    for _ in range(level - 1):
        if not package:
            return None
        package = package.rpartition(".")[0]
    if not package:
        return None
    rest = module_part[level:]
    return f"{package}.{rest}" if rest else package


def _classes_with_coroutine_methods(summary: ModuleSummary) -> FrozenSet[str]:
    """``A`` for each ``A.m`` of the summary that is an ``async def``."""
    return frozenset(qualified.rpartition(".")[0] for qualified, facts in summary.functions.items() if facts.is_async and "." in qualified)
