"""flake8-style lines: ``path:line:col: LL101 message``, then a summary.

As in ruff, a finding whose fix can be applied is marked ``[*]``, and the
summary says how many can be fixed with ``--fix`` and how many more with
``--unsafe-fixes``."""

from __future__ import annotations

from typing import Optional

from leaklint.finding import SAFE
from leaklint.output import Report


def format_report(report: Report) -> str:
    lines = [
        f"{finding.path}:{finding.line}:{finding.column}: {finding.code} {_mark(finding.fix, report.unsafe_fixes)}{finding.message}"
        for finding in report.findings
    ]
    lines.append(summary(len(lines), len({path for path, _ in report.errors}), report.fixed))
    fixes = fix_summary(report)
    if fixes:
        lines.append(fixes)
    if report.stale_baseline_entries:
        lines.append(stale_baseline_note(report.stale_baseline_entries))
    return "\n".join(lines) + "\n"


def _mark(fix, unsafe: bool) -> str:
    return "[*] " if fix is not None and (unsafe or fix.safety == SAFE) else ""


def summary(leaks: int, unchecked: int, fixed: Optional[int] = None) -> str:
    """"All checks passed!" only when every file was checked: a summary must
    not contradict the exit status."""
    if fixed:
        found = f"Found {leaks + fixed} leak{'s' if leaks + fixed != 1 else ''} ({fixed} fixed, {leaks} remaining)"
        return f"{found}; {_unchecked(unchecked)}" if unchecked else f"{found}."
    found = f"Found {leaks} leak{'s' if leaks != 1 else ''}" if leaks else "No leaks found"
    if unchecked:
        return f"{found}; {_unchecked(unchecked)}"
    return f"{found}." if leaks else "All checks passed!"


def _unchecked(count: int) -> str:
    return f"{count} path{'s' if count != 1 else ''} could not be checked (see above)."


def fix_summary(report: Report) -> str:
    """``[*] 2 fixable with the `--fix` option (1 hidden fix can be enabled
    with the `--unsafe-fixes` option).``, or nothing when no finding has a fix."""
    fixes = [finding.fix for finding in report.findings if finding.fix is not None]
    safe = sum(fix.safety == SAFE for fix in fixes)
    unsafe = len(fixes) - safe
    if not fixes:
        return ""
    if report.unsafe_fixes:
        option = "`--fix --unsafe-fixes` option" if unsafe else "`--fix` option"
        return f"[*] {len(fixes)} fixable with the {option}."
    hidden = f"{unsafe} hidden fix{'es' if unsafe != 1 else ''} can be enabled with the `--unsafe-fixes` option"
    if not safe:
        return f"No fixes available ({hidden})."
    fixable = f"[*] {safe} fixable with the `--fix` option"
    return f"{fixable} ({hidden})." if unsafe else f"{fixable}."


def stale_baseline_note(count: int) -> str:
    entries = "entry no longer matches" if count == 1 else "entries no longer match"
    return f"{count} baseline {entries}; rewrite the baseline with --write-baseline"
