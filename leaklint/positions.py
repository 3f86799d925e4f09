"""Positions for the few nodes that were reported, not for every node.

libcst's PositionProvider tracks line and column through every token of the
module: about twice the cost of the parse.  Findings are rare, so this state
generates the code once, remembers only *token indexes* for the reported nodes
(and for the child nodes libcst borrows their start or end from), and turns
those indexes into lines and columns in one pass at the end.  The results are
the same as PositionProvider's, which a test checks.  Generation stops as soon
as the last reported node is complete.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Dict, Iterable, Iterator, Optional, Set, Tuple

import libcst as cst
from libcst._nodes.internal import CodegenState

Range = Tuple[int, int, int, int]  # start line, start column, end line, end column (libcst's: 1-based lines, 0-based columns)


class _AllFound(Exception):
    """Raised to stop code generation once every target has its span."""


class _IndexRecordingState(CodegenState):
    def __init__(self, module: cst.Module, targets: Set[cst.CSTNode]):
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.wanted = set(targets)
        self.missing = len(targets)
        self.targets = targets
        self.starts: Dict[cst.CSTNode, int] = {}
        self.spans: Dict[cst.CSTNode, Tuple[int, int]] = {}

    def _record(self, node: cst.CSTNode, span: Tuple[int, int]) -> None:
        self.spans[node] = span
        if node in self.targets:
            self.missing -= 1
            if not self.missing:
                raise _AllFound  # the rest of the module cannot matter

    def before_codegen(self, node: cst.CSTNode) -> None:
        if node in self.wanted:
            self.starts[node] = len(self.tokens)

    def after_codegen(self, node: cst.CSTNode) -> None:
        if node in self.wanted and node not in self.spans:
            self._record(node, (self.starts[node], len(self.tokens)))

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: Optional[cst.CSTNode] = None,
        end_node: Optional[cst.CSTNode] = None,
    ) -> Iterator[None]:
        if node not in self.wanted:
            yield
            return
        for borrowed in (start_node, end_node):
            if borrowed is not None:
                self.wanted.add(borrowed)
        start = len(self.tokens)
        try:
            yield
        finally:
            end = len(self.tokens)
            if start_node is not None:
                start = self.spans[start_node][0]
            if end_node is not None:
                end = self.spans[end_node][1]
            self._record(node, (start, end))


def positions(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> Dict[cst.CSTNode, Range]:
    """The syntactic range of each of ``nodes`` (which belong to ``module``)."""
    targets = list(nodes)
    if not targets:
        return {}
    state = _IndexRecordingState(module, set(targets))
    try:
        module._codegen(state)
    except _AllFound:
        pass
    index_to_position = _index_positions(state.tokens, {i for span in state.spans.values() for i in span})
    result = {}
    for node in targets:
        start, end = state.spans[node]
        result[node] = index_to_position[start] + index_to_position[end]
    return result


def _index_positions(tokens, wanted_indexes: Set[int]) -> Dict[int, Tuple[int, int]]:
    """(line, column) at each wanted token index."""
    result = {}
    line, column = 1, 0
    for index in range(len(tokens) + 1):
        if index in wanted_indexes:
            result[index] = (line, column)
            if len(result) == len(wanted_indexes):
                break
        if index == len(tokens):
            break
        token = tokens[index]
        newlines = token.count("\n") + token.count("\r") - token.count("\r\n")
        if newlines:
            line += newlines
            column = len(token) - max(token.rfind("\n"), token.rfind("\r")) - 1
        else:
            column += len(token)
    return result
