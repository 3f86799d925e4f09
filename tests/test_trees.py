"""Whole real trees through the real ``leaklint`` command: zero tracebacks.

Trees: the standard library of every interpreter pyenv has installed (its own
``site-packages`` excluded) and the site-packages of the interpreter running
the tests (the venv).  Python 2 files must come out as clean one-line parse
errors; no rule may crash and no file may go unchecked (timeout, lost result).

The whole set takes about 6 minutes of one core, too long for the default test
command (the suite must finish in 10 minutes on 2 cores).  So CI checks, in
bounded time: all of 3.11's standard library, all of 2.7's, a deterministic
sample (one file in ``SAMPLE_EVERY``, chosen by a hash of its path inside the
library) of every other installed version, and all of the venv's
site-packages.  Every installed interpreter is covered.  The full run::

    LEAKLINT_TREES=all .venv/bin/python -m pytest tests/test_trees.py -s -n 2

Figures (files checked, files in error, findings per rule, wall time) are
written to ``<pytest basetemp>/trees-report.txt`` and printed (``-s``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import sysconfig
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List

import pytest

from leaklint.config import Settings
from leaklint.files import FileWalker
from tests.expectations import ROOT

pytestmark = pytest.mark.slow

PYENV_ROOT = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
FULL_RUN = os.environ.get("LEAKLINT_TREES") == "all"
FULLY_CHECKED = ("2.7", "3.11")  # in CI; every other version is sampled
SAMPLE_EVERY = 10
TREE_TIMEOUT = 900  # seconds for one tree: a hang guard


def _pyenv_stdlibs() -> Dict[str, Path]:
    found = {}
    try:
        output = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True, timeout=60).stdout
        root = Path(subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=60).stdout.strip() or PYENV_ROOT)
    except (OSError, subprocess.SubprocessError):
        output, root = "", PYENV_ROOT
    for version in output.split():
        if not re.match(r"^\d+\.\d+\.\d+$", version):
            continue  # virtualenvs and other flavours
        major_minor = ".".join(version.split(".")[:2])
        library = root / "versions" / version / "lib" / f"python{major_minor}"
        if library.is_dir():
            found[major_minor] = library
    return found


STDLIBS = _pyenv_stdlibs()


def _files(tree: Path, settings: Settings) -> List[str]:
    """What the command discovers under ``tree`` (the same walker)."""
    return list(FileWalker(settings).files([str(tree)]))


def _sampled(files: List[str], tree: Path) -> List[str]:
    def key(path: str) -> int:
        return int(hashlib.sha1(Path(path).relative_to(tree).as_posix().encode()).hexdigest(), 16)

    return [path for path in files if key(path) % SAMPLE_EVERY == 0]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    rows: List[str] = []
    yield rows
    target = tmp_path_factory.getbasetemp() / "trees-report.txt"
    with target.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(rows) + "\n")
    print(f"\ntrees report ({target}):\n" + "\n".join(rows))


def _run_tree(name: str, tree: Path, sample: bool, tmp_path: Path, report: List[str], python2: bool = False) -> None:
    config = tmp_path / "pyproject.toml"
    # The interpreter's own site-packages is not its standard library.
    config.write_text('[tool.leaklint]\nextend-exclude = ["site-packages"]\n' if "site-packages" not in tree.parts else "[tool.leaklint]\n")
    settings = Settings(root=tmp_path, extend_exclude=["site-packages"] if "site-packages" not in tree.parts else [])
    files = _files(tree, settings)
    assert len(files) > 100, f"{tree}: only {len(files)} files found"
    targets = _sampled(files, tree) if sample else [str(tree)]
    checked = len(targets) if sample else len(files)

    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-m", "leaklint", "--output-format", "json", "--no-cache", "--config", str(config), *targets],
        cwd=tmp_path, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=TREE_TIMEOUT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    elapsed = time.monotonic() - started

    assert "Traceback" not in process.stderr + process.stdout, process.stderr[-5000:]
    assert process.returncode in (0, 1, 2), f"exit {process.returncode}: {process.stderr[-3000:]}"
    errors = process.stderr.splitlines()
    findings = json.loads(process.stdout)
    assert all(line.startswith("leaklint: error: ") for line in errors), errors[:5]
    erroneous = {re.sub(r"^leaklint: error: (.*?\.py): .*$", r"\1", line) for line in errors}
    assert len(erroneous) == len(errors) <= checked, "more than one error line for a file"
    assert (process.returncode == 2) == bool(errors)
    assert process.returncode == 2 or (process.returncode == 1) == bool(findings)
    internal = [line for line in errors if "internal error" in line or "not checked" in line or "lost" in line]
    assert internal == [], internal[:5]
    if python2:
        assert all(re.search(r": (syntax error|cannot decode)", line) for line in errors), [
            line for line in errors if not re.search(r": (syntax error|cannot decode)", line)
        ][:5]
    per_rule = Counter(finding["code"] for finding in findings)
    row = {
        "tree": name,
        "path": str(tree),
        "files checked": checked,
        "files in error": len(errors),
        "findings": len(findings),
        "findings per rule": dict(sorted(per_rule.items())),
        "wall time s": round(elapsed, 1),
    }
    report.append(json.dumps(row))


def _stdlib_params():
    params = []
    for version, library in sorted(STDLIBS.items(), key=lambda item: tuple(map(int, item[0].split(".")))):
        sample = not FULL_RUN and version not in FULLY_CHECKED
        params.append(pytest.param(version, library, sample, id=f"stdlib-{version}{'-sample' if sample else ''}"))
    return params


@pytest.mark.skipif(not STDLIBS, reason="pyenv has no interpreters installed")
@pytest.mark.parametrize("version, library, sample", _stdlib_params())
def test_standard_library(version, library, sample, tmp_path, report):
    _run_tree(f"stdlib {version}{' (1 file in %d)' % SAMPLE_EVERY if sample else ''}", library, sample, tmp_path, report, python2=version.startswith("2."))


def test_every_installed_interpreter_is_covered():
    assert STDLIBS, "pyenv lists no interpreters"
    assert set(FULLY_CHECKED) <= set(STDLIBS) or FULL_RUN


def test_site_packages_of_the_venv(tmp_path, report):
    site_packages = Path(sysconfig.get_paths()["purelib"])
    _run_tree("venv site-packages", site_packages, False, tmp_path, report)
