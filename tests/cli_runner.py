"""Run the ``leaklint`` command in-process, the fast way for most CLI tests."""

from __future__ import annotations

import io
import sys

from leaklint.cli import main


def run(capsys, *argv: str, stdin: str = ""):
    """(exit status, stdout, stderr) of ``leaklint *argv`` with ``stdin`` as input."""
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8")
    try:
        code = main(list(argv))
    finally:
        sys.stdin = sys.__stdin__
    out, err = capsys.readouterr()
    return code, out, err
