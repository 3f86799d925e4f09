"""Results of earlier runs, so that a second run over unchanged files is nearly free.

One JSON file per *run key* (leaklint's version and source, libcst's version,
the effective settings, the selected rules, the project root) holds, for every
file checked with that key, ``[mtime_ns, size, content_hash, result,
dependencies]``: the dependencies are the project modules whose summaries the
result used, with their digests (``analysis.project.stamp_dependencies``), and
the entry stands only while each of those summaries is unchanged.  A file
whose size and modification time are unchanged is not even read; one whose
stat changed but whose content hash is the same (a ``touch``, a branch switch
and back) is read but not checked.

JSON rather than pickle: the cache sits inside the project, and loading a
pickle from a repository someone else wrote would run their code.

The cache is an optimisation only: a missing, corrupt, foreign or unwritable
cache is ignored and the files are simply checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type

import libcst

from leaklint import __version__
from leaklint.config import Settings
from leaklint.finding import Edit, FileResult, Finding, Fix
from leaklint.rule import Rule

CACHE_DIR_NAME = ".leaklint_cache"
_FORMAT = 2  # 2: findings carry their fix
# A file modified this recently may change again within the same timestamp
# tick (coarse filesystem clocks); its stat is not trusted next time, only its hash.
_RACY_NS = 2_000_000_000

StatKey = Tuple[int, int]  # (mtime_ns, size)


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def stat_key(stat: os.stat_result) -> StatKey:
    return (stat.st_mtime_ns, stat.st_size)


def run_key(settings: Settings, rules: Sequence[Type[Rule]]) -> str:
    """What the findings of a file depend on, besides the file itself."""
    parts = [
        str(_FORMAT),
        __version__,
        _source_stamp(),
        libcst.__version__ if hasattr(libcst, "__version__") else "",
        "%d.%d" % sys.version_info[:2],
        settings.fingerprint(),
        ",".join(rule.code for rule in rules),
        str(Path(settings.root).absolute()),  # per-file-ignores patterns are relative to it
    ]
    return hashlib.blake2b("\0".join(parts).encode("utf-8"), digest_size=12).hexdigest()


def _source_stamp() -> str:
    """leaklint's own modules: a rule edited without a version bump (a
    development checkout) must not be answered from the cache."""
    package = Path(__file__).resolve().parent
    entries = []
    for directory, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(name for name in dirnames if name != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py"):
                try:
                    stat = os.stat(os.path.join(directory, name))
                except OSError:
                    continue
                entries.append(f"{os.path.relpath(os.path.join(directory, name), package)}:{stat.st_mtime_ns}:{stat.st_size}")
    return hashlib.blake2b("\n".join(entries).encode("utf-8"), digest_size=12).hexdigest()


def default_cache_dir(settings: Settings) -> Path:
    return Path(settings.root) / CACHE_DIR_NAME


class ResultCache:
    """The cached results for one run key, loaded at once and saved at once."""

    def __init__(self, directory: Path, key: str):
        self.directory = Path(directory)
        self.file = self.directory / f"{key}.json"
        # absolute path -> [mtime_ns or None, size, content hash, encoded result]
        self._entries: Dict[str, List[Any]] = {}
        self._changed = False
        self._started_ns = time.time_ns()
        # Whether the summaries an entry depended on are unchanged (set by the runner).
        self.dependencies_current: Callable[[Any], bool] = lambda stamped: True

    @classmethod
    def open(cls, settings: Settings, rules: Sequence[Type[Rule]], directory: Optional[Path] = None) -> "ResultCache":
        cache = cls(Path(directory) if directory is not None else default_cache_dir(settings), run_key(settings, rules))
        cache._load()
        return cache

    def _load(self) -> None:
        try:
            with open(self.file, "rb") as handle:
                document = json.loads(handle.read())
            entries = document["entries"] if document.get("format") == _FORMAT else {}
            if isinstance(entries, dict):
                self._entries = entries
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            self._entries = {}  # no cache yet, or one we cannot use: check everything

    # -- lookups ----------------------------------------------------------------

    def by_stat(self, absolute_path: str, stat: os.stat_result, path: str) -> Optional[FileResult]:
        """The cached result if the file's size and mtime are unchanged."""
        entry = self._entries.get(absolute_path)
        if entry is None:
            return None
        try:
            mtime_ns, size = entry[0], entry[1]
            if mtime_ns is None or mtime_ns != stat.st_mtime_ns or size != stat.st_size or not self._current(entry):
                return None
            return _decode(entry[3], path)
        except (IndexError, TypeError, ValueError, KeyError):
            return None

    def known_hash(self, absolute_path: str) -> Optional[str]:
        entry = self._entries.get(absolute_path)
        try:
            return entry[2] if entry is not None and isinstance(entry[2], str) and self._current(entry) else None
        except (IndexError, TypeError, KeyError):
            return None

    def by_hash(self, absolute_path: str, digest: str, stat: Optional[StatKey], path: str) -> Optional[FileResult]:
        """The cached result if the content is unchanged; refreshes the stat."""
        entry = self._entries.get(absolute_path)
        try:
            if entry is None or entry[2] != digest or not self._current(entry):
                return None
            result = _decode(entry[3], path)
        except (IndexError, TypeError, ValueError, KeyError):
            return None
        if stat is not None:
            self._entries[absolute_path] = [self._trusted_mtime(stat), stat[1], digest, entry[3], *entry[4:5]]
            self._changed = True
        return result

    def _current(self, entry: List[Any]) -> bool:
        return len(entry) < 5 or not entry[4] or self.dependencies_current(entry[4])

    # -- updates ----------------------------------------------------------------

    def store(self, absolute_path: str, stat: StatKey, digest: str, result: FileResult, dependencies: Any = None) -> None:
        self._entries[absolute_path] = [self._trusted_mtime(stat), stat[1], digest, _encode(result), dependencies or {}]
        self._changed = True

    def _trusted_mtime(self, stat: StatKey) -> Optional[int]:
        mtime_ns = stat[0]
        return None if mtime_ns >= self._started_ns - _RACY_NS else mtime_ns

    def save(self, checked: Sequence[str] = ()) -> None:
        """Write the cache if anything changed.  Entries for files that no longer
        exist are dropped (those checked in this run are known to exist)."""
        if not self._changed:
            return
        checked_set = set(checked)
        entries = {
            path: entry for path, entry in self._entries.items() if path in checked_set or os.path.exists(path)
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            gitignore = self.directory / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# Created by leaklint: the cache is never committed.\n*\n", encoding="utf-8")
            text = json.dumps({"format": _FORMAT, "version": __version__, "entries": entries}, separators=(",", ":"))
            # Write beside, then rename: a reader never sees half a file, and
            # two runs at once just leave the later one's cache.
            descriptor, temporary = tempfile.mkstemp(dir=str(self.directory), prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(temporary, self.file)
            except BaseException:
                _remove_quietly(temporary)
                raise
        except OSError:
            pass  # a read-only checkout or a full disk: the next run checks again
        self._changed = False


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _encode(result: FileResult) -> List[Any]:
    findings = [
        [
            finding.line,
            finding.column,
            finding.end_line,
            finding.end_column,
            finding.code,
            finding.name,
            finding.message,
            _encode_fix(finding.fix),
        ]
        for finding in result.findings
    ]
    return [result.error, list(result.rule_errors), findings]


def _encode_fix(fix: Optional[Fix]) -> Optional[List[Any]]:
    if fix is None:
        return None
    return [fix.title, fix.safety, [[edit.line, edit.column, edit.end_line, edit.end_column, edit.text] for edit in fix.edits]]


def _decode_fix(encoded: Optional[List[Any]]) -> Optional[Fix]:
    if encoded is None:
        return None
    title, safety, edits = encoded
    return Fix(
        str(title),
        str(safety),
        tuple(Edit(int(a), int(b), int(c), int(d), str(text)) for a, b, c, d, text in edits),
    )


def _decode(encoded: List[Any], path: str) -> FileResult:
    """The result as it would be for ``path`` (the same file may be named
    differently from another directory)."""
    error, rule_errors, findings = encoded
    if not (error is None or isinstance(error, str)) or not isinstance(rule_errors, list):
        raise ValueError("malformed cache entry")
    return FileResult(
        path,
        findings=[
            Finding(path, int(a), int(b), int(c), int(d), str(e), str(f), str(g), _decode_fix(fix))
            for a, b, c, d, e, f, g, fix in findings
        ],
        error=error,
        rule_errors=[str(problem) for problem in rule_errors],
    )
