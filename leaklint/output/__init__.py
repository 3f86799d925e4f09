"""Output formats: each turns a run's :class:`Report` into text, and nothing else.

The command reads files, applies the baseline and decides the exit status; a
format only chooses how to say what happened."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from leaklint.finding import FileResult, Finding


@dataclass(frozen=True)
class Report:
    """What one run found."""

    results: Sequence[FileResult]
    # (path, one-line reason) for every path that could not be (fully) checked:
    # missing paths, unreadable or unparsable files, rules that crashed.
    errors: Sequence[Tuple[str, str]] = ()
    # The working directory: relative paths and SARIF URIs are relative to it.
    base: Path = field(default_factory=Path.cwd)
    # Baseline entries that matched no finding of this run.
    stale_baseline_entries: int = 0
    # ``--unsafe-fixes``: unsafe fixes count as available, not hidden.
    unsafe_fixes: bool = False
    # With ``--fix``: how many findings were fixed (``findings`` are those that remain).
    fixed: Optional[int] = None

    @property
    def findings(self) -> List[Finding]:
        return [finding for result in self.results for finding in result.findings]


Formatter = Callable[[Report], str]


def formatters() -> Dict[str, Formatter]:
    from leaklint.output import github, json_format, sarif, text

    return {
        "text": text.format_report,
        "json": json_format.format_report,
        "sarif": sarif.format_report,
        "github": github.format_report,
    }


def relative_posix(path: str, base: Path) -> str:
    """``path`` as a forward-slash path relative to ``base`` when it lies
    inside it, so that CI annotations and SARIF URIs match the repository's
    paths however leaklint was called; other paths are kept as given."""
    if path == "-":
        return path
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return candidate.relative_to(base).as_posix()
        except ValueError:
            return candidate.as_posix()
    return PurePath(os.path.normpath(path)).as_posix()
