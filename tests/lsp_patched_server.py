"""The language server with its rules changed, to test what no real rule does
today.  ``LEAKLINT_TEST_PATCH`` says how:

- ``crash-LL102``: LL102 raises on every task it judges (a rule's bug);
- ``fix-LL101``: every LL101 finding carries a safe fix that keeps the task
  (``_task = `` before the call), as a rule's fix would.

The patch is applied at import: the check process (spawned, it imports this
file again as ``__mp_main__``) gets it too."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import leaklint.engine  # noqa: E402
import leaklint.lsp.worker  # noqa: E402
from leaklint.finding import SAFE, Edit, Fix  # noqa: E402
from leaklint.rules.tasks.unused_task import UnusedTask  # noqa: E402

PATCH = os.environ.get("LEAKLINT_TEST_PATCH", "")


def _crash(self, handle, creation):
    raise RuntimeError("a bug in the rule")


def _with_fixes(check_source):
    def patched(*args, **kwargs):
        result = check_source(*args, **kwargs)
        result.findings = [
            replace(finding, fix=Fix("Keep a reference to the task", SAFE, (Edit(finding.line, finding.column, finding.line, finding.column, "_task = "),)))
            if finding.code == "LL101"
            else finding
            for finding in result.findings
        ]
        return result

    return patched


if PATCH == "crash-LL102":
    UnusedTask.check_handle = _crash
elif PATCH == "fix-LL101":
    leaklint.engine.check_source = leaklint.lsp.worker.check_source = _with_fixes(leaklint.engine.check_source)

if __name__ == "__main__":
    from leaklint.lsp.server import main

    raise SystemExit(main())
