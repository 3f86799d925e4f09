"""Baselines: record today's findings, then report only new ones, whatever
lines move."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest

from leaklint.baseline import Fingerprint, fingerprints
from leaklint.cli import main
from leaklint.engine import check_source
from tests.expectations import FIXTURES
from tests.cli_runner import run

NEW_LEAK = "\n\nasync def brand_new():\n    asyncio.create_task(work())\n"


@pytest.fixture
def project(tmp_path, monkeypatch, capsys):
    """A copy of the fixtures with a baseline of all their findings."""
    shutil.copytree(FIXTURES, tmp_path / "fixtures")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "--write-baseline", "baseline.json", "fixtures")
    assert (code, out) == (0, "")
    assert err.startswith("leaklint: recorded ") and err.endswith(" findings in baseline.json\n")
    return tmp_path


def insert_lines_at_top(path, lines):
    text = path.read_text(encoding="utf-8")
    path.write_text(lines + text, encoding="utf-8")


def test_a_baseline_of_the_fixtures_makes_the_next_run_clean(project, capsys):
    assert run(capsys, "--baseline", "baseline.json", "fixtures") == (0, "All checks passed!\n", "")


def test_the_baseline_file_is_sorted_counted_and_stable(project, capsys):
    first = (project / "baseline.json").read_text(encoding="utf-8")
    document = json.loads(first)
    entries = document["findings"]
    assert document["leaklint_baseline"] == 1
    keys = [(e["path"], e["code"], e["function"], e["source"]) for e in entries]
    assert keys == sorted(set(keys))
    _, out, _ = run(capsys, "--output-format", "json", "fixtures")
    assert sum(entry["count"] for entry in entries) == len(json.loads(out))
    assert {"path": "fixtures/tasks/dangling_task.py", "code": "LL101", "function": "fire_and_forget",
            "source": "asyncio.create_task(work())", "count": 1} in entries  # fmt: skip
    run(capsys, "--write-baseline", "baseline.json", "fixtures")
    assert (project / "baseline.json").read_text(encoding="utf-8") == first


@pytest.mark.parametrize("blank_lines", [0, 7])
def test_one_new_leak_is_reported_alone_even_after_lines_move(project, capsys, blank_lines):
    tasks = project / "fixtures" / "tasks" / "dangling_task.py"
    for path in (project / "fixtures").rglob("*.py"):
        insert_lines_at_top(path, "\n" * blank_lines)
    with tasks.open("a", encoding="utf-8") as handle:
        handle.write(NEW_LEAK)
    new_line = len(tasks.read_text(encoding="utf-8").splitlines())

    code, out, _ = run(capsys, "--output-format", "json", "--baseline", "baseline.json", "fixtures")

    assert code == 1
    (finding,) = json.loads(out)
    assert (finding["path"], finding["line"], finding["code"]) == ("fixtures/tasks/dangling_task.py", new_line, "LL101")


def test_edits_to_whitespace_and_comments_keep_the_identity(project, capsys):
    tasks = project / "fixtures" / "tasks" / "dangling_task.py"
    text = tasks.read_text(encoding="utf-8")
    assert "    asyncio.create_task(work())  # expect: LL101\n" in text
    text = text.replace("    asyncio.create_task(work())  # expect: LL101\n", "    asyncio.create_task(work())  # a comment now\n", 1)
    assert "    _ = asyncio.create_task(work())  # expect: LL101\n" in text
    text = text.replace("    _ = asyncio.create_task(work())  # expect: LL101\n", "    _  =   asyncio.create_task(work())\n")
    tasks.write_text("# a new header comment\n\n" + text, encoding="utf-8")
    assert run(capsys, "--baseline", "baseline.json", "fixtures") == (0, "All checks passed!\n", "")


def test_the_same_leak_twice_in_one_function_is_counted(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    body = "import asyncio\n\nasync def main():\n" + "    asyncio.create_task(work())\n" * 2
    (tmp_path / "app.py").write_text(body, encoding="utf-8")
    run(capsys, "--write-baseline", "baseline.json", "app.py")
    (entry,) = json.loads((tmp_path / "baseline.json").read_text(encoding="utf-8"))["findings"]
    assert entry["count"] == 2
    (tmp_path / "app.py").write_text(body + "    asyncio.create_task(work())\n", encoding="utf-8")
    code, out, _ = run(capsys, "--baseline", "baseline.json", "app.py")
    assert code == 1
    assert out == (
        "app.py:6:5: LL101 the task made by asyncio.create_task is dropped: the loop keeps only a weak reference, "
        "so it may be collected before it finishes, and its failure bypasses this code\nFound 1 leak.\n"
        "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option).\n"
    )


def test_a_fixed_leak_leaves_a_stale_entry_in_the_summary(project, capsys):
    tasks = project / "fixtures" / "tasks" / "dangling_task.py"
    text = tasks.read_text(encoding="utf-8")
    tasks.write_text(text.replace("    spawn(work())  # expect: LL101\n", "    await work()\n"), encoding="utf-8")
    (project / "fixtures" / "tasks" / "unused_task.py").unlink()
    unused_entries = sum(
        e["count"] for e in json.loads((project / "baseline.json").read_text())["findings"] if e["path"].endswith("unused_task.py")
    )
    code, out, err = run(capsys, "--baseline", "baseline.json", "fixtures")
    assert code == 0
    assert out == (
        "All checks passed!\n"
        f"{1 + unused_entries} baseline entries no longer match; rewrite the baseline with --write-baseline\n"
    )
    # Machine formats keep stdout parsable: the note goes to stderr.
    code, out, err = run(capsys, "--output-format", "json", "--baseline", "baseline.json", "fixtures")
    assert (code, json.loads(out)) == (0, [])
    assert err == f"leaklint: {1 + unused_entries} baseline entries no longer match; rewrite the baseline with --write-baseline\n"


def test_entries_of_files_not_checked_this_time_are_not_stale(project, capsys):
    # pre-commit names only the changed files.
    assert run(capsys, "--baseline", "baseline.json", "fixtures/tasks/dangling_task.py") == (0, "All checks passed!\n", "")


def test_paths_are_relative_to_the_baseline_file_not_the_working_directory(project, monkeypatch, capsys):
    monkeypatch.chdir(project / "fixtures")
    assert run(capsys, "--baseline", "../baseline.json", "tasks") == (0, "All checks passed!\n", "")


def test_code_on_stdin_is_matched_by_its_stdin_filename(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    source = "import asyncio\n\nasync def main():\n    asyncio.create_task(work())\n"
    (tmp_path / "app.py").write_text(source, encoding="utf-8")
    run(capsys, "--write-baseline", "baseline.json", "app.py")
    code, out, _ = run(capsys, "--baseline", "baseline.json", "--stdin-filename", "app.py", "-", stdin="\n\n" + source)
    assert (code, out) == (0, "All checks passed!\n")


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "not JSON"),
        ('{"findings": []}', "not a leaklint baseline"),
        ('{"leaklint_baseline": 1, "findings": [{"path": "a.py"}]}', "bad entry"),
    ],
)
def test_a_broken_baseline_is_a_clear_error(tmp_path, monkeypatch, capsys, content, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "baseline.json").write_text(content, encoding="utf-8")
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    code, out, err = run(capsys, "--baseline", "baseline.json", "app.py")
    assert (code, out) == (2, "")
    assert err.startswith(f"leaklint: error: baseline.json: {message}")
    assert err.count("\n") == 1


def test_a_missing_baseline_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "--baseline", "nope.json", ".")
    assert (code, out) == (2, "")
    assert err == "leaklint: error: nope.json: cannot read: No such file or directory\n"


def test_baseline_and_write_baseline_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--baseline", "a.json", "--write-baseline", "b.json"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_fingerprint_names_the_innermost_function_and_the_whole_statement(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = textwrap.dedent(
        """\
        import asyncio

        class Worker:
            async def run(self):
                async def inner():
                    asyncio.create_task(  # start it
                        work(1),
                    )
                asyncio.ensure_future(asyncio.sleep(1))

        asyncio.ensure_future(asyncio.sleep(1))
        """
    )
    result = check_source(source, "pkg/app.py")
    assert [f.line for f in result.findings] == [6, 9, 11]
    assert fingerprints(result, source, tmp_path) == [
        Fingerprint("pkg/app.py", "LL101", "Worker.run.inner", "asyncio.create_task( work(1), )"),
        Fingerprint("pkg/app.py", "LL101", "Worker.run", "asyncio.ensure_future(asyncio.sleep(1))"),
        Fingerprint("pkg/app.py", "LL101", "", "asyncio.ensure_future(asyncio.sleep(1))"),
    ]
    # From inside pkg/, the same file is named relative to the baseline's directory.
    assert fingerprints(result, source, tmp_path / "pkg")[0].path == "app.py"


def test_writing_a_baseline_still_reports_files_that_could_not_be_checked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.py").write_text("def broken(:\n", encoding="utf-8")
    code, out, err = run(capsys, "--output-format", "github", "--write-baseline", "baseline.json", "broken.py")
    assert (code, out) == (2, "")
    assert err.startswith("leaklint: error: broken.py: syntax error")
    assert err.endswith("leaklint: recorded 0 findings in baseline.json\n")
