"""Facts about queues shared by the queue rules."""

from __future__ import annotations

from leaklint.analysis.handles import GLOBAL, INSTANCE, LOCAL, Handle


def owned_privately(handle: Handle) -> bool:
    """The queue belongs to code we can see in full: a local, or a private
    (underscored) attribute or module global.  A queue on a public attribute
    or global is an interface other modules may consume: not ours to judge."""
    destination = handle.destination
    if destination.in_container:
        return False
    if destination.kind == LOCAL:
        return True
    if destination.kind in (GLOBAL, INSTANCE):
        return destination.name.startswith("_")
    return False
