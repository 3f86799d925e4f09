"""leaklint: find leak-prone concurrency in Python before it ships.

The public API is small on purpose::

    from leaklint import check_source
    for finding in check_source(code, path="app.py").findings:
        print(finding.line, finding.code, finding.message)
"""

from __future__ import annotations

__version__ = "0.1.0"

from leaklint.engine import check_source
from leaklint.finding import FileResult, Finding

__all__ = ["FileResult", "Finding", "__version__", "check_source"]
