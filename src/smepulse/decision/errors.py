"""The decision layer's one error kind (a SmepulseError: one line, CLI exit 2)."""
from __future__ import annotations

from smepulse.errors import SmepulseError


class DecisionError(SmepulseError):
    """An application, a policy file, a snapshot or an audit record that cannot be used as given."""
