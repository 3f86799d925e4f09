"""``# noqa`` and ``# noqa: LL101,LL2`` comments, read the way flake8 reads them.

Only the command line and the language server apply these: under flake8 and
pylint the host does its own suppression, so the plugins never look at
comments.  :func:`add_noqa` writes them (the language server's quick fix)."""

from __future__ import annotations

import re
from typing import Iterable, List, Optional, Sequence

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


def add_noqa(line: str, codes: Iterable[str]) -> str:
    """``line`` with ``# noqa: <codes>`` merged into it: appended as a new
    comment, or added to the codes of an existing ``# noqa: ...`` comment (a
    code that comment already covers, by itself or by a prefix, is not
    repeated; a bare ``# noqa`` already covers everything).  The line ending,
    if any, is kept.  A line that cannot carry a comment (it ends inside a
    string or with a backslash continuation) is returned unchanged: callers
    check :func:`is_suppressed` afterwards."""
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    comment = _comment_start(body)
    if comment is None:
        return line
    wanted = sorted({code.upper() for code in codes})
    if comment < len(body):
        match = _NOQA.search(body, comment)
        if match is not None:
            present = match.group("codes")
            if not present:
                return line  # a bare ``# noqa`` silences everything already
            parts = [part for part in re.split(r"[,\s]+", present) if part]
            missing = [code for code in wanted if not any(code.startswith(part.upper()) for part in parts)]
            if not missing:
                return line
            separator = ", " if ", " in present or len(parts) == 1 else ("," if "," in present else " ")
            at = match.end("codes")
            return body[:at] + separator + separator.join(missing) + body[at:] + ending
    if not wanted:
        return line
    return body.rstrip() + "  # noqa: " + ", ".join(wanted) + ending


def _comment_start(line: str) -> Optional[int]:
    """Where the comment of ``line`` starts (``len(line)`` if it has none), or
    None if the line ends inside a string or continues on the next line."""
    index, length = 0, len(line)
    while index < length:
        char = line[index]
        if char == "#":
            return index
        if char in "'\"":
            quote = line[index : index + 3] if line[index : index + 3] in ("'''", '"""') else char
            index += len(quote)
            while index < length and not line.startswith(quote, index):
                index += 2 if line[index] == "\\" else 1
            if index >= length:
                return None  # the string goes on past this line
            index += len(quote)
            continue
        index += 1
    if line.rstrip().endswith("\\"):
        return None
    return length
