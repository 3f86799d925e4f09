"""flake8-style lines: ``path:line:col: LL101 message``, then a summary."""

from __future__ import annotations

from leaklint.output import Report


def format_report(report: Report) -> str:
    lines = [
        f"{finding.path}:{finding.line}:{finding.column}: {finding.code} {finding.message}"
        for finding in report.findings
    ]
    lines.append(summary(len(lines), len({path for path, _ in report.errors})))
    if report.stale_baseline_entries:
        lines.append(stale_baseline_note(report.stale_baseline_entries))
    return "\n".join(lines) + "\n"


def summary(leaks: int, unchecked: int) -> str:
    """"All checks passed!" only when every file was checked: a summary must
    not contradict the exit status."""
    found = f"Found {leaks} leak{'s' if leaks != 1 else ''}" if leaks else "No leaks found"
    if unchecked:
        return f"{found}; {unchecked} path{'s' if unchecked != 1 else ''} could not be checked (see above)."
    return f"{found}." if leaks else "All checks passed!"


def stale_baseline_note(count: int) -> str:
    entries = "entry no longer matches" if count == 1 else "entries no longer match"
    return f"{count} baseline {entries}; rewrite the baseline with --write-baseline"
