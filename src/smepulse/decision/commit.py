"""Group commit of the decision book's audit records: the shared implementation is store/group_commit.py
(the respondent form's writer uses it too)."""
from __future__ import annotations

from smepulse.store.group_commit import GroupCommit as _GroupCommit


class GroupCommit(_GroupCommit):
    """The shared writer under the decision book's name (its errors and thread say which writer it is)."""

    def __init__(self, write, window_s: float = 0.002, **options):
        super().__init__(write, window_s, name="decision book", **options)
