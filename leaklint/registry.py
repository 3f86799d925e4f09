"""Every rule, found by walking ``leaklint.rules``: no hand-kept list to forget."""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import lru_cache
from typing import Dict, Iterable, List, Sequence, Tuple, Type

from leaklint.rule import Rule

# LL<family>0<n>: family 1-9, rule 0-9.  The middle 0 keeps every code
# expressible as a pylint message id (W87<family><n>, one checker: one parse).
_CODE = re.compile(r"^LL[1-9]0[0-9]$")
_NAME = re.compile(r"^[a-z]+(-[a-z]+)*$")


class UnknownCodeError(ValueError):
    pass


@lru_cache(maxsize=None)
def all_rules() -> Tuple[Type[Rule], ...]:
    """All rules, ordered by code; raises if two share a code or a name."""
    import leaklint.rules as package

    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
    rules = sorted(_rule_classes(Rule), key=lambda rule: rule.code)
    _check_unique(rules)
    return tuple(rules)


def _rule_classes(base: type) -> Iterable[type]:
    """Every subclass of ``base`` defined under ``leaklint.rules`` (base classes
    such as HandleRule live in ``leaklint.rule`` and are skipped)."""
    for subclass in base.__subclasses__():
        if subclass.__module__.startswith("leaklint.rules."):
            yield subclass
        yield from _rule_classes(subclass)


def _check_unique(rules: Sequence[Type[Rule]]) -> None:
    seen: Dict[str, str] = {}
    for rule in rules:
        if not _CODE.match(rule.code) or not _NAME.match(rule.name):
            raise ValueError(f"{rule.__name__}: bad code {rule.code!r} or name {rule.name!r}")
        for key in (rule.code, rule.name):
            if key in seen:
                raise ValueError(f"{rule.__name__} and {seen[key]} share {key!r}")
            seen[key] = rule.__name__


def rule_by_code(code: str) -> Type[Rule]:
    for rule in all_rules():
        if rule.code == code.upper() or rule.name == code:
            return rule
    raise UnknownCodeError(f"unknown rule {code!r}")


def check_selectors(selectors: Iterable[str]) -> None:
    """Raise UnknownCodeError for a code or prefix that matches no rule."""
    for selector in selectors:
        if not any(_matches(rule.code, selector) for rule in all_rules()):
            raise UnknownCodeError(f"unknown rule code or prefix {selector!r}")


def _matches(code: str, selector: str) -> bool:
    selector = selector.strip().upper()
    return selector == "ALL" or code.startswith(selector)


def _specificity(selector: str) -> int:
    """``ALL`` is the least specific selector; otherwise the longer, the more."""
    selector = selector.strip().upper()
    return 0 if selector == "ALL" else len(selector)


def select_rules(
    select: Iterable[str] = ("LL",), ignore: Iterable[str] = (), extend_select: Iterable[str] = ()
) -> List[Type[Rule]]:
    """The rules a selection enables: like ruff, the longest matching selector
    wins, so ``--select LL --ignore LL1 --select LL102`` style overlaps resolve
    the way a reader expects; on a tie, ignore wins."""
    selected = list(select) + list(extend_select)
    ignored = list(ignore)
    check_selectors(selected + ignored)
    enabled = []
    for rule in all_rules():
        best_select = max((_specificity(s) for s in selected if _matches(rule.code, s)), default=-1)
        best_ignore = max((_specificity(s) for s in ignored if _matches(rule.code, s)), default=-1)
        if best_select >= 0 and best_select > best_ignore:
            enabled.append(rule)
    return enabled
