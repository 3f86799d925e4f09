"""Every fixture through every front end: the engine, the ``leaklint`` command,
flake8 and pylint must report the same (line, column, code) findings, and those
must be the ones the fixture marks.

Each host runs once over all fixtures (the three processes at the same time);
the parametrized test then only compares."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

from leaklint.adapters.pylint import INTERNAL_ERROR, message_id
from leaklint.registry import all_rules
from tests.expectations import FIXTURES, ROOT, check_fixture, expected, fixture_files

Key = Tuple[int, int, str]
Findings = Dict[Path, Set[Key]]

FLAKE8_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): (?P<code>[A-Z]+\d+) ")


def _leaklint_command(paths: List[str]) -> List[str]:
    # The installed console script of this environment, not whatever is on PATH.
    script = shutil.which("leaklint", path=sysconfig.get_path("scripts"))
    assert script, "the leaklint command is not installed in this environment"
    return [script, "--output-format", "json", "--no-cache", *paths]


def _flake8_command(paths: List[str]) -> List[str]:
    # --isolated: no config file of this repository or the user's may interfere.
    return [sys.executable, "-m", "flake8", "--isolated", "--select", "LL", *paths]


def _pylint_command(paths: List[str], rcfile: Path) -> List[str]:
    symbols = ",".join([rule.name for rule in all_rules()] + [INTERNAL_ERROR])
    return [
        sys.executable, "-m", "pylint", f"--rcfile={rcfile}", "--disable=all",
        "--load-plugins=leaklint.pylint", f"--enable={symbols}", "--output-format=json",
        "--persistent=n", "--score=n", *paths,
    ]  # fmt: skip


def _resolved(path: str) -> Path:
    return (ROOT / path).resolve()


def _parse_leaklint(stdout: str) -> Findings:
    found: Findings = {}
    for finding in json.loads(stdout):
        found.setdefault(_resolved(finding["path"]), set()).add((finding["line"], finding["column"], finding["code"]))
    return found


def _parse_flake8(stdout: str) -> Findings:
    found: Findings = {}
    for line in stdout.splitlines():
        match = FLAKE8_LINE.match(line)
        assert match, f"unexpected flake8 output: {line!r}"
        key = (int(match["line"]), int(match["column"]), match["code"])  # flake8 prints 1-based columns
        found.setdefault(_resolved(match["path"]), set()).add(key)
    return found


def _parse_pylint(stdout: str) -> Findings:
    code_of = {message_id(rule.code): rule.code for rule in all_rules()}
    found: Findings = {}
    for message in json.loads(stdout):
        code = code_of.get(message["message-id"], message["message-id"])
        key = (message["line"], message["column"] + 1, code)  # pylint's json columns are 0-based
        found.setdefault(_resolved(message["path"]), set()).add(key)
    return found


@pytest.fixture(scope="module")
def host_findings(tmp_path_factory) -> Dict[str, Findings]:
    paths = [str(path) for path in fixture_files()]
    empty_rcfile = tmp_path_factory.mktemp("pylint") / "pylintrc"
    empty_rcfile.write_text("")
    commands = {
        "leaklint": _leaklint_command(paths),
        "flake8": _flake8_command(paths),
        "pylint": _pylint_command(paths, empty_rcfile),
    }
    running = {
        host: subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
        for host, command in commands.items()
    }
    outputs = {host: process.communicate(timeout=300) for host, process in running.items()}
    for host, (stdout, stderr) in outputs.items():
        assert "Traceback" not in stderr, f"{host} crashed:\n{stderr}"
        assert stdout.strip(), f"{host} printed nothing:\n{stderr}"
    parsers = {"leaklint": _parse_leaklint, "flake8": _parse_flake8, "pylint": _parse_pylint}
    return {host: parsers[host](outputs[host][0]) for host in commands}


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_front_end_reports_the_expected_findings(path, host_findings):
    result = check_fixture(path)
    assert result.error is None and not result.rule_errors
    engine = {finding.key for finding in result.findings}
    assert {(line, code) for line, _, code in engine} == expected(path)
    for host, findings in host_findings.items():
        assert findings.get(path.resolve(), set()) == engine, f"{host} disagrees with the engine on {path.name}"
