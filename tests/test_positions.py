"""Positions computed for reported nodes only must equal libcst's PositionProvider."""

from __future__ import annotations

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from leaklint.analysis.tree import walk_all
from leaklint.positions import positions
from tests.expectations import FIXTURES, fixture_files

SAMPLES = {
    "crlf": "import asyncio\r\nasync def f():\r\n    asyncio.create_task(g())\r\n",
    "cr only": "x = 1\rwhile True:\r    f()\r",
    "non-ascii": "s = 'ßü€'; t = f('é', g(1))\nwhile True: h('日本')\n",
    "tabs": "if x:\n\twhile True:\n\t\tf(a,\n\t\t  b)\n",
    "decorated": "@dec(1)\nclass A:\n    @prop\n    def f(self): return g()\n",
    "nested parens": "x = ((f)(1))\n",
}


def _check(module: cst.Module) -> None:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    expected = wrapper.resolve(PositionProvider)
    nodes = [node for node in walk_all(module) if isinstance(node, (cst.Call, cst.While, cst.Attribute, cst.FunctionDef))]
    assert nodes
    found = positions(module, nodes)
    for node in nodes:
        want = expected[node]
        assert found[node] == (want.start.line, want.start.column, want.end.line, want.end.column), cst.Module([]).code_for_node(node)


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_positions_match_libcst(path):
    _check(cst.parse_module(path.read_bytes()))


@pytest.mark.parametrize("source", SAMPLES.values(), ids=SAMPLES.keys())
def test_tricky_positions_match_libcst(source):
    _check(cst.parse_module(source))


def test_a_subset_of_nodes_gets_the_same_positions_as_all():
    module = cst.parse_module(SAMPLES["non-ascii"])
    calls = [node for node in walk_all(module) if isinstance(node, cst.Call)]
    everything = positions(module, calls)
    for call in calls:
        assert positions(module, [call]) == {call: everything[call]}
