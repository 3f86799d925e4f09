"""flake8-style lines: ``path:line:col: LL101 message``, then a summary."""

from __future__ import annotations

from leaklint.output import Report


def format_report(report: Report) -> str:
    lines = [
        f"{finding.path}:{finding.line}:{finding.column}: {finding.code} {finding.message}"
        for finding in report.findings
    ]
    count = len(lines)
    if count:
        lines.append(f"Found {count} leak{'s' if count != 1 else ''}.")
    else:
        lines.append("All checks passed!")
    if report.stale_baseline_entries:
        lines.append(stale_baseline_note(report.stale_baseline_entries))
    return "\n".join(lines) + "\n"


def stale_baseline_note(count: int) -> str:
    entries = "entry no longer matches" if count == 1 else "entries no longer match"
    return f"{count} baseline {entries}; rewrite the baseline with --write-baseline"
