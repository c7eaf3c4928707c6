"""store/group_commit.py's linger: items that arrive at a steady rate, less than linger_s apart, are written two
or more at a time; a caller that sends its next item only once the last is answered, by a write that takes
longer than the linger (a DuckDB batch: ~8 ms against a 12 ms linger plus the HTTP round trip), never waits."""
from __future__ import annotations

import threading
import time

from smepulse.store.group_commit import GroupCommit


class Recorder:
    """A write that records each batch's size (a real GroupCommit around it: nothing of it is mocked)."""

    def __init__(self, takes: float = 0.0):
        self.sizes: list[int] = []
        self.lock = threading.Lock()
        self.takes = takes

    def __call__(self, items: list) -> list:
        with self.lock:
            self.sizes.append(len(items))
        time.sleep(self.takes)
        return list(items)


def test_a_steady_stream_is_written_two_or_more_at_a_time():
    rec = Recorder()
    gc = GroupCommit(rec, window_s=0.001, linger_s=0.06, name="test")
    futs = []
    for i in range(12):  # one every 20 ms: well inside the linger
        futs.append(gc.submit(i))
        time.sleep(0.02)
    assert [f.result(5) for f in futs] == list(range(12))
    gc.close()
    assert sum(rec.sizes) == 12
    assert max(rec.sizes) >= 2 and len(rec.sizes) <= 8, rec.sizes  # without linger: twelve batches of one


def test_without_linger_the_same_stream_goes_one_by_one():
    rec = Recorder()
    gc = GroupCommit(rec, window_s=0.001, name="test")
    futs = []
    for i in range(6):
        futs.append(gc.submit(i))
        time.sleep(0.02)
    [f.result(5) for f in futs]
    gc.close()
    assert rec.sizes == [1] * 6


def test_a_caller_that_waits_for_each_answer_does_not_wait_for_the_linger():
    rec = Recorder(takes=0.1)
    gc = GroupCommit(rec, window_s=0.001, linger_s=0.06, name="test")
    t = time.monotonic()
    for i in range(6):  # each sent as soon as the one before is answered: 100 ms apart, more than the linger
        assert gc.submit(i).result(5) == i
    took = time.monotonic() - t
    gc.close()
    assert rec.sizes == [1] * 6
    assert took < 6 * 0.1 + 0.06 * 3, took  # six writes and no lingering (six lingers: 0.96 s)
