"""The base class of every rule.

A rule is a small class in its own file under ``leaklint/rules/<family>/``::

    class EndlessLoop(Rule):
        \"\"\"<the documentation: What it does / Why is this bad? / Example / Use instead>\"\"\"

        code = "LL301"
        name = "endless-loop"
        message = "..."
        modules = ()                  # the rule runs only if one of these is imported
        trigger = r"\bwhile ..."      # a file without a match is not even parsed
        # or, where the text lets through many files the rule cannot fire in:
        trigger = Trigger(r"\bwhile ...", tree=may_loop_forever)

        def visit_While(self, node):
            ...
            self.report(node)

        def fix(self, node):          # optional: how to mend a reported node
            return some_builder(self.facts, node)

The engine calls ``visit_<NodeType>`` for every node of that libcst type, after
the shared analysis (``self.facts``) has seen the whole module, so a rule may ask
about code further down the file.  Rules about what a creating call returns
(a task, a thread, a queue...) derive from :class:`HandleRule` and only decide,
in ``check_handle``, from where the handle goes.
"""

from __future__ import annotations

import ast
import inspect
import re
from typing import Callable, ClassVar, Dict, NamedTuple, Optional, Tuple, Type, Union

import libcst as cst

from leaklint.analysis import FileFacts
from leaklint.analysis.project import ModuleView
from leaklint.analysis.creations import Creation
from leaklint.analysis.edits import PlannedFix
from leaklint.analysis.handles import Handle

# The engine's: (rule, reported node, message, fix or None).
Reporter = Callable[["Rule", cst.CSTNode, str, Optional[PlannedFix]], None]


class Trigger(NamedTuple):
    """What must be in a file for a rule to fire: ``text``, a regular
    expression that must match somewhere in the source, and ``tree``, a
    question about Python's parse tree of the file (and the project as the
    module sees it, when known) that must be answered True.  The engine asks
    ``tree`` only where Python's parser is cheaper than what it saves: when
    every rule whose text matched has such a question, before libcst parses
    the file, so a False from all of them saves the parse.  Each question is
    a necessary condition for the rule's findings (see
    :mod:`leaklint.analysis.prechecks`).

    ``sees_project``: given the project's view, ``tree`` also answers for
    what the project hands the module (LL103's question asks the project
    about every call it reads).  Then the engine asks it before running the
    rule for a kind the project offers, too, instead of parsing the file
    with libcst whenever the module imports, say, an ``async def``."""

    text: str
    tree: Optional[Callable[[ast.Module, Optional[ModuleView]], bool]] = None
    sees_project: bool = False


class Rule:
    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    message: ClassVar[str] = ""
    modules: ClassVar[Tuple[str, ...]] = ()
    trigger: ClassVar[Union[str, Trigger]] = ""
    # The kinds of thing the rule judges (``creations.TASK``...,
    # ``project.COROUTINE``): the engine also runs it where the project hands
    # the module one, whatever the module's text and imports.
    kinds: ClassVar[Tuple[str, ...]] = ()

    def __init__(self, facts: FileFacts, reporter: Reporter):
        self.facts = facts
        self._reporter = reporter

    def report(self, node: cst.CSTNode, message: Optional[str] = None, fix: Optional[PlannedFix] = None) -> None:
        """Report ``node``.  ``fix`` says how to mend it, as data in terms of
        nodes (see :mod:`leaklint.analysis.edits`); by default :meth:`fix`
        builds it.  The engine positions its nodes with the reported ones and
        :mod:`leaklint.fixes` applies it.  A fix that cannot be built costs
        the fix, never the finding."""
        if fix is None:
            try:
                fix = self.fix(node)
            except Exception:
                fix = None
        self._reporter(self, node, message or self.message, fix)

    def fix(self, node: cst.CSTNode) -> Optional[PlannedFix]:
        """How to mend the reported ``node``, built only for a finding (with
        the shared builders of :mod:`leaklint.fix_builders`); None: no fix."""
        return None

    # -- what the engine and the front ends read --------------------------------

    @classmethod
    def visited_types(cls) -> Dict[Type[cst.CSTNode], str]:
        """The libcst node types this rule visits, with the method's name."""
        found = {}
        for attribute in dir(cls):
            if attribute.startswith("visit_"):
                node_type = getattr(cst, attribute[len("visit_") :], None)
                if not (isinstance(node_type, type) and issubclass(node_type, cst.CSTNode)):
                    raise TypeError(f"{cls.__name__}.{attribute}: libcst has no node type of that name")
                found[node_type] = attribute
        return found

    @classmethod
    def trigger_text(cls) -> str:
        """The regular expression of the trigger."""
        return cls.trigger.text if isinstance(cls.trigger, Trigger) else cls.trigger

    @classmethod
    def trigger_pattern(cls) -> "re.Pattern[str]":
        return re.compile(cls.trigger_text())

    @classmethod
    def tree_sees_project(cls) -> bool:
        """The tree question answers for what the project hands the module too."""
        return isinstance(cls.trigger, Trigger) and cls.trigger.tree is not None and cls.trigger.sees_project

    @classmethod
    def tree_trigger(cls) -> Optional[Callable[[ast.Module, Optional[ModuleView]], bool]]:
        """The trigger's question about Python's parse tree, if it has one."""
        return cls.trigger.tree if isinstance(cls.trigger, Trigger) else None

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        """The first line of the documentation: one sentence, used in tables."""
        return cls.documentation().splitlines()[0] if cls.__doc__ else ""


class HandleRule(Rule):
    """A rule about the handle a creating call returns (a task, a thread...).

    Subclasses name the ``kinds`` of creation they judge (see
    ``leaklint.analysis.creations``) and decide in ``check_handle`` from the
    shared analysis of where that handle goes."""

    def visit_Call(self, node: cst.Call) -> None:
        # The engine does the same for all the handle rules of a file at once
        # (``engine._run_rules``: what a call creates is asked once); a rule
        # that visits calls for more than that overrides this.
        creation = self.facts.creation_of(node)
        if creation is not None and creation.kind in self.kinds:
            self.check_handle(self.facts.handle(node), creation)

    def check_handle(self, handle: Handle, creation: Creation) -> None:
        raise NotImplementedError

    # Set by a rule whose handle a method may rebind: formatted with
    # ``method`` and ``attr`` besides the fields of ``message``.
    rebinding_message: str = ""

    def report_never_released(self, handle: Handle, **fields: str) -> None:
        """Report a handle nobody releases; when a method that may run more
        than once rebinds it, say that the previous one is lost there."""
        method = handle.rebinding_method() if self.rebinding_message else None
        if method is not None:
            message = self.rebinding_message.format(method=method.name.value, attr=handle.destination.name, **fields)
        else:
            message = self.message.format(**fields)
        self.report(handle.call, message)
