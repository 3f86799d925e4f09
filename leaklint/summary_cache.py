"""Module summaries of earlier runs, by content hash, beside the result cache.

A summary depends on the file's bytes and on leaklint's own code only, so it is
stored under the file's content hash (``summaries-<stamp>/<ab>/<hash>.json``,
the stamp changing with leaklint's source): a file moved, renamed or checked
from another checkout shares its entry, and worker processes can write at once
(each file is written beside, then renamed into place).  An index file
(``--write-index``/``--index``) holds the same entries in one JSON document for
a CI that shards a monorepo over several jobs.

Like the result cache, it is an optimisation only: anything missing, corrupt or
unwritable is ignored and the summary is computed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from leaklint import __version__
from leaklint.analysis.summary import FORMAT, ModuleSummary

_INDEX_FORMAT = 1


@lru_cache(maxsize=None)
def summary_stamp() -> str:
    """What a summary depends on besides the file: the summary format and
    leaklint's own code."""
    from leaklint.cache import _source_stamp  # leaklint.cache imports the rules, which import the analysis

    parts = (str(FORMAT), __version__, _source_stamp())
    return hashlib.blake2b("\0".join(parts).encode("utf-8"), digest_size=8).hexdigest()


class SummaryCache:
    """Summaries by content hash: in memory, on disk under ``directory`` (None:
    memory only), and preloaded from index files."""

    def __init__(self, directory: Optional[Path] = None):
        self._memory: Dict[str, ModuleSummary] = {}
        self._directory = Path(directory) / f"summaries-{summary_stamp()}" if directory is not None else None

    def get(self, digest: str) -> Optional[ModuleSummary]:
        summary = self._memory.get(digest)
        if summary is None and self._directory is not None:
            try:
                with open(self._file(digest), "rb") as handle:
                    summary = ModuleSummary.from_json(handle.read())
            except (OSError, ValueError, RecursionError):
                return None
            self._memory[digest] = summary
        return summary

    def put(self, digest: str, summary: ModuleSummary) -> None:
        self._memory[digest] = summary
        if self._directory is None:
            return
        target = self._file(digest)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=str(target.parent), prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                    handle.write(summary.to_json())
                os.replace(temporary, target)
            except BaseException:
                _remove_quietly(temporary)
                raise
        except OSError:
            pass  # read-only or full: the next run computes it again

    def _file(self, digest: str) -> Path:
        assert self._directory is not None
        return self._directory / digest[:2] / f"{digest}.json"

    # -- index files --------------------------------------------------------------

    def load_index(self, file: Path) -> int:
        """Take every summary of an index file; how many.  Raises OSError or
        ValueError for a file that is not one."""
        with open(file, "rb") as handle:
            document = json.loads(handle.read())
        if not isinstance(document, dict) or document.get("format") != _INDEX_FORMAT:
            raise ValueError(f"{file}: not a leaklint index (format {_INDEX_FORMAT})")
        if document.get("stamp") != summary_stamp():
            return 0  # written by another leaklint: its summaries may differ from ours
        count = 0
        for entry in document.get("modules", {}).values():
            try:
                self._memory[str(entry["hash"])] = ModuleSummary.from_data(entry["summary"])
                count += 1
            except (KeyError, TypeError, ValueError):
                continue
        return count


def write_index(file: Path, modules: Iterable[Tuple[str, str, ModuleSummary]]) -> None:
    """Write ``(path, content hash, summary)`` entries as one index file."""
    document = {
        "format": _INDEX_FORMAT,
        "stamp": summary_stamp(),
        "modules": {path: {"hash": digest, "summary": summary.to_data()} for path, digest, summary in sorted(modules)},
    }
    Path(file).write_text(json.dumps(document, sort_keys=True, separators=(",", ":")), encoding="utf-8")


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def index_files(file: Path, paths: Iterable[str]) -> Tuple[int, List[Tuple[str, str]]]:
    """Summarise ``paths`` (with Python's parser only: no rule runs) into the
    index file ``file``; how many were indexed, and the (path, reason) of
    those that could not be read."""
    from leaklint.analysis.summary import summarize
    from leaklint.cache import content_hash
    from leaklint.runner import read_regular_file

    entries = []
    errors = []
    for path in paths:
        try:
            data, _ = read_regular_file(path)
        except OSError as error:
            errors.append((path, f"cannot read: {error.strerror or error}"))
            continue
        entries.append((os.path.abspath(path), content_hash(data), summarize(data)))
    write_index(file, entries)
    return len(entries), errors
