"""Apply fixes: the one place where a rule's :class:`~leaklint.finding.Fix` data
becomes changed source.

Rules only return fixes.  :func:`fix_source` checks the text, applies the fixes
allowed at the requested safety (the first of two overlapping fixes wins, the
other waits for the next round; an edit two fixes share, such as the same
module-level statement, is applied once), checks the result again (a round
that would break the file is undone), and repeats until nothing changes or a
few rounds have passed.  The command line and the language server call it;
the flake8 and pylint hosts never apply fixes.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Sequence, Set, Tuple, Type

from leaklint.analysis.edits import line_starts
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
    error: Optional[str] = None  # the file could not be checked, or a round of fixes would break it (that round is not applied)


def allowed(fix: Optional[Fix], unsafe: bool) -> bool:
    return fix is not None and (unsafe or fix.safety == SAFE)


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
    """``text`` with every edit applied; the edits must not overlap.  Two
    identical edits (two fixes adding the same module-level statement) are
    applied once."""
    spans = _spans(text, line_starts(text), set(edits))
    pieces, position = [], 0
    for start, end, replacement in spans:
        pieces.append(text[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _non_overlapping(text: str, findings: Sequence[Finding], unsafe: bool) -> List[Finding]:
    """The findings whose fixes can be applied together, in order: a fix that
    overlaps one already chosen waits for the next round, unless the overlap
    is an identical edit (which is then applied once).  Indenting a line and
    inserting line breaks on it also overlap: the new lines would not get the
    new indentation."""
    starts = line_starts(text)
    chosen: List[Finding] = []
    taken: List[tuple] = []
    taken_indented: Set[int] = set()
    taken_broken: Set[int] = set()
    for finding in findings:
        if not allowed(finding.fix, unsafe):
            continue
        try:
            spans = _spans(text, starts, finding.fix.edits)
        except FixConflict:
            continue  # a broken fix is never applied
        indented, broken = _line_effects(text, starts, finding.fix.edits)
        if any(span != other and _touches(span, other) for span in spans for other in taken):
            continue
        if indented & taken_broken or broken & taken_indented:
            continue
        chosen.append(finding)
        taken.extend(spans)
        taken_indented |= indented
        taken_broken |= broken
    return chosen


def _line_effects(text: str, starts: Sequence[int], edits: Iterable[Edit]) -> Tuple[Set[int], Set[int]]:
    """The lines ``edits`` indent (whitespace inserted within the line's own
    indentation) and the lines on which they insert line breaks."""
    indented, broken = set(), set()
    for edit in edits:
        if "\n" in edit.text or "\r" in edit.text:
            broken.add(edit.line)
        elif edit.text and not edit.text.strip() and (edit.line, edit.column) == (edit.end_line, edit.end_column):
            line_start = starts[edit.line - 1]
            if not text[line_start : line_start + edit.column - 1].strip():
                indented.add(edit.line)
    return indented, broken


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
    project=None,
) -> FixOutcome:
    """Check ``text`` and apply its fixes until none is left (at most
    :data:`MAX_ROUNDS` rounds).  ``suppress`` drops findings the caller's
    ``# noqa`` comments silence: a suppressed finding is never fixed.

    Every round's result is checked again; a round whose result Python cannot
    parse (or leaklint cannot check) is undone, the outcome keeps the text of
    the last good round and says why in ``error``.  ``project`` is the
    project index the checks use, as for :func:`~leaklint.engine.check_source`."""
    from leaklint.engine import check_source  # the engine imports the rules, which import this module's data

    outcome = FixOutcome(text)
    result = check_source(text, path, rules, project=project)
    if result.error is not None:
        outcome.error = result.error
        return outcome
    parses = _python_parses(text)
    for _ in range(MAX_ROUNDS):
        findings = suppress(result.findings, outcome.text) if suppress else result.findings
        outcome.remaining = findings
        chosen = _non_overlapping(outcome.text, findings, unsafe)
        if not chosen:
            return outcome
        fixed = apply_edits(outcome.text, (edit for finding in chosen for edit in finding.fix.edits))
        result = check_source(fixed, path, rules, project=project)
        if result.error is None and parses and not _python_parses(fixed):
            result.error = "Python cannot parse the fixed source"
        if result.error is not None:
            titles = ", ".join(sorted({f"{finding.code} ({finding.fix.title})" for finding in chosen}))
            outcome.error = f"fixes {titles} would break the file ({result.error}): not applied; please report this bug"
            return outcome
        outcome.text = fixed
        outcome.applied.extend(chosen)
    outcome.remaining = suppress(result.findings, outcome.text) if suppress else result.findings
    return outcome


def _python_parses(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
