"""``leaklint-lsp``: leaklint's findings in any editor, over the Language Server
Protocol (stdio), built on pygls.

A thin adapter, like the flake8 and pylint plugins: it decides nothing.  The
findings of a buffer are those the ``leaklint`` command reports for a file with
that text (:func:`leaklint.lsp.worker.check_text`): the same engine, the
configuration of the nearest ``pyproject.toml`` with ``[tool.leaklint]``
(:mod:`leaklint.config`, per-file ignores through
:meth:`leaklint.runner.Checker.rules_for`) and ``# noqa``.  ``exclude`` does not
apply, as it does not to a file named on the command line.

What the server adds is timing: checks run in a child process
(:mod:`leaklint.lsp.worker`), one at a time, off the thread that reads the
editor's messages.  A change is checked after a short pause (more changes in
the meantime restart the pause); a check whose text is superseded is never
published, and is stopped if it has already run for long; a check that takes
longer than the time limit is abandoned with one log message.

Diagnostics are pushed (``textDocument/publishDiagnostics``) to clients that
do not pull them; a client that announces pull diagnostics
(``textDocument/diagnostic``) gets them on request only, so that it never
shows them twice (ruff's server does the same).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Type, Union

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest, JsonRpcParseError
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from leaklint import __version__
from leaklint.config import ConfigError, find_config, load_settings
from leaklint.finding import SAFE, FileResult, Finding
from leaklint.fixes import FixOutcome
from leaklint.lsp import translate
from leaklint.lsp.worker import CHECK, FIX_ALL, CheckCancelled, CheckTimeout, CheckWorker, Job, WorkerDied
from leaklint.noqa import add_noqa
from leaklint.registry import rule_by_code
from leaklint.rule import Rule
from leaklint.runner import Checker

DEFAULT_TIMEOUT = 10.0  # seconds per check; an editor cannot wait the command line's minute
DEBOUNCE_SECONDS = 0.2  # after a change, wait this long for the next one before checking
# A superseded check that has run this long is killed rather than awaited: a
# fresh child costs about this much to start.
KILL_SUPERSEDED_AFTER = 1.0
# A request that needs the current findings retries this often when the
# document changes under it, then answers from the text it last saw.
_ATTEMPTS = 3

logger = logging.getLogger(__name__)


@dataclass
class Checked:
    """The findings of one version of a document, and the text they are about."""

    version: Optional[int]
    generation: int  # of the configuration they were computed with
    lines: translate.TextLines
    findings: List[Finding]


@dataclass
class Document:
    uri: str
    timer: Optional[asyncio.TimerHandle] = None
    checked: Optional[Checked] = None
    logged: Set[str] = field(default_factory=set)  # problems already logged, each once


class ProjectConfigs:
    """The rules for each file, from the settings of its project: the nearest
    ``pyproject.toml`` with a ``[tool.leaklint]`` table above it (a multi-root
    workspace gets each root's own).  A configuration file is read again when
    its size or modification time changes; :meth:`forget` drops everything
    (a file created or deleted, or the client says the configuration changed)."""

    def __init__(self) -> None:
        self._config_of: Dict[Path, Optional[Path]] = {}
        self._checkers: Dict[Optional[Path], Tuple[Any, Union[Checker, ConfigError]]] = {}

    def forget(self) -> None:
        self._config_of.clear()
        self._checkers.clear()

    def rules_for(self, path: Path) -> List[Type[Rule]]:
        """The enabled rules for ``path``; raises ConfigError."""
        directory = path.parent
        if directory not in self._config_of:
            self._config_of[directory] = find_config(directory)
        config = self._config_of[directory]
        stamp = _stamp(config)
        cached = self._checkers.get(config)
        if cached is None or cached[0] != stamp:
            try:
                cached = (stamp, Checker(load_settings(config, cwd=directory)))
            except ConfigError as error:
                cached = (stamp, error)
            except OSError as error:
                cached = (stamp, ConfigError(f"{config}: cannot read: {error.strerror or error}"))
            self._checkers[config] = cached
        checker = cached[1]
        if isinstance(checker, ConfigError):
            raise checker
        return checker.rules_for(str(path))


def _stamp(config: Optional[Path]) -> Any:
    if config is None:
        return None
    try:
        status = config.stat()
    except OSError:
        return "missing"
    return (status.st_mtime_ns, status.st_size)


def _kind_wanted(kind: str, only: Optional[Sequence[Any]]) -> bool:
    """``only`` (a code action request's filter) admits ``kind``: kinds are
    dotted hierarchies, ``source`` admits ``source.fixAll.leaklint``."""
    if not only:
        return True
    return any(kind == str(getattr(wanted, "value", wanted)) or kind.startswith(f"{getattr(wanted, 'value', wanted)}.") for wanted in only)


class _Answered:
    """A request already answered with an error: pygls drops it (its
    ``jsonrpc`` is not "2.0")."""

    jsonrpc = None


class _Protocol(LanguageServerProtocol):
    """pygls drops a request whose params do not fit its method, so the
    client waits forever; answer it with the JSON-RPC error instead."""

    def structure_message(self, data: Dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if isinstance(data, dict) and "id" in data and "method" in data:
                self._send_response(data["id"], error=error.to_response_error())
                return _Answered()
            raise


class LeaklintServer(LanguageServer):
    def __init__(self, timeout: Optional[float] = DEFAULT_TIMEOUT, debounce: float = DEBOUNCE_SECONDS):
        # Full text on every change: pygls applies incremental changes with
        # str.splitlines, which also breaks lines at characters (\x0c, \u2028)
        # where neither the client nor Python does.
        super().__init__(
            "leaklint-lsp", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full, protocol_cls=_Protocol
        )
        self.worker = CheckWorker(timeout)
        self.debounce = debounce
        self.configs = ProjectConfigs()
        self.documents: Dict[str, Document] = {}
        self.generation = 0
        self.shutdown_requested = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leaklint-check")
        self._check_lock: Optional[asyncio.Lock] = None
        self._running: Optional[Tuple[str, float]] = None  # the uri being checked, since when
        self._background: Set["asyncio.Task[None]"] = set()
        self._shown_errors: Set[str] = set()
        self.starting: Optional["asyncio.Future[None]"] = None  # the child being started

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A message that is not JSON-RPC gets the JSON-RPC error (id null)
        and a log line; pygls would pop up a message in the editor."""
        if source is JsonRpcException:  # the message could not be read at all
            response = JsonRpcParseError() if isinstance(error, json.JSONDecodeError) else JsonRpcInvalidRequest()
            self.protocol._send_response(None, error=response.to_response_error())  # type: ignore[arg-type]
        logger.warning("%s", error)
        self.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=f"leaklint: {error}"))

    # -- what the client told us at the start ------------------------------------

    @property
    def pushes(self) -> bool:
        """Diagnostics are pushed unless the client pulls them."""
        document = self.client_capabilities.text_document
        return document is None or document.diagnostic is None

    def _versioned_edits(self) -> bool:
        workspace = self.client_capabilities.workspace
        return bool(workspace and workspace.workspace_edit and workspace.workspace_edit.document_changes)

    def _encoding(self) -> str:
        encoding = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        return str(getattr(encoding, "value", encoding))

    # -- checking ---------------------------------------------------------------

    def schedule(self, uri: str, delay: float) -> None:
        """Check ``uri`` after ``delay`` seconds, unless it changes again first."""
        document = self.documents.get(uri)
        if document is None:
            return
        if document.timer is not None:
            document.timer.cancel()
        running = self._running
        if running is not None and running[0] == uri and time.monotonic() - running[1] > KILL_SUPERSEDED_AFTER:
            self.worker.cancel()
        document.timer = asyncio.get_running_loop().call_later(delay, self._start, uri)

    def _start(self, uri: str) -> None:
        task = asyncio.ensure_future(self._check_and_publish(uri))
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: "asyncio.Task[None]") -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            logger.error("checking failed (a leaklint bug)", exc_info=error)
            self.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=f"leaklint: internal error: {error!r}"))

    async def _check_and_publish(self, uri: str) -> None:
        checked = await self.current(uri)
        if checked is None or not self.pushes or not self._is_current(uri, checked):
            return  # closed, or superseded: the newer text has a check of its own
        self.publish(uri, checked)

    def publish(self, uri: str, checked: Checked) -> None:
        diagnostics = [translate.diagnostic(finding, checked.lines) for finding in checked.findings]
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=checked.version))

    def _is_current(self, uri: str, checked: Checked) -> bool:
        document = self.documents.get(uri)
        if document is None or checked.generation != self.generation:
            return False
        return self.workspace.get_text_document(uri).version == checked.version

    async def current(self, uri: str) -> Optional[Checked]:
        """The findings of the document's current text (checked now unless
        known); None when the document is not open or changed meanwhile."""
        document = self.documents.get(uri)
        if document is None:
            return None
        if document.checked is not None and self._is_current(uri, document.checked):
            return document.checked
        if self._check_lock is None:
            self._check_lock = asyncio.Lock()
        async with self._check_lock:
            document = self.documents.get(uri)
            if document is None:
                return None
            if document.checked is not None and self._is_current(uri, document.checked):
                return document.checked  # a check that ran while this one waited
            text_document = self.workspace.get_text_document(uri)
            version, generation, text = text_document.version, self.generation, text_document.source
            findings = await self._run(document, text, CHECK)
            if findings is None:
                return None
            checked = Checked(version, generation, translate.TextLines(text, self._encoding()), findings)
            if self._is_current(uri, checked):
                document.checked = checked
                return checked
            return None

    async def current_or_latest(self, uri: str) -> Optional[Checked]:
        """For requests: the current findings, or if the document keeps
        changing, the latest known (the client asks again after a change)."""
        for _ in range(_ATTEMPTS):
            checked = await self.current(uri)
            if checked is not None:
                return checked
        document = self.documents.get(uri)
        return document.checked if document is not None else None

    async def _run(self, document: Document, text: str, kind: str) -> Optional[Any]:
        """Run one job on ``text`` in the check process.  CHECK: the findings,
        empty when the text cannot be checked (a bad configuration, the time
        limit, the process died: each logged), None when cancelled.  FIX_ALL:
        the fix outcome, None when there is none."""
        path, config_path = self._paths(document.uri)
        try:
            rules = tuple(self.configs.rules_for(config_path))
        except ConfigError as error:
            self._show_error(str(error))
            return [] if kind == CHECK else None
        self._running = (document.uri, time.monotonic())
        try:
            outcome = await asyncio.get_running_loop().run_in_executor(self._executor, self.worker.run, Job(kind, text, path, rules))
        except CheckCancelled:
            return None
        except CheckTimeout:
            self._log(document, types.MessageType.Warning, f"{path}: not checked: took longer than {self.worker.timeout:g} s")
            return [] if kind == CHECK else None
        except WorkerDied:
            self._log(document, types.MessageType.Error, f"{path}: not checked: the process checking it died")
            return [] if kind == CHECK else None
        finally:
            self._running = None
        if isinstance(outcome, FixOutcome):
            return outcome if outcome.error is None else None
        if kind == FIX_ALL:
            return None  # the child's last-resort error result
        return self._report_problems(document, path, outcome)

    def _report_problems(self, document: Document, path: str, result: FileResult) -> List[Finding]:
        # A file that does not parse is the normal state of a buffer being
        # typed: quiet.  A rule that crashes is a leaklint bug: one log
        # message per document, the other rules' findings are kept.
        for problem in result.rule_errors:
            self._log(document, types.MessageType.Error, f"{path}: {problem}", key=problem.split(":", 1)[0])
        return result.findings

    def _paths(self, uri: str) -> Tuple[str, Path]:
        """The path findings are reported under, and the one whose project
        configuration applies (for an unsaved buffer: the workspace's)."""
        fs_path = to_fs_path(uri) if uri.startswith("file:") else None
        if fs_path:
            return fs_path, Path(fs_path)
        root = self.workspace.root_path or os.getcwd()
        return uri, Path(root) / "untitled.py"

    def _log(self, document: Document, kind: types.MessageType, message: str, key: Optional[str] = None) -> None:
        """Log ``message`` unless one with the same ``key`` (default: the
        message) was logged for this document already."""
        key = message if key is None else key
        if key in document.logged:
            return
        document.logged.add(key)
        self.window_log_message(types.LogMessageParams(type=kind, message=f"leaklint: {message}"))

    def _show_error(self, message: str) -> None:
        if message in self._shown_errors:
            return
        self._shown_errors.add(message)
        self.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=f"leaklint: {message}"))
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"leaklint: {message}"))

    def configuration_changed(self) -> None:
        """Settings may differ now: read them again and check every open document."""
        self.configs.forget()
        self.generation += 1
        self._shown_errors.clear()
        if self.pushes:
            for uri in list(self.documents):
                self.schedule(uri, 0)
            return
        workspace = self.client_capabilities.workspace
        if workspace and workspace.diagnostics and workspace.diagnostics.refresh_support:
            self.workspace_diagnostic_refresh(None)

    def stop_checking(self) -> None:
        """Stop the child and the thread that waits for it (at shutdown)."""
        for document in self.documents.values():
            if document.timer is not None:
                document.timer.cancel()
        self.worker.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- requests that read the findings ------------------------------------------

    async def code_actions(self, params: types.CodeActionParams) -> List[types.CodeAction]:
        uri = params.text_document.uri
        checked = await self.current_or_latest(uri)
        if checked is None:
            return []
        only = params.context.only
        lines = checked.lines
        start = lines.location(params.range.start)
        end = lines.location(params.range.end)
        version, versioned = checked.version, self._versioned_edits()
        actions: List[types.CodeAction] = []
        if _kind_wanted(types.CodeActionKind.QuickFix.value, only):
            for finding in checked.findings:
                if not translate.overlaps(finding, start, end):
                    continue
                diagnostic = translate.diagnostic(finding, lines)
                fix = translate.fix_action(finding, lines, uri, version, versioned, diagnostic)
                if fix is not None:
                    actions.append(fix)
                line = lines.line(finding.line)
                suppressed = add_noqa(line, [finding.code])
                if suppressed != line:
                    actions.append(translate.suppress_action(finding, suppressed, lines, uri, version, versioned, diagnostic))
        if _kind_wanted(translate.FIX_ALL_KIND, only):
            asked = bool(only)  # asked for by kind (on save, or "Fix all"), not just listing what is possible
            if asked or any(finding.fix is not None and finding.fix.safety == SAFE for finding in checked.findings):
                fix_all = await self._fix_all(uri, checked, versioned)
                if fix_all is not None:
                    actions.append(fix_all)
        return actions

    async def _fix_all(self, uri: str, checked: Checked, versioned: bool) -> Optional[types.CodeAction]:
        document = self.documents.get(uri)
        if document is None or self._check_lock is None:
            return None
        async with self._check_lock:
            outcome = await self._run(document, checked.lines.text, FIX_ALL)
        if not isinstance(outcome, FixOutcome) or not outcome.applied:
            return None
        edit = translate.replacement(checked.lines.text, outcome.text, checked.lines)
        if edit is None:
            return None
        return types.CodeAction(
            title="leaklint: apply all safe fixes",
            kind=translate.FIX_ALL_KIND,
            edit=translate.workspace_edit(uri, checked.version, [edit], versioned),
        )

    async def hover(self, params: types.HoverParams) -> Optional[types.Hover]:
        checked = await self.current_or_latest(params.text_document.uri)
        if checked is None:
            return None
        here = checked.lines.location(params.position)
        found = [finding for finding in checked.findings if translate.overlaps(finding, here, here)]
        if not found:
            return None
        codes = list(dict.fromkeys(finding.code for finding in found))
        first = found[0]
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=translate.hover_markdown(rule_by_code(code) for code in codes)),
            range=checked.lines.range(first.line, first.column, first.end_line, first.end_column),
        )

    async def pulled_diagnostics(self, params: types.DocumentDiagnosticParams) -> types.DocumentDiagnosticReport:
        checked = await self.current_or_latest(params.text_document.uri)
        if checked is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        result_id = f"{checked.generation}:{checked.version}"
        if params.previous_result_id == result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
        items = [translate.diagnostic(finding, checked.lines) for finding in checked.findings]
        return types.RelatedFullDocumentDiagnosticReport(items=items, result_id=result_id)


def _is_config(uri: str) -> bool:
    return uri.rsplit("/", 1)[-1] == "pyproject.toml"


def build_server(timeout: Optional[float] = DEFAULT_TIMEOUT, debounce: float = DEBOUNCE_SECONDS) -> LeaklintServer:
    server = LeaklintServer(timeout, debounce)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: LeaklintServer, params: types.InitializedParams) -> None:
        # The child imports libcst and the rules meanwhile, so the first check
        # does not wait for them.
        ls.starting = asyncio.get_running_loop().run_in_executor(ls._executor, ls.worker.start)
        ls.starting.add_done_callback(_ignore_outcome)
        watched = ls.client_capabilities.workspace and ls.client_capabilities.workspace.did_change_watched_files
        if watched and watched.dynamic_registration:
            watcher = types.FileSystemWatcher(glob_pattern="**/pyproject.toml")
            registration = types.Registration(
                id="leaklint-pyproject",
                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[watcher]),
            )
            try:
                await ls.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
            except Exception as error:  # the client said no: saves and didChangeConfiguration still reload
                logger.info("watching pyproject.toml refused: %s", error)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LeaklintServer, params: types.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.documents[uri] = Document(uri)
        ls.schedule(uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LeaklintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, ls.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: LeaklintServer, params: types.DidSaveTextDocumentParams) -> None:
        if _is_config(params.text_document.uri):
            ls.configuration_changed()
        else:
            ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LeaklintServer, params: types.DidCloseTextDocumentParams) -> None:
        document = ls.documents.pop(params.text_document.uri, None)
        if document is not None and document.timer is not None:
            document.timer.cancel()
        if document is not None and ls.pushes:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: LeaklintServer, params: types.DidChangeConfigurationParams) -> None:
        ls.configuration_changed()  # the settings are in pyproject.toml: read them again

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: LeaklintServer, params: types.DidChangeWatchedFilesParams) -> None:
        if any(_is_config(change.uri) for change in params.changes):
            ls.configuration_changed()

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(ls: LeaklintServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        ls.configuration_changed()

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, translate.FIX_ALL_KIND]),
    )
    async def code_action(ls: LeaklintServer, params: types.CodeActionParams) -> List[types.CodeAction]:
        return await ls.code_actions(params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: LeaklintServer, params: types.HoverParams) -> Optional[types.Hover]:
        return await ls.hover(params)

    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(identifier="leaklint", inter_file_dependencies=False, workspace_diagnostics=False),
    )
    async def diagnostic(ls: LeaklintServer, params: types.DocumentDiagnosticParams) -> types.DocumentDiagnosticReport:
        return await ls.pulled_diagnostics(params)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: LeaklintServer, params: None) -> None:
        ls.shutdown_requested = True
        ls.stop_checking()

    @server.feature(types.EXIT)
    def exit_(ls: LeaklintServer, params: None) -> None:
        ls.stop_checking()
        _leave(0 if ls.shutdown_requested else 1)

    return server


def _ignore_outcome(future: "asyncio.Future[None]") -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.info("the check process did not start: %s", future.exception())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leaklint-lsp", description="leaklint's language server (LSP over stdio).")
    parser.add_argument("--version", action="version", version=f"leaklint-lsp {__version__}")
    parser.add_argument("--stdio", action="store_true", help="speak LSP over stdin and stdout (the default and only transport)")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help=f"abandon the check of a buffer after this long (default {DEFAULT_TIMEOUT:g}; 0: no limit)",
    )  # fmt: skip
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="leaklint-lsp: %(message)s")
    server = build_server(args.timeout if args.timeout > 0 else None)
    try:
        server.start_io()  # returns when the client closes our stdin without `exit`
    finally:
        server.stop_checking()
    _leave(0 if server.shutdown_requested else 1)
    return 1  # not reached


def _leave(status: int) -> None:
    """End the process now: the thread that reads stdin cannot be
    interrupted, and a client may keep the pipe open after ``exit``, so a
    normal interpreter exit (which waits for that thread) could hang."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # closed by the client already
    os._exit(status)
