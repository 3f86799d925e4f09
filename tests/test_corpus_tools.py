"""The measuring instruments: benchmarks/corpus.py, the generated modules of
benchmarks/run.py and eval/precision.py's table.  Offline: pip is never run."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import libcst
import pytest

from leaklint.engine import check_source

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sys.path.insert(0, str(ROOT / "benchmarks"))
corpus = _load("corpus", ROOT / "benchmarks" / "corpus.py")
bench = _load("leaklint_bench_run", ROOT / "benchmarks" / "run.py")
precision = _load("leaklint_eval_precision", ROOT / "eval" / "precision.py")


def _sdist(path: Path, members: dict) -> Path:
    with tarfile.open(path, "w:gz") as bundle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKLINT_CORPUS_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _package_with_download(cache: Path, members: dict) -> "corpus.Package":
    directory = cache / "downloads" / "demo-1.0"
    directory.mkdir(parents=True)
    archive = _sdist(directory / "demo-1.0.tar.gz", members)
    return corpus.Package("demo", "1.0", corpus._sha256(archive), "a test")


def test_extracts_only_python_files_below_the_top_folder(cache, monkeypatch):
    package = _package_with_download(cache, {
        "demo-1.0/demo/core.py": b"import asyncio\n",
        "demo-1.0/tests/test_core.py": b"def test(): pass\n",
        "demo-1.0/README.md": b"# demo\n",
        "demo-1.0/../escape.py": b"x = 1\n",
        "top.py": b"x = 1\n",
    })
    monkeypatch.setattr(corpus.subprocess, "run", _no_pip)
    root = corpus.ensure_corpus([package], quiet=True)
    folder = root / "demo-1.0"
    found = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())
    assert found == [".leaklint-corpus", "demo/core.py", "tests/test_core.py"]
    assert not (cache / "escape.py").exists() and not (root / "escape.py").exists()


def test_a_second_run_changes_nothing(cache, monkeypatch):
    package = _package_with_download(cache, {"demo-1.0/demo/core.py": b"import asyncio\n"})
    monkeypatch.setattr(corpus.subprocess, "run", _no_pip)
    root = corpus.ensure_corpus([package], quiet=True)
    marker = root / "demo-1.0" / ".leaklint-corpus"
    stamp = marker.stat().st_mtime_ns
    (cache / "downloads").rename(cache / "moved")  # a second run must not even look at the download
    assert corpus.ensure_corpus([package], quiet=True) == root
    assert marker.stat().st_mtime_ns == stamp


def test_a_failed_download_is_one_line_and_the_others_still_come(cache, monkeypatch, capsys):
    good = _package_with_download(cache, {"demo-1.0/demo/core.py": b"import asyncio\n"})
    missing = corpus.Package("nosuch", "0.0.1", "0" * 64, "a test")

    def failing_pip(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, stdout=b"Collecting nosuch\nERROR: No matching distribution found for nosuch==0.0.1\n")

    monkeypatch.setattr(corpus.subprocess, "run", failing_pip)
    root = corpus.ensure_corpus([missing, good], quiet=True)
    error = capsys.readouterr().err
    assert error == "corpus: nosuch==0.0.1: pip download failed: ERROR: No matching distribution found for nosuch==0.0.1\n"
    assert (root / "demo-1.0" / "demo" / "core.py").is_file()
    assert not (root / "nosuch-0.0.1").exists()


def test_a_download_with_the_wrong_hash_is_refused(cache, monkeypatch, capsys):
    _package_with_download(cache, {"demo-1.0/demo/core.py": b"import asyncio\n"})
    tampered = corpus.Package("demo", "1.0", "f" * 64, "a test")

    def pip_that_fetches_the_same_file(command, **kwargs):
        _sdist(Path(command[command.index("--dest") + 1]) / "demo-1.0.tar.gz", {"demo-1.0/demo/core.py": b"import os\n"})
        return subprocess.CompletedProcess(command, 0, stdout=b"")

    monkeypatch.setattr(corpus.subprocess, "run", pip_that_fetches_the_same_file)
    root = corpus.ensure_corpus([tampered], quiet=True)
    assert "has SHA-256" in capsys.readouterr().err
    assert not (root / "demo-1.0").exists()


def test_a_folder_no_longer_pinned_is_removed_and_others_are_left(cache, monkeypatch):
    package = _package_with_download(cache, {"demo-1.0/demo/core.py": b"import asyncio\n"})
    monkeypatch.setattr(corpus.subprocess, "run", _no_pip)
    root = corpus.ensure_corpus([package], quiet=True)
    (root / "mine").mkdir()  # not extracted by corpus.py: never touched
    corpus.ensure_corpus([], quiet=True)
    assert sorted(path.name for path in root.iterdir()) == ["mine"]


def _no_pip(command, **kwargs):
    raise AssertionError(f"pip was run: {command}")


@pytest.mark.parametrize("methods", [True, False])
def test_generated_modules_have_n_definitions_and_check_clean(methods):
    source = bench.generated_module(40, methods)
    module = libcst.parse_module(source)
    names = [node.name.value for node in _definitions(module)]
    prefix = "method_" if methods else "function_"
    assert [name for name in names if name.startswith(prefix)] == [f"{prefix}{index}" for index in range(40)]
    result = check_source(source, "generated.py")
    assert result.problems == [] and result.findings == []


def _definitions(module):
    for statement in module.body:
        if isinstance(statement, libcst.FunctionDef):
            yield statement
        elif isinstance(statement, libcst.ClassDef):
            yield from (item for item in statement.body.body if isinstance(item, libcst.FunctionDef))


def _row(line, fingerprint, verdict="?", reason=""):
    return precision.Row("demo", "demo/core.py", line, "LL101", "Worker.run", fingerprint, verdict, reason)


def test_triage_table_round_trips_with_pipes_in_reasons(tmp_path):
    table = tmp_path / "triage.md"
    head = ["# Triage", "", "| " + " | ".join(precision.COLUMNS) + " |", "|---|---|---|---|---|---|---|---|"]
    rows = [_row(3, "aaaaaaaaaaaa", "true", "drops a | task"), _row(9, "bbbbbbbbbbbb", "intent", "fire and forget")]
    precision.write_table(table, head, rows, ["", "Notes below the table."])
    read_head, read_rows, tail = precision.read_table(table)
    assert read_head == head and read_rows == rows and tail == ["", "Notes below the table."]


def test_a_bad_verdict_is_refused(tmp_path):
    table = tmp_path / "triage.md"
    precision.write_table(table, list(precision._DEFAULT_HEAD), [_row(3, "aaaaaaaaaaaa", "maybe")], [])
    with pytest.raises(ValueError, match="verdict 'maybe'"):
        precision.read_table(table)


def _reported(line, fingerprint):
    finding = precision.Finding("x.py", line, 1, line, 10, "LL101", "dangling-task", "m")
    return precision.Reported("demo", "demo/core.py", "x.py", finding, "Worker.run", fingerprint)


def test_matching_counts_equal_fingerprints_and_ignores_lines():
    rows = [_row(10, "same", "true"), _row(50, "old", "false")]
    reported = [_reported(12, "same"), _reported(30, "same"), _reported(40, "fresh")]
    matched, new, gone = precision.match(rows, reported)
    assert [(row.line, found.finding.line) for row, found in matched] == [(10, 12)]
    assert [found.finding.line for found in new] == [30, 40]  # a second identical finding needs a second row
    assert [row.fingerprint for row in gone] == ["old"]


def test_the_fingerprint_leaves_the_version_and_the_line_out():
    assert precision._package_name("discord.py-2.7.1") == "discord.py"
    assert precision._package_name("sentry-sdk-2.75.0") == "sentry-sdk"
    first = precision.fingerprint_hash("demo", "demo/core.py", "LL101", "Worker.run", "asyncio.create_task(work())")
    assert first == precision.fingerprint_hash("demo", "demo/core.py", "LL101", "Worker.run", "asyncio.create_task(work())")
    assert first != precision.fingerprint_hash("demo", "demo/core.py", "LL101", "Worker.stop", "asyncio.create_task(work())")
