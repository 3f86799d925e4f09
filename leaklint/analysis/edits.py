"""What a rule says a fix changes, in terms of nodes, and how the engine turns
that into text edits.

A rule never computes line numbers: it says "replace this node with this code",
"insert these lines after this statement", "indent these statements".  The
engine computes the positions of the nodes a fix names in the same one pass
that positions the reported nodes (:mod:`leaklint.positions`), then
:func:`resolve` turns each :class:`PlannedFix` into a :class:`~leaklint.finding.Fix`
of plain :class:`~leaklint.finding.Edit` s, reading the source only for what
positions cannot say: a line's indentation and its line ending.  A fix whose
nodes do not sit where it needs them (a statement that does not start its line,
a trailing backslash) resolves to no fix at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import libcst as cst

from leaklint.finding import Edit, Fix

# A place in the source: the start (False) or the end (True) of a node.
Point = Tuple[cst.CSTNode, bool]
Range = Tuple[int, int, int, int]  # libcst's: 1-based lines, 0-based columns


def start(node: cst.CSTNode) -> Point:
    return (node, False)


def end(node: cst.CSTNode) -> Point:
    return (node, True)


@dataclass(frozen=True, eq=False)
class Replace:
    """Replace the source from ``first`` to ``last`` with ``text`` (an
    insertion when they are the same point).  A newline in ``text`` is
    written as the line ending of ``statement``'s line, followed by
    ``statement``'s indentation."""

    first: Point
    last: Point
    text: str
    statement: Optional[cst.CSTNode] = None


@dataclass(frozen=True, eq=False)
class InsertLines:
    """Whole lines before or after ``statement``, indented like it (an empty
    string is a blank line)."""

    statement: cst.CSTNode
    lines: Tuple[str, ...]
    after: bool = True


@dataclass(frozen=True, eq=False)
class IndentLines:
    """Indent by ``unit`` every non-blank line after ``after``'s last line,
    through ``through``'s last line: the body of a new block."""

    after: cst.CSTNode
    through: cst.CSTNode
    unit: str


Change = Union[Replace, InsertLines, IndentLines]


@dataclass(frozen=True, eq=False)
class PlannedFix:
    """A fix as a rule states it; :func:`resolve` makes it a :class:`Fix`."""

    title: str
    safety: str
    changes: Tuple[Change, ...]

    def nodes(self) -> Iterator[cst.CSTNode]:
        """The nodes whose positions :func:`resolve` needs."""
        for change in self.changes:
            if isinstance(change, Replace):
                yield change.first[0]
                yield change.last[0]
                if change.statement is not None:
                    yield change.statement
            elif isinstance(change, InsertLines):
                yield change.statement
            else:
                yield change.after
                yield change.through


def line_starts(text: str) -> List[int]:
    """The offset of each line's first character; lines end as Python's
    tokenizer ends them (``\\n``, ``\\r\\n`` or a lone ``\\r``)."""
    starts = [0]
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char == "\n":
            starts.append(index + 1)
        elif char == "\r":
            if index + 1 < length and text[index + 1] == "\n":
                index += 1
            starts.append(index + 1)
        index += 1
    return starts


class SourceLines:
    """The lines of a source, as the tokenizer counts them, each split into its
    text and its line ending."""

    def __init__(self, text: str):
        self.text = text
        self.starts = line_starts(text)

    def __len__(self) -> int:
        return len(self.starts)

    def line(self, number: int) -> str:
        """Line ``number`` (1-based) without its line ending."""
        return self.full(number).rstrip("\r\n")

    def full(self, number: int) -> str:
        begin = self.starts[number - 1]
        finish = self.starts[number] if number < len(self.starts) else len(self.text)
        return self.text[begin:finish]

    def ending(self, number: int) -> str:
        """The line ending of line ``number``: the file's nearest one if the
        last line has none."""
        full = self.full(number)
        ending = full[len(full.rstrip("\r\n")) :]
        if ending:
            return ending
        if number > 1:
            return self.ending(number - 1)
        return "\n"


class _Unresolvable(Exception):
    """The nodes of a fix are not laid out the way the fix needs."""


_REST_OF_LINE = re.compile(r"[ \t\f]*(#.*)?")


def resolve(plan: PlannedFix, ranges: Dict[cst.CSTNode, Range], lines: SourceLines) -> Optional[Fix]:
    """The text edits of ``plan``, or None if its nodes cannot carry them."""
    try:
        edits: List[Edit] = []
        for change in plan.changes:
            edits.extend(_edits(change, ranges, lines))
    except (_Unresolvable, KeyError, IndexError):
        return None  # a node outside the module, or laid out otherwise than the fix needs
    return Fix(plan.title, plan.safety, tuple(sorted(set(edits))))


def _edits(change: Change, ranges: Dict[cst.CSTNode, Range], lines: SourceLines) -> Iterator[Edit]:
    if isinstance(change, Replace):
        line, column = _point(change.first, ranges)
        end_line, end_column = _point(change.last, ranges)
        text = change.text
        if "\n" in text:
            if change.statement is None:
                raise _Unresolvable("a multi-line replacement needs its statement")
            statement_line = ranges[change.statement][0]
            newline = lines.ending(statement_line) + _indentation(change.statement, ranges, lines)
            text = text.replace("\n", newline)
        yield Edit(line, column + 1, end_line, end_column + 1, text)
    elif isinstance(change, InsertLines):
        indentation = _indentation(change.statement, ranges, lines)
        first_line, _, last_line, last_column = ranges[change.statement]
        if change.after:
            if not _REST_OF_LINE.fullmatch(lines.line(last_line)[last_column:]):
                raise _Unresolvable("something follows the statement on its line")
            anchor = last_line
        else:
            anchor = first_line
        newline = lines.ending(anchor)
        block = "".join((indentation + text if text else "") + newline for text in change.lines)
        if not change.after:
            yield Edit(first_line, 1, first_line, 1, block)
        elif anchor < len(lines):
            yield Edit(anchor + 1, 1, anchor + 1, 1, block)
        else:  # the statement ends the file without a line ending
            column = len(lines.full(anchor)) + 1
            yield Edit(anchor, column, anchor, column, newline + block[: -len(newline)])
    else:
        prefix = _indentation(change.after, ranges, lines)
        first = ranges[change.after][2] + 1
        last = ranges[change.through][2]
        for number in range(first, last + 1):
            text = lines.line(number)
            if not text.strip():
                continue  # a blank line stays blank
            column = len(prefix) + 1 if text.startswith(prefix) else 1
            yield Edit(number, column, number, column, change.unit)


def _point(point: Point, ranges: Dict[cst.CSTNode, Range]) -> Tuple[int, int]:
    node, at_end = point
    start_line, start_column, end_line, end_column = ranges[node]
    return (end_line, end_column) if at_end else (start_line, start_column)


def _indentation(statement: cst.CSTNode, ranges: Dict[cst.CSTNode, Range], lines: SourceLines) -> str:
    """The whitespace before ``statement`` on its line; the statement must
    start its line."""
    line, column = ranges[statement][:2]
    before = lines.line(line)[:column]
    if before.strip(" \t\f"):
        raise _Unresolvable("the statement does not start its line")
    return before


def plan_nodes(plans: Sequence[Optional[PlannedFix]]) -> List[cst.CSTNode]:
    return [node for plan in plans if plan is not None for node in plan.nodes()]
