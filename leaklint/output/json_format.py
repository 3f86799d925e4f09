"""A JSON list of findings, one object each, for tools to read.

Shards of one CI run can be merged by concatenating the lists."""

from __future__ import annotations

import json

from leaklint.output import Report

FIELDS = ("path", "line", "column", "end_line", "end_column", "code", "name", "message")


def format_report(report: Report) -> str:
    findings = [{name: getattr(finding, name) for name in FIELDS} for finding in report.findings]
    return json.dumps(findings, indent=2, ensure_ascii=False) + "\n"
