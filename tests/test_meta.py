"""Every rule is complete: a unique code and name, documentation with the fixed
sections, a generated docs page that is up to date, a fixture that flags it and
shows correct code beside it, and documentation examples that behave as they say."""

from __future__ import annotations

import re
import sys

import pytest

from leaklint import check_source
from leaklint.registry import all_rules
from tests.expectations import FIXTURES, ROOT, expected

sys.path.insert(0, str(ROOT / "scripts"))
import document_rules  # noqa: E402

SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")
RULES = all_rules()
# The documentation's examples are fragments: they assume the usual imports.
PRELUDE = (
    "import asyncio, multiprocessing, queue, subprocess, threading\n"
    "from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor\n"
)


def test_codes_and_names_are_unique():
    assert len({rule.code for rule in RULES}) == len(RULES)
    assert len({rule.name for rule in RULES}) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.code)
def test_rule_documentation_has_every_section(rule):
    documentation = rule.documentation()
    for section in SECTIONS:
        assert section in documentation, f"{rule.code} lacks {section}"
    assert rule.summary().endswith("."), "the summary is one sentence"


def test_docs_pages_are_up_to_date():
    stale = [str(path) for path, text in document_rules.pages().items() if not path.is_file() or path.read_text(encoding="utf-8") != text]
    assert not stale, f"run python scripts/document_rules.py: {stale}"


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.code)
def test_rule_has_a_fixture_with_flagged_and_clean_cases(rule):
    family = rule.__module__.split(".")[2]
    fixture = FIXTURES / family / (rule.__module__.split(".")[-1] + ".py")
    assert fixture.is_file()
    codes = {code for _, code in expected(fixture)}
    assert rule.code in codes
    assert "left alone" in fixture.read_text(encoding="utf-8"), "the fixture shows the correct idioms too"


def _code_blocks(documentation: str, section: str):
    body = documentation.split(section, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, re.S)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.code)
def test_documented_example_is_flagged_and_fix_is_not(rule):
    documentation = rule.documentation()
    for example in _code_blocks(documentation, "## Example"):
        codes = {finding.code for finding in check_source(PRELUDE + example).findings}
        assert rule.code in codes, example
    fixes = _code_blocks(documentation, "## Use instead")
    assert fixes
    for fix in fixes:
        result = check_source(PRELUDE + fix)
        assert result.error is None, fix
        assert rule.code not in {finding.code for finding in result.findings}, fix


def test_readme_lists_every_rule():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert rule.code in readme and rule.name in readme
