"""Bad input never costs a crash or another file's findings.

- Errors never hide work: one broken file among many, every other file's
  findings still reported (text and json), exit status 2; a rule that raises
  stops only itself.
- leaklint only reads: it never imports the code it checks and never writes
  outside its cache directory.
- A hostile ``pyproject.toml`` is one clear configuration error.
- Deeply nested code is findings or one clean line, never a traceback or a
  segfault (each case runs in its own process, so a segfault is a failure of
  that case, not a dead pytest worker).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst
import pytest

from leaklint import check_source
from leaklint.cli import main
from leaklint.registry import all_rules
from leaklint.rule import HandleRule
from tests.expectations import FIXTURES, ROOT, expected, fixture_files, standalone_fixture_files

PYENV_ROOT = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
LEAKLINT = [sys.executable, "-m", "leaklint"]
BROKEN = "def broken(:\n    pass\n"
# A subprocess that takes longer than this is hung (the slowest legitimate
# case here, pydoc_data/topics.py, takes about a second).
HANG_SECONDS = 30


def leaklint(args: List[str], cwd: Path, timeout: float = 120, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(
        [*LEAKLINT, *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout, env=environment
    )


def assert_clean_process(process: subprocess.CompletedProcess, max_stderr_lines: int) -> None:
    output = process.stdout + process.stderr
    assert process.returncode in (0, 1, 2), f"exit {process.returncode} (negative: killed by a signal)\n{output[-2000:]}"
    assert "Traceback" not in output, output[-3000:]
    lines = process.stderr.splitlines()
    assert len(lines) <= max_stderr_lines, process.stderr[-3000:]
    assert all(line.startswith("leaklint: error: ") for line in lines), process.stderr[-3000:]


# -- errors never hide work ---------------------------------------------------------


def _project(tmp_path: Path, padding: int = 0) -> Tuple[Path, Dict[str, Set[Tuple[int, str]]]]:
    """Every fixture plus broken files in between; ``padding`` bytes of comment
    at the end of each file push the run into the worker pool."""
    project = tmp_path / "project"
    project.mkdir()
    wanted: Dict[str, Set[Tuple[int, str]]] = {}
    for number, fixture in enumerate(standalone_fixture_files()):
        name = f"f{number:02d}_{fixture.stem}.py"
        (project / name).write_bytes(fixture.read_bytes() + b"#" * padding + b"\n")
        wanted[name] = expected(fixture)
        (project / f"f{number:02d}_broken.py").write_text(BROKEN, encoding="utf-8")
    return project, wanted


@pytest.mark.parametrize("jobs, padding", [(1, 0), (2, 64 * 1024)], ids=["in-process", "worker-pool"])
def test_broken_files_hide_no_other_finding(tmp_path, jobs, padding):
    project, wanted = _project(tmp_path, padding)
    assert sum(len(found) for found in wanted.values()) > 10
    broken = sorted(name for name in os.listdir(project) if name.endswith("_broken.py"))

    as_json = leaklint(["--no-cache", "--jobs", str(jobs), "--output-format", "json", "."], cwd=project)
    assert as_json.returncode == 2, as_json.stderr
    assert_clean_process(as_json, max_stderr_lines=len(broken))
    assert sorted(Path(line.split(": ")[2]).name for line in as_json.stderr.splitlines()) == broken
    found: Dict[str, Set[Tuple[int, str]]] = {name: set() for name in wanted}
    for finding in json.loads(as_json.stdout):
        found[Path(finding["path"]).name].add((finding["line"], finding["code"]))
    assert found == wanted

    as_text = leaklint(["--no-cache", "--jobs", str(jobs), "."], cwd=project)
    assert as_text.returncode == 2
    assert_clean_process(as_text, max_stderr_lines=len(broken))
    text_found: Dict[str, Set[Tuple[int, str]]] = {name: set() for name in wanted}
    for line in as_text.stdout.splitlines():
        if line.startswith(("Found ", "[*] ", "No fixes available")):
            continue  # the summary
        path, number, _column, message = line.split(":", 3)
        text_found[Path(path).name].add((int(number), message.split()[0]))
    assert text_found == wanted


def _crash_where_it_visits(monkeypatch, rule) -> None:
    def crash(self, node):
        raise RuntimeError("boom")

    for method in set(rule.visited_types().values()):
        monkeypatch.setattr(rule, method, crash)


def _crash_where_it_judges_a_creation(monkeypatch, rule) -> None:
    """The engine asks what a call creates once for all the handle rules and
    hands each the creations of its kinds, not through the rule's visit."""

    def crash(self, handle, creation):
        raise RuntimeError("boom")

    monkeypatch.setattr(rule, "check_handle", crash)


_CRASHES = [(rule.code, _crash_where_it_visits) for rule in all_rules()] + [
    (rule.code, _crash_where_it_judges_a_creation) for rule in all_rules() if issubclass(rule, HandleRule)
]


@pytest.mark.parametrize("code, make_it_crash", _CRASHES, ids=[f"{code}-{crash.__name__[7:]}" for code, crash in _CRASHES])
def test_a_crashing_rule_stops_only_itself(monkeypatch, code, make_it_crash):
    rule = next(rule for rule in all_rules() if rule.code == code)
    before = {path: check_source(path.read_bytes(), str(path)) for path in fixture_files()}
    make_it_crash(monkeypatch, rule)
    crashed_somewhere = False
    for path, clean in before.items():
        result = check_source(path.read_bytes(), str(path))
        assert result.error is None
        assert result.findings == [finding for finding in clean.findings if finding.code != code]
        if any(finding.code == code for finding in clean.findings):
            assert result.rule_errors == [f"internal error in {code} ({rule.name}): RuntimeError: boom"]
            crashed_somewhere = True
        else:
            assert all(code in error for error in result.rule_errors)
    assert crashed_somewhere


def test_the_shared_analysis_failing_on_one_call_costs_one_rule(monkeypatch):
    """What a call creates is asked once for all the handle rules: when that
    fails, one rule reports the failure (the first, as when each asked for
    itself) and the others go on without that call, their findings kept."""
    from leaklint.analysis import creations

    judge = creations.Creations._creation_of

    def failing_on_boom(self, call):
        if isinstance(call.func, cst.Name) and call.func.value == "boom":
            raise RuntimeError("bug in the shared analysis")
        return judge(self, call)

    source = (FIXTURES / "events" / "event_never_set.py").read_text(encoding="utf-8") + "\ndef _last_():\n    boom()\n"
    clean = check_source(source, "x.py", precheck=False)
    assert clean.findings and not clean.rule_errors
    monkeypatch.setattr(creations.Creations, "_creation_of", failing_on_boom)
    result = check_source(source, "x.py", precheck=False)
    assert len(result.rule_errors) == 1, result.rule_errors
    blamed = result.rule_errors[0].split()[3]  # internal error in LLxxx (name): ...
    assert result.rule_errors[0].endswith("): RuntimeError: bug in the shared analysis")
    assert result.findings == [finding for finding in clean.findings if finding.code != blamed]
    assert any(finding.code != blamed for finding in result.findings)


def test_a_crashing_rule_in_the_command(monkeypatch, tmp_path):
    """Exit 2 and one stderr line naming the rule; the others' findings printed."""
    rule = next(rule for rule in all_rules() if rule.code == "LL101")
    for method in set(rule.visited_types().values()):
        monkeypatch.setattr(rule, method, lambda self, node: 1 / 0)
    fixture = FIXTURES / "tasks" / "dangling_task.py"
    target = tmp_path / "code.py"
    target.write_bytes(fixture.read_bytes() + (
        b"\nimport threading\n"
        b"def serve(jobs):\n    for job in iter(jobs.get, None):\n        print(job)\n"
        b"threading.Thread(target=serve, args=(None,)).start()\n"
    ))
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(["--no-cache", "--jobs", "1", "--config", str(config), "--output-format", "json", str(target)])
    assert status == 2
    assert stderr.getvalue().splitlines() == [
        f"leaklint: error: {target}: internal error in LL101 (dangling-task): ZeroDivisionError: division by zero"
    ]
    codes = {finding["code"] for finding in json.loads(stdout.getvalue())}
    assert "LL201" in codes and "LL101" not in codes


# -- leaklint only reads --------------------------------------------------------------

HOSTILE_MODULE = """\
import pathlib, sys
pathlib.Path(__file__).with_name("IMPORTED-" + pathlib.Path(__file__).stem).write_text("ran")
import asyncio
asyncio.create_task(asyncio.sleep(1))  # a finding, so the file is fully parsed
raise SystemExit("leaklint imported the code it checks")
"""


def _listing(top: Path) -> Dict[str, Tuple[int, str]]:
    """Every entry under ``top``: (mode, content hash) by relative path."""
    found = {}
    for directory, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = Path(directory, name)
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            found[path.relative_to(top).as_posix()] = (path.lstat().st_mode, digest)
    return found


@pytest.fixture
def hostile_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    package = tree / "package"
    package.mkdir(parents=True)
    for name in ("__init__.py", "module.py", "conftest.py", "setup.py", "sitecustomize.py", "__main__.py"):
        (package / name).write_text(HOSTILE_MODULE, encoding="utf-8")
    (tree / "setup.py").write_text(HOSTILE_MODULE, encoding="utf-8")
    (tree / "pyproject.toml").write_text('[tool.leaklint]\nselect = ["LL"]\n', encoding="utf-8")
    return tree


def test_never_imports_nor_writes(hostile_tree):
    before = _listing(hostile_tree)
    for jobs in ("1", "2"):
        process = leaklint(["--no-cache", "--jobs", jobs, "."], cwd=hostile_tree)
        assert process.returncode == 1, process.stdout + process.stderr
        assert process.stdout.count("LL101") == 7
        assert_clean_process(process, max_stderr_lines=0)
    assert _listing(hostile_tree) == before  # no IMPORTED-* marker, no __pycache__, no cache


def test_writes_only_to_its_cache_directory(hostile_tree, tmp_path):
    before = _listing(hostile_tree)
    process = leaklint(["."], cwd=hostile_tree)
    assert process.returncode == 1, process.stderr
    after = _listing(hostile_tree)
    new = {path for path in after if path not in before}
    assert new and all(path.split("/")[0] == ".leaklint_cache" for path in new), sorted(new)
    assert {path: after[path] for path in before} == before

    elsewhere = tmp_path / "cache"
    tree_before = _listing(hostile_tree)
    process = leaklint(["--cache-dir", str(elsewhere), "."], cwd=hostile_tree)
    assert process.returncode == 1, process.stderr
    assert _listing(hostile_tree) == tree_before
    assert elsewhere.is_dir()


# -- a hostile pyproject.toml --------------------------------------------------------

HOSTILE_CONFIGS = {
    "huge": "[tool.leaklint]\nselect = [" + ", ".join(['"LL"'] * 300_000) + "]\n",
    "select-not-a-list": "[tool.leaklint]\nselect = 1\n",
    "select-items-not-strings": "[tool.leaklint]\nselect = [1, 2]\n",
    "exclude-a-string": '[tool.leaklint]\nexclude = "build"\n',
    "per-file-ignores-a-list": '[tool.leaklint]\nper-file-ignores = ["x"]\n',
    "per-file-ignores-values": '[tool.leaklint.per-file-ignores]\n"x.py" = "LL101"\n',
    "unknown-key": '[tool.leaklint]\nline-length = 100\n',
    "unknown-code": '[tool.leaklint]\nselect = ["XY123"]\n',
    "table-not-a-table": "[tool]\nleaklint = 3\n",
    "invalid-toml": "[tool.leaklint\nselect = [\n",
    "deeply-nested": "[tool.leaklint]\nselect = " + "[" * 100_000 + "]" * 100_000 + "\n",
    "not-utf8": "[tool.leaklint]\n# \udcff\n",
    "null-bytes": "[tool.leaklint]\nselect = [\"LL\0\"]\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_CONFIGS))
@pytest.mark.parametrize("how", ["discovered", "--config"])
def test_hostile_pyproject_is_one_clear_error(tmp_path, name, how):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_bytes(HOSTILE_CONFIGS[name].encode("utf-8", "surrogateescape"))
    (project / "code.py").write_text("import asyncio\nasyncio.create_task(f())\n", encoding="utf-8")
    args = ["--no-cache", "code.py"] + (["--config", "pyproject.toml"] if how == "--config" else [])
    process = leaklint(args, cwd=project)
    assert process.returncode == 2, process.stdout + process.stderr
    assert_clean_process(process, max_stderr_lines=1)
    assert len(process.stderr.splitlines()) == 1 and "pyproject.toml" in process.stderr
    assert process.stdout == ""


def test_pyproject_whose_tool_is_not_a_table(tmp_path):
    """Not a leaklint configuration (PEP 518: ``tool`` is a table): ignored or one clear error."""
    (tmp_path / "pyproject.toml").write_text("tool = 3\n", encoding="utf-8")
    (tmp_path / "code.py").write_text("import asyncio\nasyncio.create_task(f())\n", encoding="utf-8")
    process = leaklint(["--no-cache", "code.py"], cwd=tmp_path)
    assert_clean_process(process, max_stderr_lines=1)
    assert process.returncode in (1, 2)
    assert (process.returncode == 1) == ("code.py:2:1: LL101" in process.stdout)


# -- deep nesting ------------------------------------------------------------------------


def _ifs(depth: int, body: str) -> str:
    return "".join("    " * level + "if x:\n" for level in range(depth)) + "    " * depth + body + "\n"


TRIGGER = "import asyncio\nasyncio.create_task(f())\n"  # LL101 on line 2; makes libcst parse the whole file
DEEP = {
    "90-nested-ifs": _ifs(90, "pass"),
    "90-nested-ifs-with-a-leak": "import asyncio\n" + _ifs(90, "asyncio.create_task(f())"),
    "150-nested-parens": "x = " + "(" * 150 + "1" + ")" * 150 + "\n",
    "2000-term-sum-with-a-leak": TRIGGER + "x = " + "+".join(["1"] * 2000) + "\n",
    "1500-chained-attributes-with-a-leak": TRIGGER + "x = a" + ".b" * 1500 + "\n",
    "20000-line-string-concatenation-with-a-leak": TRIGGER + "x = (\n" + "    'a'\n" * 20_000 + ")\n",
}
# libcst's native parser recurses on the machine stack without a bound
# (SIGSEGV) and is super-linear on long operator chains (LibCST#619, #1000).
# CPython's own parser rejects these ("too many nested parentheses",
# RecursionError) in milliseconds, so the engine never hands them to libcst.
DEEP_CRASHES = {
    "5000-nested-lists": "x = " + "[" * 5000 + "]" * 5000 + "\n",
    "5000-nested-parens": "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n",
    "5000-nested-calls-with-a-leak": TRIGGER + "x = " + "f(" * 5000 + ")" * 5000 + "\n",
}
DEEP_HANGS = {
    "100000-term-sum": "x = " + "+".join(["1"] * 100_000) + "\n",
}


def _params(*tables):
    params = []
    for table in tables:
        for name, case in table.items():
            params.append(pytest.param(*case.values, marks=case.marks, id=name) if hasattr(case, "values") else pytest.param(case, id=name))
    return params


@pytest.mark.parametrize("source", _params(DEEP, DEEP_CRASHES, DEEP_HANGS))
def test_deep_nesting_command(tmp_path, source):
    path = tmp_path / "deep.py"
    path.write_text(source, encoding="utf-8")
    try:
        process = leaklint(["--no-cache", str(path)], cwd=tmp_path, timeout=HANG_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"leaklint ran longer than {HANG_SECONDS} s on one file")
    assert_clean_process(process, max_stderr_lines=1)


VALID_DEEP = {
    "90-nested-ifs": TRIGGER + _ifs(90, "pass"),
    "150-nested-parens": TRIGGER + "x = " + "(" * 150 + "1" + ")" * 150 + "\n",
    "300-line-string-concatenation": TRIGGER + "x = (\n" + "    'a'\n" * 300 + ")\n",
    "500-line-string-concatenation": TRIGGER + "x = (\n" + "    'a'\n" * 500 + ")\n",
    "2000-term-sum": TRIGGER + "x = " + "+".join(["1"] * 2000) + "\n",
    "1500-chained-attributes": TRIGGER + "x = a" + ".b" * 1500 + "\n",
}


@pytest.mark.parametrize("source", _params(VALID_DEEP))
def test_deep_code_hides_no_finding(source):
    """Valid Python that CPython compiles: the leak on line 2 is reported."""
    compile(source, "<deep>", "exec")
    result = check_source(source, "deep.py")
    assert (result.error, [(finding.line, finding.code) for finding in result.findings]) == (None, [(2, "LL101")])


ENGINE_IN_SUBPROCESS = """\
import sys
from leaklint import check_source
source = open(sys.argv[1], "rb").read()
for precheck in (True, False):
    result = check_source(source, sys.argv[1], precheck=precheck)
    assert result.error is None or "\\n" not in result.error, result.error
    print(precheck, result.error, len(result.findings), result.rule_errors)
"""


@pytest.mark.parametrize("source", _params(DEEP, DEEP_CRASHES))
def test_deep_nesting_engine(tmp_path, source):
    path = tmp_path / "deep.py"
    path.write_text(source, encoding="utf-8")
    try:
        process = subprocess.run(
            [sys.executable, "-c", ENGINE_IN_SUBPROCESS, str(path)],
            capture_output=True, text=True, timeout=HANG_SECONDS, env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"check_source ran longer than {HANG_SECONDS} s on one file")
    assert process.returncode == 0, f"exit {process.returncode}\n{process.stderr[-2000:]}"


def _topics_files() -> List[Path]:
    return sorted(PYENV_ROOT.glob("versions/*/lib/python*/pydoc_data/topics.py"))


@pytest.mark.skipif(not _topics_files(), reason="no pyenv interpreters installed")
@pytest.mark.parametrize(
    "with_trigger", [False, True], ids=["as-is", "with-asyncio-import"]
)
def test_pydoc_topics_of_every_interpreter(tmp_path, with_trigger):
    """pydoc_data/topics.py: thousands of concatenated string lines (LibCST#980)."""
    paths = []
    for number, topics in enumerate(_topics_files()):
        path = tmp_path / f"topics_{number}.py"
        path.write_bytes((TRIGGER.encode() if with_trigger else b"") + topics.read_bytes())
        paths.append(str(path))
    for path in paths:  # one process each: a segfault names its file
        process = leaklint(["--no-cache", path], cwd=tmp_path, timeout=HANG_SECONDS)
        assert_clean_process(process, max_stderr_lines=1)
        assert process.returncode in ((1,) if with_trigger else (0, 2)), process.stdout + process.stderr
        if with_trigger:
            assert f"{path}:2:1: LL101" in process.stdout


# -- warnings about the checked code ------------------------------------------------

WARNS = 'x = "\\d"\nassert (x, "message")\ny = 1(2)\nz = x is 1\n'


def test_warnings_about_checked_code_stay_off_stderr(tmp_path):
    """On 3.12+ the default filters show these SyntaxWarnings; on 3.9-3.11 they
    are DeprecationWarnings, shown here with -W so every version sees them."""
    path = tmp_path / "warns.py"
    path.write_text(WARNS, encoding="utf-8")
    process = subprocess.run(
        [sys.executable, "-W", "default::DeprecationWarning", "-W", "default::SyntaxWarning", "-m", "leaklint", "--no-cache", str(path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert process.returncode == 0, process.stderr
    assert process.stderr == ""
