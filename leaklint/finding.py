"""What a check produces: findings, and the result for one file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple


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

    @property
    def key(self) -> Tuple[int, int, str]:
        """What every front end must agree on."""
        return (self.line, self.column, self.code)


@dataclass
class FileResult:
    """The outcome for one file: its findings, or why it could not be checked.

    ``error`` is a one-line, human-readable reason; a file with an error may still
    carry the findings of the rules that did run (a rule that crashes does not
    stop the others)."""

    path: str
    findings: list = field(default_factory=list)
    error: Optional[str] = None
