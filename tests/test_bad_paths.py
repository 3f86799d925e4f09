"""Awkward paths: each gives findings or one clear line, never a traceback, and
never costs another file's findings.

The tests run as root, and root reads mode-000 files, so "unreadable" is made
with what defeats root too: a path whose parent is a file, a dangling symlink,
a FIFO (opened for reading it would block: leaklint must not hang on it), and,
where ``nobody`` exists, a run as that user (``os.setuid`` in the child).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pwd
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest

import leaklint.cli as cli
from tests.expectations import ROOT

LEAK = "import asyncio\n\n\nasync def main():\n    asyncio.create_task(asyncio.sleep(1))\n"  # LL101 at 5:5


def leaklint(args: List[str], cwd: Path, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    process = subprocess.run(
        [sys.executable, "-m", "leaklint", "--no-cache", *args], cwd=cwd, capture_output=True, text=True,
        encoding="utf-8", errors="replace", timeout=timeout, env=dict(os.environ, PYTHONPATH=str(ROOT)), **kwargs,
    )
    assert "Traceback" not in process.stdout + process.stderr, process.stderr[-3000:]
    assert all(line.startswith("leaklint: error: ") for line in process.stderr.splitlines()), process.stderr
    return process


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "good.py").write_text(LEAK, encoding="utf-8")
    return root


def _good_finding_reported(process: subprocess.CompletedProcess) -> bool:
    return "good.py:5:5: LL101" in process.stdout


def test_symlink_loop(project):
    (project / "loop").symlink_to(project / "loop")
    (project / "a").symlink_to(project / "b")
    (project / "b").symlink_to(project / "a")
    (project / "up").symlink_to(project)  # a directory cycle
    (project / "loop.py").symlink_to(project / "loop.py")
    process = leaklint(["."], cwd=project, timeout=60)
    assert _good_finding_reported(process)
    assert process.returncode in (1, 2)
    assert len(process.stderr.splitlines()) <= 1  # loop.py, if anything
    named = leaklint(["loop.py", "good.py"], cwd=project, timeout=60)
    assert named.returncode == 2 and _good_finding_reported(named)
    assert len(named.stderr.splitlines()) == 1 and "loop.py" in named.stderr


def test_path_whose_parent_is_a_file(project):
    process = leaklint(["good.py/child.py", "good.py"], cwd=project)
    assert process.returncode == 2 and _good_finding_reported(process)
    assert process.stderr.splitlines() == [process.stderr.splitlines()[0]] and "good.py/child.py" in process.stderr


def test_dangling_symlink(project):
    (project / "dangling.py").symlink_to(project / "missing.py")
    walked = leaklint(["."], cwd=project)
    named = leaklint(["dangling.py", "good.py"], cwd=project)
    for process in (walked, named):
        assert _good_finding_reported(process)
    assert named.returncode == 2 and len(named.stderr.splitlines()) == 1 and "dangling.py" in named.stderr
    assert walked.returncode in (1, 2) and len(walked.stderr.splitlines()) <= 1


def test_fifo_does_not_hang(project):
    os.mkfifo(project / "fifo.py")
    try:
        process = leaklint(["fifo.py", "good.py"], cwd=project, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("leaklint hung on a FIFO")
    assert _good_finding_reported(process)
    assert process.returncode == 2 and len(process.stderr.splitlines()) == 1 and "fifo.py" in process.stderr


def _nobody():
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        return None


@pytest.mark.skipif(os.geteuid() != 0 or _nobody() is None, reason="needs root and a 'nobody' user to drop to")
def test_unreadable_file_and_directory_as_nobody(tmp_path):
    project = tmp_path / "project"
    (project / "closed").mkdir(parents=True)
    (project / "good.py").write_text(LEAK, encoding="utf-8")
    (project / "secret.py").write_text(LEAK, encoding="utf-8")
    (project / "closed" / "inner.py").write_text(LEAK, encoding="utf-8")
    os.chmod(project / "secret.py", 0)
    os.chmod(project / "closed", 0)
    for path in (tmp_path, project):
        os.chmod(path, 0o755)
    nobody = _nobody()

    def drop() -> None:
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)

    try:
        usable = not subprocess.run(
            [sys.executable, "-c", "import leaklint"], preexec_fn=drop, capture_output=True, env=dict(os.environ, PYTHONPATH=str(ROOT))
        ).returncode
    except PermissionError:
        usable = False
    if not usable:
        pytest.skip("nobody cannot run this interpreter or import leaklint from this checkout")
    process = leaklint(["."], cwd=project, preexec_fn=drop)
    errors = process.stderr.splitlines()
    assert process.returncode == 2 and _good_finding_reported(process)
    assert len(errors) == 2 and any("secret.py" in line for line in errors) and any("closed" in line for line in errors), errors


def test_directory_named_like_a_python_file(project):
    (project / "x.py").mkdir()
    (project / "x.py" / "inner.py").write_text(LEAK, encoding="utf-8")
    for args in (["."], ["x.py", "good.py"]):
        process = leaklint(args, cwd=project)
        assert process.returncode == 1, process.stderr
        assert _good_finding_reported(process) and "inner.py:5:5: LL101" in process.stdout


@pytest.mark.parametrize("name", ["with spaces/my file.py", "ünïcødé/ファイル.py", "-dash.py", "semi;colon$(x).py", "new\nline.py"])
def test_awkward_names(project, name):
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(LEAK, encoding="utf-8")
    for args in (["."], ["--", name] if name.startswith("-") else [name]):
        process = leaklint(["--output-format", "json", *args], cwd=project)
        assert process.returncode == 1, process.stderr
        paths = {(project / finding["path"]).resolve() for finding in json.loads(process.stdout)}
        assert path.resolve() in paths


def _generated(megabytes: float) -> str:
    """Code with a leak in every block, ``megabytes`` long: mostly documentation
    (as large generated files are), so the run stays within the per-file limit."""
    doc = "    " + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 70 + "\n"
    block = (
        'async def handler_{n}(request):\n    """Handle it.\n\n' + doc + '    """\n    return await compute(request)\n\n\n'
        "async def spawn_{n}():\n    # " + "x" * 2000 + "\n    asyncio.create_task(handler_{n}(None))\n\n\n"
    )
    parts, size, n = ["import asyncio\n\n\n"], 0, 0
    target = int(megabytes * 1_000_000)
    while size < target:
        part = block.replace("{n}", str(n))
        parts.append(part)
        size += len(part)
        n += 1
    return "".join(parts)


def test_a_20_megabyte_file_is_linear(tmp_path):
    """A complexity check, not a speed test: 10x the size may cost at most 20x
    the time (quadratic would be 100x)."""
    timings = {}
    for megabytes in (2, 20):
        source = _generated(megabytes)
        path = tmp_path / f"big_{megabytes}.py"
        path.write_text(source, encoding="utf-8")
        started = time.monotonic()
        process = leaklint(["--output-format", "json", str(path)], cwd=tmp_path, timeout=900)
        timings[megabytes] = time.monotonic() - started
        assert process.returncode == 1, process.stderr[-2000:]
        assert len(json.loads(process.stdout)) == source.count("asyncio.create_task(")
    assert timings[20] < 20 * timings[2], timings


def test_a_file_deleted_during_the_run(tmp_path, monkeypatch):
    """Deleted between discovery and check: one line for it, the rest reported."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("a.py", "doomed.py", "z.py"):
        (project / name).write_text(LEAK, encoding="utf-8")
    original = cli.check_files

    def delete_then_check(paths, *args, **kwargs):
        assert any(path.endswith("doomed.py") for path in paths)
        (project / "doomed.py").unlink()
        return original(paths, *args, **kwargs)

    monkeypatch.setattr(cli, "check_files", delete_then_check)
    monkeypatch.chdir(project)
    (project / "pyproject.toml").write_text("[tool.leaklint]\n", encoding="utf-8")
    for jobs in ("1", "2"):
        (project / "doomed.py").write_text(LEAK, encoding="utf-8")
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            status = cli.main(["--no-cache", "--jobs", jobs, "--output-format", "json", "."])
        assert status == 2
        errors = stderr.getvalue().splitlines()
        assert len(errors) == 1 and "doomed.py" in errors[0] and "Traceback" not in stderr.getvalue(), errors
        assert sorted(Path(finding["path"]).name for finding in json.loads(stdout.getvalue())) == ["a.py", "z.py"]
