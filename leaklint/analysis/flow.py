"""Control flow inside one function: is a handle released on every path?

Today's question "is there a release anywhere in the owner?" misses the leaks
that hide on one path: a ``Popen`` waited only ``if wait:``, an executor shut
down below an early ``return``, a ``TimeoutExpired`` caught and returned from.
Go vet's ``lostcancel`` answers the same question for cancel functions with a
control-flow graph and one reachability search; this module does that for a
Python function.

The graph has one node per simple statement (``x = f()``, ``return``...), one
per compound-statement header (the test of an ``if``/``while``, the iterable
of a ``for``, the items of a ``with``, the subject of a ``match``), one per
``except`` clause and ``case``, and a few synthetic nodes: the entry and end
of each ``finally`` (a ``with`` block's exit is a ``finally`` of one node),
the function's two exits (return or fall off the end; an uncaught raise) and
a *stop* (the process ends: ``sys.exit``, ``os._exit``, ``os.exec*``...).

Exceptional edges are modelled only where raising is a normal outcome: an
explicit ``raise``; a timed wait that raises its timeout exception
(``communicate(timeout=...)``, ``asyncio.wait_for``, awaits inside
``asyncio.timeout()``); and a call inside a ``try`` whose ``except`` catches
what the call is documented to raise (``wait(timeout=...)`` and
``TimeoutExpired``, ``q.get(timeout=...)`` and ``Empty``, ``os.*`` and
``OSError``...).  An edge for every statement would flag every
``t.start(); work(); t.join()``.  An exception we cannot match to a handler
(a class of the project caught by a builtin name) ends the path quietly.

A ``finally`` body is built once; the search carries *why* it entered it
(fell through, returned, broke out, raised what) and leaves it only the way it
came in.  Inside a ``finally`` body that is itself inside another one, it
carries the reasons of both: after the inner body a ``return`` that entered
the outer one goes on as that return, also after an ``except`` or a loop
inside the outer body.  That keeps the graph linear in the function's size
without merging paths.  The one approximation: only the reasons of the
innermost ``_EXACT_FINALLY_DEPTH`` bodies are kept (each more would multiply
the states of the search), and a body nested deeper forgets the outer
reasons and leaves them by falling through.

Everything is built iteratively (an explicit stack of generator frames, no
recursion): a function with thousands of branches or deeply nested ``try`` is
linear work and cannot overflow the stack.
"""

from __future__ import annotations

import builtins
from collections import deque
from typing import Callable, Deque, Dict, FrozenSet, Generator, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import libcst as cst

from leaklint.analysis.names import ImportTable, dotted_name
from leaklint.analysis.tree import SyntaxTree, walk_scope
from leaklint.deep import call_with_deep_stack
from leaklint.positions import positions

# Kinds of node.
STATEMENT = "statement"  # a simple statement: ``x = f()``, ``return x``
HEADER = "header"  # the part of a compound statement that runs before its body
HANDLER = "handler"  # an ``except`` clause: where a caught exception lands
CASE = "case"  # a ``case`` of a ``match``: its pattern and guard
FINALLY = "finally"  # the entry of a ``finally`` body, or a ``with`` block's exit
FINALLY_END = "finally end"  # the end of a ``finally`` body
RETURN_EXIT = "return exit"  # the function returns (or falls off its end)
RAISE_EXIT = "raise exit"  # an exception leaves the function
STOP = "stop"  # the process ends, or a path we cannot follow: nothing leaks there

# Why a path runs a ``finally`` body (besides an exception, which is ("raise", name)).
NORMAL = "normal"
RETURN = "return"
BREAK = "break"
CONTINUE = "continue"

Reason = Union[str, Tuple[str, str]]
# Why each finally body around a node was entered, outermost first: only the
# innermost _EXACT_FINALLY_DEPTH are kept (a forgotten one counts as falling through).
Reasons = Tuple[Optional[Reason], ...]
_EXACT_FINALLY_DEPTH = 2

# Calls after which the process is gone.
_NEVER_RETURN = frozenset({"sys.exit", "os._exit", "os.abort", "pytest.fail", "pytest.exit", "_pytest.outcomes.fail"})
_EXEC_PREFIX = "os.exec"
_NO_RETURN_ANNOTATIONS = frozenset({"NoReturn", "Never", "typing.NoReturn", "typing.Never", "typing_extensions.NoReturn", "typing_extensions.Never"})
_ENDING_EXCEPTIONS = frozenset({"SystemExit", "KeyboardInterrupt"})

# Exceptions of the standard library that are not builtins, with their bases.
_LIBRARY_EXCEPTIONS: Dict[str, Tuple[str, ...]] = {
    "TimeoutExpired": ("SubprocessError", "Exception", "BaseException"),
    "CalledProcessError": ("SubprocessError", "Exception", "BaseException"),
    "SubprocessError": ("Exception", "BaseException"),
    "Empty": ("Exception", "BaseException"),
    "Full": ("Exception", "BaseException"),
}
_BROAD = frozenset({"Exception", "BaseException"})

# System calls documented to raise OSError (besides the builtin ``open``).
# Not ``os.waitpid``: it retries an interrupted wait itself and raises only
# ChildProcessError, when there is no child left to wait for, so a path
# through that exception leaks no child.
_RAISES_OSERROR = frozenset(
    f"os.{name}"
    for name in (
        "open", "read", "write", "close", "fdopen", "pipe", "dup", "dup2", "kill", "killpg",
        "remove", "unlink", "rename", "replace", "mkdir", "makedirs", "rmdir", "listdir", "scandir",
        "stat", "lstat", "chdir", "chmod", "chown", "symlink", "link", "readlink", "fork", "setsid",
    )
)


def _builtin_exception(name: str) -> Optional[type]:
    value = getattr(builtins, name, None)
    return value if isinstance(value, type) and issubclass(value, BaseException) else None


class FlowNode:
    """One node of the graph.  ``statement`` is the libcst node it stands for
    (the small statement, the compound statement of a header, the
    ``ExceptHandler``, the ``MatchCase``, the ``Finally`` or ``With`` of a
    finally node); ``parts`` are the expressions that run at this node."""

    __slots__ = ("index", "kind", "statement", "parts", "successors", "jump", "raises", "frame", "finally_next", "outer_frame", "depth")

    def __init__(self, index: int, kind: str, statement: Optional[cst.CSTNode], parts: Tuple[cst.CSTNode, ...], frame: Optional["_Frame"]):
        self.index = index
        self.kind = kind
        self.statement = statement
        self.parts = parts
        # Normal successors, each with a label the witness reads: None, or
        # (header, True/False) for a branch taken.
        self.successors: List[Tuple["FlowNode", Optional[Tuple[cst.CSTNode, bool]]]] = []
        self.jump: Optional[Reason] = None  # return, break, continue, ("raise", name): resolved by frames
        self.raises: Tuple[Tuple[str, bool], ...] = ()  # (exception, raised even if nothing catches it)
        self.frame = frame  # the loops, handlers and finally bodies around this node
        self.finally_next: Optional[FlowNode] = None  # FINALLY_END (and a with's exit): where falling through goes
        self.outer_frame: Optional[_Frame] = None  # FINALLY_END: the frames outside the try
        # How many finally bodies hold this node (a finally entry and end, and
        # a with's exit, count as inside their own body).
        self.depth = (frame.depth if frame is not None else 0) + (1 if kind in (FINALLY, FINALLY_END) else 0)

    def __repr__(self) -> str:
        return f"<FlowNode {self.index} {self.kind} {type(self.statement).__name__}>"


class _Frame:
    """What surrounds a statement: a loop, the handlers of a try body, a try
    body whose finally runs on the way out (a ``with`` block's body counts as
    one), or a finally body itself (which only counts how deep the finally
    bodies go).  Linked outwards."""

    __slots__ = ("kind", "outer", "break_to", "continue_to", "handlers", "entry", "timeout", "depth")

    def __init__(self, kind: str, outer: Optional["_Frame"], **fields):
        self.kind = kind
        self.outer = outer
        self.break_to: Optional[FlowNode] = fields.get("break_to")
        self.continue_to: Optional[FlowNode] = fields.get("continue_to")
        self.handlers: Sequence[Tuple[Optional[Tuple[str, ...]], FlowNode]] = fields.get("handlers", ())
        self.entry: Optional[FlowNode] = fields.get("entry")
        # Inside ``async with asyncio.timeout(...)``: every await may raise TimeoutError.
        self.timeout: bool = fields.get("timeout", outer.timeout if outer is not None else False)
        self.depth: int = (outer.depth if outer is not None else 0) + (1 if kind == _IN_FINALLY else 0)


_LOOP, _HANDLERS, _FINALLY, _IN_FINALLY = "loop", "handlers", "finally", "in finally"

# Edge labels the witness reads: (_BRANCH, statement, taken) and (_RAISED, exception, raising node).
_BRANCH, _RAISED = "branch", "raised"
_REAL_KINDS = frozenset({STATEMENT, HEADER, HANDLER, CASE})


class LeakPath:
    """A path from just after the start to an exit of the function that
    passes no release: the witness a message names."""

    def __init__(self, steps: List[Tuple[FlowNode, Optional[tuple]]], exit_node: FlowNode, final_return: Optional[cst.CSTNode]):
        self.steps = steps  # (node, label of the edge that reached it), from the start's successor on
        self.exit_node = exit_node
        # The ``return`` that ends the function's body, if it ends with one:
        # leaving by it is leaving at the end, and the branch says more.
        self._final_return = final_return

    @property
    def exit(self) -> str:
        """"raise" (an exception leaves the function), "return" (an explicit
        ``return``) or "end" (it falls off the end)."""
        if self.exit_node.kind == RAISE_EXIT:
            return "raise"
        return "return" if isinstance(self.exit_statement, cst.Return) else "end"

    @property
    def exit_statement(self) -> Optional[cst.CSTNode]:
        """The ``return`` or ``raise`` statement the path leaves by, if any
        (a ``raise`` caught on the way is not one): the jump that reached the
        exit, followed back through the finally bodies it ran on the way."""
        nodes = [node for node, _ in self.steps]
        at = len(nodes) - 2  # the node before the exit
        while at >= 0:
            node = nodes[at]
            if node.kind == STATEMENT and node.jump is not None and (node.jump == RETURN or isinstance(node.jump, tuple)):
                label = self.steps[at + 1][1]
                return None if label is not None and label[0] == _RAISED else node.statement
            if node.kind == FINALLY_END:
                # A finally body ends the way it was entered: go back to what entered it.
                at -= 1
                while at >= 0 and not (nodes[at].kind == FINALLY and nodes[at].statement is node.statement):
                    at -= 1
                at -= 1
            elif node.kind == FINALLY and node.finally_next is not None:
                at -= 1  # a with's exit: entered by the node before it
            else:
                return None  # it fell off the end, or a caught exception ended the jump
        return None

    @property
    def exception(self) -> Optional[Tuple[str, cst.CSTNode]]:
        """(exception, the statement raising it): the first exception on the
        path that a call raised (not an explicit ``raise``)."""
        for _, label in self.steps:
            if label is not None and label[0] == _RAISED:
                return label[1], label[2].statement
        return None

    @property
    def branches(self) -> List[Tuple[cst.CSTNode, bool]]:
        """The branches taken on the way: (if/while/for statement or match case, taken?)."""
        return [(label[1], label[2]) for _, label in self.steps if label is not None and label[0] == _BRANCH]

    def describe(self, line_of: Callable[[cst.CSTNode], int]) -> str:
        """A phrase for a message: "after TimeoutExpired at line 12", "on the
        return at line 12", "when `wait` is false"; "" for a straight path."""
        exception = self.exception
        if exception is not None:
            return f"after {exception[0]} at line {line_of(exception[1])}"
        statement = self.exit_statement
        if statement is not None and statement is not self._final_return:
            what = "return" if isinstance(statement, cst.Return) else "raise"
            return f"on the {what} at line {line_of(statement)}"
        for statement, taken in reversed(self.branches):
            phrase = _condition_phrase(statement, taken, line_of)
            if phrase:
                return phrase
        return ""


def _condition_phrase(statement: cst.CSTNode, taken: bool, line_of) -> str:
    if isinstance(statement, (cst.If, cst.While)):
        test = statement.test
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test, taken = test.expression, not taken
        name = dotted_name(test)
        if name is not None:
            return f"when `{name}` is {'true' if taken else 'false'}"
        return f"when the condition at line {line_of(statement)} is {'true' if taken else 'false'}"
    if isinstance(statement, cst.For):
        return "" if taken else f"when the loop at line {line_of(statement)} ends"
    if isinstance(statement, cst.MatchCase):
        return f"in the case at line {line_of(statement)}" if taken else ""
    return ""


class FlowGraph:
    """The control-flow graph of one function, built on construction."""

    def __init__(self, function: cst.FunctionDef, tree: SyntaxTree, module: "Flows"):
        self.function = function
        self._tree = tree
        self._module = module
        self.nodes: List[FlowNode] = []
        self._node_of: Dict[cst.CSTNode, FlowNode] = {}
        self._dispatch_cache: Dict[Tuple[int, Reason], Optional[Tuple[FlowNode, Optional[Reason]]]] = {}
        self._caught_cache: Dict[Tuple[int, str], bool] = {}
        self.return_exit = self._new(RETURN_EXIT, None, (), None)
        self.raise_exit = self._new(RAISE_EXIT, None, (), None)
        self.stop = self._new(STOP, None, (), None)
        self.build_steps = 0  # generator steps of the build: linear in the function's size
        self.visits = 0  # states the searches popped, summed over every search
        self.entry = self._build()

    # -- construction -------------------------------------------------------------

    def _new(self, kind: str, statement, parts, frame) -> FlowNode:
        node = FlowNode(len(self.nodes), kind, statement, tuple(parts), frame)
        self.nodes.append(node)
        return node

    def _build(self) -> FlowNode:
        """Drive the builder generators with an explicit stack: each one
        yields a sub-builder and receives the entry node it built."""
        stack: List[Generator] = [self._block(_suite(self.function.body), self.return_exit, None)]
        result: Optional[FlowNode] = None
        while True:
            self.build_steps += 1
            try:
                request = stack[-1].send(result)
            except StopIteration as done:
                stack.pop()
                result = done.value
                if not stack:
                    return result
                continue
            stack.append(request)
            result = None

    def _block(self, statements: Sequence[cst.CSTNode], next_node: FlowNode, frame: Optional[_Frame]):
        """Build ``statements`` backwards, each knowing its successor; return the entry."""
        entry = next_node
        for statement in reversed(statements):
            if isinstance(statement, cst.BaseSmallStatement):
                entry = self._small(statement, entry, frame)
            else:
                builder = _COMPOUND.get(type(statement))
                if builder is None:  # a nested def or class: runs its header only
                    entry = self._simple(statement, _header_parts(statement), entry, frame)
                else:
                    entry = yield builder(self, statement, entry, frame)
        return entry

    def _simple(self, statement, parts, next_node: FlowNode, frame) -> FlowNode:
        node = self._new(STATEMENT, statement, parts, frame)
        self._node_of[statement] = node
        node.successors.append((next_node, None))
        node.raises = self._module.raises_of(statement, frame)
        return node

    def _small(self, statement: cst.BaseSmallStatement, next_node: FlowNode, frame) -> FlowNode:
        node = self._new(STATEMENT, statement, (statement,), frame)
        self._node_of[statement] = node
        if isinstance(statement, cst.Return):
            node.jump = RETURN
        elif isinstance(statement, cst.Break):
            node.jump = BREAK
        elif isinstance(statement, cst.Continue):
            node.jump = CONTINUE
        elif isinstance(statement, cst.Raise):
            name = _raised_name(statement, self._tree)
            if name in _ENDING_EXCEPTIONS:
                node.successors.append((self.stop, None))
            else:
                node.jump = ("raise", name)
        elif isinstance(statement, cst.Assert) and _is_false_literal(statement.test):
            node.jump = ("raise", "AssertionError")
        elif self._module.ends_process(statement):
            node.successors.append((self.stop, None))
        else:
            node.successors.append((next_node, None))
        if node.jump is None or isinstance(statement, cst.Return):
            raises = self._module.raises_of(statement, frame)
            if isinstance(statement, cst.Assert):
                raises += (("AssertionError", False),)
            node.raises = raises
        return node

    def _header(self, statement, parts, frame) -> FlowNode:
        node = self._new(HEADER, statement, parts, frame)
        self._node_of[statement] = node
        node.raises = self._module.raises_of(statement, frame) if parts else ()
        return node

    def _if(self, statement: cst.If, next_node, frame):
        header = self._header(statement, (statement.test,), frame)
        body = yield self._block(_suite(statement.body), next_node, frame)
        orelse = statement.orelse
        if isinstance(orelse, cst.If):
            other = yield self._if(orelse, next_node, frame)
        elif isinstance(orelse, cst.Else):
            other = yield self._block(_suite(orelse.body), next_node, frame)
        else:
            other = next_node
        header.successors += [(body, (_BRANCH, statement, True)), (other, (_BRANCH, statement, False))]
        return header

    def _loop(self, statement: Union[cst.While, cst.For], next_node, frame):
        if isinstance(statement, cst.While):
            header = self._header(statement, (statement.test,), frame)
        else:
            header = self._header(statement, (statement.target, statement.iter), frame)
        loop_frame = _Frame(_LOOP, frame, break_to=next_node, continue_to=header)
        body = yield self._block(_suite(statement.body), header, loop_frame)
        if statement.orelse is not None:
            other = yield self._block(_suite(statement.orelse.body), next_node, frame)
        else:
            other = next_node
        header.successors.append((body, (_BRANCH, statement, True)))
        if not (isinstance(statement, cst.While) and _is_true_literal(statement.test)):
            header.successors.append((other, (_BRANCH, statement, False)))
        return header

    def _with(self, statement: cst.With, next_node, frame):
        header = self._header(statement, tuple(item.item for item in statement.items), frame)
        exit_node = self._new(FINALLY, statement, (), frame)
        exit_node.finally_next = next_node
        exit_node.outer_frame = frame
        timeout = statement.asynchronous is not None and any(isinstance(item.item, cst.Call) and self._module.is_timeout_context(item.item) for item in statement.items)
        body_frame = _Frame(_FINALLY, frame, entry=exit_node, timeout=timeout or (frame is not None and frame.timeout))
        body = yield self._block(_suite(statement.body), exit_node, body_frame)
        header.successors.append((body, None))
        return header

    def _try(self, statement: Union[cst.Try, cst.TryStar], next_node, frame):
        after = next_node
        finally_frame = frame
        if statement.finalbody is not None:
            entry = self._new(FINALLY, statement.finalbody, (), frame)
            end = self._new(FINALLY_END, statement.finalbody, (), frame)
            end.finally_next = next_node
            end.outer_frame = frame
            body = yield self._block(_suite(statement.finalbody.body), end, _Frame(_IN_FINALLY, frame))
            entry.successors.append((body, None))
            self._node_of[statement.finalbody] = entry
            after = entry
            finally_frame = _Frame(_FINALLY, frame, entry=entry)
        handlers = []
        for handler in statement.handlers:
            node = self._new(HANDLER, handler, (handler.type,) if handler.type is not None else (), finally_frame)
            self._node_of[handler] = node
            body = yield self._block(_suite(handler.body), after, finally_frame)
            node.successors.append((body, None))
            handlers.append((_handler_names(handler.type), node))
        if statement.orelse is not None:
            after = yield self._block(_suite(statement.orelse.body), after, finally_frame)
        body_frame = _Frame(_HANDLERS, finally_frame, handlers=handlers) if handlers else finally_frame
        return (yield self._block(_suite(statement.body), after, body_frame))

    def _match(self, statement, next_node, frame):
        subject = self._header(statement, (statement.subject,), frame)
        fallthrough = next_node
        for case in reversed(statement.cases):
            parts = (case.pattern,) + ((case.guard,) if case.guard is not None else ())
            node = self._new(CASE, case, parts, frame)
            self._node_of[case] = node
            body = yield self._block(_suite(case.body), next_node, frame)
            node.successors.append((body, (_BRANCH, case, True)))
            if not _is_irrefutable(case):
                node.successors.append((fallthrough, (_BRANCH, case, False)))
            fallthrough = node
        subject.successors.append((fallthrough, None))
        return subject

    # -- where jumps and exceptions go -------------------------------------------

    def _dispatch(self, reason: Reason, frame: Optional[_Frame]) -> Optional[Tuple[FlowNode, Optional[Reason]]]:
        """Where ``reason`` (a return, break, continue or raise) leaving a node
        inside ``frame`` goes: (node, the reason a finally was entered for)."""
        key = (id(frame), reason)
        if key in self._dispatch_cache:
            return self._dispatch_cache[key]
        target: Optional[Tuple[FlowNode, Optional[Reason]]] = None
        walked = frame
        while walked is not None:
            if walked.kind == _FINALLY:
                target = (walked.entry, reason)
                break
            if walked.kind == _LOOP and reason in (BREAK, CONTINUE):
                jump_to = walked.break_to if reason == BREAK else walked.continue_to
                target = (jump_to, NORMAL if jump_to.kind == FINALLY else None)
                break
            if walked.kind == _HANDLERS and isinstance(reason, tuple):
                verdict, handler = _catching_handler(walked.handlers, reason[1])
                if verdict is None:
                    target = (self.stop, None)  # a handler we cannot judge: quiet
                    break
                if verdict:
                    target = (handler, None)
                    break
            walked = walked.outer
        else:
            if reason == RETURN:
                target = (self.return_exit, None)
            elif isinstance(reason, tuple):
                target = (self.raise_exit, None)
        self._dispatch_cache[key] = target
        return target

    def _caught(self, name: str, frame: Optional[_Frame]) -> bool:
        """Some ``except`` around ``frame`` may catch ``name`` (or we cannot tell)."""
        key = (id(frame), name)
        if key not in self._caught_cache:
            walked, caught = frame, False
            while walked is not None and not caught:
                if walked.kind == _HANDLERS:
                    caught = any(_catches(names, name, documented=True) is not False for names, _ in walked.handlers)
                walked = walked.outer
            self._caught_cache[key] = caught
        return self._caught_cache[key]

    def _successors(self, node: FlowNode, reasons: Reasons) -> Iterator[Tuple[FlowNode, Reasons, Optional[tuple]]]:
        """(next node, the reasons carried on, edge label) for normal flow."""
        if node.kind == FINALLY_END or (node.kind == FINALLY and node.finally_next is not None):
            reason = reasons[-1] if reasons else None  # why this body was entered
            if reason in (None, NORMAL):
                yield node.finally_next, _reasons_at(reasons, node, node.finally_next, NORMAL), None
                return
            target = self._dispatch(reason, node.outer_frame)
            if target is not None:
                yield target[0], _reasons_at(reasons, node, *target), None
            return
        if node.jump is not None:
            target = self._dispatch(node.jump, node.frame)
            if target is not None:
                yield target[0], _reasons_at(reasons, node, *target), None
            return
        for successor, label in node.successors:
            # Falling into a finally body (or a with's exit) runs it for the
            # normal reason; inside a body the reasons it was entered for go on.
            yield successor, _reasons_at(reasons, node, successor, NORMAL), label

    def _exceptional(self, node: FlowNode, reasons: Reasons) -> Iterator[Tuple[FlowNode, Reasons, tuple]]:
        """Where the exceptions ``node`` may raise (before its effect) go."""
        for name, always in node.raises:
            if not always and not self._caught(name, node.frame):
                continue
            target = self._dispatch(("raise", name), node.frame)
            if target is not None:
                yield target[0], _reasons_at(reasons, node, *target), (_RAISED, name, node)

    # -- the question -------------------------------------------------------------

    def node_of(self, node: cst.CSTNode) -> Optional[FlowNode]:
        """The graph node whose statement holds ``node`` (None outside the function)."""
        parent_of = self._tree.parent.get
        walked: Optional[cst.CSTNode] = node
        while walked is not None:
            found = self._node_of.get(walked)
            if found is not None:
                return found
            if walked is self.function:
                return None
            walked = parent_of(walked)
        return None

    def leaks_on_some_path(self, start: FlowNode, is_release: Callable[[FlowNode], bool]) -> Optional[LeakPath]:
        """A path from just after ``start`` to an exit of the function (return,
        falling off the end, an uncaught exception) on which no node satisfies
        ``is_release``; None when every path releases.  Breadth first, so the
        witness is a shortest such path; each (node, reasons) state is visited
        once.  Reaching ``start`` again continues past it: callers that count a
        re-run of the start as the end of the question say so in
        ``is_release``."""
        came_from, exit_state = self._search(start, is_release, stop_at_exit=True)
        return self._witness(came_from, exit_state) if exit_state is not None else None

    def reachable(self, start: FlowNode, is_barrier: Callable[[FlowNode], bool]) -> FrozenSet[int]:
        """The indexes of the nodes some path from just after ``start`` reaches
        without passing a node for which ``is_barrier`` holds (barriers that
        are reached are in, what lies only beyond them is not)."""
        came_from, _ = self._search(start, is_barrier, stop_at_exit=False)
        return frozenset(state[0] for state in came_from)

    def _search(self, start: FlowNode, is_release: Callable[[FlowNode], bool], stop_at_exit: bool):
        released: Dict[int, bool] = {}
        came_from: Dict[Tuple[int, Reasons], Tuple[Optional[Tuple[int, Reasons]], Optional[tuple]]] = {}
        queue: Deque[Tuple[FlowNode, Reasons]] = deque()
        # Why the finally bodies around the start were entered is not known:
        # they are left by falling through.
        for successor, reasons, label in self._successors(start, ()):
            state = (successor.index, reasons)
            if state not in came_from:
                came_from[state] = (None, label)
                queue.append((successor, reasons))
        while queue:
            node, reasons = queue.popleft()
            self.visits += 1
            state = (node.index, reasons)
            if node.kind in (RETURN_EXIT, RAISE_EXIT):
                if stop_at_exit:
                    return came_from, state
                continue
            if node.kind == STOP:
                continue
            moves: List[Tuple[FlowNode, Reasons, Optional[tuple]]] = list(self._exceptional(node, reasons))
            if node.index not in released:
                released[node.index] = node.kind in _REAL_KINDS and is_release(node)
            if not released[node.index]:
                moves.extend(self._successors(node, reasons))
            for successor, carried, label in moves:
                next_state = (successor.index, carried)
                if next_state not in came_from:
                    came_from[next_state] = (state, label)
                    queue.append((successor, carried))
        return came_from, None

    def _witness(self, came_from, state) -> LeakPath:
        steps: List[Tuple[FlowNode, Optional[tuple]]] = []
        exit_node = self.nodes[state[0]]
        walked = state
        while walked is not None:
            previous, label = came_from[walked]
            steps.append((self.nodes[walked[0]], label))
            walked = previous
        steps.reverse()
        return LeakPath(steps, exit_node, self._final_return())

    def _final_return(self) -> Optional[cst.CSTNode]:
        body = _suite(self.function.body)
        return body[-1] if body and isinstance(body[-1], cst.Return) else None


def _reasons_at(reasons: Reasons, node: FlowNode, target: FlowNode, entered_for: Optional[Reason]) -> Reasons:
    """The reasons carried at ``target``, reached from ``node`` (which
    carries ``reasons``): those of the finally bodies around both (the
    target is in the same bodies or outside some: jumps and ends of bodies
    go outwards), and, for a finally entry (or a with's exit), the reason it
    is entered for.  Only the innermost _EXACT_FINALLY_DEPTH are kept."""
    around = target.depth - 1 if target.kind == FINALLY else target.depth
    first = node.depth - len(reasons)  # the depth of reasons[0]; those below are forgotten
    kept = reasons[: max(0, around - first)]
    if target.kind == FINALLY:
        kept += (entered_for,)
    return kept[-_EXACT_FINALLY_DEPTH:]


_COMPOUND = {
    cst.If: FlowGraph._if,
    cst.While: FlowGraph._loop,
    cst.For: FlowGraph._loop,
    cst.With: FlowGraph._with,
    cst.Try: FlowGraph._try,
}
if hasattr(cst, "TryStar"):
    _COMPOUND[cst.TryStar] = FlowGraph._try
if hasattr(cst, "Match"):
    _COMPOUND[cst.Match] = FlowGraph._match


class Flows:
    """The control-flow graphs of one module's functions, each built on first
    use, and the module facts they need (what never returns, what raises)."""

    def __init__(self, tree: SyntaxTree, imports: ImportTable):
        self._tree = tree
        self._imports = imports
        self._graphs: Dict[cst.FunctionDef, FlowGraph] = {}
        self._no_return_functions: Optional[FrozenSet[str]] = None
        self._lines: Dict[cst.CSTNode, int] = {}

    @property
    def imports(self) -> ImportTable:
        """The module's imports, for the analyses that ask about paths."""
        return self._imports

    def line_of(self, node: cst.CSTNode) -> int:
        """The line ``node`` starts on, for a message (computed only for the
        few nodes a message names)."""
        line = self._lines.get(node)
        if line is None:
            try:
                found = positions(self._tree.module, [node])
            except RecursionError:
                found = call_with_deep_stack(positions, self._tree.module, [node])
            line = self._lines[node] = found[node][0]
        return line

    def graph(self, function: cst.FunctionDef) -> FlowGraph:
        graph = self._graphs.get(function)
        if graph is None:
            graph = self._graphs[function] = FlowGraph(function, self._tree, self)
        return graph

    def leaks_on_some_path(self, function: cst.FunctionDef, start_statement: cst.CSTNode, is_release: Callable[[FlowNode], bool]) -> Optional[LeakPath]:
        """Is there a path from just after ``start_statement`` (any node inside
        ``function``) to the function's exit that passes no node for which
        ``is_release`` holds?  The witness, or None."""
        graph = self.graph(function)
        start = graph.node_of(start_statement)
        if start is None:
            return None
        return graph.leaks_on_some_path(start, is_release)

    # -- calls that never return -----------------------------------------------

    def ends_process(self, statement: cst.BaseSmallStatement) -> bool:
        """``sys.exit(...)``, ``os._exit(...)``, ``os.execv(...)``,
        ``os.kill(os.getpid(), ...)``, ``pytest.fail(...)`` or a function of
        this module annotated ``-> NoReturn`` as a statement of its own."""
        if not isinstance(statement, cst.Expr) or not isinstance(statement.value, cst.Call):
            return False
        call = statement.value
        func = call.func
        for name in self._imports.qualified_names(func):
            if name in _NEVER_RETURN or name.startswith(_EXEC_PREFIX):
                return True
            if name == "os.kill" and call.args and isinstance(call.args[0].value, cst.Call):
                if self._imports.resolves_to(call.args[0].value.func, "os.getpid"):
                    return True
        if isinstance(func, cst.Name) and not self._imports.qualified_names(func):
            return func.value in ("exit", "quit") or func.value in self._no_return()
        return False

    def _no_return(self) -> FrozenSet[str]:
        if self._no_return_functions is None:
            found = set()
            for function in self._tree.function_defs:
                returns = function.returns
                if returns is None or not isinstance(self._tree.enclosing_scope(function), cst.Module):
                    continue
                annotation = returns.annotation
                text = annotation.evaluated_value if isinstance(annotation, cst.SimpleString) else dotted_name(annotation)
                if text in _NO_RETURN_ANNOTATIONS:
                    found.add(function.name.value)
            self._no_return_functions = frozenset(found)
        return self._no_return_functions

    # -- what a statement may raise ---------------------------------------------

    def raises_of(self, statement: cst.CSTNode, frame: Optional[_Frame]) -> Tuple[Tuple[str, bool], ...]:
        """The modelled exceptions the calls of ``statement`` (its own part,
        not a nested body) may raise: (name, raised even if nothing catches it)."""
        found: List[Tuple[str, bool]] = []
        in_timeout = frame is not None and frame.timeout
        for part in _own_parts(statement):
            for node in walk_scope(part):
                if isinstance(node, cst.Call):
                    found.extend(self._call_raises(node))
                elif in_timeout and isinstance(node, cst.Await):
                    found.append(("TimeoutError", True))
        return tuple(dict.fromkeys(found))

    def _call_raises(self, call: cst.Call) -> List[Tuple[str, bool]]:
        func = call.func
        names = self._imports.qualified_names(func)
        if "asyncio.wait_for" in names:
            return [("TimeoutError", True)]
        if names & {"subprocess.check_call", "subprocess.check_output", "subprocess.run"}:
            found = [("TimeoutExpired", False)] if _keyword(call, "timeout") is not None else []
            if "subprocess.run" not in names or _keyword(call, "check") is not None:
                found.append(("CalledProcessError", False))
            return found + [("OSError", False)]
        if names & _RAISES_OSERROR or self._imports.is_builtin(func, "open"):
            return [("OSError", False)]
        if self._imports.is_builtin(func, "int") or self._imports.is_builtin(func, "float"):
            return [("ValueError", False)]
        if not isinstance(func, cst.Attribute):
            return []
        method = func.attr.value
        if method == "communicate" and (_keyword(call, "timeout") is not None or len(call.args) >= 2):
            return [("TimeoutExpired", True)]
        if method == "wait" and (_keyword(call, "timeout") is not None or _positional(call) == 1):
            return [("TimeoutExpired", False)]
        if method == "get" and (_keyword(call, "timeout") is not None or _is_false_literal(_keyword(call, "block"))):
            return [("Empty", False)]
        if method == "get_nowait":
            return [("Empty", False)]
        if method == "put_nowait" or (method == "put" and _keyword(call, "timeout") is not None):
            return [("Full", False)]
        if method in ("result", "exception") and _keyword(call, "timeout") is not None:
            return [("TimeoutError", False)]
        return []

    def is_timeout_context(self, call: cst.Call) -> bool:
        return self._imports.resolves_to(call.func, "asyncio.timeout", "asyncio.timeout_at", "asyncio.timeouts.timeout")


# -- small helpers ---------------------------------------------------------------


def _suite(body: cst.BaseSuite) -> List[cst.CSTNode]:
    """The statements of a block, simple statements split apart."""
    if isinstance(body, cst.SimpleStatementSuite):
        return list(body.body)
    statements: List[cst.CSTNode] = []
    for statement in body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            statements.extend(statement.body)
        else:
            statements.append(statement)
    return statements


def _header_parts(statement: cst.CSTNode) -> Tuple[cst.CSTNode, ...]:
    """What runs when a nested ``def`` or ``class`` statement runs."""
    if isinstance(statement, cst.FunctionDef):
        return tuple(d.decorator for d in statement.decorators) + (statement.params,)
    if isinstance(statement, cst.ClassDef):
        return tuple(d.decorator for d in statement.decorators) + tuple(arg.value for arg in statement.bases)
    return ()


def _own_parts(statement: cst.CSTNode) -> Iterable[cst.CSTNode]:
    """The parts of ``statement`` that run at its node (not its bodies)."""
    if isinstance(statement, cst.BaseSmallStatement):
        return (statement,)
    if isinstance(statement, (cst.If, cst.While)):
        return (statement.test,)
    if isinstance(statement, cst.For):
        return (statement.iter,)
    if isinstance(statement, cst.With):
        return tuple(item.item for item in statement.items)
    if hasattr(cst, "Match") and isinstance(statement, cst.Match):
        return (statement.subject,)
    return _header_parts(statement)


def _keyword(call: cst.Call, name: str) -> Optional[cst.BaseExpression]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def _positional(call: cst.Call) -> int:
    return sum(1 for arg in call.args if arg.keyword is None and not arg.star)


def _is_true_literal(expr: Optional[cst.BaseExpression]) -> bool:
    if isinstance(expr, cst.Name):
        return expr.value == "True"
    return isinstance(expr, cst.Integer) and expr.value not in ("0",)


def _is_false_literal(expr: Optional[cst.BaseExpression]) -> bool:
    if isinstance(expr, cst.Name):
        return expr.value == "False"
    return isinstance(expr, cst.Integer) and expr.value == "0"


def _is_irrefutable(case) -> bool:
    pattern = case.pattern
    return case.guard is None and isinstance(pattern, cst.MatchAs) and pattern.pattern is None


def _exception_name(expr: cst.BaseExpression) -> Optional[str]:
    """``TimeoutExpired`` for ``subprocess.TimeoutExpired``, ``X`` for ``X(...)``."""
    if isinstance(expr, cst.Call):
        expr = expr.func
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    if isinstance(expr, cst.Name):
        return expr.value
    return None


def _handler_names(expr: Optional[cst.BaseExpression]) -> Optional[Tuple[str, ...]]:
    """The class names an ``except`` clause names; None for a bare ``except:``.
    A name we cannot read is "?"."""
    if expr is None:
        return None
    elements = expr.elements if isinstance(expr, cst.Tuple) else (expr,)
    names = []
    for element in elements:
        value = element.value if isinstance(element, (cst.Element, cst.StarredElement)) else element
        names.append("?" if isinstance(value, cst.Call) else _exception_name(value))
    return tuple(name or "?" for name in names)


def _raised_name(statement: cst.Raise, tree: SyntaxTree) -> str:
    """The exception a ``raise`` raises; a bare ``raise`` inside an ``except
    X:`` re-raises X; "?" when we cannot tell."""
    if statement.exc is not None:
        return _exception_name(statement.exc) or "?"
    for ancestor in tree.ancestors(statement):
        if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            break
        if isinstance(ancestor, cst.ExceptHandler) or type(ancestor).__name__ == "ExceptStarHandler":
            names = _handler_names(ancestor.type)
            return names[0] if names is not None and len(names) == 1 else "?"
    return "?"


def _catches(names: Optional[Tuple[str, ...]], raised: str, documented: bool = False) -> Optional[bool]:
    """Does ``except <names>`` catch ``raised``?  True, False, or None when we
    cannot tell (a class of the project, a name we cannot read).  For an
    exception a call is *documented* to raise, a handler for a subclass counts
    too (``except FileNotFoundError`` around ``open()``)."""
    if names is None:
        return True
    unknown = False
    raised_ancestors = _ancestors(raised)
    for name in names:
        if name == raised or name in _BROAD:
            return True
        if raised_ancestors is None:
            unknown = True  # a class of the project: may derive from anything
            continue
        if name in raised_ancestors:
            return True
        handler_ancestors = _ancestors(name)
        if handler_ancestors is None:
            unknown = True
        elif documented and raised in handler_ancestors:
            return True
    return None if unknown else False


def _ancestors(name: str) -> Optional[FrozenSet[str]]:
    if name in _LIBRARY_EXCEPTIONS:
        return frozenset(_LIBRARY_EXCEPTIONS[name])
    exception = _builtin_exception(name)
    if exception is None:
        return None
    return frozenset(base.__name__ for base in exception.__mro__[1:] if base is not object)


def _catching_handler(handlers, raised: str) -> Tuple[Optional[bool], Optional[FlowNode]]:
    """(True, the first handler that catches ``raised``), (None, None) when a
    handler on the way may or may not catch it, (False, None) when none does."""
    for names, node in handlers:
        verdict = _catches(names, raised)
        if verdict is not False:
            return verdict, node if verdict else None
    return False, None
