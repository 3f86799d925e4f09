"""flake8-style lines: ``path:line:col: LL101 message``, then a summary."""

from __future__ import annotations

from typing import List

from leaklint.finding import FileResult


def format_results(results: List[FileResult]) -> str:
    lines = [
        f"{finding.path}:{finding.line}:{finding.column}: {finding.code} {finding.message}"
        for result in results
        for finding in result.findings
    ]
    count = len(lines)
    if count:
        lines.append(f"Found {count} leak{'s' if count != 1 else ''}.")
    else:
        lines.append("All checks passed!")
    return "\n".join(lines) + "\n"
