"""The engine's parse skips libcst's per-node validation, and only there."""

import libcst as cst
import pytest

from leaklint import engine
from leaklint.analysis.names import ImportTable
from leaklint.analysis.tree import SyntaxTree


def test_nodes_built_outside_the_parse_are_still_validated():
    # ``Name`` refuses an empty value; importing the engine must not change that.
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")


def test_validation_is_back_after_a_parse_that_fails():
    with pytest.raises(engine.SourceError):
        engine._parse("def f(:\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")


def test_the_unvalidated_parse_gives_the_same_tree():
    source = "import asyncio as aio\n\nasync def f(x):\n    await aio.sleep(x)\n    return [y for y in x if y]\n"
    assert engine._parse(source).deep_equals(cst.parse_module(source))
    assert engine._parse(source).code == source


def test_qualified_names_of_names_no_import_binds():
    module = cst.parse_module("import asyncio\nfrom queue import Queue as Q\ndef f(self):\n    self.x()\n    Q()\n    asyncio.sleep(1)\n")
    tree = SyntaxTree(module)
    imports = ImportTable(tree)
    found = {module.code_for_node(call.func): imports.qualified_names(call.func) for call in tree.calls}
    assert found == {"self.x": frozenset(), "Q": {"queue.Queue"}, "asyncio.sleep": {"asyncio.sleep"}}
