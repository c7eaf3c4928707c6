"""Group commit of the decision book's audit records: the shared implementation is store/group_commit.py
(the respondent form's writer uses it too)."""
from __future__ import annotations

from smepulse.store.group_commit import GroupCommit as _GroupCommit


class GroupCommit(_GroupCommit):
    def __init__(self, write, window_s: float = 0.002, max_batch: int = 256, linger_s: float = 0.0,
                 linger_window_s: float | None = None):
        super().__init__(write, window_s, max_batch, name="decision book", linger_s=linger_s,
                         linger_window_s=linger_window_s)
