"""SARIF 2.1.0, the format GitHub code scanning uploads
(``github/codeql-action/upload-sarif``).

One run: the tool with every rule (its documentation is the rule's help), one
result per finding, and the files that could not be checked as tool execution
notifications, since they are the tool's failures, not the code's.  Locations
are URIs relative to ``%SRCROOT%``, the working directory, so that GitHub maps
them onto the repository when leaklint runs from its root."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, Type
from urllib.parse import quote

from leaklint import __version__
from leaklint.output import Report, relative_posix
from leaklint.registry import all_rules
from leaklint.rule import Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/leaklint/"
SOURCE_ROOT = "%SRCROOT%"


def format_report(report: Report) -> str:
    return json.dumps(sarif_log(report), indent=2, ensure_ascii=False) + "\n"


def sarif_log(report: Report) -> Dict[str, Any]:
    rules = all_rules()
    rule_index = {rule.code: index for index, rule in enumerate(rules)}
    results = []
    for finding in report.findings:
        results.append(
            {
                "ruleId": finding.code,
                "ruleIndex": rule_index[finding.code],
                "level": "warning",
                "message": {"text": finding.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": _artifact_location(finding.path, report),
                            # Finding columns are 1-based and the end is exclusive, as in SARIF.
                            "region": {
                                "startLine": finding.line,
                                "startColumn": finding.column,
                                "endLine": finding.end_line,
                                "endColumn": finding.end_column,
                            },
                        }
                    }
                ],
            }
        )
    notifications = [
        {
            "level": "error",
            "message": {"text": message},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact_location(path, report)}}],
        }
        for path, message in report.errors
    ]
    invocation: Dict[str, Any] = {"executionSuccessful": not notifications}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run = {
        "tool": {
            "driver": {
                "name": "leaklint",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule_descriptor(rule) for rule in rules],
            }
        },
        "invocations": [invocation],
        "originalUriBaseIds": {SOURCE_ROOT: {"uri": report.base.absolute().as_uri().rstrip("/") + "/"}},
        # Finding columns count characters, not UTF-16 code units.
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _artifact_location(path: str, report: Report) -> Dict[str, str]:
    relative = relative_posix(path, report.base)
    if Path(relative).is_absolute():
        return {"uri": Path(relative).as_uri()}  # outside the working directory
    return {"uri": quote(relative), "uriBaseId": SOURCE_ROOT}


def _rule_descriptor(rule: Type[Rule]) -> Dict[str, Any]:
    documentation = rule.documentation()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": _section(documentation, "What it does") or rule.summary()},
        "help": {"text": documentation, "markdown": documentation},
        "defaultConfiguration": {"level": "warning"},
    }


def _section(documentation: str, title: str) -> str:
    """The text under ``## <title>`` up to the next heading."""
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", documentation, re.MULTILINE | re.DOTALL)
    return " ".join(match.group(1).split()) if match else ""
