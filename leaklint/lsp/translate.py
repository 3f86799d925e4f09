"""Between leaklint's findings and the Language Server Protocol: positions,
diagnostics, edits and hover text.  Pure functions of their arguments; the
server (:mod:`leaklint.lsp.server`) only calls them.

Positions: a :class:`~leaklint.finding.Finding` counts 1-based lines and
1-based *characters*; LSP counts 0-based lines and, unless the client chose
otherwise, UTF-16 code units, so a line with ``é`` or an emoji before the call
shifts the column.  Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r`` for both
(and for Python's tokenizer), never at the other characters
``str.splitlines`` also breaks on."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Type

from lsprotocol import types

from leaklint.finding import SAFE, Edit, Finding
from leaklint.rule import Rule

SOURCE = "leaklint"
# Where a rule's page is published: docs/rules/<code>.md of the repository.
RULE_DOCS_URL = "https://github.com/leaklint/leaklint/blob/main/docs/rules/{code}.md"
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.leaklint"


_LINE_END = re.compile(r"\r\n|\r|\n")


def line_starts(text: str) -> List[int]:
    """:func:`leaklint.fixes.line_starts`, in C speed: this runs on the
    server's event loop for every check of the buffer."""
    return [0, *(match.end() for match in _LINE_END.finditer(text))]


def rule_docs_url(code: str) -> str:
    return RULE_DOCS_URL.format(code=code)


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf8_units(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


_UNITS: Dict[str, Callable[[str], int]] = {
    types.PositionEncodingKind.Utf16.value: _utf16_units,
    types.PositionEncodingKind.Utf8.value: _utf8_units,
    types.PositionEncodingKind.Utf32.value: len,
}


class TextLines:
    """A document's text with positions converted both ways between
    leaklint's (1-based line, 1-based character) and LSP's (0-based line,
    code units of ``encoding``)."""

    def __init__(self, text: str, encoding: str = types.PositionEncodingKind.Utf16.value):
        self.text = text
        self.starts = line_starts(text)
        self._units = _UNITS.get(str(encoding), _utf16_units)

    def line(self, number: int) -> str:
        """The text of 1-based line ``number`` without its line ending."""
        start = self.starts[number - 1]
        end = self.starts[number] if number < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    @property
    def count(self) -> int:
        return len(self.starts)

    def position(self, line: int, column: int) -> types.Position:
        """LSP position of leaklint's (``line``, ``column``), clamped to the text."""
        line = min(max(line, 1), self.count)
        text = self.line(line)
        return types.Position(line=line - 1, character=self._units(text[: max(column, 1) - 1]))

    def range(self, line: int, column: int, end_line: int, end_column: int) -> types.Range:
        return types.Range(start=self.position(line, column), end=self.position(end_line, end_column))

    def location(self, position: types.Position) -> Tuple[int, int]:
        """leaklint's (line, column) of an LSP position, clamped to the text
        (a position inside a surrogate pair means the character it is in)."""
        line = min(position.line + 1, self.count)
        if position.line + 1 > self.count:
            return line, len(self.line(line)) + 1
        text = self.line(line)
        units = 0
        for index, char in enumerate(text):
            if units >= position.character:
                return line, index + 1
            units += self._units(char)
        return line, len(text) + 1

    def offset_position(self, offset: int) -> types.Position:
        line = bisect_right(self.starts, offset)
        return self.position(line, offset - self.starts[line - 1] + 1)

    def end(self) -> types.Position:
        return self.offset_position(len(self.text))


def diagnostic(finding: Finding, lines: TextLines) -> types.Diagnostic:
    return types.Diagnostic(
        range=lines.range(finding.line, finding.column, finding.end_line, finding.end_column),
        message=finding.message,
        severity=types.DiagnosticSeverity.Warning,
        code=finding.code,
        code_description=types.CodeDescription(href=rule_docs_url(finding.code)),
        source=SOURCE,
    )


def text_edit(edit: Edit, lines: TextLines) -> types.TextEdit:
    return types.TextEdit(range=lines.range(edit.line, edit.column, edit.end_line, edit.end_column), new_text=edit.text)


def workspace_edit(uri: str, version: Optional[int], edits: List[types.TextEdit], versioned: bool) -> types.WorkspaceEdit:
    """Edits to one document; ``versioned`` (the client supports
    ``documentChanges``) lets the client refuse them once the text moved on."""
    if versioned:
        document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=document, edits=edits)])
    return types.WorkspaceEdit(changes={uri: edits})


def overlaps(finding: Finding, start: Tuple[int, int], end: Tuple[int, int]) -> bool:
    """The finding's range meets the range from ``start`` to ``end`` (leaklint
    positions); touching counts, so a cursor right after a call still finds it."""
    return (finding.line, finding.column) <= end and start <= (finding.end_line, finding.end_column)


def suppress_action(finding: Finding, new_line: str, lines: TextLines, uri: str, version: Optional[int], versioned: bool, diagnostic_: types.Diagnostic) -> types.CodeAction:
    """"Suppress LL101 on this line": the finding's first line (the one ``# noqa`` is read on) becomes ``new_line``."""
    old = lines.line(finding.line)
    edit = types.TextEdit(range=lines.range(finding.line, 1, finding.line, len(old) + 1), new_text=new_line)
    return types.CodeAction(
        title=f"Suppress {finding.code} on this line",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic_],
        edit=workspace_edit(uri, version, [edit], versioned),
    )


def fix_action(finding: Finding, lines: TextLines, uri: str, version: Optional[int], versioned: bool, diagnostic_: types.Diagnostic) -> Optional[types.CodeAction]:
    """The finding's own fix as a quick fix; a safe one is the preferred action."""
    if finding.fix is None:
        return None
    return types.CodeAction(
        title=finding.fix.title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic_],
        is_preferred=finding.fix.safety == SAFE,
        edit=workspace_edit(uri, version, [text_edit(edit, lines) for edit in finding.fix.edits], versioned),
    )


def replacement(old: str, new: str, lines: TextLines) -> Optional[types.TextEdit]:
    """One edit that turns ``old`` (the text of ``lines``) into ``new``: the
    whole lines from the first difference to the last, so that the rest of the
    document (and the cursor in it) stays put.  None when nothing changes."""
    if old == new:
        return None
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    start = lines.starts[bisect_right(lines.starts, prefix) - 1]  # back to the start of its line
    old_end = len(old) - suffix
    following = bisect_left(lines.starts, old_end)
    old_end = lines.starts[following] if following < len(lines.starts) else len(old)  # on to the start of the next line
    new_end = len(new) - (len(old) - old_end)
    return types.TextEdit(
        range=types.Range(start=lines.offset_position(start), end=lines.offset_position(old_end)),
        new_text=new[start:new_end],
    )


def hover_markdown(rules: Iterable[Type[Rule]]) -> str:
    """The summary and the "Use instead" section of each rule, with a link to its page."""
    parts = []
    for rule in rules:
        documentation = rule.documentation()
        text = f"**{rule.code}** `{rule.name}`: {rule.summary()}"
        use_instead = section(documentation, "Use instead")
        if use_instead:
            text += f"\n\nUse instead:\n{use_instead}"
        text += f"\n\n[{rule.code} documentation]({rule_docs_url(rule.code)})"
        parts.append(text)
    return "\n\n---\n\n".join(parts)


def section(documentation: str, title: str) -> str:
    """The Markdown under ``## <title>`` up to the next heading, as written."""
    match = re.search(rf"^## {re.escape(title)}[ \t]*\n(.*?)(?=^## |\Z)", documentation, re.MULTILINE | re.DOTALL)
    return match.group(1).strip() if match else ""
