"""Settings: defaults, ``[tool.leaklint]`` in ``pyproject.toml``, then the command line.

Like ruff, the closest ``pyproject.toml`` above the current directory that has a
``[tool.leaklint]`` table is used (or the file given with ``--config``).  An
unknown key, a value of the wrong type or an unknown rule code is an error the
user sees at once, not a setting silently ignored.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9 and 3.10
    import tomli as tomllib

from leaklint.registry import UnknownCodeError, check_selectors

# Directories that never hold the user's own code.
DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".eggs",
    "build",
    "dist",
    "__pycache__",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".leaklint_cache",
)

_MAX_CONFIG_BYTES = 1 << 20  # a pyproject.toml larger than this is not a real one


class ConfigError(Exception):
    pass


@dataclass
class Settings:
    select: List[str] = field(default_factory=lambda: ["LL"])
    ignore: List[str] = field(default_factory=list)
    extend_select: List[str] = field(default_factory=list)
    exclude: List[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    extend_exclude: List[str] = field(default_factory=list)
    per_file_ignores: Dict[str, List[str]] = field(default_factory=dict)
    root: Path = field(default_factory=Path.cwd)  # exclude patterns are relative to it
    config_file: Optional[Path] = None

    def fingerprint(self) -> str:
        """What changes the findings of a file: part of the cache key."""
        return repr((sorted(self.select), sorted(self.ignore), sorted(self.extend_select), sorted(self.per_file_ignores.items())))


_LIST_KEYS = {
    "select": "select",
    "ignore": "ignore",
    "extend-select": "extend_select",
    "exclude": "exclude",
    "extend-exclude": "extend_exclude",
}


def find_config(start: Path) -> Optional[Path]:
    for directory in [start, *start.parents]:
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and _has_leaklint_table(candidate):
            return candidate
    return None


def _has_leaklint_table(path: Path) -> bool:
    try:
        tool = _read_toml(path).get("tool", {})
    except ConfigError:
        return True  # let load_settings report what is wrong with it
    # ``tool = 3`` breaks PEP 518, but it is some other tool's problem, not ours.
    return isinstance(tool, dict) and "leaklint" in tool


def _read_toml(path: Path) -> Dict[str, Any]:
    try:
        if path.stat().st_size > _MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: larger than {_MAX_CONFIG_BYTES} bytes; not a configuration file")
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ConfigError(f"{path}: invalid TOML: {str(error).splitlines()[0] if str(error) else error}") from None


def load_settings(config: Optional[Path] = None, cwd: Optional[Path] = None) -> Settings:
    cwd = cwd or Path.cwd()
    path = config if config is not None else find_config(cwd)
    settings = Settings(root=cwd)
    if path is None:
        return settings
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    tool = _read_toml(path).get("tool", {})
    table = tool.get("leaklint", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.leaklint] must be a table")
    settings.root = path.parent.resolve()
    settings.config_file = path
    for key, value in table.items():
        if key in _LIST_KEYS:
            setattr(settings, _LIST_KEYS[key], _string_list(path, key, value))
        elif key == "per-file-ignores":
            settings.per_file_ignores = _per_file_ignores(path, value)
        else:
            known = ", ".join(sorted([*_LIST_KEYS, "per-file-ignores"]))
            raise ConfigError(f"{path}: unknown key {key!r} in [tool.leaklint] (known: {known})")
    validate_codes(settings, str(path))
    return settings


def validate_codes(settings: Settings, where: str) -> None:
    codes = [*settings.select, *settings.ignore, *settings.extend_select]
    for patterns in settings.per_file_ignores.values():
        codes.extend(patterns)
    try:
        check_selectors(codes)
    except UnknownCodeError as error:
        raise ConfigError(f"{where}: {error}") from None


def _string_list(path: Path, key: str, value: Any) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{path}: {key} must be a list of strings")
    return list(value)


def _per_file_ignores(path: Path, value: Any) -> Dict[str, List[str]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: per-file-ignores must be a table of pattern = [codes]")
    return {pattern: _string_list(path, f"per-file-ignores.{pattern}", codes) for pattern, codes in value.items()}
