"""The language server's pure parts, without a server: positions, the
translation of findings and fixes, hover text, ``add_noqa``, and the
configuration of each document."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from leaklint.finding import SAFE, UNSAFE, Edit, Finding, Fix
from leaklint.fixes import apply_edits
from leaklint.lsp import translate
from leaklint.lsp.server import ProjectConfigs, _kind_wanted
from leaklint.lsp.translate import TextLines
from leaklint.noqa import add_noqa, is_suppressed
from leaklint.registry import all_rules, rule_by_code
from tests.lsp_texts import apply_edits as apply_lsp_edits

URI = "file:///project/app.py"


def _finding(line, column, end_line, end_column, fix=None, code="LL101"):
    return Finding("app.py", line, column, end_line, end_column, code, "dangling-task", "message", fix)


@pytest.mark.parametrize(
    "prefix, utf16, utf8",
    [
        ("    ", 4, 4),
        ("    s = 'é'; ", 13, 14),  # é: one UTF-16 unit, two UTF-8 bytes
        ("    s = '😀'; ", 14, 16),  # an astral character: two UTF-16 units, four bytes
        ("    s = '😀😀é'; ", 17, 22),
        ("\t", 1, 1),
    ],
)
def test_columns_count_the_clients_units(prefix, utf16, utf8):
    text = f"x = 1\n{prefix}asyncio.create_task(work())\n"
    column = len(prefix) + 1  # leaklint counts characters from 1
    end_column = column + len("asyncio.create_task(work())")
    finding = _finding(2, column, 2, end_column)
    diagnostic = translate.diagnostic(finding, TextLines(text))
    assert diagnostic.range == types.Range(start=types.Position(1, utf16), end=types.Position(1, utf16 + 27))
    assert TextLines(text, "utf-8").position(2, column) == types.Position(1, utf8)
    assert TextLines(text, "utf-32").position(2, column) == types.Position(1, len(prefix))
    # and back: an editor's position inside the call finds the finding
    assert TextLines(text).location(types.Position(1, utf16)) == (2, column)
    assert TextLines(text, "utf-8").location(types.Position(1, utf8)) == (2, column)


def test_lines_end_where_python_ends_them():
    text = "a = 1\r\nb = 2\rc = '\x0c\u2028'; d\n"
    lines = TextLines(text)
    assert [lines.line(n) for n in range(1, lines.count + 1)] == ["a = 1", "b = 2", "c = '\x0c\u2028'; d", ""]
    # \x0c and \u2028 do not end a line (str.splitlines would say they do)
    assert lines.position(3, 10) == types.Position(2, 9)
    assert lines.end() == types.Position(3, 0)


@pytest.mark.parametrize("text", ["", "a", "a\n", "a\r\nb\rc\n\nd", "\r\r\n\n", "x\x0c\u2028y\r"])
def test_lines_are_cut_as_fixes_cuts_them(text):
    from leaklint.fixes import line_starts

    assert TextLines(text).starts == line_starts(text)


def test_positions_outside_the_text_are_clamped():
    lines = TextLines("x = 1\n")
    assert lines.position(10, 3) == types.Position(1, 0)
    assert lines.location(types.Position(10, 0)) == (2, 1)
    assert lines.location(types.Position(0, 99)) == (1, 6)
    assert lines.location(types.Position(0, 1)) == (1, 2)


def test_a_diagnostic_says_what_and_where_to_read_more():
    diagnostic = translate.diagnostic(_finding(1, 1, 1, 5), TextLines("abcdef\n"))
    assert diagnostic.code == "LL101"
    assert diagnostic.source == "leaklint"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert diagnostic.code_description.href == translate.RULE_DOCS_URL.format(code="LL101")
    assert diagnostic.code_description.href.endswith("docs/rules/LL101.md")


def test_a_fix_becomes_a_workspace_edit():
    text = "import asyncio\nasync def f():\n    s = '😀'; asyncio.create_task(work())\n"
    column = len("    s = '😀'; ") + 1
    fix = Fix("Keep the task", SAFE, (Edit(3, column, 3, column, "t = "), Edit(3, column + 27, 3, column + 27, "  # kept")))
    finding = _finding(3, column, 3, column + 27, fix)
    lines = TextLines(text)
    diagnostic = translate.diagnostic(finding, lines)

    versioned = translate.fix_action(finding, lines, URI, 7, True, diagnostic)
    assert versioned.title == "Keep the task" and versioned.kind == types.CodeActionKind.QuickFix
    assert versioned.is_preferred is True and versioned.diagnostics == [diagnostic]
    [document_edit] = versioned.edit.document_changes
    assert document_edit.text_document == types.OptionalVersionedTextDocumentIdentifier(uri=URI, version=7)
    assert [edit.range.start for edit in document_edit.edits] == [types.Position(2, 14), types.Position(2, 41)]
    # Applied by a client in UTF-16, it gives what leaklint's own application gives.
    assert apply_lsp_edits(text, document_edit.edits) == apply_edits(text, fix.edits)
    assert "s = '😀'; t = asyncio.create_task(work())  # kept" in apply_edits(text, fix.edits)

    plain = translate.fix_action(finding, lines, URI, 7, False, diagnostic)
    assert plain.edit.document_changes is None and list(plain.edit.changes) == [URI]

    unsafe = _finding(3, column, 3, column + 27, Fix("Await it", UNSAFE, (Edit(3, column, 3, column, "await "),)))
    assert translate.fix_action(unsafe, lines, URI, 7, True, diagnostic).is_preferred is False
    assert translate.fix_action(_finding(3, column, 3, column + 27), lines, URI, 7, True, diagnostic) is None


def test_the_suppress_action_replaces_the_findings_first_line():
    text = "async def f():\n    asyncio.create_task(\n        work())\n"
    finding = _finding(2, 5, 3, 16)
    lines = TextLines(text)
    new_line = add_noqa(lines.line(2), ["LL101"])
    action = translate.suppress_action(finding, new_line, lines, URI, 3, True, translate.diagnostic(finding, lines))
    assert action.title == "Suppress LL101 on this line"
    result = apply_lsp_edits(text, action.edit.document_changes[0].edits)
    assert result == "async def f():\n    asyncio.create_task(  # noqa: LL101\n        work())\n"


@pytest.mark.parametrize(
    "old, new, edit_range",
    [
        ("a\nb\nc\n", "a\nB\nc\n", ((1, 0), (2, 0))),
        ("a\r\nb\r\nc\r\n", "a\r\nb\r\nc2\r\n", ((2, 0), (3, 0))),
        ("a\nb\n", "a\nb\nc\n", ((2, 0), (2, 0))),
        ("x", "y", ((0, 0), (0, 1))),
    ],
)
def test_fix_all_replaces_only_the_lines_that_changed(old, new, edit_range):
    lines = TextLines(old)
    edit = translate.replacement(old, new, lines)
    (start_line, start_char), (end_line, end_char) = edit_range
    assert edit.range == types.Range(start=types.Position(start_line, start_char), end=types.Position(end_line, end_char))
    assert apply_lsp_edits(old, [edit]) == new
    assert translate.replacement(old, old, lines) is None


def test_hover_text_is_the_summary_and_the_use_instead_example():
    rule = rule_by_code("LL101")
    text = translate.hover_markdown([rule])
    assert text.startswith(f"**LL101** `dangling-task`: {rule.summary()}")
    use_instead = translate.section(rule.documentation(), "Use instead")
    assert use_instead.startswith("Keep a strong reference") and "```python" in use_instead
    assert f"Use instead:\n{use_instead}" in text
    assert "## Why is this bad?" not in text
    assert text.endswith(f"[LL101 documentation]({translate.rule_docs_url('LL101')})")
    both = translate.hover_markdown([rule, rule_by_code("LL102")])
    assert "**LL102** `unused-task`" in both and "\n---\n" in both


@pytest.mark.parametrize(
    "line, codes, expected",
    [
        ("    asyncio.create_task(work())", ["LL101"], "    asyncio.create_task(work())  # noqa: LL101"),
        ("    asyncio.create_task(work())   \n", ["LL101"], "    asyncio.create_task(work())  # noqa: LL101\n"),
        ("f()\r\n", ["LL101"], "f()  # noqa: LL101\r\n"),
        ("f()  # noqa: LL102", ["LL101"], "f()  # noqa: LL102, LL101"),
        ("f()  # NOQA:LL2 because", ["LL101"], "f()  # NOQA:LL2, LL101 because"),
        ("f()  # type: ignore", ["LL101"], "f()  # type: ignore  # noqa: LL101"),
        ("f()  # noqa", ["LL101"], "f()  # noqa"),  # already silences everything
        ("f()  # noqa: LL1", ["LL101"], "f()  # noqa: LL1"),  # the prefix covers it
        ("f()", ["LL101", "LL102", "LL101"], "f()  # noqa: LL101, LL102"),
        ("f(", ["LL101"], "f(  # noqa: LL101"),  # an open bracket may be followed by a comment
        ('f("""text', ["LL101"], 'f("""text'),  # inside a string that goes on: not a comment
        ("f(1, \\", ["LL101"], "f(1, \\"),  # a comment cannot follow a continuation
        ("f()  # why \\", ["LL101"], "f()  # why \\  # noqa: LL101"),
    ],
)
def test_add_noqa(line, codes, expected):
    assert add_noqa(line, codes) == expected
    if expected != line:
        assert all(is_suppressed(expected, code) for code in codes)


def test_add_noqa_is_idempotent():
    once = add_noqa("x = f()", ["LL101"])
    assert add_noqa(once, ["LL101"]) == once


@pytest.mark.parametrize(
    "kind, only, wanted",
    [
        ("quickfix", None, True),
        ("quickfix", ["quickfix"], True),
        ("quickfix", ["source"], False),
        ("source.fixAll.leaklint", ["source"], True),
        ("source.fixAll.leaklint", ["source.fixAll"], True),
        ("source.fixAll.leaklint", [types.CodeActionKind.SourceFixAll], True),
        ("source.fixAll.leaklint", ["source.fix"], False),
        ("source.fixAll.leaklint", ["quickfix"], False),
    ],
)
def test_code_action_kinds_are_hierarchies(kind, only, wanted):
    assert _kind_wanted(kind, only) is wanted


def test_each_document_gets_its_projects_rules(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.leaklint]\nignore = ["LL3"]\nper-file-ignores = { "tests/*" = ["LL1"] }\n')
    (tmp_path / "tests").mkdir()
    other = tmp_path / "vendor" / "lib"
    other.mkdir(parents=True)
    (tmp_path / "vendor" / "pyproject.toml").write_text('[tool.leaklint]\nselect = ["LL1"]\n')
    configs = ProjectConfigs()

    def codes(path: Path):
        return {rule.code for rule in configs.rules_for(path)}

    every = {rule.code for rule in all_rules()}
    assert codes(tmp_path / "app.py") == {code for code in every if not code.startswith("LL3")}
    assert codes(tmp_path / "tests" / "test_app.py") == {code for code in every if not code.startswith(("LL1", "LL3"))}
    assert codes(other / "x.py") == {code for code in every if code.startswith("LL1")}  # the nearest pyproject.toml wins
    assert "LL101" in codes(tmp_path / "app.py") and "LL101" not in codes(tmp_path / "tests" / "test_app.py")

    (tmp_path / "vendor" / "pyproject.toml").write_text('[tool.leaklint]\nselect = ["LL2", "LL999"]\n')
    with pytest.raises(Exception, match="LL999"):
        configs.rules_for(other / "x.py")  # the file changed: read again, and it is wrong now
    (tmp_path / "vendor" / "pyproject.toml").unlink()
    configs.forget()
    assert codes(other / "x.py") == codes(tmp_path / "app.py")


def test_the_server_without_its_extra_says_how_to_install_it(monkeypatch, capsys):
    """``leaklint-lsp`` is installed with every leaklint; without pygls it
    explains itself in one line instead of a traceback."""
    import sys

    from leaklint.lsp import main

    monkeypatch.setitem(sys.modules, "leaklint.lsp.server", None)  # importing it raises ImportError
    assert main([]) == 2
    assert "pip install 'leaklint[lsp]'" in capsys.readouterr().err
