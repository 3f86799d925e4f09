"""The server command and the texts the language server tests open (no
pytest-lsp needed: it requires Python 3.10, the stdio tests run everywhere)."""

import sys
from typing import Sequence

from lsprotocol import types

SERVER = [sys.executable, "-m", "leaklint.lsp"]

DANGLING = "import asyncio\n\n\nasync def work():\n    pass\n\n\nasync def main():\n    asyncio.create_task(work())\n"
CORRECT = "import asyncio\n\n\nasync def work():\n    pass\n\n\nasync def main():\n    await asyncio.create_task(work())\n"


def apply_edits(text: str, edits: Sequence[types.TextEdit]) -> str:
    """Apply LSP edits (UTF-16 positions) to ``text`` as an editor would."""
    lines = text.splitlines(keepends=True) or [""]

    def offset(position: types.Position) -> int:
        before = sum(len(line) for line in lines[: position.line])
        line = lines[position.line] if position.line < len(lines) else ""
        units = 0
        for index, char in enumerate(line):
            if units >= position.character:
                return before + index
            units += 2 if ord(char) > 0xFFFF else 1
        return before + len(line.rstrip("\r\n"))

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text
