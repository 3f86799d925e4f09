"""``pylint --load-plugins=leaklint.pylint``: the name users type.

The checker lives in ``leaklint.adapters.pylint``.  Every import here and there
is absolute, so this module never stands in for the real ``pylint``."""

from __future__ import annotations

from leaklint.adapters.pylint import register

__all__ = ["register"]
