"""Baselines: adopt leaklint on a codebase that has findings today, and report
only the new ones.

``--write-baseline FILE`` records the current findings; ``--baseline FILE``
hides the findings recorded there.  A finding is recorded not by its line
number, which any edit above it changes, but by

- the file: a forward-slash path relative to the baseline file's directory,
  so the baseline matches from whatever directory leaklint runs;
- the rule code;
- the qualified name of the enclosing function (``Worker.run``; empty at
  module level);
- the source of the reported statement, comments dropped and whitespace
  collapsed: from the finding's first line to the end of the statement that
  starts there, never past the finding's last line (a loop is reported whole;
  an edit in its body should not make it new).

Entries are counted, so two identical findings in one function need two
entries; a third one is new.
"""

from __future__ import annotations

import ast
import io
import json
import os
import tokenize
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from leaklint.finding import FileResult, Finding

FORMAT_VERSION = 1
_FIELDS = ("path", "code", "function", "source")

SourceReader = Callable[[str], Optional[str]]  # a checked file's text, or None if it cannot be read


class BaselineError(Exception):
    """The baseline file cannot be read or is not a leaklint baseline."""


@dataclass(frozen=True, order=True)
class Fingerprint:
    path: str
    code: str
    function: str
    source: str


def fingerprints(result: FileResult, text: Optional[str], baseline_dir: Path) -> List[Fingerprint]:
    """One fingerprint per finding of ``result``, in order."""
    path = _relative_to(result.path, baseline_dir)
    lines = text.splitlines() if text is not None else []
    functions = _function_spans(text) if result.findings and text is not None else []
    return [
        Fingerprint(path, finding.code, _enclosing_function(functions, finding.line), _statement_source(lines, finding))
        for finding in result.findings
    ]


def write_baseline(file: Path, results: Sequence[FileResult], read_source: SourceReader) -> int:
    """Record every finding of ``results`` in ``file``; returns how many."""
    counter: Counter = Counter()
    for result in results:
        if result.findings:
            counter.update(fingerprints(result, read_source(result.path), _directory_of(file)))
    entries = [{**_as_dict(fingerprint), "count": count} for fingerprint, count in sorted(counter.items())]
    document = {"leaklint_baseline": FORMAT_VERSION, "findings": entries}
    try:
        file.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as error:
        raise BaselineError(f"{file}: cannot write: {error.strerror or error}") from None
    return sum(counter.values())


def load_baseline(file: Path) -> "Counter[Fingerprint]":
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise BaselineError(f"{file}: cannot read: {error.strerror or error}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise BaselineError(f"{file}: not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("leaklint_baseline") != FORMAT_VERSION:
        raise BaselineError(f"{file}: not a leaklint baseline (version {FORMAT_VERSION}); write one with --write-baseline")
    counter: Counter = Counter()
    for entry in document.get("findings", None) or []:
        counter[_entry(file, entry)] += entry["count"]
    return counter


def apply_baseline(
    results: Sequence[FileResult], baseline: "Counter[Fingerprint]", read_source: SourceReader, baseline_file: Path
) -> Tuple[List[FileResult], int]:
    """``results`` without the findings in ``baseline``, and how many entries
    matched nothing, so the baseline can be pruned: entries for the files
    checked in this run and for files that no longer exist.  (pre-commit
    checks only the changed files: the others' entries are not stale.)"""
    remaining = Counter(baseline)
    baseline_dir = _directory_of(baseline_file)
    kept_results = []
    checked = set()
    for result in results:
        if result.error is None:
            checked.add(_relative_to(result.path, baseline_dir))
        if not result.findings:
            kept_results.append(result)
            continue
        kept: List[Finding] = []
        for finding, fingerprint in zip(result.findings, fingerprints(result, read_source(result.path), baseline_dir)):
            if remaining[fingerprint] > 0:
                remaining[fingerprint] -= 1
            else:
                kept.append(finding)
        kept_results.append(replace(result, findings=kept))
    stale = sum(
        count
        for fingerprint, count in remaining.items()
        if count and (fingerprint.path in checked or not (baseline_dir / fingerprint.path).exists())
    )
    return kept_results, stale


def _entry(file: Path, entry: Any) -> Fingerprint:
    if (
        not isinstance(entry, dict)
        or not all(isinstance(entry.get(name), str) for name in _FIELDS)
        or not isinstance(entry.get("count"), int)
        or entry["count"] < 1
    ):
        raise BaselineError(f"{file}: bad entry {json.dumps(entry)[:200]}: needs strings {', '.join(_FIELDS)} and a count >= 1")
    return Fingerprint(*(entry[name] for name in _FIELDS))


def _as_dict(fingerprint: Fingerprint) -> Dict[str, str]:
    return {name: getattr(fingerprint, name) for name in _FIELDS}


def _directory_of(file: Path) -> Path:
    return file.absolute().parent


def _relative_to(path: str, directory: Path) -> str:
    if path == "-":
        return path
    return Path(os.path.relpath(os.path.abspath(path), directory)).as_posix()


def _function_spans(text: str) -> List[Tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function, from
    Python's own parser (cheaper than libcst, and only files with findings are
    read).  A file this Python cannot parse (syntax newer than the
    interpreter) gets no function names: its findings are keyed on the file,
    code and source alone."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    spans: List[Tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    spans.append((child.lineno, getattr(child, "end_lineno", None) or child.lineno, name))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return spans


def _enclosing_function(spans: Iterable[Tuple[int, int, str]], line: int) -> str:
    innermost = max((span for span in spans if span[0] <= line <= span[1]), default=None)
    return innermost[2] if innermost else ""


def _statement_source(lines: Sequence[str], finding: Finding) -> str:
    chunk = list(lines[finding.line - 1 : max(finding.line, finding.end_line)])
    if not chunk:
        return ""
    last_row = len(chunk)
    comments: Dict[int, int] = {}  # row -> column where its comment starts
    try:
        for token in tokenize.generate_tokens(io.StringIO("\n".join(chunk) + "\n").readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.start[1]
            elif token.type == tokenize.NEWLINE:
                last_row = token.start[0]
                break
    except (tokenize.TokenError, SyntaxError):
        pass  # the chunk ends inside a bracket or a string: keep all of it
    text = " ".join(line[: comments.get(row)] for row, line in enumerate(chunk[:last_row], start=1))
    return " ".join(text.split())
