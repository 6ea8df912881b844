"""The simulated runtime: virtual time, waves, a deterministic audit trail.

Pending deliveries are ordered by ``(deliver_at, sender_id, sender_seq)``: a heap of the
distinct delivery times, and per time the list of its deliveries, sorted by
``sender_id << 40 | sender_seq`` (the same order as the pair) when their wave comes. A
wave is one bucket, so the heap holds plain ints and is touched once per wave instead of
twice per delivery with tuple compares.

The loop pops every delivery due at the earliest time as one *wave*, delivers them, and
waits until every actor is idle (in-flight count back to zero, decremented after each
handler returns: an empty inbox does not mean idle). Only then does time move. Each actor
sees its wave in a fixed order and owns its state, so a run is a pure function of the
scenario and seed. Journal records written during a wave are ordered by
``(actor_id, seq)`` at the end of the wave, so the audit trail is deterministic too.
Messages for in-process callbacks (what leaves the engine: a client's reports) are held
until their wave has settled and released after one commit of the trail, at the same
simulated time: a client never sees a message whose record a crash could still lose.

The same actors run on pykka threads (``threaded=True``, wave-synchronous) or inline on
the loop's thread (the default), with the same trail byte for byte.
"""

from __future__ import annotations

import contextlib
import heapq
import operator
import threading
from collections.abc import Iterator

from actors.logs import describe
from actors.runtime.base import Callback, Runtime, RuntimeHalted
from actors.runtime.endpoint import Endpoint
from actors.runtime.inline import InlineRef
from engine.audit.trail import AuditTrail
from engine.clock import SimClock
from engine.messages import Message

_KEY = operator.itemgetter(0)
_MESSAGE = operator.itemgetter(1)
_heappush = heapq.heappush


class SimRuntime(Runtime):
    """Deterministic virtual-time runtime (see the module docstring)."""

    clock: SimClock

    def __init__(
        self,
        seed: int = 0,
        start_ns: int = 0,
        journal: AuditTrail | None = None,
        idle_timeout_s: float = 60.0,
        threaded: bool = False,
    ) -> None:
        lock = threading.RLock()
        super().__init__(SimClock(start_ns), seed=seed, journal=journal, lock=lock)
        self.threaded = threaded
        # Pending deliveries: a heap of distinct due times, and per due time its
        # deliveries (sender_id << 40 | sender_seq, dest, sender, msg), sorted at delivery.
        self._times: list[int] = []
        self._due: dict[int, list[tuple[int, str, str, Message]]] = {}
        self._in_flight = 0
        # Inline, the loop's thread runs every handler: nothing to wait for (a wave's
        # handlers have all returned when its last delivery returns).
        self._idle = threading.Condition(lock) if threaded else None
        self._failures: list[tuple[str, BaseException]] = []
        self._wave_journal: list[tuple[int, Message]] = []  # (order key, message)
        self._outbound: list[tuple[Callback, Message, str]] = []  # held until a commit
        # When a list: every record handed to the trail, in order (what the run journaled,
        # readable without decoding the trail back)
        self.kept_records: list[Message] | None = None
        self.idle_timeout_s = idle_timeout_s  # a hung handler: fail loudly, never hang CI

    # ------------------------------------------------------------- runtime hooks

    def _enqueue(self, due: int, order: int, dest: str, sender: str, msg: Message) -> bool:
        entry = (order, dest, sender, msg)
        bucket = self._due.get(due)
        if bucket is None:
            self._due[due] = [entry]
            _heappush(self._times, due)
        else:
            bucket.append(entry)
        return False

    def _record(self, sink: AuditTrail, ep: Endpoint, msg: Message) -> None:
        # No lock: list.append is atomic, and the wave's list is only swapped out while
        # every actor is idle.
        self._wave_journal.append((ep.journal_order(msg), msg))

    def _hold(self, callback: Callback, msg: Message, sender: str) -> None:
        # Released by the loop once the wave has settled: one commit per wave that has
        # something to hand over, at the same simulated time (the trail is unchanged).
        self._outbound.append((callback, msg, sender))

    def _requeue(self, held: list[tuple[Callback, Message, str]]) -> None:
        self._outbound[:0] = held

    def _begin(self) -> None:
        self._in_flight += 1

    def _end(self, n: int) -> None:
        self._in_flight -= n
        if self._in_flight == 0 and self._idle is not None:
            self._idle.notify_all()

    def _wake(self) -> None:
        if self._idle is not None:
            self._idle.notify_all()

    def _failure(self, name: str, exc: BaseException) -> None:
        self._failures.append((name, exc))  # supervised when the wave has settled

    # -------------------------------------------------------------------- the loop

    def run_until(self, t_ns: int) -> None:
        """Deliver everything due up to and including ``t_ns``, then set the clock to it."""
        with self._halting():
            self._run(t_ns, None)
        if t_ns > self.clock.now():
            self.clock.advance_to(t_ns)

    def run(self, until_ns: int | None = None, max_waves: int | None = None) -> None:
        """Run until nothing is pending (or ``until_ns`` / ``max_waves``)."""
        with self._halting():
            self._run(until_ns, max_waves)

    def step(self) -> bool:
        """Deliver one wave (every delivery due at the earliest time); False if none."""
        return self._run(None, 1) == 1

    def next_due(self) -> int | None:
        with self._lock:
            times = self._times
            return times[0] if times else None

    def _run(self, until_ns: int | None, max_waves: int | None) -> int:
        """Deliver waves until nothing is due by ``until_ns`` (or ``max_waves`` were
        delivered); returns how many were. Every wave is settled (its journal records
        written, its failures supervised, then what it holds for callbacks released
        after a commit) before the next one is taken, so no actor is running when a
        wave is taken.

        A delivery to a live inline actor is one direct call of its handler (no
        envelope, no in-flight counting: inline, a handler has returned when the call
        does; ``InlineRef`` applies pykka's failure semantics); anything else (pykka
        actors, callbacks, dead actors) goes through ``_deliver``. ``stats``
        "deliveries" and "waves" are added up at the end of the call."""
        times, buckets, endpoints, clock = self._times, self._due, self._endpoints, self.clock
        heappop = heapq.heappop
        waves = delivered = 0
        try:
            while True:
                if self._in_flight or self._failures or self._halt is not None:
                    self.wait_idle()
                elif self._wave_journal:
                    self._flush_journal()
                if self._outbound:
                    held, self._outbound = self._outbound, []
                    self._release(held)
                if not times or (max_waves is not None and waves >= max_waves):
                    break
                due = times[0]
                if until_ns is not None and due > until_ns:
                    break
                if due != clock._now:
                    clock.advance_to(due)
                heappop(times)
                wave = buckets.pop(due)
                if len(wave) > 1:
                    wave.sort()  # by sender_id << 40 | seq (unique: never compares further)
                for _, dest, sender, msg in wave:
                    ep = endpoints.get(dest)
                    ref = ep.ref if ep is not None and ep.callback is None else None
                    if ref.__class__ is not InlineRef or not ref.alive:
                        self._deliver(dest, sender, msg)
                        continue
                    try:
                        ref.deliver(msg, sender)
                    except Exception as exc:
                        ref.failed(msg, exc)
                    except BaseException as exc:
                        ref.halted(exc)
                    else:
                        delivered += 1
                waves += 1
        finally:
            self.stats["deliveries"] += delivered
            self.stats["waves"] += waves
        return waves

    def wait_idle(self) -> None:
        """Block until no actor has work in flight; then flush the wave's journal records
        in (actor id, seq) order and let the supervisor handle failures in id order."""
        if self._idle is None and not self._in_flight and self._halt is None and not self._failures:
            # Inline and settled (the common case, twice per wave): just the journal.
            if self._wave_journal:
                self._flush_journal()
            return
        with self._lock:
            while self._in_flight > 0 and self._halt is None:
                if self._idle is None:  # inline: every handler has returned already
                    raise RuntimeHalted(
                        "work in flight with no handler running: " + self._busy_names()
                    )
                if not self._idle.wait(self.idle_timeout_s):
                    raise RuntimeHalted(
                        f"actors still busy after {self.idle_timeout_s}s of wall time: "
                        + self._busy_names()
                    )
            halt = self._halt
        if halt is not None:
            self.stop()  # pykka is doing the same from the actor's thread: settle it here
            raise RuntimeHalted(f"an actor raised {halt!r}") from halt
        with self._lock:
            failures, self._failures = self._failures, []
        failures.sort(key=lambda f: self.actor_id(f[0]))
        try:
            self._flush_journal()
        except Exception as write_error:
            self._supervise_despite(write_error, failures)
            raise
        if failures:
            try:
                for name, exc in failures:
                    self._supervise(name, exc)
            finally:
                self._flush_journal()
            self.wait_idle()  # restarted actors' on_start

    def _busy_names(self) -> str:
        return ", ".join(n for n, e in self._endpoints.items() if e.outstanding)

    def _flush_journal(self) -> None:
        """Hand the wave's journal records to the sink in (actor id, seq) order, in one
        batch. Called while every actor is idle: nothing journals meanwhile."""
        records, self._wave_journal = self._wave_journal, []
        sink = self.journal_sink
        if not records or sink is None:
            return
        if len(records) > 1:
            records.sort(key=_KEY)  # stable: equal keys keep their journaling order
        sink.extend(map(_MESSAGE, records))
        if self.kept_records is not None:
            self.kept_records.extend(map(_MESSAGE, records))

    def _supervise_despite(
        self, write_error: Exception, failures: list[tuple[str, BaseException]]
    ) -> None:
        """The wave's journal write raised: the write error surfaces, but the actor
        failures of the wave are still supervised (their records wait in the wave
        journal for a later write) and named on the error, not discarded with it."""
        if not failures:
            return
        write_error.add_note(
            "actor failures pending when the journal write failed (supervised): "
            + "; ".join(f"{name!r}: {describe(exc)}" for name, exc in failures)
        )
        for name, exc in failures:
            self._supervise(name, exc)

    def _supervise(self, name: str, exc: BaseException) -> None:
        if self.supervisor is None:
            raise RuntimeHalted(f"actor {name} failed with no supervisor: {exc!r}") from exc
        self.supervisor.child_failed(name, exc)

    @contextlib.contextmanager
    def _halting(self) -> Iterator[None]:
        """A halted run stays halted: running it again raises again (its actors are
        stopped or dead; carrying on would only make dead letters)."""
        if self._halt is not None:
            raise RuntimeHalted(f"the run has halted: {self._halt!r}") from self._halt
        try:
            yield
        except RuntimeHalted as halt:
            if self._halt is None:
                self._halt = halt
            raise
