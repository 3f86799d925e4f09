"""Does a wait block until someone else acts, with no way out of its own?

``q.get()``, ``event.wait()`` and ``condition.wait()`` return when another
thread or task puts, sets or notifies.  (``condition.wait_for(predicate)``
returns at once when the predicate already holds: whether it can block is
not ours to tell.)  Given a timeout (``wait(1)``,
``get(timeout=5)``, ``get(block=False)``), inside ``asyncio.wait_for`` or under
``async with asyncio.timeout(...)``, they end on their own: only a wait with
none of these can block forever.  Anything we cannot read (``*args``, a
variable ``block``) counts as a way out.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import libcst as cst

from leaklint.analysis.creations import CONDITION, EVENT, QUEUE
from leaklint.analysis.names import ImportTable
from leaklint.analysis.tree import SyntaxTree

# (kind, method) -> (position of ``block``, position of ``timeout``) in the
# threading/queue/multiprocessing signatures; asyncio's take neither.
_SIGNATURES: Dict[Tuple[str, str], Tuple[Optional[int], int]] = {
    (QUEUE, "get"): (0, 1),
    (EVENT, "wait"): (None, 0),
    (CONDITION, "wait"): (None, 0),
}

# Context managers that cancel what runs under them after a while.
_TIMEOUT_CONTEXTS = frozenset(
    {
        "asyncio.timeout",
        "asyncio.timeout_at",
        "asyncio.timeouts.timeout",
        "async_timeout.timeout",
        "anyio.fail_after",
        "anyio.move_on_after",
    }
)


def waits_forever(tree: SyntaxTree, imports: ImportTable, call: cst.Call, kind: str, asynchronous: bool) -> bool:
    """``call`` (``x.get(...)``, ``x.wait(...)``, ``x.wait_for(...)`` on a
    queue, event or condition of ``kind``) waits with no timeout of its own."""
    method = call.func.attr.value if isinstance(call.func, cst.Attribute) else None
    signature = _SIGNATURES.get((kind, method))
    if signature is None or tree.expected_to_raise(call):
        return False  # not a wait we know, or one the test expects to fail at once
    if asynchronous:
        # The call only makes a coroutine: it waits where it is awaited, and
        # ``asyncio.wait_for(q.get(), 5)`` hands it to something with a timeout.
        return isinstance(tree.parent.get(call), cst.Await) and not _under_timeout(tree, imports, call)
    block_position, timeout_position = signature
    for position, arg in enumerate(call.args):
        if arg.star:
            return False
        name = arg.keyword.value if arg.keyword is not None else None
        if name == "timeout" or (name is None and position == timeout_position):
            if not _is_constant(arg.value, "None"):
                return False
        elif name == "block" or (name is None and position == block_position):
            if not _is_constant(arg.value, "True"):
                return False
    return True


def _is_constant(expr: cst.BaseExpression, value: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == value


def _under_timeout(tree: SyntaxTree, imports: ImportTable, node: cst.CSTNode) -> bool:
    """``node`` runs under ``async with asyncio.timeout(...)`` in its own function."""
    for ancestor in tree.ancestors(node):
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        if isinstance(ancestor, cst.With):
            for item in ancestor.items:
                if isinstance(item.item, cst.Call) and imports.resolves_to(item.item.func, *_TIMEOUT_CONTEXTS):
                    return True
    return False
