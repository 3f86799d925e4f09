"""Check many files: read each once, apply per-file ignores and ``# noqa``.

This is the command line's engine room (the plugins call ``check_source``
directly, since their hosts read, schedule and suppress)."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Type

from leaklint.config import Settings
from leaklint.engine import SourceError, check_source, decode_source
from leaklint.finding import FileResult
from leaklint.noqa import drop_suppressed
from leaklint.registry import select_rules
from leaklint.rule import Rule


class Checker:
    """Checks files with the rules a :class:`Settings` enables."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.rules = select_rules(settings.select, settings.ignore, settings.extend_select)

    def rules_for(self, path: str) -> List[Type[Rule]]:
        ignored = []
        for pattern, codes in self.settings.per_file_ignores.items():
            if _path_matches(path, pattern, self.settings.root):
                ignored.extend(codes)
        if not ignored:
            return self.rules
        return [rule for rule in self.rules if not any(rule.code.startswith(code.upper()) for code in ignored)]

    def check_file(self, path: str) -> FileResult:
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            return FileResult(path, error=f"cannot read: {error.strerror or error}")
        return self.check_bytes(path, data)

    def check_bytes(self, path: str, data: bytes) -> FileResult:
        try:
            text = decode_source(data)
        except SourceError as error:
            return FileResult(path, error=str(error))
        result = check_source(text, path, self.rules_for(path))
        if result.findings:
            result.findings = drop_suppressed(result.findings, text.splitlines())
        return result


def _path_matches(path: str, pattern: str, root: Path) -> bool:
    candidate = Path(path)
    try:
        relative = candidate.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        relative = candidate.as_posix()
    return fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(candidate.name, pattern)


def check_files(paths: Sequence[str], settings: Settings, jobs: Optional[int] = None, **_: object) -> List[FileResult]:
    """Check ``paths``; results come back in the order of ``paths``."""
    checker = Checker(settings)
    return [checker.check_file(path) for path in paths]


def iter_findings(results: Iterable[FileResult]):
    for result in results:
        yield from result.findings
