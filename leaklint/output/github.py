"""GitHub Actions workflow commands: one ``::warning`` annotation per finding,
one ``::error`` per file that could not be checked.

GitHub shows these on the pull request's diff.  Values are escaped as the
runner unescapes them (actions/toolkit ``command.ts``): ``%``, CR and LF in
the message; also ``:`` and ``,`` in the ``key=value`` properties, which they
would otherwise end."""

from __future__ import annotations

from typing import List

from leaklint.output import Report, relative_posix


def format_report(report: Report) -> str:
    lines: List[str] = []
    for finding in report.findings:
        properties = _properties(
            file=relative_posix(finding.path, report.base),
            line=finding.line,
            col=finding.column,
            endLine=finding.end_line,
            endColumn=finding.end_column,
            title=f"{finding.code} {finding.name}",
        )
        lines.append(f"::warning {properties}::{escape_data(finding.message)}")
    for path, message in report.errors:
        lines.append(f"::error {_properties(file=relative_posix(path, report.base))}::{escape_data(message)}")
    return "".join(line + "\n" for line in lines)


def _properties(**values: object) -> str:
    return ",".join(f"{key}={escape_property(str(value))}" for key, value in values.items())


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
