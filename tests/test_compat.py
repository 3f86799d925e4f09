"""leaklint runs on the oldest and newest supported Pythons with the same findings.

Each interpreter comes from pyenv when it is installed (skipped otherwise); the
project is pip-installed into a fresh virtual environment, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from leaklint import check_source
from tests.expectations import FIXTURES, ROOT, fixture_files, check_fixture

SUPPORTED_EDGES = ("3.9", "3.13")


def _pyenv_python(version: str):
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(root.glob(f"{version}.*"), key=lambda path: [int(part) for part in path.name.split(".") if part.isdigit()])
    for candidate in reversed(candidates):
        python = candidate / "bin" / "python"
        if python.is_file():
            return python
    return None


@pytest.mark.slow
@pytest.mark.parametrize("version", SUPPORTED_EDGES)
def test_same_findings_on_other_pythons(version, tmp_path):
    python = _pyenv_python(version)
    if python is None:
        pytest.skip(f"Python {version} is not installed through pyenv")
    environment = tmp_path / "venv"
    subprocess.run([str(python), "-m", "venv", str(environment)], check=True)
    pip = [str(environment / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, str(ROOT)], check=True, capture_output=True)
    run = subprocess.run(
        [str(environment / "bin" / "leaklint"), "--no-cache", "--output-format", "json", str(FIXTURES)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stderr
    theirs = {(Path(item["path"]).resolve(), item["line"], item["column"], item["code"]) for item in json.loads(run.stdout)}
    ours = {
        (path.resolve(), finding.line, finding.column, finding.code)
        for path in fixture_files()
        for finding in check_fixture(path).findings
    }
    assert theirs == ours
