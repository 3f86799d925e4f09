"""The pylint plugin: ``pylint --load-plugins=leaklint.pylint``.

Every rule in the registry becomes one pylint message whose symbol is the rule
name, so ``# pylint: disable=dangling-task`` and ``--disable``/``--enable`` by id
or symbol work as for any checker.  Message ids use pylint's plugin range with
checker id 87, derived from the rule code alone so that adding a rule never
renumbers another::

    LL<family>0<n>  ->  W87<family><n>     (LL101 -> W8711, LL402 -> W8742)
    leaklint-internal-error                 F8700

Checker ids 51-99 are left to plugins and nobody allocates them; 87 was checked
against the widely used plugins (pylint-django 51, pylint-pytest 64, perflint
81-84, pylint-odoo 79/81, pylint-airflow 83, pylint's own extensions 55, 56,
60-63, 90).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, List, Type

from pylint.checkers import BaseRawFileChecker

from leaklint.analysis.project import host_index
from leaklint.engine import check_source
from leaklint.registry import all_rules
from leaklint.rule import Rule

if TYPE_CHECKING:
    from astroid import nodes
    from pylint.lint import PyLinter

CHECKER_ID = "87"
INTERNAL_ERROR = "leaklint-internal-error"
INTERNAL_ERROR_ID = f"F{CHECKER_ID}00"
_MAPPABLE_CODE = re.compile(r"^LL(?P<family>[1-9])0(?P<number>[0-9])$")


def message_id(code: str) -> str:
    """The pylint message id of a leaklint code (see the module docstring)."""
    match = _MAPPABLE_CODE.match(code)
    if match is None:
        raise ValueError(f"{code} has no pylint message id: only LL<family>0<n> codes map into checker {CHECKER_ID}")
    return f"W{CHECKER_ID}{match.group('family')}{match.group('number')}"


def _messages() -> Dict[str, tuple]:
    messages: Dict[str, tuple] = {
        message_id(rule.code): (
            f"%s ({rule.code})",
            rule.name,
            f"{rule.summary()} Run `leaklint --explain {rule.code}` for the full documentation.",
        )
        for rule in all_rules()
    }
    messages[INTERNAL_ERROR_ID] = (
        "leaklint internal error: %s",
        INTERNAL_ERROR,
        "A leaklint rule crashed on this file; its findings here are incomplete. Please report it.",
    )
    return messages


class LeaklintChecker(BaseRawFileChecker):
    name = "leaklint"
    msgs = _messages()

    def process_module(self, node: nodes.Module) -> None:
        try:
            self._check(node)
        except Exception as error:  # a plugin must never crash its host
            self._internal_error(f"{type(error).__name__}: {error}")

    def _check(self, node: nodes.Module) -> None:
        rules = self._enabled_rules()
        if not rules:
            return
        # Bytes from the module's stream: the file, or pylint's --from-stdin buffer.
        with node.stream() as stream:
            source = stream.read()
        path = node.file or "<stdin>"
        result = check_source(source, path, rules=rules, project=host_index(path))
        # result.error (undecodable or unparsable file) is left to pylint, which
        # reports its own syntax-error before any raw checker runs.
        for finding in result.findings:
            self.add_message(
                finding.name,
                line=finding.line,
                col_offset=finding.column - 1,
                end_lineno=finding.end_line,
                end_col_offset=finding.end_column - 1,
                args=finding.message,
            )
        if result.rule_errors:
            self._internal_error("; ".join(result.rule_errors))

    def _enabled_rules(self) -> List[Type[Rule]]:
        return [rule for rule in all_rules() if self.linter.is_message_enabled(message_id(rule.code))]

    def _internal_error(self, detail: str) -> None:
        self.add_message(INTERNAL_ERROR, line=1, args=" ".join(detail.split()))


def register(linter: PyLinter) -> None:
    linter.register_checker(LeaklintChecker(linter))
