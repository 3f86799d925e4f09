"""Run a program and see what it leaves alive.

    python -m leaklint.trace [--output trace.json] script.py [args...]
    python -m leaklint.trace [--output trace.json] -m module [args...]

Records every thread, asyncio task, child process and executor the program
creates.  When the program's main module is done (before the interpreter
waits for non-daemon threads and runs ``atexit``), prints to stderr what is
still alive, with where each was created, and how many of each kind were
created and finished.  ``--output`` writes the timeline as a Chrome Trace
Event file for Perfetto (ui.perfetto.dev) or ``chrome://tracing``.

The program runs as it would: same ``sys.argv``, ``sys.path[0]`` and exit
status; only the report is added.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import time
import traceback
from typing import List, Optional, Sequence, Tuple

USAGE = "usage: python -m leaklint.trace [--output FILE] [--depth N] (script.py | -m module) [args...]"


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        output, depth, module, target, args = _parse(list(sys.argv[1:] if argv is None else argv))
    except _Usage as error:
        if error.message:
            print(f"leaklint.trace: {error.message}", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2 if error.message else 0

    from leaklint.runtime.chrome import trace_events
    from leaklint.runtime.recorder import Recorder
    from leaklint.runtime.report import StaticFindings

    recorder = Recorder(depth=depth, timeline=bool(output))
    status = _run(recorder, module, target, args)
    finish = time.perf_counter()
    records = list(recorder.records)
    leaks = recorder.alive(records)
    recorder.stop()

    rules = StaticFindings()
    title = f"{'-m ' if module else ''}{target}"
    _report(title, records, leaks, finish - recorder.epoch, rules)
    if output:
        states = {record.seq: state for record, state in leaks}
        try:
            with open(output, "w", encoding="utf-8") as file:
                json.dump(trace_events(records, states, recorder.epoch, finish, title, rules), file)
        except OSError as error:
            print(f"leaklint.trace: cannot write {output}: {error.strerror}", file=sys.stderr)
            return status or 2
        print(f"leaklint.trace: timeline written to {output} (open it in ui.perfetto.dev or chrome://tracing)", file=sys.stderr)
    sys.stderr.flush()
    return status


class _Usage(Exception):
    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


def _parse(argv: List[str]) -> Tuple[Optional[str], int, bool, str, List[str]]:
    output: Optional[str] = None
    depth = 4
    while argv:
        word = argv[0]
        if word in ("-h", "--help"):
            raise _Usage()
        if word in ("-o", "--output", "--depth"):
            if len(argv) < 2:
                raise _Usage(f"{word} needs a value")
            value = argv[1]
            del argv[:2]
        elif word.startswith(("--output=", "--depth=")):
            word, _, value = word.partition("=")
            del argv[0]
        elif word == "-m":
            if len(argv) < 2:
                raise _Usage("-m needs a module name")
            return output, depth, True, argv[1], argv[2:]
        elif word == "--":
            del argv[0]
            break
        elif word.startswith("-"):
            raise _Usage(f"unknown option {word}")
        else:
            break
        if word == "--depth":
            try:
                depth = int(value)
            except ValueError:
                raise _Usage(f"--depth needs a number, not {value!r}") from None
        else:
            output = value
    if not argv:
        raise _Usage("no program to run")
    return output, depth, False, argv[0], argv[1:]


def _run(recorder, module: bool, target: str, args: List[str]) -> int:
    """Run the program as ``python script.py`` or ``python -m module`` would."""
    if module:
        sys.argv = [target] + args  # runpy puts the module's file in sys.argv[0]
        sys.path.insert(0, os.getcwd())
    else:
        if not os.path.exists(target):
            print(f"leaklint.trace: cannot run {target}: no such file", file=sys.stderr)
            return 2
        sys.argv = [target] + args
        sys.path[0] = os.path.dirname(os.path.abspath(target))
    recorder.start()
    try:
        if module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target, run_name="__main__")
    except SystemExit as exit:
        code = exit.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    except BaseException:  # the program's own error, shown as Python would show it
        kind, error, tb = sys.exc_info()
        traceback.print_exception(kind, error, tb.tb_next if tb is not None else None)
        return 1
    return 0


def _report(title: str, records, leaks, seconds: float, rules) -> None:
    """Written in one piece once composed: the rule lookup parses files, and
    the program's own messages (a collected pending task's) come before it."""
    from leaklint.runtime.recorder import KINDS
    from leaklint.runtime.report import NOUN, describe, group_workers

    grouped = group_workers(leaks)
    lines = [""]
    if grouped:
        lines.append(f"leaklint.trace: {len(grouped)} still alive when {title} finished ({seconds:.2f} s):")
        for record, state, workers in grouped:
            lines.append("")
            lines.extend(describe(record, state, rules, workers))
    else:
        lines.append(f"leaklint.trace: nothing left alive when {title} finished ({seconds:.2f} s).")
    lines.append("")
    left = {}
    for record, _ in leaks:
        left[record.kind] = left.get(record.kind, 0) + 1
    lines.append(f"{'':16}{'created':>9}{'finished':>10}{'alive':>7}")
    for kind in KINDS:
        created = sum(1 for record in records if record.kind == kind)
        alive = left.get(kind, 0)
        lines.append(f"{NOUN[kind]:16}{created:>9}{created - alive:>10}{alive:>7}")
    sys.stderr.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
