"""The language server as a process: bytes on its stdin, what it answers on
stdout, how it ends.  No LSP library on this side, so that malformed messages
can be sent as they are."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import threading
import time
from typing import Any, Dict, List, Optional

import pytest

from tests.lsp_texts import DANGLING, SERVER

WAIT_SECONDS = 30.0


class RawClient:
    """A server process and the messages it sends, read by a thread."""

    def __init__(self, command: List[str]):
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages: List[Dict[str, Any]] = []
        self._arrived = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stdout = self.process.stdout
        while True:
            length = None
            while True:  # the headers, up to an empty line
                header = stdout.readline()
                if not header:
                    return
                if not header.strip():
                    break
                if header.lower().startswith(b"content-length:"):
                    length = int(header.split(b":")[1])
            message = json.loads(stdout.read(length))
            with self._arrived:
                self.messages.append(message)
                self._arrived.notify_all()

    def send_bytes(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: Dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.send_bytes(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def wait_for(self, predicate) -> Dict[str, Any]:
        deadline = time.monotonic() + WAIT_SECONDS
        with self._arrived:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no such message; got {self.messages}"
                self._arrived.wait(remaining)

    def request(self, id_: int, method: str, params: Any) -> Dict[str, Any]:
        self.send({"id": id_, "method": method, "params": params})
        return self.wait_for(lambda message: message.get("id") == id_ and "method" not in message)

    def initialize(self) -> Dict[str, Any]:
        response = self.request(1, "initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": {}})
        self.send({"method": "initialized", "params": {}})
        return response

    def close(self) -> Optional[int]:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass
        return self.process.returncode


@pytest.fixture
def raw():
    clients: List[RawClient] = []

    def start(command: List[str] = SERVER) -> RawClient:
        clients.append(RawClient(command))
        return clients[-1]

    yield start
    for client in clients:
        client.close()


def _open(client: RawClient, uri: str, text: str) -> None:
    client.send({"method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}})


def _diagnostics_of(uri: str):
    return lambda message: message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri


def test_shutdown_then_exit_ends_with_status_0_at_once(raw, tmp_path):
    uri = (tmp_path / "app.py").as_uri()
    client = raw()
    client.initialize()
    _open(client, uri, DANGLING)
    client.wait_for(_diagnostics_of(uri))
    assert client.request(2, "shutdown", None)["result"] is None
    started = time.monotonic()
    client.send({"method": "exit", "params": None})  # stdin stays open: the server must not wait for it
    assert client.process.wait(timeout=10) == 0
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"exit took {elapsed:.2f} s"


def test_exit_without_shutdown_is_status_1(raw):
    client = raw()
    client.initialize()
    client.send({"method": "exit", "params": None})
    assert client.process.wait(timeout=10) == 1


def test_a_client_that_disconnects_ends_the_server(raw, tmp_path):
    client = raw()
    client.initialize()
    _open(client, (tmp_path / "app.py").as_uri(), DANGLING)
    client.process.stdin.close()
    assert client.process.wait(timeout=10) == 1  # no shutdown was asked for


def test_malformed_messages_get_errors_and_the_server_stays_up(raw, tmp_path):
    client = raw()
    client.initialize()
    unknown = client.request(2, "leaklint/noSuchMethod", {})
    assert unknown["error"]["code"] == -32601  # method not found
    for body in (b"{not json", b"[]", b'{"jsonrpc": "2.0"}', b'{"jsonrpc": "2.0", "id": 7}'):
        client.send_bytes(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    parse_error = client.wait_for(lambda message: message.get("error", {}).get("code") == -32700)
    assert parse_error.get("id") is None  # pygls leaves out an id that is null
    bad_params = client.request(3, "textDocument/hover", {"textDocument": 3, "position": "here"})
    assert bad_params["error"]["code"] in (-32602, -32603)  # invalid params (or pygls's internal error)
    no_document = client.request(4, "textDocument/hover", {"textDocument": {"uri": "file:///nowhere.py"}, "position": {"line": 0, "character": 0}})
    assert no_document.get("result") is None and "error" not in no_document
    uri = (tmp_path / "app.py").as_uri()
    _open(client, uri, DANGLING)
    published = client.wait_for(_diagnostics_of(uri))
    assert [d["code"] for d in published["params"]["diagnostics"]] == ["LL101"]
    assert client.process.poll() is None
    assert not [m for m in client.messages if m.get("method") == "window/showMessage"]  # no pop-ups for a client's bug


def test_the_console_script_answers_initialize(raw):
    # The command line docs/editors.md gives every editor.
    script = shutil.which("leaklint-lsp", path=sysconfig.get_path("scripts"))
    assert script, "leaklint-lsp is not installed in this environment"
    client = raw([script])
    result = client.initialize()["result"]
    assert result["serverInfo"]["name"] == "leaklint-lsp"
    capabilities = result["capabilities"]
    assert capabilities["hoverProvider"] and capabilities["diagnosticProvider"]["identifier"] == "leaklint"
    assert set(capabilities["codeActionProvider"]["codeActionKinds"]) == {"quickfix", "source.fixAll.leaklint"}
    assert client.request(2, "shutdown", None)["result"] is None
    client.send({"method": "exit", "params": None})
    assert client.process.wait(timeout=10) == 0


def test_stdio_flag_is_accepted():
    # Editors' templates often pass --stdio (helix, coc.nvim, sublime's LSP).
    done = subprocess.run([*SERVER, "--stdio", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("leaklint-lsp ")


def test_memory_stays_bounded_over_a_thousand_changes(raw, tmp_path):
    if not os.path.exists("/proc/self/status"):
        pytest.skip("reads the server's memory from /proc")
    client = raw()
    client.initialize()
    uri = (tmp_path / "big.py").as_uri()
    body = DANGLING + "".join(f"# filler line {n} {'x' * 60}\n" for n in range(1500))  # about 100 kB
    _open(client, uri, body)
    client.wait_for(_diagnostics_of(uri))
    before = _rss_kib(client.process.pid)
    for version in range(2, 1002):
        text = body + f"# version {version}\n"
        client.send({"method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}})
    last = client.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"].get("version") == 1001)
    assert [d["code"] for d in last["params"]["diagnostics"]] == ["LL101"]
    grown = _rss_kib(client.process.pid) - before
    # 1,000 texts of 100 kB kept would be 100 MB; the server keeps the last one.
    assert grown < 40 * 1024, f"the server grew by {grown} KiB"
    versions = [m["params"]["version"] for m in client.messages if m.get("method") == "textDocument/publishDiagnostics"]
    assert versions == sorted(versions) and len(versions) < 50  # debounced: not one check per change


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")
