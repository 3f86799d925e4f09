"""The ``leaklint`` command: the only front end that reads configuration, walks
files, applies ``# noqa`` and formats output.  Exit status: 0 nothing found,
1 leaks found, 2 a usage or configuration error or a file that could not be
checked."""

from __future__ import annotations

import argparse
import difflib
import io
import os
import sys
import tokenize
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from leaklint import __version__
from leaklint.baseline import BaselineError, SourceReader, apply_baseline, load_baseline, write_baseline
from leaklint.config import ConfigError, Settings, load_settings, validate_codes
from leaklint.analysis.edits import SourceLines
from leaklint.engine import SourceError, decode_source
from leaklint.files import FileWalker
from leaklint.finding import FileResult
from leaklint.fixes import allowed, fix_source
from leaklint.noqa import add_noqa, drop_suppressed, is_suppressed
from leaklint.output import Report, formatters, statistics
from leaklint.output.text import stale_baseline_note
from leaklint.registry import UnknownCodeError, all_rules, rule_by_code
from leaklint.rewrite import RewriteError, allowed_roots, read_source_file, write_back
from leaklint.runner import DEFAULT_TIMEOUT, Checker, check_files
from leaklint.summary_cache import SummaryCache, index_files

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
STATISTICS_FORMATS = {"text": statistics.format_text, "json": statistics.format_json}


def _positive_count(value: str) -> int:
    count = int(value)
    if count < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return count


def _positive_seconds(value: str) -> float:
    seconds = float(value)
    if seconds < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return seconds


def _codes(value: str) -> List[str]:
    return [code.strip() for code in value.split(",") if code.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leaklint",
        description="Find leak-prone concurrency in Python: dangling tasks, unjoined workers, "
        "endless loops, queues with no consumer.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to check (default: .); - reads standard input")
    rules = parser.add_argument_group("rule selection")
    rules.add_argument("--select", type=_codes, action="extend", metavar="CODES", help="codes or prefixes to enable (LL1 = all task rules)")
    rules.add_argument("--ignore", type=_codes, action="extend", metavar="CODES", help="codes or prefixes to disable")
    rules.add_argument("--extend-select", type=_codes, action="extend", metavar="CODES", help="codes to enable on top of the selection")
    files = parser.add_argument_group("files")
    files.add_argument("--config", type=Path, metavar="FILE", help="pyproject.toml to read [tool.leaklint] from")
    files.add_argument("--force-exclude", action="store_true", help="apply exclusions to paths named on the command line too")
    files.add_argument("--stdin-filename", metavar="PATH", help="the name to report for code read from standard input")
    files.add_argument(
        "--files-from",
        metavar="FILE",
        help="also check the files listed in FILE, one per line (- reads standard input), e.g. one CI shard's share",
    )
    run = parser.add_argument_group("running")
    run.add_argument("--jobs", "-j", type=_positive_count, metavar="N", help="processes to use (default: all cores)")
    run.add_argument("--cache-dir", type=Path, metavar="DIR", help="where to cache results (default: .leaklint_cache)")
    run.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    run.add_argument(
        "--index",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="take the module summaries of FILE (written by --write-index) instead of computing them, e.g. in one CI shard",
    )
    run.add_argument(
        "--write-index",
        type=Path,
        metavar="FILE",
        help="write the module summaries of the files to FILE for --index, and exit (nothing is checked)",
    )
    run.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"give up on a file after this long, with an error for it (default: {DEFAULT_TIMEOUT:g}; 0: never)",
    )
    output = parser.add_argument_group("output")
    output.add_argument("--output-format", choices=sorted(formatters()), default="text", help="how to print findings (default: text)")
    output.add_argument("--statistics", action="store_true", help="print how often each rule fired instead of the findings")
    output.add_argument("--exit-zero", action="store_true", help="exit with 0 even when leaks are found")
    fixing = parser.add_argument_group("fixes")
    fixing.add_argument("--fix", action="store_true", help="apply the safe fixes, then report what remains")
    fixing.add_argument(
        "--unsafe-fixes", action="store_true", help="also offer the unsafe fixes (marked [*]), and apply them with --fix or --diff"
    )
    fixing.add_argument("--fix-only", action="store_true", help="apply the fixes and report only how many were applied")
    fixing.add_argument("--diff", action="store_true", help="print the fixes as a unified diff instead of writing them")
    fixing.add_argument("--add-noqa", action="store_true", help="add `# noqa: <code>` to every reported line, then exit")
    baseline = parser.add_argument_group("baseline").add_mutually_exclusive_group()
    baseline.add_argument("--baseline", type=Path, metavar="FILE", help="report only the findings not recorded in FILE")
    baseline.add_argument("--write-baseline", type=Path, metavar="FILE", help="record the current findings in FILE and exit")
    info = parser.add_argument_group("information")
    info.add_argument("--version", action="version", version=f"leaklint {__version__}")
    info.add_argument("--list-rules", action="store_true", help="list every rule and exit")
    info.add_argument("--explain", metavar="CODE", help="print a rule's documentation and exit")
    return parser


class UsageError(Exception):
    """Options that cannot be used together, or an input that cannot be read."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.list_rules:
            return _list_rules()
        if args.explain:
            return _explain(args.explain)
        if args.statistics and args.output_format not in STATISTICS_FORMATS:
            raise UsageError(f"--statistics prints text or json, not {args.output_format}")
        _check_fix_options(args)
        settings = _settings(args)
        paths = _paths(args)
        baseline = load_baseline(args.baseline) if args.baseline else None
        for index_file in args.index:
            _check_index(index_file)
    except (ConfigError, UnknownCodeError, UsageError, BaselineError) as error:
        print(f"leaklint: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    if args.write_index:
        return _write_index(args, settings, paths)
    results, errors, read_source, stdin_sources = _run(args, settings, paths)
    fixing = args.fix or args.fix_only or args.diff
    fixed, changed = None, 0
    if fixing:
        results, fixed, changed = _apply_fixes(args, settings, results, errors, stdin_sources, paths)
    if args.output_format != "github" or args.write_baseline:  # github shows them as ::error annotations
        for path, message in errors:
            print(f"leaklint: error: {path}: {message}", file=sys.stderr)
    if args.write_baseline:
        return _write_baseline(args.write_baseline, results, read_source, errors)
    stale = 0
    if baseline is not None:
        results, stale = apply_baseline(results, baseline, read_source, args.baseline)
    if args.add_noqa:
        return _add_noqa(results, errors, stdin_sources, paths)
    if args.diff or args.fix_only:
        verb = "Would fix" if args.diff else "Fixed"
        print(f"{verb} {fixed} leak{'s' if fixed != 1 else ''}.", file=sys.stderr if args.diff else sys.stdout)
        if errors:
            return EXIT_ERROR
        return EXIT_FINDINGS if args.diff and changed else EXIT_CLEAN
    report = Report(results, errors, Path.cwd(), stale, unsafe_fixes=args.unsafe_fixes, fixed=fixed)
    # Fixed code read from standard input goes to standard output: the report goes aside.
    report_stream = sys.stderr if fixing and stdin_sources else sys.stdout
    if args.statistics:
        report_stream.write(STATISTICS_FORMATS[args.output_format](report))
    else:
        report_stream.write(formatters()[args.output_format](report))
    if stale and (args.statistics or args.output_format != "text"):  # the text summary says it itself
        print(f"leaklint: {stale_baseline_note(stale)}", file=sys.stderr)
    if errors:
        return EXIT_ERROR
    if report.findings and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    if args.select:
        settings.select = args.select
    if args.ignore:
        settings.ignore = [*settings.ignore, *args.ignore]
    if args.extend_select:
        settings.extend_select = [*settings.extend_select, *args.extend_select]
    validate_codes(settings, "command line")
    return settings


def _paths(args: argparse.Namespace) -> List[str]:
    """The paths to check: those named, then those listed in --files-from."""
    paths = list(args.paths)
    if args.files_from is None:
        return paths or ["."]
    if args.files_from == "-":
        if "-" in paths:
            raise UsageError("standard input cannot hold both the file list (--files-from -) and code (-)")
        text = sys.stdin.read()
    else:
        try:
            text = Path(args.files_from).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else error
            raise UsageError(f"--files-from {args.files_from}: cannot read: {reason}") from None
    # Only the line ending is removed: a file name may begin or end with spaces.
    return paths + [line.rstrip("\r\n") for line in text.splitlines() if line.strip()]


def _run(args: argparse.Namespace, settings: Settings, paths: List[str]):
    """Check ``paths``: the results, the (path, reason) of everything that
    could not be checked, and a reader of the checked sources (for baselines)."""
    walker = FileWalker(settings, force_exclude=args.force_exclude)
    files = list(walker.files(paths))
    results: List[FileResult] = []
    stdin_sources: Dict[str, bytes] = {}
    if "-" in files:
        files.remove("-")
        name = args.stdin_filename or "-"
        # Editors pass every buffer; with --force-exclude the project's excludes decide.
        if not (args.force_exclude and args.stdin_filename and walker.is_excluded(Path(name))):
            stdin_sources[name] = sys.stdin.buffer.read()
            results.append(Checker(settings, index_files=args.index).check_bytes(name, stdin_sources[name]))
    results.extend(
        check_files(
            files,
            settings,
            jobs=args.jobs or os.cpu_count() or 1,
            cache_dir=args.cache_dir,
            use_cache=not args.no_cache,
            timeout=args.timeout or None,
            index_files=args.index,
        )
    )
    errors = list(walker.errors)
    for result in results:
        errors.extend((result.path, problem) for problem in result.problems)

    def read_source(path: str) -> Optional[str]:
        try:
            data = stdin_sources[path] if path in stdin_sources else Path(path).read_bytes()
            return decode_source(data)
        except (OSError, SourceError):
            return None

    return results, errors, read_source, stdin_sources


def _check_fix_options(args: argparse.Namespace) -> None:
    fixing = [name for name, on in (("--fix", args.fix), ("--fix-only", args.fix_only), ("--diff", args.diff)) if on]
    if args.add_noqa and (fixing or args.write_baseline):
        raise UsageError(f"--add-noqa cannot be combined with {(fixing or ['--write-baseline'])[0]}")
    if fixing and args.write_baseline:
        raise UsageError(f"{fixing[0]} cannot be combined with --write-baseline")
    if args.fix_only and args.diff:
        raise UsageError("--fix-only cannot be combined with --diff (--diff writes nothing)")


def _apply_fixes(
    args: argparse.Namespace,
    settings: Settings,
    results: List[FileResult],
    errors: List[Tuple[str, str]],
    stdin_sources: Dict[str, bytes],
    paths: List[str],
) -> Tuple[List[FileResult], int, int]:
    """Apply (or, with --diff, print) the allowed fixes of every file that has
    one.  Returns the results as they are after fixing, the number of findings
    fixed, and the number of files changed.  A file that cannot be fixed gets
    one line in ``errors`` and keeps its findings."""
    checker = Checker(settings)
    roots = allowed_roots(paths)
    fixed = changed = 0
    after: List[FileResult] = []

    def suppress(findings, text):
        return drop_suppressed(findings, text.splitlines())

    for result in results:
        from_stdin = result.path in stdin_sources
        text = fixed_text = None
        try:
            if result.error is not None or not any(allowed(finding.fix, args.unsafe_fixes) for finding in result.findings):
                after.append(result)
                continue
            if from_stdin:
                source, text = None, decode_source(stdin_sources[result.path])
            else:
                source = read_source_file(result.path)
                text = source.text
            outcome = fix_source(text, result.path, checker.rules_for(result.path), args.unsafe_fixes, suppress, project=checker.project)
            if outcome.error is not None:
                raise RewriteError(outcome.error)
            if outcome.text != text:
                if args.diff:
                    sys.stdout.write(unified_diff(result.path, text, outcome.text))
                elif source is not None:
                    write_back(source, outcome.text, roots)
                fixed_text = outcome.text
                changed += 1
            fixed += len(outcome.applied)
            after.append(result if args.diff else FileResult(result.path, outcome.remaining, result.error, result.rule_errors))
        except (RewriteError, SourceError) as error:
            errors.append((result.path, f"cannot fix: {error}"))
            after.append(result)
        finally:
            if from_stdin and not args.diff:  # the editor gets its buffer back, fixed or not
                original = stdin_sources[result.path]
                sys.stdout.buffer.write(original if fixed_text is None else _stdin_encoding(original, fixed_text))
                sys.stdout.flush()
    return after, fixed, changed


def _stdin_encoding(original: bytes, text: str) -> bytes:
    """The fixed buffer in the encoding it came in."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    return text.encode(encoding)


def unified_diff(path: str, before: str, after: str) -> str:
    """What ``--diff`` prints for one file; a last line without a line ending
    says so, as ``diff`` does."""
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{path}", f"b/{path}")
    out = []
    for line in lines:
        out.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _add_noqa(results: List[FileResult], errors: List[Tuple[str, str]], stdin_sources: Dict[str, bytes], paths: List[str]) -> int:
    """Add ``# noqa: <codes>`` to every reported line, so that a plain run
    passes.  ``errors`` (already printed) are those of the check."""
    roots = allowed_roots(paths)
    added = 0
    failures: List[Tuple[str, str]] = []
    for result in results:
        if not result.findings:
            continue
        if result.path in stdin_sources:
            failures.append((result.path, "cannot add noqa comments to standard input"))
            continue
        try:
            source = read_source_file(result.path)
            text, count, stuck = add_noqa_comments(source.text, result.findings)
            for line in stuck:
                failures.append((result.path, f"cannot add a noqa comment to line {line} (it ends inside a string or continues)"))
            if count:
                write_back(source, text, roots)
                added += count
        except RewriteError as error:
            failures.append((result.path, f"cannot add noqa comments: {error}"))
    for path, message in failures:
        print(f"leaklint: error: {path}: {message}", file=sys.stderr)
    print(f"Added {added} noqa directive{'s' if added != 1 else ''}.", file=sys.stderr)
    return EXIT_ERROR if errors or failures else EXIT_CLEAN


def add_noqa_comments(text: str, findings) -> Tuple[str, int, List[int]]:
    """``text`` with a noqa comment on every line a finding is reported on;
    how many lines changed, and the lines that could not carry one."""
    lines = SourceLines(text)
    codes: Dict[int, List[str]] = {}
    for finding in findings:
        codes.setdefault(finding.line, []).append(finding.code)
    pieces = []
    changed, stuck = 0, []
    for number in range(1, len(lines) + 1):
        line = lines.full(number)
        if number in codes:
            new = add_noqa(line, codes[number])
            if not all(is_suppressed(new, code) for code in codes[number]):
                stuck.append(number)
                new = line
            changed += new != line
            line = new
        pieces.append(line)
    return "".join(pieces), changed, stuck


def _write_baseline(file: Path, results: List[FileResult], read_source: SourceReader, errors: List[Tuple[str, str]]) -> int:
    try:
        count = write_baseline(file, results, read_source)
    except BaselineError as error:
        print(f"leaklint: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(f"leaklint: recorded {count} finding{'s' if count != 1 else ''} in {file}", file=sys.stderr)
    return EXIT_ERROR if errors else EXIT_CLEAN


def _check_index(file: Path) -> None:
    try:
        SummaryCache().load_index(file)
    except (OSError, ValueError) as error:
        raise UsageError(f"--index {file}: {getattr(error, 'strerror', None) or error}") from None


def _write_index(args: argparse.Namespace, settings: Settings, paths: List[str]) -> int:
    walker = FileWalker(settings, force_exclude=args.force_exclude)
    files = [path for path in walker.files(paths) if path != "-"]
    try:
        count, errors = index_files(args.write_index, files)
    except OSError as error:
        print(f"leaklint: error: --write-index {args.write_index}: {error.strerror or error}", file=sys.stderr)
        return EXIT_ERROR
    for path, message in [*walker.errors, *errors]:
        print(f"leaklint: error: {path}: {message}", file=sys.stderr)
    print(f"leaklint: indexed {count} module{'s' if count != 1 else ''} in {args.write_index}", file=sys.stderr)
    return EXIT_ERROR if errors or walker.errors else EXIT_CLEAN


def _list_rules() -> int:
    for rule in all_rules():
        print(f"{rule.code}  {rule.name:<28} {rule.summary()}")
    return EXIT_CLEAN


def _explain(code: str) -> int:
    rule = rule_by_code(code)
    print(f"# {rule.code} {rule.name}\n")
    print(rule.documentation())
    return EXIT_CLEAN


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
