"""``python -m leaklint.lsp``: the language server over stdio."""

if __name__ == "__main__":  # the check process imports this module again: it must not start a server
    from leaklint.lsp import main

    raise SystemExit(main())
