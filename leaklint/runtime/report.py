"""Say what is still alive in the static rules' words: the leak family, the
creation site with its source line, and the rule code when leaklint's static
analysis flags the same creation."""

from __future__ import annotations

import fnmatch
import linecache
import os
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from leaklint.runtime.recorder import EXECUTOR, PROCESS, TASK, THREAD, WORKER_PROCESS, Frame, Record

# The runtime kinds in the vocabulary of the rules, and the rules that judge
# the same creation statically.
FAMILY = {
    THREAD: "worker that never ends",
    WORKER_PROCESS: "worker that never ends",
    TASK: "lost task",
    PROCESS: "child not waited",
    EXECUTOR: "executor not shut down",
}
RULES = {
    THREAD: ("LL201",),
    WORKER_PROCESS: ("LL201",),
    TASK: ("LL101", "LL102"),
    PROCESS: ("LL203",),
    EXECUTOR: ("LL202",),
}
# What an allow pattern's ``kind:`` prefix names.
ALLOW_KINDS = {
    "thread": (THREAD,),
    "task": (TASK,),
    "process": (PROCESS, WORKER_PROCESS),
    "child": (PROCESS, WORKER_PROCESS),
    "executor": (EXECUTOR,),
}
NOUN = {THREAD: "thread", TASK: "task", PROCESS: "child process", WORKER_PROCESS: "worker process", EXECUTOR: "executor"}


def parse_allow(patterns: Iterable[str]) -> List[Tuple[Tuple[str, ...], str]]:
    """``kind:name-prefix`` (``*`` and ``?`` allowed) or ``kind`` alone."""
    parsed = []
    for pattern in patterns:
        kind, _, name = str(pattern).strip().partition(":")
        if kind not in ALLOW_KINDS:
            raise ValueError(f"leaks allow pattern {pattern!r}: the kind must be one of {', '.join(ALLOW_KINDS)}")
        parsed.append((ALLOW_KINDS[kind], name + "*"))
    return parsed


def is_allowed(record: Record, allow: Sequence[Tuple[Tuple[str, ...], str]]) -> bool:
    names = (record.name, record.detail)
    return any(
        record.kind in kinds and any(fnmatch.fnmatchcase(name, glob) for name in names)
        for kinds, glob in allow
    )


class StaticFindings:
    """leaklint's static findings per file, computed once per file version."""

    def __init__(self) -> None:
        self._cache: Dict[Tuple[str, float], list] = {}

    def rule_for(self, record: Record) -> Optional[Tuple[str, str]]:
        """(code, name) of the finding on this creation, if the rules report one.

        The same creation: in the creating function, on the recorded line or
        the closest line above it (a thread is recorded where it is started,
        the rules report where it is made)."""
        site = record.site
        if site is None:
            return None
        path, line, _, first = site
        codes = RULES[record.kind]
        best = None
        for finding in self._findings(path):
            if finding.code in codes and first <= finding.line <= line:
                if best is None or finding.line > best.line:
                    best = finding
        return (best.code, best.name) if best is not None else None

    def _findings(self, path: str) -> list:
        try:
            key = (path, os.stat(path).st_mtime)
        except OSError:
            return []
        if key not in self._cache:
            try:
                from leaklint.engine import check_source

                with open(path, "rb") as file:
                    self._cache[key] = check_source(file.read(), path).findings
            except Exception:  # the report goes on without the rule code
                self._cache[key] = []
        return self._cache[key]


def describe(record: Record, state: str, rules: Optional[StaticFindings], workers: int = 0) -> List[str]:
    """The lines for one leak: family, what it is, the rule code, the stack."""
    facts = [f"pid {record.pid}"] if record.pid is not None else []
    if record.detail and record.detail != record.name:
        facts.append(running(record))
    if record.daemon:
        facts.append("daemon")
    what = f"{NOUN[record.kind]} {record.name!r}"
    if facts:
        what += f" ({', '.join(facts)})"
    what += f" {state}"
    if workers:
        what += f", {workers} worker{'s' if workers != 1 else ''} still alive"
    rule = rules.rule_for(record) if rules is not None else None
    if rule is not None:
        what += f"  [{rule[0]} {rule[1]}]"
    return [f"{FAMILY[record.kind]}: {what}"] + format_stack(record)


def running(record: Record) -> str:
    """What the thing runs, in words: ``running fetch`` for a thread's target,
    ``running poll()`` for a task's coroutine, a child's command line."""
    if record.kind == TASK:
        return f"running {record.detail}()"
    if record.kind in (THREAD, WORKER_PROCESS):
        return f"running {record.detail}"
    return record.detail


def format_stack(record: Record, root: Optional[str] = None) -> List[str]:
    lines = []
    first = True
    for entry in record.stack:
        if isinstance(entry, int):
            lines.append("    ..." if entry < 0 else f"    ... {entry} library frame{'s' if entry != 1 else ''}")
            continue
        lines.append(f"    {'created at' if first else 'called from'} {location(entry, root)} in {entry[2]}")
        source = linecache.getline(entry[0], entry[1]).strip()
        if source:
            lines.append(f"        {source}")
        first = False
    if not record.stack:
        lines.append("    created at an unknown place")
    return lines


def location(frame: Frame, root: Optional[str] = None) -> str:
    path = frame[0]
    try:
        relative = os.path.relpath(path, root or os.getcwd())
        if not relative.startswith(os.pardir):
            path = relative
    except ValueError:  # another drive
        pass
    return f"{path}:{frame[1]}"


def group_workers(leaks: List[Tuple[Record, str]]) -> List[Tuple[Record, str, int]]:
    """Workers of an executor still alive are told with it, not one by one.

    A worker whose executor was shut down and still runs after the grace
    period is a leak of its own; one whose executor is still alive (created
    here or in an earlier scope) is counted with it."""
    workers: Dict[int, int] = {}
    kept = []
    for record, state in leaks:
        owner = record.owner
        if owner is not None and owner.end is None and owner() is not None:
            workers[owner.seq] = workers.get(owner.seq, 0) + 1
        else:
            kept.append((record, state))
    return [(record, state, workers.get(record.seq, 0)) for record, state in kept]
