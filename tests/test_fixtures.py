"""Every fixture through the engine: exactly the marked lines, nothing else."""

from __future__ import annotations

import pytest

from leaklint import check_source
from tests.expectations import FIXTURES, expected, fixture_files


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_findings_match_expectations(path):
    result = check_source(path.read_bytes(), str(path))
    assert result.error is None
    found = {(finding.line, finding.code) for finding in result.findings}
    assert found == expected(path)


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_precheck_changes_no_finding(path):
    source = path.read_bytes()
    assert check_source(source, str(path)).findings == check_source(source, str(path), precheck=False).findings
