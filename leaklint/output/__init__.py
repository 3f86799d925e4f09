"""Output formats: each turns a run's results into text, and nothing else."""

from __future__ import annotations

from typing import Callable, Dict, List

from leaklint.finding import FileResult

Formatter = Callable[[List[FileResult]], str]


def formatters() -> Dict[str, Formatter]:
    from leaklint.output import json_format, text

    return {"text": text.format_results, "json": json_format.format_results}
