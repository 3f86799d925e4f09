"""Fixtures and the findings they expect.

A fixture is a plain Python file under ``fixtures/``; every line that must be
reported ends with ``# expect: LL101`` (several codes: ``# expect: LL101, LL102``).
Every other line must stay quiet: that is how the correct idioms are tested.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>LL\d{3}(?:\s*,\s*LL\d{3})*)")


def fixture_files() -> List[Path]:
    return sorted(FIXTURES.rglob("*.py"))


def standalone_fixture_files() -> List[Path]:
    """The fixtures that mean the same copied anywhere: not those of
    ``fixtures/project``, whose findings need the package around them."""
    return [path for path in fixture_files() if FIXTURES / "project" not in path.parents]


def expected(path: Path) -> Set[Tuple[int, str]]:
    found = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            for code in re.split(r"\s*,\s*", match.group("codes")):
                found.add((number, code))
    return found


def check_fixture(path: Path, **options):
    """A fixture checked as the command checks it: with the project around it
    (``fixtures/project`` is a package whose modules use each other)."""
    from leaklint import check_source
    from leaklint.analysis.project import ProjectIndex

    global _PROJECT
    if _PROJECT is None:
        _PROJECT = ProjectIndex()
    return check_source(path.read_bytes(), str(path), project=_PROJECT, **options)


_PROJECT = None
