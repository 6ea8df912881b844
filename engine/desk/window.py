"""The aggregation window: client orders waiting to be grouped into parents.

The first order queued opens the window; ``OrderDesk.close_window`` is due
``length_ns`` later and takes everything queued, by instrument and ``Key``, each queue
in arrival order.
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

    __slots__ = ("_mandates", "buckets", "length_ns", "opened_ns", "queues")

    def __init__(self, length_ns: int) -> None:
        self.length_ns = length_ns
        self.opened_ns: int | None = None
        self.queues: Queues = {}
        self.buckets: dict[WindowKey, Queue] = {}
        self._mandates: list[Mandate] = []

    def deadline(self) -> int | None:
        """When the window is due to close, or None if nothing waits."""
        if self.opened_ns is None:
            return None
        return self.opened_ns + self.length_ns

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
        self._mandates.append(mandate)  # alive, so its id is not reused meanwhile
        if self.opened_ns is None:
            self.opened_ns = now_ns
        return bucket

    def take(self) -> Queues:
        """Everything queued; the window is closed and empty afterwards."""
        queues, self.queues = self.queues, {}
        self.buckets = {}
        self._mandates = []
        self.opened_ns = None
        return queues
