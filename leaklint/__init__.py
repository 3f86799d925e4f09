"""leaklint: find leak-prone concurrency in Python before it ships.

The public API is small on purpose::

    from leaklint import check_source
    for finding in check_source(code, path="app.py").findings:
        print(finding.line, finding.code, finding.message)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["FileResult", "Finding", "__version__", "check_source"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the pytest plugin (leaklint.runtime) is imported by
    # every pytest run where leaklint is installed, and must not pay for libcst.
    if name == "check_source":
        from leaklint.engine import check_source

        return check_source
    if name in ("FileResult", "Finding"):
        from leaklint import finding

        return getattr(finding, name)
    raise AttributeError(f"module 'leaklint' has no attribute {name!r}")
