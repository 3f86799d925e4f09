"""The ``leaklint`` command's conventions: exit codes, rule selection,
configuration, ``# noqa``, file discovery, output fields, information options
and standard input.  Most tests call ``main()`` in-process (fast); a few run a
real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from leaklint import __version__
from leaklint.cli import main
from leaklint.registry import all_rules
from tests.cli_runner import run

ROOT = Path(__file__).resolve().parent.parent

# One leak for each of three rule families: LL101 on line 6, LL201 on 10, LL301 on 14.
LEAKS = textwrap.dedent(
    """\
    import asyncio
    import threading


    async def main():
        asyncio.create_task(work())


    def start():
        threading.Thread(target=spin).start()


    def spin():
        while True:
            pass
    """
)
ALL_LEAKS = [(6, "LL101"), (10, "LL201"), (14, "LL301")]
DANGLING = "import asyncio\n\n\nasync def main():\n    asyncio.create_task(work())\n"
LL101_MESSAGE = "the task made by asyncio.create_task is dropped: the loop keeps only a weak reference, so it may be collected before it finishes, and its failure bypasses this code"
HIDDEN_FIX = "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option)."


def findings(capsys, *argv: str, stdin: str = ""):
    """(path, line, code) of every finding, from the JSON output."""
    code, out, err = run(capsys, "--output-format", "json", *argv, stdin=stdin)
    assert code in (0, 1), err
    return [(f["path"], f["line"], f["code"]) for f in json.loads(out)]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty project directory, the working directory of the test."""
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    return project


# -- exit codes ----------------------------------------------------------------


def test_clean_file_exits_0(workdir, capsys):
    write(workdir / "ok.py", "import asyncio\n\nasync def main():\n    await asyncio.sleep(1)\n")
    assert run(capsys, "ok.py") == (0, "All checks passed!\n", "")


def test_leaky_file_exits_1_with_flake8_style_lines(workdir, capsys):
    write(workdir / "leaks.py", LEAKS)
    code, out, err = run(capsys, "leaks.py")
    assert (code, err) == (1, "")
    assert out == (
        f"leaks.py:6:5: LL101 {LL101_MESSAGE}\n"
        "leaks.py:10:5: LL201 threading.Thread runs until told to stop, but it is never stopped or joined (and is not a daemon)\n"
        "leaks.py:14:5: LL301 this loop has no exit (no break, return or raise) and no cancellation point\n"
        "Found 3 leaks.\n"
        f"{HIDDEN_FIX}\n"  # LL101's fix is unsafe
    )


def test_missing_path_exits_2(workdir, capsys):
    write(workdir / "leaks.py", LEAKS)
    code, out, err = run(capsys, "leaks.py", "missing.py")
    assert code == 2
    assert out.endswith(f"Found 3 leaks; 1 path could not be checked (see above).\n{HIDDEN_FIX}\n")  # what could be checked still is
    assert err == "leaklint: error: missing.py: no such file or directory\n"


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_syntax_error_among_good_files_keeps_their_findings_and_exits_2(workdir, capsys, output_format):
    write(workdir / "a_leaks.py", LEAKS)
    write(workdir / "b_broken.py", "def broken(:\n    pass\n")
    write(workdir / "c_dangling.py", DANGLING)
    code, out, err = run(capsys, "--output-format", output_format, ".")
    assert code == 2
    assert err.startswith("leaklint: error: b_broken.py: syntax error")
    assert err.count("\n") == 1
    if output_format == "json":
        found = [(f["path"], f["line"], f["code"]) for f in json.loads(out)]
    else:
        found = [(p, int(line), rest.split()[0]) for p, line, _, rest in (row.split(":", 3) for row in out.splitlines()[:-2])]
        assert out.splitlines()[-2:] == ["Found 4 leaks; 1 path could not be checked (see above).", HIDDEN_FIX.replace("1 hidden fix", "2 hidden fixes")]
    assert found == [("a_leaks.py", line, code) for line, code in ALL_LEAKS] + [("c_dangling.py", 5, "LL101")]


def test_exit_zero_keeps_the_findings_but_not_the_errors(workdir, capsys):
    write(workdir / "leaks.py", LEAKS)
    code, out, _ = run(capsys, "--exit-zero", "leaks.py")
    assert (code, out.splitlines()[-2]) == (0, "Found 3 leaks.")
    assert run(capsys, "--exit-zero", "leaks.py", "missing.py")[0] == 2


# -- rule selection ---------------------------------------------------------------


@pytest.mark.parametrize(
    "options, codes",
    [
        ([], ["LL101", "LL201", "LL301"]),
        (["--select", "LL101"], ["LL101"]),
        (["--select", "LL1"], ["LL101"]),
        (["--select", "LL1,LL3"], ["LL101", "LL301"]),
        (["--select", "LL1", "--select", "LL2"], ["LL101", "LL201"]),
        (["--ignore", "LL201"], ["LL101", "LL301"]),
        (["--ignore", "LL2,LL3"], ["LL101"]),
        (["--select", "LL2", "--extend-select", "LL301"], ["LL201", "LL301"]),
        # The longest matching selector wins: LL101 is more specific than LL1.
        (["--ignore", "LL1", "--extend-select", "LL101"], ["LL101", "LL201", "LL301"]),
        (["--select", "LL101", "--ignore", "LL1"], ["LL101"]),
        (["--select", "ALL", "--ignore", "LL"], []),
        (["--select", "ALL", "--ignore", "LL1"], ["LL201", "LL301"]),
        (["--select", "ll1"], ["LL101"]),
    ],
)
def test_select_ignore_extend_select(workdir, capsys, options, codes):
    write(workdir / "leaks.py", LEAKS)
    assert [code for _, _, code in findings(capsys, *options, "leaks.py")] == codes


@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select"])
def test_unknown_code_on_the_command_line_is_a_one_line_error(workdir, capsys, option):
    write(workdir / "leaks.py", LEAKS)
    assert run(capsys, option, "LL999", "leaks.py") == (
        2,
        "",
        "leaklint: error: command line: unknown rule code or prefix 'LL999'\n",
    )


def test_unknown_prefix_is_an_error_too(workdir, capsys):
    code, out, err = run(capsys, "--select", "LL9", ".")
    assert (code, out) == (2, "")
    assert err == "leaklint: error: command line: unknown rule code or prefix 'LL9'\n"


# -- configuration ----------------------------------------------------------------


def test_pyproject_is_found_from_the_working_directory_upwards(tmp_path, monkeypatch, capsys):
    write(tmp_path / "pyproject.toml", '[tool.leaklint]\nselect = ["LL1"]\n')
    # A closer pyproject.toml without [tool.leaklint] is not the configuration.
    write(tmp_path / "pkg" / "pyproject.toml", '[project]\nname = "pkg"\n')
    write(tmp_path / "pkg" / "sub" / "leaks.py", LEAKS)
    monkeypatch.chdir(tmp_path / "pkg" / "sub")
    assert findings(capsys, "leaks.py") == [("leaks.py", 6, "LL101")]


@pytest.mark.parametrize(
    "table, codes",
    [
        ('select = ["LL2", "LL3"]', ["LL201", "LL301"]),
        ('ignore = ["LL1"]', ["LL201", "LL301"]),
        ('select = ["LL1"]\nextend-select = ["LL301"]', ["LL101", "LL301"]),
        ('per-file-ignores = { "src/*.py" = ["LL1", "LL201"] }', ["LL301"]),
        ('per-file-ignores = { "other/*.py" = ["LL1"] }', ["LL101", "LL201", "LL301"]),
    ],
)
def test_pyproject_selects_rules(workdir, capsys, table, codes):
    write(workdir / "pyproject.toml", f"[tool.leaklint]\n{table}\n")
    write(workdir / "src" / "leaks.py", LEAKS)
    assert [code for _, _, code in findings(capsys, "src")] == codes


def test_command_line_select_replaces_and_ignore_adds_to_the_configuration(workdir, capsys):
    write(workdir / "pyproject.toml", '[tool.leaklint]\nselect = ["LL1"]\nignore = ["LL3"]\n')
    write(workdir / "leaks.py", LEAKS)
    assert [code for _, _, code in findings(capsys, "--select", "LL2,LL3", "leaks.py")] == ["LL201"]
    assert [code for _, _, code in findings(capsys, "--select", "LL", "--ignore", "LL2", "leaks.py")] == ["LL101"]


def test_per_file_ignores_are_relative_to_the_configuration_file(workdir, monkeypatch, capsys):
    write(workdir / "pyproject.toml", '[tool.leaklint]\nper-file-ignores = { "src/legacy/*" = ["LL1"] }\n')
    write(workdir / "src" / "legacy" / "leaks.py", LEAKS)
    monkeypatch.chdir(workdir / "src")
    assert findings(capsys, "legacy") == [("legacy/leaks.py", 10, "LL201"), ("legacy/leaks.py", 14, "LL301")]


def test_exclude_and_extend_exclude(workdir, capsys):
    write(workdir / "app" / "leaks.py", LEAKS)
    write(workdir / "generated" / "leaks.py", LEAKS)
    write(workdir / "build" / "leaks.py", LEAKS)
    write(workdir / "pyproject.toml", '[tool.leaklint]\nextend-exclude = ["generated"]\n')
    assert {path for path, _, _ in findings(capsys, ".")} == {"app/leaks.py"}
    # exclude replaces the default list: build/ is walked again.
    write(workdir / "pyproject.toml", '[tool.leaklint]\nexclude = ["generated"]\n')
    assert {path for path, _, _ in findings(capsys, ".")} == {"app/leaks.py", "build/leaks.py"}
    # A pattern may name a path relative to the project root.
    write(workdir / "pyproject.toml", '[tool.leaklint]\nextend-exclude = ["app/*.py"]\n')
    assert {path for path, _, _ in findings(capsys, ".")} == {"generated/leaks.py"}


def test_exclude_patterns_are_relative_to_the_configuration_file(workdir, monkeypatch, capsys):
    write(workdir / "pyproject.toml", '[tool.leaklint]\nextend-exclude = ["src/generated"]\n')
    write(workdir / "src" / "generated" / "leaks.py", LEAKS)
    write(workdir / "src" / "app.py", DANGLING)
    monkeypatch.chdir(workdir / "src")
    assert findings(capsys, ".") == [("app.py", 5, "LL101")]


def test_config_option_names_the_file(workdir, capsys):
    write(workdir / "pyproject.toml", '[tool.leaklint]\nselect = ["LL1"]\n')
    write(workdir / "ci" / "strict.toml", '[tool.leaklint]\nselect = ["LL3"]\n')
    write(workdir / "leaks.py", LEAKS)
    assert findings(capsys, "--config", "ci/strict.toml", "leaks.py") == [("leaks.py", 14, "LL301")]
    code, out, err = run(capsys, "--config", "ci/missing.toml", "leaks.py")
    assert (code, out, err) == (2, "", "leaklint: error: ci/missing.toml: no such configuration file\n")


@pytest.mark.parametrize(
    "table, message",
    [
        ('selct = ["LL1"]', "unknown key 'selct' in [tool.leaklint] (known: "),
        ('select = "LL101"', "select must be a list of strings"),
        ("ignore = [101]", "ignore must be a list of strings"),
        ('per-file-ignores = ["LL1"]', "per-file-ignores must be a table of pattern = [codes]"),
        ('per-file-ignores = { "a.py" = "LL1" }', "per-file-ignores.a.py must be a list of strings"),
        ('select = ["LL999"]', "unknown rule code or prefix 'LL999'"),
        ('per-file-ignores = { "a.py" = ["XX1"] }', "unknown rule code or prefix 'XX1'"),
        ("select = [", "invalid TOML: "),
    ],
)
def test_bad_configuration_is_a_clear_one_line_error(workdir, capsys, table, message):
    write(workdir / "pyproject.toml", f"[tool.leaklint]\n{table}\n")
    write(workdir / "leaks.py", LEAKS)
    code, out, err = run(capsys, "leaks.py")
    assert (code, out) == (2, "")
    assert err.startswith("leaklint: error: ")
    assert message in err
    assert str(workdir / "pyproject.toml") in err
    assert err.count("\n") == 1


def test_leaklint_table_that_is_not_a_table_is_an_error(workdir, capsys):
    write(workdir / "pyproject.toml", 'tool = { leaklint = "yes" }\n')
    code, _, err = run(capsys, ".")
    assert code == 2
    assert err == f"leaklint: error: {workdir / 'pyproject.toml'}: [tool.leaklint] must be a table\n"


# -- noqa --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "comment, codes",
    [
        ("# noqa", []),
        ("# NOQA", []),
        ("# noqa: LL101", []),
        ("# noqa:LL101", []),
        ("# noqa: LL101,LL2", []),
        ("# noqa: LL1", []),
        ("# noqa: LL201", ["LL101"]),
        ("# noqa: E501", ["LL101"]),
        ("# not a noqa", ["LL101"]),
    ],
)
def test_noqa_comments(workdir, capsys, comment, codes):
    write(workdir / "app.py", DANGLING.replace("create_task(work())", f"create_task(work())  {comment}"))
    assert [code for _, _, code in findings(capsys, "app.py")] == codes


def test_noqa_with_several_codes_silences_each_on_its_own_line(workdir, capsys):
    source = LEAKS.replace("create_task(work())", "create_task(work())  # noqa: LL101,LL2")
    source = source.replace(".start()", ".start()  # noqa: LL101,LL2")
    write(workdir / "leaks.py", source)
    assert findings(capsys, "leaks.py") == [("leaks.py", 14, "LL301")]


# -- file discovery -------------------------------------------------------------------


def test_walk_skips_vcs_venvs_build_caches_and_gitignored_paths(workdir, capsys):
    (workdir / ".git").mkdir()
    write(workdir / ".git" / "hooks" / "leaks.py", LEAKS)
    write(workdir / "env" / "pyvenv.cfg", "home = /usr/bin\n")  # a virtualenv under any name
    write(workdir / "env" / "lib" / "leaks.py", LEAKS)
    write(workdir / "build" / "lib" / "leaks.py", LEAKS)
    write(workdir / "pkg" / "__pycache__" / "leaks.py", LEAKS)
    write(workdir / ".gitignore", "scratch/\n*_generated.py\n")
    write(workdir / "scratch" / "leaks.py", LEAKS)
    write(workdir / "pkg" / "api_generated.py", LEAKS)
    write(workdir / "pkg" / "nested" / ".gitignore", "local.py\n")
    write(workdir / "pkg" / "nested" / "local.py", LEAKS)
    write(workdir / "pkg" / "nested" / "kept.py", DANGLING)
    write(workdir / "pkg" / "leaks.py", LEAKS)
    write(workdir / "pkg" / "notes.txt", "asyncio.create_task(x)\n")
    assert sorted({path for path, _, _ in findings(capsys, ".")}) == ["pkg/leaks.py", "pkg/nested/kept.py"]
    # Walking a subdirectory still honours the .gitignore above it, up to the repository root.
    assert sorted({path for path, _, _ in findings(capsys, "pkg")}) == ["pkg/leaks.py", "pkg/nested/kept.py"]


@pytest.mark.parametrize(
    "named",
    [
        ".git/hooks/leaks.py",
        "env/lib/leaks.py",
        "build/lib/leaks.py",
        "pkg/__pycache__/leaks.py",
        "scratch/leaks.py",
        "pkg/api_generated.py",
        "generated/leaks.py",
    ],
)
def test_a_named_file_is_always_checked(workdir, capsys, named):
    (workdir / ".git").mkdir()
    write(workdir / "env" / "pyvenv.cfg", "home = /usr/bin\n")
    write(workdir / ".gitignore", "scratch/\n*_generated.py\n")
    write(workdir / "pyproject.toml", '[tool.leaklint]\nextend-exclude = ["generated"]\n')
    write(workdir / named, LEAKS)
    assert findings(capsys, named) == [(named, line, code) for line, code in ALL_LEAKS]


def test_a_named_directory_is_walked_even_if_excluded_or_ignored(workdir, capsys):
    (workdir / ".git").mkdir()
    write(workdir / ".gitignore", "scratch/\n")
    write(workdir / "pyproject.toml", '[tool.leaklint]\nextend-exclude = ["generated"]\n')
    write(workdir / "scratch" / "a.py", DANGLING)
    write(workdir / "generated" / "b.py", DANGLING)
    assert findings(capsys, "scratch", "generated") == [("scratch/a.py", 5, "LL101"), ("generated/b.py", 5, "LL101")]


def test_force_exclude_applies_exclusions_to_named_paths(workdir, capsys):
    write(workdir / "pyproject.toml", '[tool.leaklint]\nextend-exclude = ["generated", "*_pb2.py"]\n')
    write(workdir / "generated" / "deep" / "client.py", DANGLING)
    write(workdir / "api_pb2.py", DANGLING)
    write(workdir / "build" / "x.py", DANGLING)
    write(workdir / "app.py", DANGLING)
    named = ["generated/deep/client.py", "api_pb2.py", "build/x.py", "app.py", "generated"]
    assert findings(capsys, "--force-exclude", *named) == [("app.py", 5, "LL101")]
    assert len(findings(capsys, *named)) == 4


def test_a_file_named_twice_is_checked_once(workdir, capsys):
    write(workdir / "app.py", DANGLING)
    assert findings(capsys, "app.py", "./app.py", ".") == [("app.py", 5, "LL101")]


def test_default_path_is_the_working_directory(workdir, capsys):
    write(workdir / "pkg" / "app.py", DANGLING)
    assert findings(capsys) == [("pkg/app.py", 5, "LL101")]


# -- output ---------------------------------------------------------------------------


def test_json_output_fields(workdir, capsys):
    write(workdir / "app.py", DANGLING)
    code, out, _ = run(capsys, "--output-format", "json", "app.py")
    assert code == 1
    assert json.loads(out) == [
        {
            "path": "app.py",
            "line": 5,
            "column": 5,
            "end_line": 5,
            "end_column": 32,
            "code": "LL101",
            "name": "dangling-task",
            "message": LL101_MESSAGE,
        }
    ]


def test_json_output_of_a_clean_run_is_an_empty_list(workdir, capsys):
    write(workdir / "ok.py", "x = 1\n")
    assert run(capsys, "--output-format", "json", "ok.py") == (0, "[]\n", "")


def test_unknown_output_format_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--output-format", "xml", "."])
    assert exit_info.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


# -- information ----------------------------------------------------------------------


def test_list_rules(capsys):
    code, out, _ = run(capsys, "--list-rules")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(all_rules())
    for line, rule in zip(lines, all_rules()):
        assert line.split(None, 2) == [rule.code, rule.name, rule.summary()]
    assert lines[0].startswith("LL101  dangling-task ")


@pytest.mark.parametrize("name", ["LL101", "ll101", "dangling-task"])
def test_explain(capsys, name):
    code, out, _ = run(capsys, "--explain", name)
    assert code == 0
    assert out.startswith("# LL101 dangling-task\n\nThe result of `create_task()` or `ensure_future()` is dropped.\n")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## References"):
        assert f"\n{section}\n" in out


def test_explain_unknown_rule(capsys):
    assert run(capsys, "--explain", "LL999") == (2, "", "leaklint: error: unknown rule 'LL999'\n")


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"leaklint {__version__}\n"


# -- standard input ---------------------------------------------------------------------


def test_stdin_is_reported_under_stdin_filename(workdir, capsys):
    code, out, _ = run(capsys, "--stdin-filename", "src/app.py", "-", stdin=DANGLING)
    assert code == 1
    assert out == f"src/app.py:5:5: LL101 {LL101_MESSAGE}\nFound 1 leak.\n{HIDDEN_FIX}\n"


def test_stdin_without_a_name_is_dash(workdir, capsys):
    assert findings(capsys, "-", stdin=DANGLING) == [("-", 5, "LL101")]


def test_stdin_filename_selects_per_file_ignores(workdir, capsys):
    write(workdir / "pyproject.toml", '[tool.leaklint]\nper-file-ignores = { "tests/*" = ["LL1"] }\n')
    assert findings(capsys, "--stdin-filename", "tests/test_app.py", "-", stdin=DANGLING) == []
    assert findings(capsys, "--stdin-filename", "src/app.py", "-", stdin=DANGLING) == [("src/app.py", 5, "LL101")]


def test_stdin_with_force_exclude_and_an_excluded_name_checks_nothing(workdir, capsys):
    # What editors do: they always pass the buffer, and the project's excludes decide.
    write(workdir / "pyproject.toml", '[tool.leaklint]\nextend-exclude = ["generated"]\n')
    args = ("--force-exclude", "--stdin-filename", "generated/client.py", "-")
    assert run(capsys, *args, stdin=DANGLING) == (0, "All checks passed!\n", "")


def test_stdin_syntax_error(workdir, capsys):
    code, out, err = run(capsys, "--stdin-filename", "app.py", "-", stdin="def f(:\n")
    assert (code, out) == (2, "No leaks found; 1 path could not be checked (see above).\n")
    assert err.startswith("leaklint: error: app.py: syntax error")


# -- real processes -------------------------------------------------------------------------


def _leaklint_process(*argv: str, cwd: Path, stdin: str = ""):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "leaklint", *argv], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_process_exit_status_and_streams(tmp_path):
    write(tmp_path / "leaks.py", LEAKS)
    write(tmp_path / "broken.py", "def broken(:\n")
    completed = _leaklint_process("leaks.py", "broken.py", cwd=tmp_path)
    assert completed.returncode == 2
    assert completed.stdout.splitlines()[-2] == "Found 3 leaks; 1 path could not be checked (see above)."
    assert completed.stderr.startswith("leaklint: error: broken.py: syntax error")
    assert _leaklint_process("leaks.py", cwd=tmp_path).returncode == 1
    assert _leaklint_process("--select", "LL999", cwd=tmp_path).stderr == (
        "leaklint: error: command line: unknown rule code or prefix 'LL999'\n"
    )


def test_process_reads_stdin(tmp_path):
    completed = _leaklint_process("--stdin-filename", "app.py", "--output-format", "json", "-", cwd=tmp_path, stdin=DANGLING)
    assert completed.returncode == 1
    assert [(f["path"], f["line"], f["code"]) for f in json.loads(completed.stdout)] == [("app.py", 5, "LL101")]


def test_console_script_entry_point():
    from importlib.metadata import entry_points

    scripts = entry_points()
    selected = scripts.select(group="console_scripts") if hasattr(scripts, "select") else scripts["console_scripts"]
    assert [ep.value for ep in selected if ep.name == "leaklint"] == ["leaklint.cli:main"]


def test_timeout_is_passed_to_the_runner(tmp_path, monkeypatch):
    """--timeout reaches check_files; 0 means no bound."""
    import leaklint.cli as cli

    seen = []

    def fake_check_files(paths, settings, **options):
        seen.append(options["timeout"])
        return []

    monkeypatch.setattr(cli, "check_files", fake_check_files)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    assert cli.main(["--timeout", "7.5", "a.py"]) == 0
    assert cli.main(["--timeout", "0", "a.py"]) == 0
    assert seen == [7.5, None]


def test_leaklint_passes_on_its_own_source(monkeypatch, capsys):
    """The project's own code, tests and tools, with its own pyproject.toml
    (the fixtures leak on purpose and are excluded there)."""
    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(root)
    code, out, err = run(capsys, "--no-cache", "leaklint", "tests", "benchmarks", "eval", "scripts")
    assert (code, err) == (0, ""), out
