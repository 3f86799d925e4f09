"""``--statistics``: how often each rule fired, most frequent first (like
ruff: count, code, name), as text or as JSON."""

from __future__ import annotations

import json
from collections import Counter
from typing import Dict, List, Tuple, Union

from leaklint.output import Report


def counts(report: Report) -> List[Tuple[int, str, str]]:
    """(count, code, name), by descending count, then code."""
    counter = Counter((finding.code, finding.name) for finding in report.findings)
    return sorted(((count, code, name) for (code, name), count in counter.items()), key=lambda row: (-row[0], row[1]))


def format_text(report: Report) -> str:
    rows = counts(report)
    if not rows:
        return "All checks passed!\n"
    width = len(str(rows[0][0]))
    return "".join(f"{count:>{width}}\t{code}\t{name}\n" for count, code, name in rows)


def format_json(report: Report) -> str:
    rows: List[Dict[str, Union[int, str]]] = [{"code": code, "name": name, "count": count} for count, code, name in counts(report)]
    return json.dumps(rows, indent=2) + "\n"
