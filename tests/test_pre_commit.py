"""The pre-commit hook, as a user gets it: ``pre-commit try-repo`` clones this
repository's committed HEAD, installs leaklint into a fresh virtualenv from
PyPI and runs the hook on a repository with a leak (about 30 s)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LEAKY = textwrap.dedent(
    """\
    import asyncio

    async def handle(request):
        asyncio.create_task(audit(request))
    """
)


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_hook_fails_and_names_the_finding_but_not_an_excluded_file(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed: pre-commit try-repo clones the repository with it")
    # The committed state, not the working tree: that is what users install.
    commit = _git("rev-parse", "HEAD", cwd=ROOT)
    user_repo = tmp_path / "user-repo"
    (user_repo / "generated").mkdir(parents=True)
    (user_repo / "service.py").write_text(LEAKY, encoding="utf-8")
    (user_repo / "generated" / "client.py").write_text(LEAKY, encoding="utf-8")
    (user_repo / "pyproject.toml").write_text('[tool.leaklint]\nextend-exclude = ["generated"]\n', encoding="utf-8")
    _git("init", "-q", cwd=user_repo)
    _git("add", ".", cwd=user_repo)
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    env.pop("PYTHONPATH", None)

    completed = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "leaklint", "--ref", commit, "--all-files"],
        cwd=user_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "- hook id: leaklint" in output
    assert "- exit code: 1" in output, output
    assert "service.py:4:5: LL101 " in output
    # pre-commit names generated/client.py too; --force-exclude keeps it out.
    assert "client.py" not in output
    assert "Found 1 leak." in output
