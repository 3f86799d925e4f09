"""The flake8 and pylint plugins: in-process unit tests of each adapter, and
smoke tests that start a real flake8 and a real pylint.  What must hold: the
plugin loads and reports, the host's own suppression and selection work, the
host's parallel and stdin modes work, a broken file is the host's business, and
a crashing rule gives exactly one internal-error message, never a traceback."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Set, Tuple

import astroid
import libcst
import pytest
from pylint.testutils import UnittestLinter

import leaklint.adapters.flake8 as flake8_adapter
import leaklint.adapters.pylint as pylint_adapter
from leaklint.adapters.flake8 import LeaklintChecker as Flake8Checker
from leaklint.adapters.pylint import INTERNAL_ERROR, INTERNAL_ERROR_ID, LeaklintChecker as PylintChecker, message_id
from leaklint.finding import FileResult
from leaklint.registry import all_rules
from tests.expectations import ROOT

SOURCE = """\
import asyncio
import threading


async def main():
    asyncio.create_task(asyncio.sleep(1))
    asyncio.create_task(asyncio.sleep(1))  # noqa: LL101
    asyncio.create_task(asyncio.sleep(1))  # pylint: disable=dangling-task
    worker = threading.Thread(target=main)
    worker.start()
    while True:
        pass
"""
# (line, 1-based column, code) of everything the engine finds in SOURCE.
TASK_6, TASK_7, TASK_8 = (6, 5, "LL101"), (7, 5, "LL101"), (8, 5, "LL101")
THREAD_9, LOOP_11 = (9, 14, "LL201"), (11, 5, "LL301")
SYMBOLS = {"LL101": "dangling-task", "LL201": "unjoined-thread", "LL301": "endless-loop"}
ALL_SYMBOLS = ",".join([rule.name for rule in all_rules()] + [INTERNAL_ERROR])

# Makes two rules crash in a host started with ``python -c``.
CRASHING_RULES = """\
import leaklint.rules.tasks.dangling_task as tasks
import leaklint.rules.threads.unjoined_thread as threads
def crash(self, node):
    raise RuntimeError("boom")
tasks.DanglingTask.visit_Call = crash
threads.UnjoinedThread.visit_Call = crash
"""

Key = Tuple[int, int, str]


@pytest.fixture
def code_file(tmp_path: Path) -> Path:
    path = tmp_path / "code.py"
    path.write_text(SOURCE, encoding="utf-8")
    return path


def run(command: List[str], cwd: Path, stdin: Optional[str] = None) -> subprocess.CompletedProcess:
    process = subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert "Traceback" not in process.stderr + process.stdout, process.stderr + process.stdout
    return process


# -- flake8 ---------------------------------------------------------------------


def flake8(cwd: Path, *args: str, stdin: Optional[str] = None, prelude: str = "") -> Set[Key]:
    """Keys of flake8's reports; ``prelude`` runs in the flake8 process first."""
    host = [sys.executable, "-c", prelude + "from flake8.main.cli import main; main()"]
    process = run(host + ["--isolated", *args], cwd, stdin)
    assert process.returncode in (0, 1), process.stderr
    found = set()
    for line in process.stdout.splitlines():
        location, code, _ = line.split(" ", 2)
        _, row, column, _ = location.rsplit(":", 3)
        found.add((int(row), int(column), code))
    return found


def test_flake8_reports_findings_and_honours_noqa(code_file):
    assert flake8(code_file.parent, "--select", "LL", "code.py") == {TASK_6, TASK_8, THREAD_9, LOOP_11}


def test_flake8_report_format(code_file):
    process = run([sys.executable, "-m", "flake8", "--isolated", "--select", "LL201", "code.py"], code_file.parent)
    assert process.stdout == "code.py:9:14: LL201 threading.Thread runs until told to stop, but it is never stopped or joined (and is not a daemon)\n"


@pytest.mark.parametrize(
    "options, keys",
    [
        (["--select", "LL2"], {THREAD_9}),
        (["--select", "LL", "--ignore", "LL101,LL3"], {THREAD_9}),
        (["--select", "LL", "--extend-ignore", "LL2"], {TASK_6, TASK_8, LOOP_11}),
        (["--select", "LL", "--per-file-ignores", "code.py:LL1,LL3"], {THREAD_9}),
    ],
    ids=["select", "ignore", "extend-ignore", "per-file-ignores"],
)
def test_flake8_selects_and_ignores(code_file, options, keys):
    assert flake8(code_file.parent, *options, "code.py") == keys


def test_flake8_jobs(code_file):
    (code_file.parent / "other.py").write_text(SOURCE, encoding="utf-8")
    process = run([sys.executable, "-m", "flake8", "--isolated", "-j", "2", "--select", "LL2", "."], code_file.parent)
    assert sorted(process.stdout.splitlines()) == [
        "./code.py:9:14: LL201 threading.Thread runs until told to stop, but it is never stopped or joined (and is not a daemon)",
        "./other.py:9:14: LL201 threading.Thread runs until told to stop, but it is never stopped or joined (and is not a daemon)",
    ]


def test_flake8_reads_the_buffer_from_stdin(tmp_path):
    # x.py does not exist: the findings can only come from the buffer.
    process = run([sys.executable, "-m", "flake8", "--isolated", "--select", "LL", "--stdin-display-name=x.py", "-"], tmp_path, SOURCE)
    assert {line.split(" ")[0] for line in process.stdout.splitlines()} == {"x.py:6:5:", "x.py:8:5:", "x.py:9:14:", "x.py:11:5:"}


def test_flake8_reports_its_own_syntax_error(tmp_path):
    (tmp_path / "broken.py").write_text("import asyncio\nasyncio.create_task(\n", encoding="utf-8")
    assert {code for _, _, code in flake8(tmp_path, "--select", "E9,LL", "broken.py")} == {"E999"}


def test_flake8_crashing_rules_give_one_internal_error(code_file):
    found = flake8(code_file.parent, "--select", "LL", "code.py", prelude=CRASHING_RULES)
    assert found == {(1, 1, "LL000"), LOOP_11}


def test_flake8_adapter_in_process():
    reports = list(Flake8Checker(ast.parse(SOURCE), SOURCE.splitlines(keepends=True), "x.py").run())
    assert [(line, column + 1, text.split(" ")[0]) for line, column, text, _ in reports] == [
        TASK_6, TASK_7, TASK_8, THREAD_9, LOOP_11
    ]  # fmt: skip
    assert reports[0][2].startswith("LL101 the task made by asyncio.create_task is dropped")
    assert {kind for *_, kind in reports} == {Flake8Checker}


def test_flake8_adapter_counts_characters_not_bytes():
    source = (
        "import threading\ndef serve(jobs):\n    for job in iter(jobs.get, None):\n        print(job)\n"
        'name = "ünïcodé"; t = threading.Thread(target=serve); t.start()\n'
    )
    reports = list(Flake8Checker(None, source.splitlines(keepends=True), "x.py").run())
    assert [(line, column) for line, column, _, _ in reports] == [(5, source.splitlines()[4].index("threading"))]


def test_flake8_adapter_leaves_unparsable_files_to_flake8():
    assert list(Flake8Checker(None, ["import asyncio\n", "asyncio.create_task(\n"], "x.py").run()) == []


def test_flake8_adapter_survives_an_unexpected_error(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(flake8_adapter, "check_source", explode)
    reports = list(Flake8Checker(None, SOURCE.splitlines(keepends=True), "x.py").run())
    assert reports == [(1, 0, "LL000 leaklint internal error: RuntimeError: boom second line", Flake8Checker)]


# -- pylint ---------------------------------------------------------------------


def pylint(cwd: Path, *args: str, stdin: Optional[str] = None, prelude: str = "") -> Set[Tuple[int, int, str]]:
    """(line, 1-based column, symbol) of pylint's messages."""
    (cwd / "pylintrc").write_text("")  # no configuration but ours
    host = [sys.executable, "-c", prelude + "from pylint import run_pylint; run_pylint()"]
    common = ["--rcfile=pylintrc", "--persistent=n", "--score=n", "--output-format=json", "--load-plugins=leaklint.pylint"]
    process = run(host + common + list(args), cwd, stdin)
    return {(message["line"], message["column"] + 1, message["symbol"]) for message in json.loads(process.stdout)}


def symbols(*keys: Key) -> Set[Tuple[int, int, str]]:
    return {(line, column, SYMBOLS[code]) for line, column, code in keys}


def test_pylint_reports_findings_and_honours_disable_comments(code_file):
    found = pylint(code_file.parent, "--disable=all", f"--enable={ALL_SYMBOLS}", "code.py")
    assert found == symbols(TASK_6, TASK_7, THREAD_9, LOOP_11)


@pytest.mark.parametrize(
    "options",
    [
        [f"--enable={ALL_SYMBOLS}", "--disable=W8711,W8731"],
        [f"--enable={ALL_SYMBOLS}", "--disable=dangling-task,endless-loop"],
        ["--enable=W8721"],
        ["--enable=unjoined-thread"],
    ],
    ids=["disable-id", "disable-symbol", "enable-id", "enable-symbol"],
)
def test_pylint_disables_and_enables_by_id_and_symbol(code_file, options):
    assert pylint(code_file.parent, "--disable=all", *options, "code.py") == symbols(THREAD_9)


def test_pylint_jobs(code_file):
    (code_file.parent / "other.py").write_text(SOURCE, encoding="utf-8")
    process = run(
        [sys.executable, "-m", "pylint", "--rcfile=", "--persistent=n", "--score=n", "-j", "2",
         "--load-plugins=leaklint.pylint", "--disable=all", "--enable=unjoined-thread", "code.py", "other.py"],
        code_file.parent,
    )  # fmt: skip
    reported = sorted(line for line in process.stdout.splitlines() if "W8721" in line)
    assert reported == [
        "code.py:9:13: W8721: threading.Thread runs until told to stop, but it is never stopped or joined (and is not a daemon) (LL201) (unjoined-thread)",
        "other.py:9:13: W8721: threading.Thread runs until told to stop, but it is never stopped or joined (and is not a daemon) (LL201) (unjoined-thread)",
    ]


def test_pylint_reads_the_buffer_from_stdin(tmp_path):
    found = pylint(tmp_path, "--disable=all", f"--enable={ALL_SYMBOLS}", "--from-stdin", "x.py", stdin=SOURCE)
    assert found == symbols(TASK_6, TASK_7, THREAD_9, LOOP_11)


def test_pylint_reports_its_own_syntax_error(tmp_path):
    (tmp_path / "broken.py").write_text("import asyncio\nasyncio.create_task(\n", encoding="utf-8")
    found = pylint(tmp_path, "--disable=all", f"--enable=syntax-error,{ALL_SYMBOLS}", "broken.py")
    assert {symbol for _, _, symbol in found} == {"syntax-error"}


def test_pylint_crashing_rules_give_one_internal_error(code_file):
    found = pylint(code_file.parent, "--disable=all", f"--enable={ALL_SYMBOLS}", "code.py", prelude=CRASHING_RULES)
    assert found == {(1, 1, INTERNAL_ERROR)} | symbols(LOOP_11)


def check_in_pylint(source: str) -> list:
    linter = UnittestLinter()
    checker = PylintChecker(linter)
    checker.process_module(astroid.parse(source))
    return linter.release_messages()


def test_pylint_adapter_in_process():
    messages = check_in_pylint(SOURCE)
    keys = [(message.line, message.col_offset + 1, message.msg_id) for message in messages]
    assert keys == sorted(symbols(TASK_6, TASK_7, TASK_8, THREAD_9, LOOP_11))
    assert messages[0].args.startswith("the task made by asyncio.create_task is dropped")
    assert (messages[0].end_line, messages[0].end_col_offset) == (6, len("    asyncio.create_task(asyncio.sleep(1))"))


def test_pylint_adapter_passes_only_enabled_rules_to_the_core(monkeypatch):
    seen = []

    def spy(source, path, rules, project=None):
        seen.extend(rule.code for rule in rules)
        return FileResult(path)

    monkeypatch.setattr(pylint_adapter, "check_source", spy)
    monkeypatch.setattr(UnittestLinter, "is_message_enabled", lambda self, msgid, *args, **kwargs: msgid != "W8711")
    assert check_in_pylint(SOURCE) == []
    assert seen == [rule.code for rule in all_rules() if rule.code != "LL101"]


def test_pylint_adapter_survives_an_unexpected_error(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pylint_adapter, "check_source", explode)
    assert [(m.msg_id, m.line, m.args) for m in check_in_pylint(SOURCE)] == [(INTERNAL_ERROR, 1, "RuntimeError: boom")]


def test_pylint_messages_come_from_the_registry():
    rules = all_rules()
    messages = PylintChecker.msgs
    assert {symbol for _, symbol, _ in messages.values()} == {rule.name for rule in rules} | {INTERNAL_ERROR}
    for rule in rules:
        template, symbol, description = messages[message_id(rule.code)]
        assert (template, symbol) == (f"%s ({rule.code})", rule.name)
        assert description.startswith(rule.summary())
    assert messages[INTERNAL_ERROR_ID][1] == INTERNAL_ERROR


def test_pylint_message_ids_are_read_off_the_code():
    assert [message_id(code) for code in ("LL100", "LL101", "LL109", "LL201", "LL402", "LL905")] == [
        "W8710", "W8711", "W8719", "W8721", "W8742", "W8795"
    ]  # fmt: skip
    for unmappable in ("LL110", "LL000", "LL1001"):
        with pytest.raises(ValueError):
            message_id(unmappable)


def test_editors_doc_lists_every_pylint_message():
    doc = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")
    rows = {tuple(cell.strip(" `") for cell in line.strip("|").split("|")) for line in doc.splitlines() if "| `LL" in line}
    assert rows == {(rule.code, message_id(rule.code), rule.name) for rule in all_rules()}


# -- cost -------------------------------------------------------------------------


def test_plugins_do_not_parse_a_file_without_concurrency(monkeypatch):
    def no_parse(*args, **kwargs):
        raise AssertionError("a file with nothing to find was parsed by libcst")

    monkeypatch.setattr(libcst, "parse_module", no_parse)
    source = "import os\n\n\ndef main():\n    return os.getcwd()\n"
    assert list(Flake8Checker(ast.parse(source), source.splitlines(keepends=True), "x.py").run()) == []
    assert check_in_pylint(source) == []
