"""Records as a Chrome Trace Event file, which Perfetto and ``chrome://tracing``
open: one complete event (``"ph": "X"``) per record, from creation to end (or
to the end of the program for what was still alive).

Tracks (``tid``): each thread has its own, with its life on it; tasks sit on
tracks named after the thread that created them (their loop's thread), child
processes and executors on tracks of their own.  Slices on one track must not
overlap, so each group is spread over as few lanes as keep them apart.
"""

from __future__ import annotations

import heapq
import os
import threading
from typing import Any, Dict, List, Optional, Tuple

from leaklint.runtime.recorder import PROCESS, TASK, THREAD, WORKER_PROCESS, Record
from leaklint.runtime.report import FAMILY, NOUN, StaticFindings, location, running


def trace_events(
    records: List[Record],
    states: Dict[int, str],
    epoch: float,
    finish: float,
    title: str,
    rules: Optional[StaticFindings] = None,
) -> Dict[str, Any]:
    """The whole file: ``states`` maps a record's ``seq`` to its state at the
    end (absent: it had ended)."""
    pid = os.getpid()
    events: List[Dict[str, Any]] = [_meta("process_name", pid, 0, {"name": title})]
    thread_names = {threading.main_thread().ident: threading.main_thread().name}
    for record in records:
        if record.kind == THREAD and record.ident is not None:
            thread_names[record.ident] = record.name

    tracks: Dict[object, int] = {}

    def track(key: object, label: str, order: int) -> int:
        # Small track ids: viewers read them as 32-bit numbers.
        if key not in tracks:
            tracks[key] = len(tracks) + 1
            events.append(_meta("thread_name", pid, tracks[key], {"name": label}))
            events.append(_meta("thread_sort_index", pid, tracks[key], {"sort_index": order}))
        return tracks[key]

    lanes: Dict[str, List[Tuple[float, int]]] = {}  # group -> heap of (free from, lane number)

    def lane(group: str, order: int, start: float, end: float) -> int:
        heap = lanes.setdefault(group, [])
        if heap and heap[0][0] <= start:
            _, number = heapq.heappop(heap)
        else:
            number = len(heap) + 1
        heapq.heappush(heap, (end, number))
        # Every lane has the group's name: viewers add the track id after it.
        return track((group, number), group, order)

    for order, record in enumerate(sorted(records, key=lambda r: r.start)):
        end = record.end if record.end is not None and record.seq not in states else finish
        end = max(end, record.start)
        if record.kind == THREAD:
            tid = track(record.seq, f"thread {record.name}", order)
        elif record.kind == TASK:
            creator = thread_names.get(record.creator, f"thread {record.creator}")
            tid = lane(f"tasks on {creator}", len(records) + 1, record.start, end)
        elif record.kind in (PROCESS, WORKER_PROCESS):
            tid = lane("child processes", len(records) + 2, record.start, end)
        else:
            tid = lane("executors", len(records) + 3, record.start, end)
        events.append(_slice(record, states.get(record.seq), pid, tid, epoch, end, rules))
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {"producer": "leaklint.trace", "title": title},
    }


def _slice(
    record: Record, state: Optional[str], pid: int, tid: int, epoch: float, end: float, rules: Optional[StaticFindings]
) -> Dict[str, Any]:
    site = record.site
    where = location(site) if site is not None else "?"
    args: Dict[str, Any] = {
        "kind": NOUN[record.kind],
        "name": record._name or "",
        "detail": running(record),
        "created at": where,
        "stack": [f"{location(entry)} in {entry[2]}" for entry in record.stack if not isinstance(entry, int)],
        "at exit": state or "finished",
    }
    if record.pid is not None:
        args["pid"] = record.pid
    if state is not None:
        args["leak"] = FAMILY[record.kind]
        rule = rules.rule_for(record) if rules is not None else None
        if rule is not None:
            args["rule"] = f"{rule[0]} {rule[1]}"
    name = f"{NOUN[record.kind]} {_title(record)} @ {where}"
    event: Dict[str, Any] = {
        "name": f"{FAMILY[record.kind]}: {name}" if state is not None else name,
        "cat": record.kind,
        "ph": "X",
        "ts": round((record.start - epoch) * 1e6, 3),
        "dur": round((end - record.start) * 1e6, 3),
        "pid": pid,
        "tid": tid,
        "args": args,
    }
    if state is not None:
        event["cname"] = "terrible"  # red in chrome://tracing; Perfetto colours by name
    return event


def _title(record: Record) -> str:
    if record.kind == TASK:
        return f"{record.detail}()"  # finished tasks' names are not kept: the coroutine says more
    return record.name


def _meta(name: str, pid: int, tid: int, args: Dict[str, Any]) -> Dict[str, Any]:
    return {"name": name, "ph": "M", "pid": pid, "tid": tid, "args": args}
