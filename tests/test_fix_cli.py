"""``--fix``, ``--unsafe-fixes``, ``--diff``, ``--fix-only`` and ``--add-noqa``
on files: the fixtures fixed in place, encodings and line endings kept, and the
user's file never lost (temporary file and rename, mode kept, links outside the
checked paths refused, a file changed meanwhile not overwritten)."""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections import Counter
from pathlib import Path
from typing import Dict

import pytest

from leaklint import check_source
from leaklint.analysis.project import ProjectIndex
from leaklint.cli import unified_diff
from leaklint.engine import decode_source
from tests.cli_runner import run
from tests.expectations import FIXTURES

DANGLING = "import asyncio\n\n\nasync def main():\n    asyncio.create_task(work())\n"
FIXED_DANGLING = (
    "import asyncio\n\nbackground_tasks = set()\n\n\nasync def main():\n"
    "    task = asyncio.create_task(work())\n    background_tasks.add(task)\n"
    "    task.add_done_callback(background_tasks.discard)\n"
)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def fixtures_copy(workdir) -> Path:
    shutil.copytree(FIXTURES, workdir / "fixtures")
    return workdir / "fixtures"


def _snapshot(root: Path) -> Dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*.py"))}


def _findings(root: Path) -> Counter:
    """The findings the command reports: with the project index (the fixture
    package's modules use each other)."""
    found = Counter()
    project = ProjectIndex()
    for path in sorted(root.rglob("*.py")):
        for finding in check_source(path.read_bytes(), str(path), project=project).findings:
            found[(str(path.relative_to(root)), finding.code, finding.message, finding.fix is not None)] += 1
    return found


# -- done when ----------------------------------------------------------------------


def test_fix_with_unsafe_fixes_removes_every_fixable_finding_and_converges(fixtures_copy):
    before = _findings(fixtures_copy)
    fixable = sum(count for key, count in before.items() if key[3])
    assert fixable
    code, out, err = run_fix("--fix", "--unsafe-fixes", "--no-cache", "fixtures")
    remaining = sum(before.values()) - fixable
    assert (code, err) == (1, "")
    assert out.splitlines()[-1] == f"Found {sum(before.values())} leaks ({fixable} fixed, {remaining} remaining)."
    after = _findings(fixtures_copy)
    assert not [key for key in after if key[3]], "a finding with a fix is left"
    assert after == Counter({key: count for key, count in before.items() if not key[3]})
    for path in fixtures_copy.rglob("*.py"):
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    fixed = _snapshot(fixtures_copy)
    code, out, _ = run_fix("--fix", "--unsafe-fixes", "--no-cache", "fixtures")
    assert (code, out.splitlines()[-1]) == (1, f"Found {remaining} leaks.")
    assert _snapshot(fixtures_copy) == fixed


def test_diff_prints_the_same_change_and_writes_nothing(fixtures_copy, workdir):
    original = _snapshot(fixtures_copy)
    code, out, err = run_fix("--diff", "--unsafe-fixes", "--no-cache", "fixtures")
    assert code == 1
    assert err.startswith("Would fix ")
    assert _snapshot(fixtures_copy) == original
    run_fix("--fix", "--unsafe-fixes", "--no-cache", "fixtures")
    fixed = _snapshot(fixtures_copy)
    expected = "".join(
        unified_diff(os.path.join("fixtures", name), original[name].decode("utf-8"), fixed[name].decode("utf-8"))
        for name in original
        if original[name] != fixed[name]
    )
    assert out == expected


def test_add_noqa_then_a_plain_run_passes(fixtures_copy):
    code, _, err = run_fix("--add-noqa", "--no-cache", "fixtures")
    assert code == 0
    assert err.startswith("Added ") and err.endswith(" noqa directives.\n")
    assert run_fix("--no-cache", "fixtures")[:2] == (0, "All checks passed!\n")
    again = _snapshot(fixtures_copy)
    assert run_fix("--add-noqa", "--no-cache", "fixtures")[2] == "Added 0 noqa directives.\n"
    assert _snapshot(fixtures_copy) == again


def test_add_noqa_merges_with_an_existing_comment(workdir):
    (workdir / "app.py").write_text(DANGLING.replace("work())", "work())  # noqa: E501"), encoding="utf-8")
    assert run_fix("--add-noqa", "app.py")[0] == 0
    assert (workdir / "app.py").read_text(encoding="utf-8").endswith("work())  # noqa: E501, LL101\n")


# -- safety levels and output --------------------------------------------------------


def test_fix_alone_applies_safe_fixes_only(workdir):
    (workdir / "app.py").write_text(DANGLING, encoding="utf-8")
    code, out, _ = run_fix("--fix", "app.py")
    assert code == 1
    assert (workdir / "app.py").read_text(encoding="utf-8") == DANGLING
    assert out.endswith("Found 1 leak.\nNo fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option).\n")


UNAWAITED = "import asyncio\n\n\nasync def main():\n    asyncio.sleep(1)\n    asyncio.create_task(work())\n"


def test_safe_fixes_are_marked_and_applied_by_fix_alone(workdir):
    (workdir / "app.py").write_text(UNAWAITED, encoding="utf-8")
    code, out, _ = run_fix("--no-cache", "app.py")
    assert code == 1
    assert out.splitlines()[0].startswith("app.py:5:5: LL103 [*] ")
    assert out.splitlines()[1].startswith("app.py:6:5: LL101 ") and "[*]" not in out.splitlines()[1]  # unsafe: not marked
    assert out.splitlines()[-1] == "[*] 1 fixable with the `--fix` option (1 hidden fix can be enabled with the `--unsafe-fixes` option)."
    code, out, _ = run_fix("--fix", "--no-cache", "app.py")
    assert (code, out.splitlines()[-2]) == (1, "Found 2 leaks (1 fixed, 1 remaining).")
    assert (workdir / "app.py").read_text(encoding="utf-8") == UNAWAITED.replace("    asyncio.sleep(1)", "    await asyncio.sleep(1)")


def test_unsafe_fixes_marks_the_fixable_findings(workdir):
    (workdir / "app.py").write_text(DANGLING, encoding="utf-8")
    code, out, _ = run_fix("--unsafe-fixes", "app.py")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("app.py:5:5: LL101 [*] ")
    assert lines[1:] == ["Found 1 leak.", "[*] 1 fixable with the `--fix --unsafe-fixes` option."]


def test_fix_only_reports_the_count_and_exits_0(workdir):
    (workdir / "app.py").write_text(DANGLING, encoding="utf-8")
    assert run_fix("--fix-only", "--unsafe-fixes", "app.py") == (0, "Fixed 1 leak.\n", "")
    assert (workdir / "app.py").read_text(encoding="utf-8") == FIXED_DANGLING


def test_diff_with_nothing_to_fix_exits_0(workdir):
    (workdir / "app.py").write_text(FIXED_DANGLING, encoding="utf-8")
    assert run_fix("--diff", "--unsafe-fixes", "app.py") == (0, "", "Would fix 0 leaks.\n")


@pytest.mark.parametrize("options", [("--add-noqa", "--fix"), ("--fix-only", "--diff"), ("--fix", "--write-baseline", "b.json")])
def test_options_that_do_not_combine(workdir, options):
    code, _, err = run_fix(*options, ".")
    assert code == 2 and "cannot be combined" in err


# -- encodings and line endings -----------------------------------------------------

ENCODED = {
    "crlf": DANGLING.replace("\n", "\r\n").encode("utf-8"),
    "bom": b"\xef\xbb\xbf" + DANGLING.encode("utf-8"),
    "latin-1 cookie": ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + DANGLING.replace("work()", "work('\xe9')")).encode("latin-1"),
    "tabs and non-ascii": DANGLING.replace("    ", "\t").replace("work())", "work('日本'))  # ü").encode("utf-8"),
    "cr only": DANGLING.replace("\n", "\r").encode("utf-8"),
}


@pytest.mark.parametrize("data", ENCODED.values(), ids=ENCODED.keys())
def test_encoding_bom_and_line_endings_are_kept(workdir, data):
    path = workdir / "app.py"
    path.write_bytes(data)
    assert run_fix("--fix", "--unsafe-fixes", "--no-cache", "app.py")[0] == 0
    fixed = path.read_bytes()
    assert fixed.startswith(b"\xef\xbb\xbf") == data.startswith(b"\xef\xbb\xbf")
    assert fixed.count(b"\xef\xbb\xbf") == data.count(b"\xef\xbb\xbf")
    text = decode_source(fixed)
    original = decode_source(data)
    assert _line_endings(text) == _line_endings(original)
    assert original.splitlines()[-1].strip() in text  # the call with its non-ASCII text, unchanged
    assert "background_tasks.add(task)" in text
    compile(fixed, "app.py", "exec", dont_inherit=True)
    assert check_source(fixed).findings == []


def _line_endings(text: str) -> set:
    lone = text.replace("\r\n", "")
    return {ending for ending, present in (("\r\n", "\r\n" in text), ("\r", "\r" in lone), ("\n", "\n" in lone)) if present}


# -- data safety ----------------------------------------------------------------------


def test_the_file_mode_is_kept_and_no_temporary_file_is_left(workdir):
    path = workdir / "app.py"
    path.write_text(DANGLING, encoding="utf-8")
    path.chmod(0o751)
    assert run_fix("--fix", "--unsafe-fixes", "--no-cache", "app.py")[0] == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert sorted(os.listdir(workdir)) == ["app.py"]


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")
def test_a_link_to_outside_the_checked_paths_is_not_written_through(workdir, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "target.py"
    outside.write_text(DANGLING, encoding="utf-8")
    project = workdir / "project"
    project.mkdir()
    (project / "link.py").symlink_to(outside)
    for named in ("project", "project/link.py"):
        code, _, err = run_fix("--fix", "--unsafe-fixes", "--no-cache", named)
        assert code == 2
        assert err == f"leaklint: error: {os.path.join(named, 'link.py') if named == 'project' else named}: cannot fix: is a link to {outside}, outside the checked paths: not changed\n"
        assert outside.read_text(encoding="utf-8") == DANGLING


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")
def test_a_link_inside_the_checked_paths_is_written_through_and_stays_a_link(workdir):
    project = workdir / "project"
    (project / "real").mkdir(parents=True)
    (project / "real" / "app.py").write_text(DANGLING, encoding="utf-8")
    (project / "link.py").symlink_to(project / "real" / "app.py")
    assert run_fix("--fix", "--unsafe-fixes", "--no-cache", "project/link.py", "project/real")[0] == 0
    assert (project / "link.py").is_symlink()
    assert (project / "real" / "app.py").read_text(encoding="utf-8") == FIXED_DANGLING


def test_a_file_changed_on_disk_meanwhile_is_not_overwritten(workdir, monkeypatch):
    import leaklint.cli

    path = workdir / "app.py"
    path.write_text(DANGLING, encoding="utf-8")
    real_fix_source = leaklint.cli.fix_source

    def fix_while_the_user_edits(*args, **kwargs):
        outcome = real_fix_source(*args, **kwargs)
        path.write_text(DANGLING + "# edited meanwhile\n", encoding="utf-8")
        return outcome

    monkeypatch.setattr(leaklint.cli, "fix_source", fix_while_the_user_edits)
    code, _, err = run_fix("--fix", "--unsafe-fixes", "--no-cache", "app.py")
    assert code == 2
    assert err == "leaklint: error: app.py: cannot fix: changed on disk while leaklint was fixing it: not overwritten\n"
    assert path.read_text(encoding="utf-8") == DANGLING + "# edited meanwhile\n"
    assert sorted(os.listdir(workdir)) == ["app.py"]


def test_a_file_that_cannot_be_parsed_is_never_written(workdir):
    broken = workdir / "broken.py"
    broken.write_bytes(b"import asyncio\nasync def f(:\n    asyncio.create_task(g())\n")
    (workdir / "app.py").write_text(DANGLING, encoding="utf-8")
    code, _, err = run_fix("--fix", "--unsafe-fixes", "--no-cache", ".")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("leaklint: error: broken.py: syntax error")
    assert broken.read_bytes() == b"import asyncio\nasync def f(:\n    asyncio.create_task(g())\n"
    assert (workdir / "app.py").read_text(encoding="utf-8") == FIXED_DANGLING  # the other files are still fixed


def test_a_fix_that_would_break_the_file_is_reported_and_not_written(workdir, monkeypatch):
    from leaklint.analysis.edits import PlannedFix, Replace, end, start
    from leaklint.finding import UNSAFE
    from leaklint.rules.tasks import dangling_task

    monkeypatch.setattr(
        dangling_task,
        "keep_in_background_set",
        lambda facts, handle: PlannedFix("break it", UNSAFE, (Replace(start(handle.call), end(handle.call), "("),)),
    )
    (workdir / "app.py").write_text(DANGLING, encoding="utf-8")
    code, _, err = run_fix("--fix", "--unsafe-fixes", "--no-cache", "app.py")
    assert code == 2
    assert err.startswith("leaklint: error: app.py: cannot fix: fixes LL101 (break it) would break the file")
    assert err.count("\n") == 1
    assert (workdir / "app.py").read_text(encoding="utf-8") == DANGLING


def run_fix(*argv: str):
    """The command in-process; capsys is taken from the running test."""
    return run(_capsys(), *argv)


_CAPSYS = []


@pytest.fixture(autouse=True)
def _remember_capsys(capsys):
    _CAPSYS.append(capsys)
    yield
    _CAPSYS.pop()


def _capsys():
    return _CAPSYS[-1]


def test_standard_input_is_fixed_to_standard_output_and_the_report_goes_to_stderr(workdir):
    import subprocess

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "leaklint", "--fix", "--unsafe-fixes", "--stdin-filename", "app.py", "-"]
    completed = subprocess.run(command, input=DANGLING.encode(), capture_output=True, env=env, cwd=workdir, timeout=120)
    assert (completed.returncode, completed.stdout.decode()) == (0, FIXED_DANGLING)
    assert completed.stderr.decode() == "Found 1 leak (1 fixed, 0 remaining).\n"
    assert os.listdir(workdir) == []  # nothing written


def test_add_noqa_reports_each_line_it_cannot_mark_and_each_broken_file_once(workdir):
    (workdir / "strings.py").write_text('import subprocess\n\n\ndef f():\n    subprocess.Popen(["sh", "-c", """\necho hi"""])\n', encoding="utf-8")
    (workdir / "broken.py").write_text("def f(:\n", encoding="utf-8")
    code, _, err = run_fix("--add-noqa", "--no-cache", ".")
    assert code == 2
    assert err.splitlines() == [
        "leaklint: error: broken.py: syntax error at 1:7: invalid syntax",
        "leaklint: error: strings.py: cannot add a noqa comment to line 5 (it ends inside a string or continues)",
        "Added 0 noqa directives.",
    ]


@pytest.mark.skipif(not hasattr(os, "link"), reason="hard links")
def test_a_file_with_other_hard_links_is_not_changed(workdir):
    (workdir / "app.py").write_text(DANGLING, encoding="utf-8")
    os.link(workdir / "app.py", workdir / "same.txt")
    code, _, err = run_fix("--fix", "--unsafe-fixes", "--no-cache", "app.py")
    assert code == 2
    assert err == "leaklint: error: app.py: cannot fix: has other hard links, which a rename would leave behind: not changed\n"
    assert (workdir / "app.py").read_text(encoding="utf-8") == DANGLING
