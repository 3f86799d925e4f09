"""``# noqa`` and ``# noqa: LL101,LL2`` comments, read the way flake8 reads them.

Only the command line and the language server apply these: under flake8 and
pylint the host does its own suppression, so the plugins never look at
comments.  :func:`add_noqa` writes them (the language server's quick fix)."""

from __future__ import annotations

import io
import re
import tokenize
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
    """``line`` with a ``# noqa`` comment that silences ``codes`` on it: an
    existing ``# noqa: ...`` comment is extended with the codes it does not
    already cover, otherwise ``  # noqa: LL101`` is appended.  The line ending,
    if any, is kept.

    ``line`` comes back unchanged when it already silences every code, and
    when no comment can end it: a line that ends inside a string that goes on
    to the next line, or with a backslash continuation (a comment there would
    change the code or break it)."""
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    wanted = [code.upper() for code in codes if not is_suppressed(body, code)]
    if not wanted:
        return line
    comment = _comment_start(body)
    if comment is None:
        return line
    match = _NOQA.search(body, comment) if comment < len(body) else None
    if match is not None and match.group("codes"):
        extended = body[: match.end("codes")] + "".join(f", {code}" for code in _unique(wanted)) + body[match.end("codes") :]
        return extended + ending
    return f"{body.rstrip()}  # noqa: {', '.join(_unique(wanted))}{ending}"


def _unique(codes: Sequence[str]) -> List[str]:
    return list(dict.fromkeys(codes))


def _comment_start(body: str) -> Optional[int]:
    """Where the line's comment starts (its length when it has none), or None
    when a comment cannot be added at its end."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(body + "\n").readline):
            if token.type == tokenize.COMMENT:
                return token.start[1]
    except tokenize.TokenError as error:
        # An open bracket is fine (the statement goes on, a comment may end the
        # line); an open string is not.
        if "string" in str(error.args[0]).lower():
            return None
    except SyntaxError:  # Python 3.12+ tokenizes with the compiler's rules
        return None
    if body.rstrip().endswith("\\"):
        return None
    return len(body)
