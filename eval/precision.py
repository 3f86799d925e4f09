"""How many of leaklint's findings on real code are real leaks?

    python eval/precision.py                   # compare today's findings with eval/triage.md
    python eval/precision.py --update          # append the new findings as untriaged (?) rows
    python eval/precision.py --update --prune  # ... and drop the rows no longer reported

It runs ``leaklint --output-format json --no-cache`` (all cores, default
settings) on the asyncio corpus (``benchmarks/corpus.py``, fetched on first
use), gives each finding a fingerprint that survives edits elsewhere in the
file, matches the findings against the triage table by fingerprint, and
prints, per rule, how many are true leaks, false alarms, correct by intent or
not triaged yet, the precision, the NEW findings (not in the table) and the
GONE ones (in the table, no longer reported).

A fingerprint is that of a baseline entry (``leaklint.baseline``): the path
relative to the package root, the rule code, the enclosing function's
qualified name and the reported statement's source, comments dropped and
whitespace collapsed; here with the package's name (not its version) in
front, hashed to twelve hex digits.  Two identical findings in one function
share a fingerprint and need a row each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
for entry in (str(ROOT), str(ROOT / "benchmarks")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import corpus as asyncio_corpus  # noqa: E402  (benchmarks/corpus.py)
from leaklint.baseline import fingerprints  # noqa: E402
from leaklint.finding import FileResult, Finding  # noqa: E402

TABLE = Path(__file__).resolve().parent / "triage.md"
VERDICTS = ("true", "false", "intent", "?")
COLUMNS = ("package", "path", "line", "code", "function", "fingerprint", "verdict", "reason")
_MODULE_LEVEL = "(module)"  # the function column of a finding outside any function
_EXCERPT_LINES = 3


@dataclass
class Row:
    """One triaged finding: a row of the table."""

    package: str
    path: str
    line: int
    code: str
    function: str
    fingerprint: str
    verdict: str
    reason: str


@dataclass
class Reported:
    """One finding of today's run."""

    package: str
    path: str  # relative to the package root
    absolute: str
    finding: Finding
    function: str
    fingerprint: str


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="append the new findings to the table as untriaged (?) rows")
    parser.add_argument("--prune", action="store_true", help="with --update: drop the rows no longer reported")
    parser.add_argument("--table", type=Path, default=TABLE, help=f"the triage table (default: {TABLE.relative_to(ROOT)})")
    parser.add_argument("--corpus", type=Path, help="an extracted corpus root (default: benchmarks/corpus.py's, fetched if missing)")
    parser.add_argument("--jobs", "-j", type=int, help="processes for leaklint (default: all cores)")
    args = parser.parse_args(argv)
    if args.prune and not args.update:
        parser.error("--prune needs --update")

    root = args.corpus.resolve() if args.corpus else asyncio_corpus.ensure_corpus()
    packages = sorted(path for path in root.iterdir() if path.is_dir() and not path.name.endswith(".partial")) if root.is_dir() else []
    if not packages:
        print(f"no corpus at {root}", file=sys.stderr)
        return 2
    try:
        head, rows, tail = read_table(args.table)
    except ValueError as error:
        print(f"{args.table}: {error}", file=sys.stderr)
        return 2

    reported, problems = run_leaklint(packages, args.jobs)
    matched, new, gone = match(rows, reported)
    print(f"corpus: {root} ({', '.join(path.name for path in packages)})")
    print(f"leaklint: {len(reported)} findings; table: {len(rows)} rows, {args.table}")
    if problems:
        print(f"\n{len(problems)} files not fully checked (their findings are missing):")
        for line in problems[:20]:
            print(f"  {line}")
        if len(problems) > 20:
            print(f"  ... and {len(problems) - 20} more")
    print_precision(matched, new)
    print_new(new)
    print_gone(gone)

    if args.update:
        for row, found in matched:
            row.line = found.finding.line  # the finding moved; its verdict stays
        kept = [row for row, _ in matched] + ([] if args.prune else gone)
        added = [as_row(found) for found in new]
        write_table(args.table, head, kept + added, tail)
        dropped = f", {len(gone)} gone rows dropped" if args.prune and gone else ""
        print(f"\n{args.table}: {len(added)} new rows (?) appended{dropped}")
    return 0


# --- running leaklint --------------------------------------------------------


def run_leaklint(packages: Sequence[Path], jobs: Optional[int]) -> Tuple[List[Reported], List[str]]:
    """Today's findings on ``packages``, fingerprinted, and the lines in
    which leaklint said a file was not (fully) checked."""
    with tempfile.TemporaryDirectory(prefix="leaklint-eval-") as scratch:
        config = Path(scratch) / "pyproject.toml"
        config.write_text("[tool.leaklint]\n", encoding="utf-8")  # default settings, whatever the packages say
        # No time limit: on a busy machine a slow file would otherwise lose
        # its findings, and the counts would move with the load.
        command = [sys.executable, "-m", "leaklint", "--config", str(config), "--output-format", "json", "--no-cache",
                   "--timeout", "0", "--exit-zero"]
        if jobs:
            command += ["--jobs", str(jobs)]
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
        completed = subprocess.run(command + [str(path) for path in packages], cwd=scratch, env=environment,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if completed.returncode not in (0, 1):
        raise SystemExit(f"leaklint exited with {completed.returncode}: {completed.stderr.decode('utf-8', 'replace')[-2000:]}")
    entries = json.loads(completed.stdout)
    problems = [line for line in completed.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    by_file: Dict[str, List[Finding]] = defaultdict(list)
    for entry in entries:
        by_file[entry["path"]].append(Finding(**{name: entry[name] for name in
                                                ("path", "line", "column", "end_line", "end_column", "code", "name", "message")}))
    reported = []
    for path, findings in sorted(by_file.items()):
        package_dir = _package_of(Path(path), packages)
        package = _package_name(package_dir.name)
        findings.sort()
        text = _read_text(path)
        for finding, fingerprint in zip(findings, fingerprints(FileResult(path, findings), text, package_dir)):
            reported.append(Reported(package, fingerprint.path, path, finding, fingerprint.function or _MODULE_LEVEL,
                                     fingerprint_hash(package, fingerprint.path, fingerprint.code, fingerprint.function,
                                                      fingerprint.source)))
    return reported, problems


def fingerprint_hash(package: str, path: str, code: str, function: str, source: str) -> str:
    return hashlib.sha256("\0".join((package, path, code, function, source)).encode("utf-8")).hexdigest()[:12]


def _package_of(path: Path, packages: Sequence[Path]) -> Path:
    absolute = path.resolve()
    for package in packages:
        if package.resolve() in absolute.parents:
            return package
    raise SystemExit(f"{path}: not in any corpus package")


def _package_name(folder: str) -> str:
    """``discord.py-2.7.1`` -> ``discord.py``: the version is left out so
    that a row keeps its identity when a pin moves."""
    return folder.rsplit("-", 1)[0] if "-" in folder else folder


def _read_text(path: str) -> Optional[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


# --- matching ------------------------------------------------------------------


def match(rows: Sequence[Row], reported: Sequence[Reported]) -> Tuple[List[Tuple[Row, Reported]], List[Reported], List[Row]]:
    """(row, finding) pairs with equal fingerprints, the findings no row
    matches (new) and the rows no finding matches (gone).  Rows and findings
    of one fingerprint pair up in line order."""
    waiting: Dict[str, List[Row]] = defaultdict(list)
    for row in sorted(rows, key=lambda row: row.line):
        waiting[row.fingerprint].append(row)
    matched, new = [], []
    for found in sorted(reported, key=lambda found: (found.package, found.path, found.finding.line)):
        candidates = waiting.get(found.fingerprint)
        if candidates:
            matched.append((candidates.pop(0), found))
        else:
            new.append(found)
    gone = [row for candidates in waiting.values() for row in candidates]
    return matched, new, gone


def print_precision(matched: Sequence[Tuple[Row, Reported]], new: Sequence[Reported]) -> None:
    counts: Dict[str, Counter] = defaultdict(Counter)
    for row, found in matched:
        counts[found.finding.code][row.verdict] += 1
    for found in new:
        counts[found.finding.code]["?"] += 1
    print("\n| rule | findings | true | false | intent | ? | precision |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    total: Counter = Counter()
    for code in sorted(counts):
        total.update(counts[code])
        print(_precision_row(code, counts[code]))
    print(_precision_row("all", total))
    print("(precision = true / (true + false + intent), over the triaged findings; ? = not triaged yet, new ones included)")


def _precision_row(label: str, counts: Counter) -> str:
    triaged = counts["true"] + counts["false"] + counts["intent"]
    precision = f"{counts['true'] / triaged:.0%}" if triaged else "-"
    return (f"| {label} | {sum(counts.values())} | {counts['true']} | {counts['false']} | {counts['intent']} | "
            f"{counts['?']} | {precision} |")


def print_new(new: Sequence[Reported]) -> None:
    print(f"\nNEW: {len(new)} findings not in the table")
    for found in new:
        finding = found.finding
        print(f"\n  {found.package}/{found.path}:{finding.line}: {finding.code} {finding.message}  [{found.function}]")
        lines = (_read_text(found.absolute) or "").splitlines()
        last = min(finding.end_line, finding.line + _EXCERPT_LINES - 1)
        for number in range(finding.line, last + 1):
            if number <= len(lines):
                print(f"    {number:>5} | {lines[number - 1].rstrip()}")


def print_gone(gone: Sequence[Row]) -> None:
    print(f"\nGONE: {len(gone)} rows of the table no longer reported")
    for row in sorted(gone, key=lambda row: (row.package, row.path, row.line)):
        print(f"  {row.package}/{row.path}:{row.line}: {row.code} [{row.function}] was {row.verdict}: {row.reason}")


# --- the table -------------------------------------------------------------------

_SEPARATOR = re.compile(r"(?<!\\)\|")


def read_table(file: Path) -> Tuple[List[str], List[Row], List[str]]:
    """(lines before the table's rows, the rows, lines after them).  A
    missing file is an empty table under a default heading."""
    if not file.exists():
        return [*_DEFAULT_HEAD], [], []
    lines = file.read_text(encoding="utf-8").splitlines()
    header = next((index for index, line in enumerate(lines) if _cells(line) == list(COLUMNS)), None)
    if header is None or header + 1 >= len(lines):
        raise ValueError(f"no table with the columns {' | '.join(COLUMNS)}")
    end = header + 2
    rows = []
    while end < len(lines) and lines[end].lstrip().startswith("|"):
        rows.append(_row(lines[end], end + 1))
        end += 1
    return lines[: header + 2], rows, lines[end:]


def _cells(line: str) -> List[str]:
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")):
        return []
    return [cell.strip().replace("\\|", "|") for cell in _SEPARATOR.split(line[1:-1])]


def _row(line: str, number: int) -> Row:
    cells = _cells(line)
    if len(cells) != len(COLUMNS):
        raise ValueError(f"line {number}: {len(cells)} cells, expected {len(COLUMNS)}")
    package, path, line_number, code, function, fingerprint, verdict, reason = cells
    if verdict not in VERDICTS:
        raise ValueError(f"line {number}: verdict {verdict!r}, expected one of {', '.join(VERDICTS)}")
    if not line_number.isdigit():
        raise ValueError(f"line {number}: line {line_number!r} is not a number")
    return Row(package, path.strip("`"), int(line_number), code, function.strip("`"), fingerprint.strip("`"), verdict, reason)


def write_table(file: Path, head: Sequence[str], rows: Iterable[Row], tail: Sequence[str]) -> None:
    ordered = sorted(rows, key=lambda row: (row.package, row.path, row.line, row.code))
    body = [
        "| " + " | ".join((row.package, f"`{row.path}`", str(row.line), row.code, f"`{row.function}`", f"`{row.fingerprint}`",
                           row.verdict, row.reason.replace("|", "\\|"))) + " |"
        for row in ordered
    ]
    file.write_text("\n".join([*head, *body, *tail]) + "\n", encoding="utf-8")


def as_row(found: Reported) -> Row:
    return Row(found.package, found.path, found.finding.line, found.finding.code, found.function, found.fingerprint, "?", "")


_DEFAULT_HEAD = (
    "# Triaged findings on the asyncio corpus",
    "",
    "| " + " | ".join(COLUMNS) + " |",
    "|" + "---|" * len(COLUMNS),
)


if __name__ == "__main__":
    sys.exit(main())
