"""Group commit: one writer thread writes the records that arrive within a short window in one
transaction, so a burst of writes (decisions, respondents' submissions) pays one disk sync instead of one
each. The decision book (decision/book.py) and the respondent form (web/submissions.py) both use it.

submit(item) answers a Future that resolves (with `write`'s result for the item) only after the
transaction holding it has committed, so a caller that waits on it answers its client only once its
record is durable. A batch that fails is written again one item at a time, so one bad record cannot
take the others down with it; that item's Future carries the error.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future


class GroupCommit:
    def __init__(self, write: Callable[[list], list], window_s: float = 0.002, max_batch: int = 256,
                 name: str = "writer", linger_s: float = 0.0, fail_whole: tuple[type[BaseException], ...] = (),
                 linger_window_s: float | None = None):
        """write(items) -> one result per item, in one transaction; name: for errors and the thread's name.
        The first item of a batch waits window_s for others; linger_s (longer) instead when each of the two items
        before it came less than linger_s after the one before (a steady rate, not a caller that sends its next
        item once the last is answered), until a second item comes (then window_s from it): items arriving one by
        one at a steady rate are then written two or more at a time, which costs less per item when a
        transaction's cost is mostly per statement (DuckDB).
        fail_whole: errors that say the store cannot take any item now (a lock not granted in time): every item of
        the batch gets it at once, instead of each being written again alone (and waiting as long again).
        linger_window_s: the window from the second item of a lingering batch (default window_s): at a steady rate
        the third comes a whole gap later, so a shorter one only saves the wait."""
        self._write, self.window_s, self.max_batch, self.name = write, window_s, max_batch, name
        self.linger_s, self.fail_whole = linger_s, fail_whole
        self.linger_window_s = window_s if linger_window_s is None else linger_window_s
        self._last, self._gap = float("-inf"), float("inf")  # when the latest item came, and the gap before it
        self._queue: deque[tuple[float, object, Future, float]] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        # how many queued items make it worth waking the writer: 1 while it waits for work, 2 while the first
        # lingers for a second, max_batch while it collects its window, never while it writes (it looks at the
        # queue before waiting again). A needless notify wakes the writer thread only to sleep again: it showed
        # as 6% of the event loop's samples at 200 decisions/s
        self._wake_at = 1

    def submit(self, item) -> Future:
        fut: Future = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError(f"the {self.name} is closed")
            t = time.monotonic()
            gap = t - self._last
            self._queue.append((t, item, fut, max(gap, self._gap)))  # the longer of the last two gaps
            self._last, self._gap = t, gap
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"{self.name} group commit", daemon=True)
                self._thread.start()
            if len(self._queue) >= self._wake_at:
                self._cond.notify()
        return fut

    def waiting(self) -> int:
        """How many items are queued (not yet taken into a batch)."""
        with self._cond:
            return len(self._queue)

    def close(self) -> None:
        """Write what is queued, then stop the writer."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _take(self) -> list | None:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._wake_at = 1
                self._cond.wait()
            first, _, _, gap = self._queue[0]
            lingering = gap < self.linger_s
            deadline = first + (self.linger_s if lingering else self.window_s)  # the first waits at most this
            while len(self._queue) < self.max_batch and not self._closed:
                if lingering and len(self._queue) > 1:  # a second came: from it, the (linger) window
                    deadline = min(deadline, self._queue[1][0] + self.linger_window_s)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._wake_at = 2 if lingering and len(self._queue) == 1 else self.max_batch
                self._cond.wait(left)
            self._wake_at = 1 << 62  # writing: it looks at the queue before it waits again
            n = min(len(self._queue), self.max_batch)
            return [self._queue.popleft() for _ in range(n)]

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            self._commit(batch)

    def _commit(self, batch: list) -> None:
        try:
            results = self._write([one[1] for one in batch])
        except BaseException as exc:
            if len(batch) == 1 or isinstance(exc, self.fail_whole):
                for one in batch:
                    one[2].set_exception(exc)
                return
            for one in batch:  # one bad record: write the others one by one
                self._commit([one])
            return
        for one, res in zip(batch, results, strict=True):
            one[2].set_result(res)
