"""The ``leaklint`` command: the only front end that reads configuration, walks
files, applies ``# noqa`` and formats output.  Exit status: 0 nothing found,
1 leaks found, 2 a usage or configuration error or a file that could not be
checked."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from leaklint import __version__
from leaklint.config import ConfigError, Settings, load_settings, validate_codes
from leaklint.files import FileWalker
from leaklint.finding import FileResult
from leaklint.output import formatters
from leaklint.registry import UnknownCodeError, all_rules, rule_by_code
from leaklint.runner import Checker, check_files

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


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
    run = parser.add_argument_group("running")
    run.add_argument("--jobs", "-j", type=int, metavar="N", help="processes to use (default: all cores)")
    run.add_argument("--cache-dir", type=Path, metavar="DIR", help="where to cache results (default: .leaklint_cache)")
    run.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    output = parser.add_argument_group("output")
    output.add_argument("--output-format", choices=sorted(formatters()), default="text", help="how to print findings (default: text)")
    output.add_argument("--exit-zero", action="store_true", help="exit with 0 even when leaks are found")
    info = parser.add_argument_group("information")
    info.add_argument("--version", action="version", version=f"leaklint {__version__}")
    info.add_argument("--list-rules", action="store_true", help="list every rule and exit")
    info.add_argument("--explain", metavar="CODE", help="print a rule's documentation and exit")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.list_rules:
            return _list_rules()
        if args.explain:
            return _explain(args.explain)
        settings = _settings(args)
    except (ConfigError, UnknownCodeError) as error:
        print(f"leaklint: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    results, errors = _run(args, settings)
    for path, message in errors:
        print(f"leaklint: error: {path}: {message}", file=sys.stderr)
    sys.stdout.write(formatters()[args.output_format](results))
    if errors:
        return EXIT_ERROR
    if any(result.findings for result in results) and not args.exit_zero:
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


def _run(args: argparse.Namespace, settings: Settings):
    walker = FileWalker(settings, force_exclude=args.force_exclude)
    paths = list(walker.files(args.paths or ["."]))
    results: List[FileResult] = []
    if "-" in paths:
        paths.remove("-")
        name = args.stdin_filename or "-"
        results.append(Checker(settings).check_bytes(name, sys.stdin.buffer.read()))
    results.extend(
        check_files(paths, settings, jobs=args.jobs or os.cpu_count() or 1, cache_dir=args.cache_dir, use_cache=not args.no_cache)
    )
    errors = list(walker.errors)
    for result in results:
        errors.extend((result.path, problem) for problem in result.problems)
    return results, errors


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
