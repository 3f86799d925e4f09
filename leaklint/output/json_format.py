"""A JSON list of findings, one object each, for tools to read."""

from __future__ import annotations

import json
from typing import List

from leaklint.finding import FileResult

FIELDS = ("path", "line", "column", "end_line", "end_column", "code", "name", "message")


def format_results(results: List[FileResult]) -> str:
    findings = [
        {name: getattr(finding, name) for name in FIELDS} for result in results for finding in result.findings
    ]
    return json.dumps(findings, indent=2, ensure_ascii=False) + "\n"
