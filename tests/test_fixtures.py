"""Every fixture through the engine: exactly the marked lines, nothing else."""

from __future__ import annotations

import pytest

from tests.expectations import FIXTURES, check_fixture, expected, fixture_files


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_findings_match_expectations(path):
    result = check_fixture(path)
    assert result.error is None
    found = {(finding.line, finding.code) for finding in result.findings}
    assert found == expected(path)


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_precheck_changes_no_finding(path):
    assert check_fixture(path).findings == check_fixture(path, precheck=False).findings
