"""leaklint's language server: ``leaklint-lsp`` or ``python -m leaklint.lsp``
(needs the ``lsp`` extra: ``pip install 'leaklint[lsp]'``)."""

from __future__ import annotations

from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    # Imported here: the check process imports the server's main module again
    # and needs none of pygls.
    try:
        from leaklint.lsp.server import main as serve
    except ImportError as error:  # installed without the extra: say so, no traceback
        import sys

        print(f"leaklint-lsp: {error}; install the server with: pip install 'leaklint[lsp]'", file=sys.stderr)
        return 2
    return serve(argv)
