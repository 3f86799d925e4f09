"""Apply fixes: the one place where a rule's :class:`~leaklint.finding.Fix` data
becomes changed source.

Rules only return fixes.  :func:`fix_source` checks the text, applies the fixes
allowed at the requested safety (the first of two overlapping fixes wins, the
other waits for the next round), checks the result again, and repeats until
nothing changes or a few rounds have passed.  The command line, and later the
language server, call it; the flake8 and pylint hosts never apply fixes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Sequence, Type

from leaklint.finding import SAFE, Edit, Finding, Fix
from leaklint.rule import Rule

MAX_ROUNDS = 4


class FixConflict(ValueError):
    """Edits of one fix overlap each other or fall outside the text."""


@dataclass
class FixOutcome:
    text: str  # the fixed source (the input when nothing applied)
    applied: List[Finding] = field(default_factory=list)  # the findings whose fixes were applied
    remaining: List[Finding] = field(default_factory=list)  # the findings of the final text
    error: Optional[str] = None  # the file could not be checked (nothing is applied then)


def allowed(fix: Optional[Fix], unsafe: bool) -> bool:
    return fix is not None and (unsafe or fix.safety == SAFE)


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


def _offset(starts: Sequence[int], text_length: int, line: int, column: int) -> int:
    if not 1 <= line <= len(starts):
        raise FixConflict(f"line {line} is outside the text")
    offset = starts[line - 1] + column - 1
    if offset > text_length or column < 1:
        raise FixConflict(f"column {column} of line {line} is outside the text")
    return offset


def _spans(text: str, starts: Sequence[int], edits: Iterable[Edit]):
    spans = sorted(
        (_offset(starts, len(text), edit.line, edit.column), _offset(starts, len(text), edit.end_line, edit.end_column), edit.text)
        for edit in edits
    )
    for (start, end, _), (next_start, _, _) in zip(spans, spans[1:]):
        if next_start < end:
            raise FixConflict("edits overlap")
    for start, end, _ in spans:
        if end < start:
            raise FixConflict("an edit ends before it starts")
    return spans


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with every edit applied; the edits must not overlap."""
    spans = _spans(text, line_starts(text), edits)
    pieces, position = [], 0
    for start, end, replacement in spans:
        pieces.append(text[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _non_overlapping(text: str, findings: Sequence[Finding], unsafe: bool) -> List[Finding]:
    """The findings whose fixes can be applied together, in order: a fix that
    overlaps one already chosen waits for the next round."""
    starts = line_starts(text)
    chosen: List[Finding] = []
    taken: List[tuple] = []
    for finding in findings:
        if not allowed(finding.fix, unsafe):
            continue
        try:
            spans = _spans(text, starts, finding.fix.edits)
        except FixConflict:
            continue  # a broken fix is never applied
        if any(_touches(span, other) for span in spans for other in taken):
            continue
        chosen.append(finding)
        taken.extend(spans)
    return chosen


def _touches(a: tuple, b: tuple) -> bool:
    """Two spans overlap, or are insertions at the same place (their order
    would be a guess)."""
    (a_start, a_end, _), (b_start, b_end, _) = a, b
    if a_start == a_end == b_start == b_end:
        return True
    return a_start < b_end and b_start < a_end


def fix_source(
    text: str,
    path: str = "<string>",
    rules: Optional[Sequence[Type[Rule]]] = None,
    unsafe: bool = False,
    suppress=None,
) -> FixOutcome:
    """Check ``text`` and apply its fixes until none is left (at most
    :data:`MAX_ROUNDS` rounds).  ``suppress`` drops findings the caller's
    ``# noqa`` comments silence: a suppressed finding is never fixed."""
    from leaklint.engine import check_source  # the engine imports the rules, which import this module's data

    outcome = FixOutcome(text)
    for _ in range(MAX_ROUNDS):
        result = check_source(outcome.text, path, rules)
        if result.error is not None:
            outcome.error = result.error
            return outcome
        findings = suppress(result.findings, outcome.text) if suppress else result.findings
        outcome.remaining = findings
        chosen = _non_overlapping(outcome.text, findings, unsafe)
        if not chosen:
            return outcome
        outcome.text = apply_edits(outcome.text, (edit for finding in chosen for edit in finding.fix.edits))
        outcome.applied.extend(chosen)
    result = check_source(outcome.text, path, rules)
    outcome.remaining = suppress(result.findings, outcome.text) if suppress else result.findings
    return outcome
