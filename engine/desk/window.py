"""The aggregation windows: client orders waiting to be grouped into parents.

Each instrument has its own window: the first order queued for an instrument opens it,
and ``OrderDesk.close_window`` takes that instrument's queues ``length_ns`` later, by
``Key``, each queue in arrival order. Per instrument, so that when an instrument's
orders are grouped does not depend on the other instruments the desk trades (one window
for all of them made a portfolio's parents differ between one engine and shards).
"""

from __future__ import annotations

from engine.desk.client_orders import ClientOrderState
from engine.desk.parents import Key
from engine.messages import Mandate

# Key with the mandate object's id instead: clients share mandate objects, and the id
# hashes cheaply (a ``Mandate`` hashes all its fields). Equal mandates may have several.
WindowKey = tuple[str, int, int | None, int]
Queue = dict[ClientOrderState, None]  # an ordered set, in arrival order
Queues = dict[str, dict[Key, Queue]]  # instrument → key → queue


class AggregationWindow:
    """``queues``: instrument → key → orders; ``buckets``: the same queues by
    ``WindowKey`` (no hashing of the mandate per order), whose mandates are held until
    the window closes."""

    __slots__ = ("_mandates", "buckets", "length_ns", "opened", "queues")

    def __init__(self, length_ns: int) -> None:
        self.length_ns = length_ns
        self.opened: dict[str, int] = {}  # instrument → when its window opened
        self.queues: Queues = {}
        self.buckets: dict[WindowKey, Queue] = {}
        self._mandates: dict[str, list[Mandate]] = {}

    def deadline(self) -> int | None:
        """When the first window is due to close, or None if nothing waits."""
        if not self.opened:
            return None
        return min(self.opened.values()) + self.length_ns

    def holds(self, instrument: str) -> bool:
        return instrument in self.queues

    def enqueue(self, state: ClientOrderState, now_ns: int) -> None:
        mandate = state.mandate
        window_key = (state.instrument, state.side, state.limit, id(mandate))
        bucket = self.buckets.get(window_key)
        if bucket is None:
            bucket = self.bucket(window_key, mandate, now_ns)
        bucket[state] = None

    def dequeue(self, state: ClientOrderState) -> None:
        window_key = (state.instrument, state.side, state.limit, id(state.mandate))
        self.buckets[window_key].pop(state)

    def bucket(self, window_key: WindowKey, mandate: Mandate, now_ns: int) -> Queue:
        """The queue for orders with this mandate object (the queue of an equal mandate's
        orders, if any: one queue per ``Key``); the window opens if it was closed."""
        instrument, side, limit, _ = window_key
        key = (instrument, side, limit, mandate)
        queues = self.queues.get(instrument)
        if queues is None:
            queues = self.queues[instrument] = {}
        bucket = queues.get(key)
        if bucket is None:
            bucket = queues[key] = {}
        self.buckets[window_key] = bucket
        # alive, so its id is not reused meanwhile
        self._mandates.setdefault(instrument, []).append(mandate)
        self.opened.setdefault(instrument, now_ns)
        return bucket

    def take(self, due_by: int | None = None) -> Queues:
        """What the windows due by ``due_by`` hold (every window: None), in the order
        they opened; those windows are closed and empty afterwards."""
        due = [
            i
            for i, opened in self.opened.items()
            if due_by is None or opened + self.length_ns <= due_by
        ]
        if len(due) == len(self.opened):
            taken = {i: self.queues[i] for i in due}
            self.queues, self.buckets, self._mandates, self.opened = {}, {}, {}, {}
            return taken
        taken = {i: self.queues.pop(i) for i in due}
        for instrument in due:
            del self.opened[instrument], self._mandates[instrument]
        self.buckets = {k: q for k, q in self.buckets.items() if k[0] not in taken}
        return taken
