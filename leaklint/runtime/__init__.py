"""See leaks happen: record the threads, asyncio tasks, child processes and
executors a running program creates, and say which are still alive.

Two front ends use the one :class:`~leaklint.runtime.recorder.Recorder`: the
pytest plugin (``pytest --leaks``, :mod:`leaklint.runtime.pytest_plugin`) and
the tracer (``python -m leaklint.trace``, :mod:`leaklint.trace`).
"""

from __future__ import annotations

from leaklint.runtime.recorder import Record, Recorder

__all__ = ["Record", "Recorder"]
