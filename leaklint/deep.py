"""Run a deeply recursive step on a stack that can take it.

libcst's code generation, which positions need, recurses once per level of the
tree: a 500-line implicit string concatenation (``pydoc_data/topics.py``) or a
long operator chain goes past Python's default recursion limit, although
CPython compiles the file happily.  Such files are rare, so the normal path
pays nothing: only after a RecursionError is the step run again in a thread
with a large C stack and a raised recursion limit."""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable, Dict

_STACK_BYTES = 256 * 1024 * 1024  # reserved, not committed: costs address space only
_RECURSION_LIMIT = 100_000


def call_with_deep_stack(function: Callable[..., Any], *args: Any) -> Any:
    outcome: Dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as error:  # handed back to the caller's thread
            outcome["error"] = error

    previous_stack = threading.stack_size(_STACK_BYTES)
    previous_limit = sys.getrecursionlimit()
    try:
        worker = threading.Thread(target=run, name="leaklint-deep-stack")
        sys.setrecursionlimit(max(previous_limit, _RECURSION_LIMIT))
        worker.start()
        worker.join()
    finally:
        threading.stack_size(previous_stack)
        sys.setrecursionlimit(previous_limit)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
