"""The language server end to end: a real client (pytest-lsp) talks to
``python -m leaklint.lsp`` over stdio."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp", reason="pytest-lsp needs Python 3.10 or later")

from lsprotocol import types  # noqa: E402
from pytest_lsp import LanguageClient  # noqa: E402

from tests.lsp_client import (  # noqa: E402
    CORRECT,
    DANGLING,
    PATCHED_SERVER,
    apply_edits,
    change_document,
    config,
    edits_of,
    initialize,
    open_document,
    published,
    pull,
    stop,
    wait_for,
)

pytestmark = pytest.mark.asyncio


@pytest_lsp.fixture(config=config())
async def client(lsp_client: LanguageClient):
    yield  # each test initializes the session with the capabilities it needs
    await stop(lsp_client)


@pytest_lsp.fixture(config=config(PATCHED_SERVER, {"LEAKLINT_TEST_PATCH": "crash-LL102"}))
async def crashing_client(lsp_client: LanguageClient):
    yield
    await stop(lsp_client)


@pytest_lsp.fixture(config=config(PATCHED_SERVER, {"LEAKLINT_TEST_PATCH": "fix-LL101"}))
async def fixing_client(lsp_client: LanguageClient):
    yield
    await stop(lsp_client)


@pytest_lsp.fixture(config=config([*PATCHED_SERVER, "--timeout", "1"]))
async def impatient_client(lsp_client: LanguageClient):
    yield
    await stop(lsp_client)


def _call_range(line: int, text: str, call: str = "asyncio.create_task(work())") -> types.Range:
    """The range of ``call`` on 0-based ``line`` of ``text``, in UTF-16 units, computed here by hand."""
    line_text = text.splitlines()[line]
    start = len(line_text[: line_text.index(call)].encode("utf-16-le")) // 2
    return types.Range(start=types.Position(line, start), end=types.Position(line, start + len(call)))


async def test_the_issue_done_when(client: LanguageClient, tmp_path: Path):
    """Open a dangling task, get LL101 on the call and a noqa quick fix, correct
    the code, flood the server with changes, open a broken file, shut down."""
    await initialize(client, [tmp_path])
    uri = open_document(client, tmp_path / "app.py", DANGLING)

    [diagnostic] = await published(client, uri, 1)
    assert diagnostic.code == "LL101"
    assert diagnostic.source == "leaklint"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert diagnostic.range == _call_range(8, DANGLING)
    assert diagnostic.code_description.href.endswith("/docs/rules/LL101.md")
    assert "asyncio.create_task" in diagnostic.message

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
    )
    [suppress] = [action for action in actions if action.title == "Suppress LL101 on this line"]
    assert suppress.kind == types.CodeActionKind.QuickFix
    suppressed = apply_edits(DANGLING, edits_of(suppress, uri))
    assert suppressed.splitlines()[8] == "    asyncio.create_task(work())  # noqa: LL101"
    assert suppressed.splitlines()[:8] == DANGLING.splitlines()[:8]

    change_document(client, uri, suppressed, 2)
    assert await published(client, uri, 2) == []
    change_document(client, uri, DANGLING, 3)
    assert len(await published(client, uri, 3)) == 1
    change_document(client, uri, CORRECT, 4)
    assert await published(client, uri, 4) == []

    texts = [DANGLING if number % 2 else CORRECT for number in range(200)]
    texts[-1] = "# the last text differs from every other\n" + DANGLING
    for version, text in enumerate(texts, start=5):
        change_document(client, uri, text, version)
    last = 4 + len(texts)
    [final] = await published(client, uri, last)
    assert final.range == _call_range(9, texts[-1])

    broken = open_document(client, tmp_path / "broken.py", "import asyncio\n\nasync def main(:\n    asyncio.create_task(work())\n")
    assert await published(client, broken, 1) == []
    hover = await client.text_document_hover_async(types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=final.range.start))
    assert hover is not None  # the server is still up and answering

    await client.shutdown_session()
    assert client._server.returncode == 0
    versions = [params.version for params in client.published if params.uri == uri]
    assert versions == sorted(versions)  # an older check is never published after a newer one
    assert versions[-1] == last


async def test_non_ascii_text_before_the_call(client: LanguageClient, tmp_path: Path):
    text = 'import asyncio\n\n\nasync def main():\n    s = "é😀"; asyncio.create_task(work())  # ünïcode\n'
    await initialize(client, [tmp_path])
    uri = open_document(client, tmp_path / "app.py", text)
    [diagnostic] = await published(client, uri, 1)
    # `    s = "é😀"; ` is 14 characters and 15 UTF-16 units (the emoji takes two).
    assert diagnostic.range == types.Range(start=types.Position(4, 15), end=types.Position(4, 15 + len("asyncio.create_task(work())")))

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=uri), range=diagnostic.range, context=types.CodeActionContext(diagnostics=[]))
    )
    [suppress] = [action for action in actions if action.title.startswith("Suppress")]
    assert apply_edits(text, edits_of(suppress, uri)).splitlines()[4] == '    s = "é😀"; asyncio.create_task(work())  # ünïcode  # noqa: LL101'


async def test_utf8_positions_when_the_client_asks(client: LanguageClient, tmp_path: Path):
    text = 'import asyncio\n\n\nasync def main():\n    s = "é😀"; asyncio.create_task(work())\n'
    result = await initialize(client, [tmp_path], encodings=["utf-8"])
    assert result.capabilities.position_encoding == "utf-8"
    uri = open_document(client, tmp_path / "app.py", text)
    [diagnostic] = await published(client, uri, 1)
    assert diagnostic.range.start == types.Position(4, len('    s = "é😀"; '.encode("utf-8")))


async def test_fixtures_equal_the_command(client: LanguageClient):
    """Every fixture: the pulled diagnostics are the command's findings and the fixture's expectations."""
    import json
    import subprocess

    from tests.expectations import ROOT, expected, fixture_files

    files = fixture_files()
    command = subprocess.run(
        [sys.executable, "-m", "leaklint", "--output-format", "json", "--no-cache", *map(str, files)], cwd=ROOT, capture_output=True, text=True
    )
    assert command.returncode == 1, command.stderr
    by_command = {}
    for finding in json.loads(command.stdout):
        by_command.setdefault((ROOT / finding["path"]).resolve(), set()).add((finding["line"], finding["column"], finding["end_line"], finding["end_column"], finding["code"]))

    await initialize(client, [ROOT], pull=True)
    for path in files:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        uri = open_document(client, path, text)
        found = set()
        for diagnostic in await pull(client, uri):
            start, end = diagnostic.range.start, diagnostic.range.end
            found.add((start.line + 1, _character(lines[start.line], start.character), end.line + 1, _character(lines[end.line], end.character), diagnostic.code))
        assert found == by_command.get(path.resolve(), set()), path
        assert {(line, code) for line, _, _, _, code in found} == expected(path), path
    assert not client.published  # a client that pulls is never pushed to


def _character(line: str, units: int) -> int:
    """1-based character column of a UTF-16 offset."""
    count = 0
    for index, char in enumerate(line):
        if count >= units:
            return index + 1
        count += 2 if ord(char) > 0xFFFF else 1
    return len(line) + 1


async def test_noqa_is_extended_and_honoured(client: LanguageClient, tmp_path: Path):
    text = DANGLING.replace("asyncio.create_task(work())", "asyncio.create_task(work())  # noqa: LL102")
    await initialize(client, [tmp_path])
    uri = open_document(client, tmp_path / "app.py", text)
    [diagnostic] = await published(client, uri, 1)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=uri), range=diagnostic.range, context=types.CodeActionContext(diagnostics=[diagnostic]))
    )
    [suppress] = [action for action in actions if action.title == "Suppress LL101 on this line"]
    extended = apply_edits(text, edits_of(suppress, uri))
    assert extended.splitlines()[8] == "    asyncio.create_task(work())  # noqa: LL102, LL101"
    change_document(client, uri, extended, 2)
    assert await published(client, uri, 2) == []
    # Only quick fixes were asked for: no fix-all, and none exists today.
    only_quickfix = list(await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix]),
        )
    ))
    assert only_quickfix == []


async def test_hover_shows_the_rule(client: LanguageClient, tmp_path: Path):
    await initialize(client, [tmp_path])
    uri = open_document(client, tmp_path / "app.py", DANGLING)
    [diagnostic] = await published(client, uri, 1)
    inside = types.Position(diagnostic.range.start.line, diagnostic.range.start.character + 5)
    hover = await client.text_document_hover_async(types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=inside))
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert hover.contents.value.startswith("**LL101** `dangling-task`: The result of `create_task()` or `ensure_future()` is dropped.")
    assert "Use instead:\nKeep a strong reference until the task is done" in hover.contents.value
    assert "background_tasks.add(task)" in hover.contents.value
    assert hover.range == diagnostic.range
    elsewhere = types.Position(0, 0)
    assert await client.text_document_hover_async(types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=elsewhere)) is None


async def test_configuration_reloads_without_restart(client: LanguageClient, tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    pyproject = project / "pyproject.toml"
    pyproject.write_text('[tool.leaklint]\nignore = ["LL101"]\n')
    await initialize(client, [project], watch=True)
    [registration] = await wait_for(lambda: client.registrations, "the server to watch pyproject.toml")
    assert registration.method == "workspace/didChangeWatchedFiles"
    assert registration.register_options["watchers"] == [{"globPattern": "**/pyproject.toml"}]
    uri = open_document(client, project / "app.py", DANGLING)
    assert await published(client, uri, 1) == []

    def republished(count: int):
        return lambda: [params for params in client.published if params.uri == uri][count:]

    pyproject.write_text("[tool.leaklint]\nignore = []\n")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    [params] = await wait_for(republished(1), "a check with the new configuration")
    assert [d.code for d in params.diagnostics] == ["LL101"]

    pyproject.write_text('[tool.leaklint]\nper-file-ignores = { "app.py" = ["LL1"] }\n')
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)])
    )
    [params] = await wait_for(republished(2), "a check after pyproject.toml changed")
    assert list(params.diagnostics) == []

    pyproject.write_text('[tool.leaklint]\nselect = ["LL1"]\n')
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=pyproject.as_uri())))
    [params] = await wait_for(republished(3), "a check after pyproject.toml was saved")
    assert [d.code for d in params.diagnostics] == ["LL101"]

    pyproject.write_text('[tool.leaklint]\nselect = ["LL999"]\n')
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    [params] = await wait_for(republished(4), "a check with a broken configuration")
    assert list(params.diagnostics) == []
    [shown] = await wait_for(lambda: client.messages, "the configuration error")
    assert "unknown rule code or prefix 'LL999'" in shown.message and shown.type == types.MessageType.Error


async def test_each_workspace_folder_has_its_own_configuration(client: LanguageClient, tmp_path: Path):
    quiet, loud = tmp_path / "quiet", tmp_path / "loud"
    for folder in (quiet, loud):
        (folder / "src").mkdir(parents=True)
    (quiet / "pyproject.toml").write_text('[tool.leaklint]\nignore = ["LL101"]\n')
    (loud / "pyproject.toml").write_text('[tool.leaklint]\nselect = ["LL"]\n')
    await initialize(client, [quiet, loud])
    quiet_uri = open_document(client, quiet / "src" / "app.py", DANGLING)
    loud_uri = open_document(client, loud / "src" / "app.py", DANGLING)
    assert await published(client, quiet_uri, 1) == []
    assert [d.code for d in await published(client, loud_uri, 1)] == ["LL101"]


async def test_pull_diagnostics(client: LanguageClient, tmp_path: Path):
    await initialize(client, [tmp_path], pull=True)
    uri = open_document(client, tmp_path / "app.py", DANGLING)
    [diagnostic] = await pull(client, uri)
    assert diagnostic.code == "LL101" and diagnostic.range == _call_range(8, DANGLING)
    report = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=None)
    )
    unchanged = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=report.result_id)
    )
    assert unchanged.kind == "unchanged"
    change_document(client, uri, CORRECT, 2)
    assert await pull(client, uri) == []
    assert not client.published


async def test_bad_buffers_never_stop_the_server(client: LanguageClient, tmp_path: Path):
    await initialize(client, [tmp_path])
    bad = {
        "syntax.py": "def f(:\n",
        "nulls.py": "import asyncio\x00\nasyncio.create_task(x())\n",
        "nested.py": "x = " + "(" * 5000 + ")" * 5000 + "\n",
        "deep_blocks.py": "".join("    " * depth + "if x:\n" for depth in range(150)) + "    " * 150 + "pass\n",
        "empty.py": "",
        "enormous.py": "x = 1\n" * 50_000,
        "lone_cr.py": "import asyncio\rasync def f():\r    asyncio.create_task(work())\r",
    }
    uris = {name: open_document(client, tmp_path / name, text) for name, text in bad.items()}
    for name, uri in uris.items():
        diagnostics = await published(client, uri, 1)
        if name == "lone_cr.py":
            assert [(d.code, d.range.start.line, d.range.start.character) for d in diagnostics] == [("LL101", 2, 4)]
        else:
            assert diagnostics == [], name
    uri = open_document(client, tmp_path / "app.py", DANGLING)
    assert len(await published(client, uri, 1)) == 1


async def test_a_crashing_rule_is_logged_once_and_the_others_still_report(crashing_client: LanguageClient, tmp_path: Path):
    client = crashing_client
    text = DANGLING + "\n\nasync def unused():\n    task = asyncio.create_task(work())\n"
    await initialize(client, [tmp_path])
    uri = open_document(client, tmp_path / "app.py", text)
    assert [d.code for d in await published(client, uri, 1)] == ["LL101"]
    change_document(client, uri, text + "\n", 2)
    assert [d.code for d in await published(client, uri, 2)] == ["LL101"]
    crashes = [message for message in client.log_messages if "internal error in LL102" in message.message]
    assert len(crashes) == 1 and crashes[0].type == types.MessageType.Error


async def test_fixes_and_fix_all(fixing_client: LanguageClient, tmp_path: Path):
    client = fixing_client
    await initialize(client, [tmp_path])
    uri = open_document(client, tmp_path / "app.py", DANGLING)
    [diagnostic] = await published(client, uri, 1)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=uri), range=diagnostic.range, context=types.CodeActionContext(diagnostics=[diagnostic]))
    )
    titles = [action.title for action in actions]
    assert titles[:2] == ["Keep a reference to the task", "Suppress LL101 on this line"]
    fix = actions[0]
    assert fix.is_preferred and fix.kind == types.CodeActionKind.QuickFix
    fixed_line = "    _task = asyncio.create_task(work())"
    assert apply_edits(DANGLING, edits_of(fix, uri)).splitlines()[8] == fixed_line

    [fix_all] = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.SourceFixAll]),
        )
    )
    assert fix_all.kind == "source.fixAll.leaklint"
    [edit] = edits_of(fix_all, uri)
    assert edit.range == types.Range(start=types.Position(8, 0), end=types.Position(9, 0))  # only the changed line
    assert apply_edits(DANGLING, [edit]) == DANGLING.replace("    asyncio.create_task", "    _task = asyncio.create_task")


async def test_a_check_that_takes_too_long_is_abandoned_once(impatient_client: LanguageClient, tmp_path: Path):
    client = impatient_client
    slow = "import asyncio\n\n" + "".join(f"async def f{n}():\n    asyncio.create_task(work())\n    t{n} = asyncio.create_task(work())\n" for n in range(6000))
    await initialize(client, [tmp_path])
    slow_uri = open_document(client, tmp_path / "slow.py", slow)
    assert await published(client, slow_uri, 1) == []
    [message] = [m for m in client.log_messages if "took longer than 1 s" in m.message]
    assert message.type == types.MessageType.Warning and "slow.py" in message.message
    uri = open_document(client, tmp_path / "app.py", DANGLING)
    assert len(await published(client, uri, 1)) == 1  # a fresh check process took over


async def test_requests_are_answered_while_a_check_runs(client: LanguageClient, tmp_path: Path):
    await initialize(client, [tmp_path])
    uri = open_document(client, tmp_path / "app.py", DANGLING)
    [diagnostic] = await published(client, uri, 1)
    slow = "import asyncio\n\n" + "".join(f"async def f{n}():\n    asyncio.create_task(work())\n" for n in range(1000))
    slow_uri = open_document(client, tmp_path / "slow.py", slow)
    await wait_for(lambda: not client.published or client.published[-1].uri == uri, "nothing")  # the slow check has just begun
    hover = await client.text_document_hover_async(types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=diagnostic.range.start))
    assert hover is not None and "LL101" in hover.contents.value
    assert slow_uri not in client.diagnostics  # answered before the slow check ended
    assert len(await published(client, slow_uri, 1)) == 1000
