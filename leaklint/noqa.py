"""``# noqa`` and ``# noqa: LL101,LL2`` comments, read the way flake8 reads them.

Only the command line applies these: under flake8 and pylint the host does its
own suppression, so the plugins never look at comments."""

from __future__ import annotations

import re
from typing import Iterable, List, Sequence

from leaklint.finding import Finding

_NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


def is_suppressed(line: str, code: str) -> bool:
    match = _NOQA.search(line)
    if match is None:
        return False
    codes = match.group("codes")
    if not codes:
        return True  # a bare ``# noqa`` silences everything on the line
    return any(code.startswith(part.upper()) for part in re.split(r"[,\s]+", codes) if part)


def drop_suppressed(findings: Iterable[Finding], lines: Sequence[str]) -> List[Finding]:
    kept = []
    for finding in findings:
        index = finding.line - 1
        if 0 <= index < len(lines) and is_suppressed(lines[index], finding.code):
            continue
        kept.append(finding)
    return kept
