"""Which files to check: walk the given paths the way ruff does.

Directories are walked for ``*.py``; excluded directories (defaults, ``exclude``,
``extend-exclude``), virtual environments and whatever ``.gitignore`` files
ignore are skipped.  A file named on the command line is always checked, unless
``force_exclude`` is set (for pre-commit, which names every changed file).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple

import pathspec

from leaklint.config import Settings


class PathError(Exception):
    """A path given by the user does not exist or cannot be read."""


class FileWalker:
    def __init__(self, settings: Settings, force_exclude: bool = False):
        self.settings = settings
        self.force_exclude = force_exclude
        self._patterns = [*settings.exclude, *settings.extend_exclude]
        self.errors: List[Tuple[str, str]] = []  # (path, message) for what could not be walked

    def is_excluded(self, path: Path) -> bool:
        """Whether ``path``, or a directory it is in below the project root,
        is excluded: what --force-exclude applies to the paths it is given
        (pre-commit names ``generated/client.py``, the pattern says
        ``generated``)."""
        root = self.settings.root.absolute()
        absolute = path.absolute()
        if absolute == root:
            return False
        if root in absolute.parents:
            candidates = [absolute, *(parent for parent in absolute.parents if root in parent.parents)]
        else:  # outside the project: only the components the user wrote
            candidates = [path, *(parent for parent in path.parents if parent.name)]
        return any(self._matches(candidate) for candidate in candidates)

    def files(self, paths: Iterable[str]) -> Iterator[str]:
        """Python files under ``paths``, each once, in a stable order."""
        seen = set()
        for raw in paths:
            path = Path(raw)
            if raw == "-":
                yield raw
                continue
            if not path.exists() and not path.is_symlink():
                self.errors.append((raw, "no such file or directory"))
                continue
            if path.is_dir():
                if self.force_exclude and self.is_excluded(path):
                    continue
                found = self._walk(path)
            else:
                if self.force_exclude and self.is_excluded(path):
                    continue
                found = [raw]
            for file in found:
                key = os.path.normcase(os.path.abspath(file))
                if key not in seen:
                    seen.add(key)
                    yield file

    def _walk(self, top: Path) -> List[str]:
        found: List[str] = []
        ignores: List[Tuple[Path, pathspec.PathSpec]] = _enclosing_gitignores(top)

        def on_error(error: OSError) -> None:
            self.errors.append((error.filename or str(top), f"cannot read directory: {error.strerror}"))

        for directory, dirnames, filenames in os.walk(top, onerror=on_error):
            here = Path(directory)
            spec = _read_gitignore(here)
            if spec is not None:
                ignores = [(base, s) for base, s in ignores if _is_within(here, base)] + [(here, spec)]
            kept_dirs = []
            for name in sorted(dirnames):
                child = here / name
                if self._matches(child) or _is_virtualenv(child):
                    continue
                if _ignored(ignores, child, True):
                    continue
                kept_dirs.append(name)
            dirnames[:] = kept_dirs
            for name in sorted(filenames):
                if not name.endswith(".py"):
                    continue
                child = here / name
                if self._matches(child) or _ignored(ignores, child, False):
                    continue
                found.append(str(child))
        return found

    def _matches(self, path: Path) -> bool:
        """The paths the user names are not matched themselves, so
        ``leaklint fixtures/`` checks an excluded ``fixtures`` directory."""
        return any(matches_pattern(path, pattern, self.settings.root) for pattern in self._patterns)


def matches_pattern(path: Path, pattern: str, root: Path) -> bool:
    """Like ruff: a pattern (``exclude``, ``per-file-ignores``) matches a
    path's name or its whole path relative to the project root."""
    try:
        relative = path.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        relative = path.as_posix()
    pattern = pattern.rstrip("/")
    return fnmatch.fnmatchcase(path.name, pattern) or fnmatch.fnmatchcase(relative, pattern)


def _is_virtualenv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file()


def _is_within(path: Path, base: Path) -> bool:
    return path == base or base in path.parents


def _read_gitignore(directory: Path) -> Optional[pathspec.PathSpec]:
    try:
        lines = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _enclosing_gitignores(top: Path) -> List[Tuple[Path, pathspec.PathSpec]]:
    """The .gitignore files above ``top`` up to the repository root.

    One that ignores ``top`` itself (or a directory between it and ``top``) is
    dropped: the user named ``top``, so they want it checked."""
    top = top.absolute()
    found = []
    for directory in top.parents:
        spec = _read_gitignore(directory)
        if spec is not None and not _ignores_path_to(spec, directory, top):
            found.append((directory, spec))
        if (directory / ".git").exists():
            break
    else:
        return []  # not in a git repository: .gitignore files above do not apply
    return list(reversed(found))


def _ignores_path_to(spec: pathspec.PathSpec, base: Path, top: Path) -> bool:
    relative = top.relative_to(base).parts
    return any(spec.match_file("/".join(relative[:end]) + "/") for end in range(1, len(relative) + 1))


def _ignored(ignores: List[Tuple[Path, pathspec.PathSpec]], path: Path, is_dir: bool) -> bool:
    for base, spec in ignores:
        try:
            relative = path.absolute().relative_to(base.absolute()).as_posix()
        except ValueError:
            continue
        if spec.match_file(relative + ("/" if is_dir else "")):
            return True
    return False
