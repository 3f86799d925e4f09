"""Writing changed sources back (``--fix``, ``--add-noqa``) without ever losing
the user's file.

- The file is decoded as the interpreter decodes it and written back in the
  same encoding, byte-order mark included; a file whose bytes would not come
  back unchanged from that round trip is not written at all.
- The new content goes to a temporary file beside the original, which then
  replaces it in one rename: a crash leaves the old file or the new one, never
  half of either.  The file's mode is kept.
- A symbolic link is written through (the link stays a link), but only when
  its target lies inside the checked paths.  A file with other hard links is
  not changed: the rename would leave them with the old content.
- A file whose content changed on disk since it was read is not overwritten.
"""

from __future__ import annotations

import io
import os
import stat as stat_module
import tempfile
import tokenize
from dataclasses import dataclass
from typing import Iterable, List

from leaklint.cache import content_hash
from leaklint.engine import SourceError, decode_source
from leaklint.runner import read_regular_file


class RewriteError(Exception):
    """The file cannot be changed; the message is the one line users see."""


@dataclass
class SourceFile:
    path: str  # as the user named it
    real_path: str  # symbolic links resolved: the file that is written
    data: bytes
    encoding: str
    text: str
    status: os.stat_result

    def encode(self, text: str) -> bytes:
        try:
            return text.encode(self.encoding)  # "utf-8-sig" writes the byte-order mark again
        except UnicodeEncodeError as error:
            raise RewriteError(f"the changed text cannot be written as {self.encoding}: {error.reason}") from None


def read_source_file(path: str) -> SourceFile:
    real_path = os.path.realpath(path)
    try:
        data, status = read_regular_file(real_path)
    except OSError as error:
        raise RewriteError(f"cannot read: {error.strerror or error}") from None
    try:
        text = decode_source(data)
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except (SourceError, SyntaxError) as error:
        raise RewriteError(str(error)) from None
    source = SourceFile(path, real_path, data, encoding, text, status)
    try:
        round_trip = source.encode(text)
    except RewriteError:
        round_trip = b""
    if round_trip != data:
        raise RewriteError(f"its bytes would not survive decoding and encoding as {encoding}: not changed")
    return source


def allowed_roots(paths: Iterable[str]) -> List[str]:
    """Where files may be written: the checked directories (links resolved:
    the user named them), and for a file named on the command line, its own
    directory (a link named there is followed only to a file beside it or below)."""
    roots = []
    for path in paths:
        if path == "-":
            continue
        if os.path.isdir(path):
            roots.append(os.path.realpath(path))
        else:
            roots.append(os.path.realpath(os.path.dirname(os.path.abspath(path))))
    return roots


def _inside(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def write_back(source: SourceFile, text: str, roots: Iterable[str]) -> None:
    """Replace ``source``'s file with ``text``, or raise :class:`RewriteError`."""
    if not _inside(source.real_path, roots):
        raise RewriteError(f"is a link to {source.real_path}, outside the checked paths: not changed")
    if source.status.st_nlink > 1:
        raise RewriteError("has other hard links, which a rename would leave behind: not changed")
    data = source.encode(text)
    directory, name = os.path.split(source.real_path)
    try:
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".leaklint")
    except OSError as error:
        raise RewriteError(f"cannot write beside it: {error.strerror or error}") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, stat_module.S_IMODE(source.status.st_mode))
        _keep_owner(temporary, source.status)
        try:
            current, _ = read_regular_file(source.real_path)
        except OSError as error:
            raise RewriteError(f"cannot read it again before writing: {error.strerror or error}") from None
        if content_hash(current) != content_hash(source.data):
            raise RewriteError("changed on disk while leaklint was fixing it: not overwritten")
        os.replace(temporary, source.real_path)
    except OSError as error:
        _remove_quietly(temporary)
        raise RewriteError(f"cannot write: {error.strerror or error}") from None
    except BaseException:
        _remove_quietly(temporary)
        raise


def _keep_owner(path: str, status: os.stat_result) -> None:
    if hasattr(os, "chown") and (status.st_uid, status.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.chown(path, status.st_uid, status.st_gid)
        except OSError:
            pass  # only the owner's group may be ours to give; the mode is kept anyway


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
