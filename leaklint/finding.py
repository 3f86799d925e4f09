"""What a check produces: findings, and the result for one file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

SAFE = "safe"  # keeps what the code evidently means: ``--fix`` applies it
UNSAFE = "unsafe"  # changes behaviour a person should review: only with ``--unsafe-fixes``


@dataclass(frozen=True, order=True)
class Edit:
    """Replace the source between two positions (1-based lines, 1-based
    character columns, end exclusive, as in :class:`Finding`) with ``text``.
    An insertion has equal start and end."""

    line: int
    column: int
    end_line: int
    end_column: int
    text: str


@dataclass(frozen=True)
class Fix:
    """A change that removes a finding: data a rule returns, applied in one
    place (:mod:`leaklint.fixes`), never by the rule itself."""

    title: str
    safety: str
    edits: Tuple[Edit, ...]


@dataclass(frozen=True, order=True)
class Finding:
    """One leak reported at one place. Lines and columns are 1-based; columns
    count characters (as libcst and editors do), not UTF-8 bytes."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    name: str
    message: str
    # Not part of a finding's identity: two runs that agree on the finding agree.
    fix: Optional[Fix] = field(default=None, compare=False)

    @property
    def key(self) -> Tuple[int, int, str]:
        """What every front end must agree on."""
        return (self.line, self.column, self.code)


@dataclass
class FileResult:
    """The outcome for one file.

    ``error`` says, in one line, why the file could not be checked at all (it
    cannot be read, decoded or parsed).  ``rule_errors`` name the rules that
    crashed on it: the other rules' findings are still in ``findings``."""

    path: str
    findings: List[Finding] = field(default_factory=list)
    error: Optional[str] = None
    rule_errors: List[str] = field(default_factory=list)
    # The project files whose summaries the findings depended on -> their
    # digests (for the result cache); not part of the outcome itself.
    dependencies: Dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def problems(self) -> List[str]:
        """Every reason this file was not fully checked, one line each."""
        return ([self.error] if self.error else []) + self.rule_errors
