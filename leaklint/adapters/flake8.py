"""The flake8 plugin: ``flake8 --select LL`` reports what ``leaklint`` reports.

Registered in ``pyproject.toml`` under the ``flake8.extension`` entry point
group with the code prefix ``LL``.  flake8 handles ``# noqa``, ``--select``,
``--ignore``, ``--per-file-ignores`` and ``-j``; this class only translates.
"""

from __future__ import annotations

from typing import Iterator, List, Sequence, Tuple

from leaklint import __version__
from leaklint.analysis.project import host_index
from leaklint.engine import check_source

INTERNAL_ERROR_CODE = "LL000"

Report = Tuple[int, int, str, type]


class LeaklintChecker:
    name = "leaklint"
    version = __version__

    # flake8 picks the arguments by name: asking for ``tree`` makes this a
    # per-file plugin.  The tree itself is unused (leaklint reads the text with
    # libcst), and flake8 builds it anyway, so asking costs nothing.
    def __init__(self, tree: object, lines: Sequence[str], filename: str) -> None:
        self.lines = lines
        self.filename = filename

    def run(self) -> Iterator[Report]:
        # The text comes from the lines flake8 read, never from the file again,
        # so stdin and unsaved editor buffers are checked as the user sees them.
        try:
            reports = self._reports("".join(self.lines))
        except Exception as error:  # a plugin must never crash its host
            reports = [self._internal_error(f"{type(error).__name__}: {error}")]
        yield from reports

    def _reports(self, source: str) -> List[Report]:
        # The project around the file (found from its path) tells what its
        # imports do, as for the command.
        result = check_source(source, self.filename, project=host_index(self.filename))
        # result.error (undecodable or unparsable file) is left to flake8, which
        # reports its own E902 / E999.  Our columns are 1-based characters.
        reports = [
            (finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self))
            for finding in result.findings
        ]
        if result.rule_errors:
            reports.append(self._internal_error("; ".join(result.rule_errors)))
        return reports

    def _internal_error(self, detail: str) -> Report:
        # One line, at the top of the file: flake8 prints one report per line.
        detail = " ".join(detail.split())
        return (1, 0, f"{INTERNAL_ERROR_CODE} leaklint internal error: {detail}", type(self))
