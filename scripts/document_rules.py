"""Write docs/rules/ from the rules' docstrings: one page per rule and an index.

Run after changing a rule's documentation:  python scripts/document_rules.py
tests/test_meta.py fails while the pages are out of date."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leaklint.registry import all_rules  # noqa: E402
from leaklint.rule import Rule  # noqa: E402

DOCS = ROOT / "docs" / "rules"


def rule_page(rule: type) -> str:
    assert issubclass(rule, Rule)
    family = rule.__module__.split(".")[2]
    fixture = f"fixtures/{family}/{rule.__module__.split('.')[-1]}.py"
    documentation = rule.documentation()
    if "## Fix safety" not in documentation:  # every page says whether there is a fix
        documentation += "\n\n## Fix safety\nNo fix is offered: the right change depends on what the code means (see [Fixes](../fixes.md))."
    return (
        f"# {rule.code} `{rule.name}`\n\n"
        f"{documentation}\n\n"
        f"## Suppression\n"
        f"`# noqa: {rule.code}` on the reported line (leaklint and flake8), "
        f"`# pylint: disable={rule.name}` (pylint).\n\n"
        f"Fixture with flagged and correct cases: [`{fixture}`](../../{fixture})\n"
    )


def index_page() -> str:
    rows = "\n".join(f"| [{rule.code}]({rule.code}.md) | `{rule.name}` | {rule.summary()} |" for rule in all_rules())
    return f"# Rules\n\n| code | name | what it reports |\n|---|---|---|\n{rows}\n"


def pages() -> Dict[Path, str]:
    result = {DOCS / f"{rule.code}.md": rule_page(rule) for rule in all_rules()}
    result[DOCS / "README.md"] = index_page()
    return result


def main() -> int:
    DOCS.mkdir(parents=True, exist_ok=True)
    for path, text in pages().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
