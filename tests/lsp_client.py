"""What the language server tests share: the server command, a test client
that records every publication, and helpers to wait for diagnostics and to
apply edits to a buffer the way an editor would."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from tests.lsp_texts import CORRECT, DANGLING, SERVER, apply_edits  # noqa: F401 (the tests import them from here)

# A test server that changes the rules (tests/lsp_patched_server.py).
PATCHED_SERVER = [sys.executable, str(Path(__file__).with_name("lsp_patched_server.py"))]
WAIT_SECONDS = 30.0  # a loaded 2-core machine running the suite in parallel is slow


def _record_publication(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
    client.diagnostics[params.uri] = params.diagnostics
    client.published.append(params)  # type: ignore[attr-defined]


def _record_registration(client: LanguageClient, params: types.RegistrationParams) -> None:
    client.registrations.extend(params.registrations)  # type: ignore[attr-defined]


def recording_client() -> LanguageClient:
    client = LanguageClient(converter_factory=default_converter)
    client.published = []  # type: ignore[attr-defined]
    client.registrations = []  # type: ignore[attr-defined]
    features = {
        **DEFAULT_CLIENT_FEATURES,
        types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: _record_publication,
        types.CLIENT_REGISTER_CAPABILITY: _record_registration,
    }
    register_lsp_features(client, features)
    return client


def config(command: Sequence[str] = SERVER, env: Optional[Dict[str, str]] = None) -> ClientServerConfig:
    return ClientServerConfig(server_command=list(command), client_factory=recording_client, server_env={**os.environ, **(env or {})})


def capabilities(pull: bool = False, watch: bool = False, encodings: Optional[List[str]] = None) -> types.ClientCapabilities:
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=encodings) if encodings else None,
        text_document=types.TextDocumentClientCapabilities(
            diagnostic=types.DiagnosticClientCapabilities() if pull else None,
            code_action=types.CodeActionClientCapabilities(),
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
        ),
        workspace=types.WorkspaceClientCapabilities(
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True) if watch else None,
            diagnostics=types.DiagnosticWorkspaceClientCapabilities(refresh_support=True) if pull else None,
        ),
    )


async def initialize(client: LanguageClient, folders: Sequence[Path], **options: Any) -> types.InitializeResult:
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(**options),
            root_uri=folders[0].as_uri() if folders else None,
            workspace_folders=[types.WorkspaceFolder(uri=folder.as_uri(), name=folder.name) for folder in folders],
        )
    )


async def stop(client: LanguageClient) -> None:
    """End the server whatever the test did (pytest-lsp waits for it to exit):
    shutdown and exit if it still listens, else kill it."""
    server = client._server
    if server is None or server.returncode is not None:
        return
    try:
        await asyncio.wait_for(client.shutdown_session(), 10)
    except Exception:
        pass
    if server.returncode is None:
        server.kill()
        await server.wait()


def open_document(client: LanguageClient, path: Path, text: Optional[str] = None, version: int = 1) -> str:
    uri = path.as_uri()
    text = path.read_text(encoding="utf-8") if text is None else text
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)))
    return uri


def change_document(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def wait_for(condition: Callable[[], Any], what: str, seconds: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return list(value) if isinstance(value, tuple) else value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def published(client: LanguageClient, uri: str, version: int) -> List[types.Diagnostic]:
    """The diagnostics published for ``version`` of ``uri`` (waits for them)."""

    def find():
        for params in reversed(client.published):  # type: ignore[attr-defined]
            if params.uri == uri and params.version == version:
                return [params]
        return None

    return list((await wait_for(find, f"diagnostics of {uri} version {version}"))[0].diagnostics)


async def pull(client: LanguageClient, uri: str) -> List[types.Diagnostic]:
    report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    return list(report.items)


def edits_of(action: types.CodeAction, uri: str) -> List[types.TextEdit]:
    edit = action.edit
    assert edit is not None
    if edit.document_changes:
        return [change for document in edit.document_changes if document.text_document.uri == uri for change in document.edits]
    return list((edit.changes or {}).get(uri, []))
