"""The runtime: delivers messages between actors and keeps time.

Actors never call each other; they ``send`` through the runtime, which owns names,
link latency, timers and the clock. Two implementations behind one interface:

- ``SimRuntime``: virtual time. Pending deliveries are ordered by
  ``(deliver_at, sender_id, sender_seq)``: a heap of the distinct delivery times, and per
  time the list of its deliveries, sorted by ``sender_id << 40 | sender_seq`` (the same
  order as the pair) when their wave comes. A wave is one bucket, so the heap holds plain
  ints and is touched once per wave instead of twice per delivery with tuple compares. The loop pops every delivery due at the
  earliest time as one *wave*, tells them to their actors, and waits until every actor
  is idle (in-flight count back to zero, decremented after each handler returns — an
  empty inbox does not mean idle). Only then does time move. Each actor sees its wave in
  a fixed order and owns its state, so a run is a pure function of the scenario and seed.
- ``LiveRuntime``: wall clock; a scheduler thread delivers due messages and timers.

Journal records written during a wave are ordered by ``(actor_id, seq)`` at the end of
the wave, so the audit trail is deterministic too.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import itertools
import operator
import os
import random
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
from loguru import logger

from engine.clock import LiveClock, SimClock
from engine.messages import Message, TimerFired

if TYPE_CHECKING:
    import pykka

    from actors.supervisor import Supervisor

_KEY = operator.itemgetter(0)
_MESSAGE = operator.itemgetter(1)
# A journal record's order key (journaling actor id, msg id) as one int: msg ids are
# msgpack ints, within [-2**63, 2**64), so ``actor_id << 65`` plus ``msg_id + 2**63`` orders
# exactly like the pair.
_JOURNAL_ID_BITS = 65
_JOURNAL_ID_BIAS = 1 << 63
_replace = msgspec.structs.replace
_heappush = heapq.heappush
EXTERNAL = "external"  # the sender name of anything outside the actors (API, tests)
_SEQ_BITS = 40
_STOP_TIMEOUT_S = 10  # an actor that does not stop by then is given up (its thread died)


class JournalSink(Protocol):
    def append(self, msg: Message) -> None: ...


class RuntimeHalted(RuntimeError):
    """The run cannot continue: a supervisor escalated past the top, or a BaseException
    in an actor stopped every actor."""


class _Endpoint:
    """A named destination: an actor ref or an in-process callback, with a stable id."""

    __slots__ = (
        "actor_id",
        "callback",
        "held",
        "journal_key",
        "key_base",
        "link_bits",
        "link_rng",
        "links",
        "name",
        "outstanding",
        "ref",
        "seq",
    )

    def __init__(self, name: str, actor_id: int, seed: int) -> None:
        self.name = name
        self.actor_id = actor_id
        self.key_base = actor_id << _SEQ_BITS  # | seq: msg ids and heap keys
        self.journal_key = (actor_id << _JOURNAL_ID_BITS) + _JOURNAL_ID_BIAS  # + msg_id
        self.ref: pykka.ActorRef[Any] | None = None
        self.callback: Callable[[Message, str], None] | None = None
        self.seq = itertools.count(1)
        self.link_rng = random.Random(derive_seed(seed, actor_id, "link"))
        self.link_bits = self.link_rng.getrandbits
        # Inline simulation: per destination [latency, jitter + 1, its bit length, the
        # last delivery time on the link] (see ``SimRuntime._link``).
        self.links: dict[str, list[int]] = {}
        self.outstanding = 0  # messages told to this actor, not yet handled
        # While a pykka actor is starting it has no ref yet, but its on_start may already
        # have drawn replies: hold them (counted in flight) until attach, never drop them.
        self.held: list[tuple[str, Message]] | None = None


def derive_seed(seed: int, actor_id: int, purpose: str = "", generation: int = 0) -> int:
    """A stable per-actor seed. Not ``hash()``: that is salted per process for str."""
    data = f"{seed}:{actor_id}:{purpose}:{generation}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class InlineRef:
    """An actor driven on the simulation loop's thread, with pykka's failure semantics:
    an exception in a handler runs ``on_failure`` and the actor is dead; ``stop`` runs
    ``on_stop``. Same actor class, same handlers, same message order as on a pykka
    thread, minus the thread handoff (≈30–90 µs per delivery here, against ≈5 µs of
    handler), which is what makes a simulated day take seconds instead of minutes."""

    __slots__ = ("actor", "alive", "deliver")

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self.alive = True
        # An EngineActor's handler without its bookkeeping: the inline loop calls it
        # straight (``SimRuntime._run_inline``); other actors go through ``tell``.
        self.deliver: Callable[[Message, str], None] | None = getattr(actor, "deliver", None)

    def start(self) -> InlineRef:
        try:
            self.actor.on_start()
        except Exception:
            self.alive = False  # EngineActor already reported it to the runtime
        except BaseException:
            self.alive = False  # as in ``tell``: the runtime halts the run
        return self

    def tell(self, message: Any) -> None:
        if not self.alive:
            import pykka

            raise pykka.ActorDeadError(f"{self.actor.name} is dead")
        try:
            self.actor.on_receive(message)
        except Exception:
            self.alive = False
            self.actor.on_failure(*sys.exc_info())
        except BaseException:
            self.alive = False  # the runtime halts the run (EngineActor reported it)

    def is_alive(self) -> bool:
        return self.alive

    def stop(self, block: bool = True) -> None:
        if self.alive:
            self.alive = False
            try:
                self.actor.on_stop()
            except Exception:  # pykka logs it and the actor is stopped all the same
                logger.exception("{} raised in on_stop; stopped anyway", self.actor.name)


class _NoLock:
    """The lock of an inline simulation: the loop's thread runs every handler, so there is
    nothing to exclude, and an RLock round trip per send/handled/journal (millions per
    run) is pure overhead. Same interface as the RLock it stands in for."""

    __slots__ = ()

    def __enter__(self) -> bool:
        return True

    def __exit__(self, *exc: object) -> None:
        return None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return True

    def release(self) -> None:
        return None


class Runtime:
    """What actors see: names, sends, timers, the clock, per-actor RNGs, the journal."""

    threaded = True

    def pin_thread(self) -> None:
        """Called on each actor's thread as it starts: ``LiveRuntime`` may put it on one
        CPU; other runtimes leave it where it is."""

    def __init__(
        self, clock: Any, seed: int = 0, journal: JournalSink | None = None, lock: Any = None
    ) -> None:
        self.clock = clock
        self.now: Callable[[], int] = clock.now  # type: ignore[method-assign]  # no frame
        self.seed = seed
        self._inline_refs: list[InlineRef] = []
        self._thread_refs: list[pykka.ActorRef[Any]] = []  # this runtime's pykka actors
        self.journal_sink = journal
        # Threaded runtimes (pykka threads, the live scheduler) share state between
        # threads; an inline simulation passes ``_NoLock()``.
        self._lock = threading.RLock() if lock is None else lock
        self._endpoints: dict[str, _Endpoint] = {}
        self._next_actor_id = 1
        self._links: dict[tuple[str, str], tuple[int, int]] = {}
        self._last_delivery: dict[tuple[str, str], int] = {}
        self.supervisor: Supervisor | None = None
        self.stats: dict[str, int] = defaultdict(int)
        self.dead_letters: list[tuple[str, str, Message]] = []
        self._halt: BaseException | None = None
        self.endpoint(EXTERNAL)

    # ----------------------------------------------------------------- names and ids

    def endpoint(self, name: str) -> _Endpoint:
        """The endpoint of ``name``, created with the next stable id on first use.
        Endpoints are never removed (a restart keeps the name's id), so a found one can
        be returned without the lock."""
        ep = self._endpoints.get(name)
        if ep is not None:
            return ep
        with self._lock:
            ep = self._endpoints.get(name)
            if ep is None:
                ep = _Endpoint(name, self._next_actor_id, self.seed)
                self._next_actor_id += 1
                self._endpoints[name] = ep
            return ep

    def actor_id(self, name: str) -> int:
        return self.endpoint(name).actor_id

    def rng_for(self, name: str, generation: int = 0) -> random.Random:
        """The actor's own RNG, derived from (seed, actor id, restart generation)."""
        return random.Random(derive_seed(self.seed, self.actor_id(name), "actor", generation))

    def spawn(self, actor_class: type, name: str, generation: int = 0, **kwargs: Any) -> Any:
        """Start an actor: a pykka thread (threaded runtimes) or an ``InlineRef``, and
        register it under its stable name. Its ``on_start`` counts as work in flight."""
        self.starting(name)
        if self.threaded:
            with self._lock:
                self.endpoint(name).held = []
            ref = actor_class.start(runtime=self, name=name, generation=generation, **kwargs)
            self._thread_refs.append(ref)
            self.attach(name, ref)
            return ref
        inline = InlineRef(actor_class(runtime=self, name=name, generation=generation, **kwargs))
        self._inline_refs.append(inline)
        self.attach(name, inline)  # type: ignore[arg-type]
        return inline.start()

    def attach(self, name: str, ref: pykka.ActorRef[Any]) -> None:
        with self._lock:
            ep = self.endpoint(name)
            ep.ref = ref
            held, ep.held = ep.held or [], None
        for envelope in held:  # already counted in flight when they were held
            try:
                ref.tell(envelope)
            except Exception:
                with self._lock:
                    ep.outstanding -= 1
                    self._end(1)
                    self._dead_letter(name, *envelope)

    def detach(self, name: str) -> None:
        with self._lock:
            ep = self._endpoints.get(name)
            if ep is not None:
                ep.ref = None

    def ref(self, name: str) -> pykka.ActorRef[Any] | None:
        ep = self._endpoints.get(name)
        return ep.ref if ep else None

    def on_message(self, name: str, callback: Callable[[Message, str], None]) -> None:
        """Deliver messages sent to ``name`` to an in-process callback (API subscribers,
        tests). In simulation it runs on the loop thread, in delivery order."""
        with self._lock:
            self.endpoint(name).callback = callback

    # ---------------------------------------------------------------- links and time

    def set_link(self, a: str, b: str, latency_ns: int, jitter_ns: int = 0) -> None:
        """One-way latency both ways between ``a`` and ``b``, with uniform jitter.
        Deliveries on a link stay FIFO (as over one TCP connection)."""
        self._links[(a, b)] = (latency_ns, jitter_ns)
        self._links[(b, a)] = (latency_ns, jitter_ns)
        for src, dest in ((a, b), (b, a)):  # links already used inline: keep their FIFO
            ep = self._endpoints.get(src)
            state = ep.links.get(dest) if ep is not None else None
            if state is not None:
                state[0:3] = [latency_ns, jitter_ns + 1, (jitter_ns + 1).bit_length()]

    def now(self) -> int:
        return self.clock.now()

    def _latency(self, ep: _Endpoint, dest: str) -> int:
        link = self._links.get((ep.name, dest))
        if link is None:
            return 0
        latency, jitter = link
        return latency + (ep.link_rng.randrange(jitter + 1) if jitter else 0)

    # ---------------------------------------------------------------------- sending

    def stamp(self, sender: str, msg: Message) -> Message:
        """Give a message its unique id and timestamp if it has none. Ids are
        ``actor_id << 40 | seq``: unique and independent of thread timing."""
        if msg.msg_id:
            return msg
        ep = self.endpoint(sender)
        seq = next(ep.seq)
        return msgspec.structs.replace(
            msg, msg_id=(ep.actor_id << _SEQ_BITS) | seq, ts=msg.ts or self.clock.now()
        )

    def send(self, sender: str, dest: str, msg: Message, delay_ns: int = 0) -> Message:
        """Queue ``msg`` for ``dest``, due after link latency plus ``delay_ns``. Every send
        takes the sender's next sequence number (a relayed message keeps its id but is
        ordered as the relayer's send)."""
        ep = self._endpoints.get(sender) or self.endpoint(sender)
        with self._lock:
            seq = next(ep.seq)
            if not msg.msg_id:
                msg = msgspec.structs.replace(
                    msg, msg_id=(ep.actor_id << _SEQ_BITS) | seq, ts=msg.ts or self.clock.now()
                )
            due = self.clock.now() + delay_ns + self._latency(ep, dest)
            link = (sender, dest)
            if not delay_ns:  # FIFO per link for what is sent now
                due = max(due, self._last_delivery.get(link, 0))
                self._last_delivery[link] = due
            # else a send scheduled for later (a client's at_ns) is sent then: held behind
            # nothing sent now, and holding nothing back (it would delay every later
            # command on the link until its own time)
            now = self._enqueue(due, ep.actor_id, seq, dest, sender, msg)
        if now:
            self._deliver(dest, sender, msg)
        return msg

    def set_timer(self, owner: str, key: str, at_ns: int) -> None:
        """Deliver ``TimerFired(key)`` to ``owner`` at ``at_ns`` (no link latency)."""
        ep = self.endpoint(owner)
        seq = next(ep.seq)
        msg = TimerFired(key=key, msg_id=(ep.actor_id << _SEQ_BITS) | seq, ts=at_ns)
        with self._lock:
            now = self._enqueue(max(at_ns, self.clock.now()), ep.actor_id, seq, owner, owner, msg)
        if now:
            self._deliver(owner, owner, msg)

    def _enqueue(
        self, due: int, sender_id: int, seq: int, dest: str, sender: str, msg: Message
    ) -> bool:
        """Queue a delivery (called with the lock held); True: deliver it right away
        instead, from the sender's thread, after the lock is released."""
        raise NotImplementedError

    # -------------------------------------------------------------------- journaling

    def journal(self, sender: str, msg: Message) -> Message:
        """Write ``msg`` to the audit trail (stamped if needed)."""
        ep = self._endpoints.get(sender) or self.endpoint(sender)
        if not msg.msg_id:
            msg = msgspec.structs.replace(
                msg,
                msg_id=(ep.actor_id << _SEQ_BITS) | next(ep.seq),
                ts=msg.ts or self.clock.now(),
            )
        if self.journal_sink is not None:
            self._journal(ep.actor_id, msg)
        return msg

    def _journal(self, actor_id: int, msg: Message) -> None:
        with self._lock:
            self.journal_sink.append(msg)  # type: ignore[union-attr]

    # ------------------------------------------------------------ actor bookkeeping

    def _deliver(self, dest: str, sender: str, msg: Message) -> None:
        """Hand one message to its destination now (called with the lock released)."""
        ep = self._endpoints.get(dest)
        if ep is not None and ep.callback is not None:
            ep.callback(msg, sender)
            return
        with self._lock:
            ref = ep.ref if ep else None
            if ref is None and ep is not None and ep.held is not None:
                ep.held.append((sender, msg))
                ep.outstanding += 1
                self._begin()
                return
            if ref is None:
                self._dead_letter(dest, sender, msg)
                return
            ep.outstanding += 1  # type: ignore[union-attr]
            self._begin()
        try:
            ref.tell((sender, msg))
        except Exception:  # ActorDeadError: died between lookup and tell
            with self._lock:
                ep.outstanding -= 1  # type: ignore[union-attr]
                self._end(1)
                self._dead_letter(dest, sender, msg)

    def _dead_letter(self, dest: str, sender: str, msg: Message) -> None:
        self.stats["dead_letters"] += 1
        self.dead_letters.append((dest, sender, msg))
        logger.warning("dead letter: {} from {} to {}", type(msg).__name__, sender, dest)

    def _begin(self) -> None:
        """One more unit of actor work in flight."""

    def _end(self, n: int) -> None:
        """``n`` units of actor work finished (handled, or dropped by a dead actor)."""

    def handled(self, name: str) -> None:
        """Called by an actor after a handler returned."""
        with self._lock:
            self._endpoints[name].outstanding -= 1
            self.stats["deliveries"] += 1
            self._end(1)

    def starting(self, name: str) -> None:
        """An actor is being started; its ``on_start`` counts as work in flight."""
        with self._lock:
            self.endpoint(name).outstanding += 1
            self._begin()

    def failed(self, name: str, exc: BaseException) -> None:
        """An actor's handler or on_start raised: pykka will stop it and drop its inbox.
        Account for everything it will never handle, then let the supervisor decide."""
        with self._lock:
            ep = self._endpoints[name]
            dropped, ep.outstanding = ep.outstanding, 0  # includes anything held
            ep.ref = None  # later sends to the name wait for a restart or dead-letter
            ep.held = None
            self.stats["failures"] += 1
            self.stats["dropped_on_failure"] += max(dropped - 1, 0)
            self._failure(name, exc)
            self._end(dropped)

    def halted(self, name: str, exc: BaseException) -> None:
        """A BaseException in an actor: pykka stops every actor. The run is over."""
        with self._lock:
            self._halt = exc
            logger.critical("{!r} in actor {}: every actor stops", exc, name)
            self._wake()

    def _failure(self, name: str, exc: BaseException) -> None:
        raise NotImplementedError

    def _wake(self) -> None:
        """Wake whoever waits on the runtime."""

    def stop(self) -> None:
        """Stop every actor this runtime started (and no one else's: other engines in the
        process keep running). An actor whose thread died without stopping (a
        BaseException in its start) is given up after a timeout, not waited for."""
        import pykka

        for inline in self._inline_refs:
            inline.stop()
        self._inline_refs.clear()
        refs, self._thread_refs = self._thread_refs, []
        for ref in reversed(refs):  # the last started first, as pykka's stop_all does
            try:
                ref.stop(block=True, timeout=_STOP_TIMEOUT_S)
            except pykka.ActorDeadError:
                pass
            except pykka.Timeout:
                logger.error("{} did not stop within {}s; given up", ref, _STOP_TIMEOUT_S)


class SimRuntime(Runtime):
    """Deterministic virtual-time runtime (see the module docstring)."""

    def __init__(
        self,
        seed: int = 0,
        start_ns: int = 0,
        journal: JournalSink | None = None,
        idle_timeout_s: float = 60.0,
        threaded: bool = False,
    ) -> None:
        # Inline, the loop's thread runs every handler: no lock, and nothing to wait for
        # (a wave's handlers have all returned when its last delivery returns).
        super().__init__(
            SimClock(start_ns), seed=seed, journal=journal, lock=None if threaded else _NoLock()
        )
        self.threaded = threaded  # pykka threads, or the same actors inline (InlineRef)
        # Pending deliveries: a heap of distinct due times, and per due time its
        # deliveries (sender_id << 40 | sender_seq, dest, sender, msg), sorted at delivery.
        self._times: list[int] = []
        self._due: dict[int, list[tuple[int, str, str, Message]]] = {}
        self._in_flight = 0
        self._idle = threading.Condition(self._lock) if threaded else None
        self._failures: list[tuple[str, BaseException]] = []
        self._wave_journal: list[tuple[int, Message]] = []  # (order key, message)
        self.idle_timeout_s = idle_timeout_s  # a hung handler: fail loudly, never hang CI
        if not threaded:
            # Inline, millions of sends/handled/journal calls a run go through these: the
            # same logic as the generic methods with the no-op lock, the one-line hooks
            # (_enqueue, _latency, _begin/_end, _journal) and repeated lookups folded in.
            self.send = self._send_inline  # type: ignore[method-assign]
            self.handled = self._handled_inline  # type: ignore[method-assign]
            self.journal = self._journal_inline  # type: ignore[method-assign]
            self._deliver = self._deliver_inline  # type: ignore[method-assign]
            self.set_timer = self._set_timer_inline  # type: ignore[method-assign]

    # ------------------------------------------------------- inline fast paths

    def _link(self, ep: _Endpoint, dest: str) -> list[int]:
        """The inline state of the link from ``ep`` to ``dest``, made on first use:
        [latency, jitter + 1, its bit length, last delivery time] (``set_link`` updates
        the first three in place, so FIFO survives a latency change)."""
        latency, jitter = self._links.get((ep.name, dest), (0, 0))
        state = [latency, jitter + 1, (jitter + 1).bit_length(), 0]
        ep.links[dest] = state
        return state

    def _send_inline(self, sender: str, dest: str, msg: Message, delay_ns: int = 0) -> Message:
        ep = self._endpoints.get(sender) or self.endpoint(sender)
        key = ep.key_base | next(ep.seq)
        now = self.clock._now
        if not msg.msg_id:
            msg = _replace(msg, msg_id=key, ts=msg.ts or now)
        link = ep.links.get(dest) or self._link(ep, dest)
        latency, span, bits, last = link
        due = now + delay_ns + latency
        if span > 1:
            # Jitter: ``link_rng.randrange(span)`` unrolled (CPython's _randbelow: draw
            # bit_length bits, redraw while out of range), the same draws, two frames less.
            bits_of = ep.link_bits
            draw = bits_of(bits)
            while draw >= span:
                draw = bits_of(bits)
            due += draw
        if not delay_ns:  # FIFO per link for what is sent now (see ``send``)
            if last > due:
                due = last
            link[3] = due
        bucket = self._due.get(due)
        if bucket is None:
            self._due[due] = [(key, dest, sender, msg)]
            _heappush(self._times, due)
        else:
            bucket.append((key, dest, sender, msg))
        return msg

    def _set_timer_inline(self, owner: str, key: str, at_ns: int) -> None:
        ep = self._endpoints.get(owner) or self.endpoint(owner)
        order = ep.key_base | next(ep.seq)
        now = self.clock._now
        due = at_ns if at_ns > now else now
        entry = (order, owner, owner, TimerFired(key=key, msg_id=order, ts=at_ns))
        bucket = self._due.get(due)
        if bucket is None:
            self._due[due] = [entry]
            _heappush(self._times, due)
        else:
            bucket.append(entry)

    def _handled_inline(self, name: str) -> None:
        self._endpoints[name].outstanding -= 1
        self.stats["deliveries"] += 1
        self._in_flight -= 1

    def _journal_inline(self, sender: str, msg: Message) -> Message:
        ep = self._endpoints.get(sender) or self.endpoint(sender)
        if not msg.msg_id:
            msg = _replace(msg, msg_id=ep.key_base | next(ep.seq), ts=msg.ts or self.clock._now)
        if self.journal_sink is not None:
            self._wave_journal.append((ep.journal_key + msg.msg_id, msg))
        return msg

    def _deliver_inline(self, dest: str, sender: str, msg: Message) -> None:
        ep = self._endpoints.get(dest)
        if ep is None or ep.ref is None or ep.callback is not None:
            Runtime._deliver(self, dest, sender, msg)  # callback, held, dead letter
            return
        ref = ep.ref
        ep.outstanding += 1
        self._in_flight += 1
        try:
            ref.tell((sender, msg))
        except Exception:  # ActorDeadError: died between lookup and tell
            ep.outstanding -= 1
            self._end(1)
            self._dead_letter(dest, sender, msg)

    def _run_inline(self, until_ns: int | None, max_waves: int | None) -> int:
        """Deliver waves until nothing is due by ``until_ns`` (or ``max_waves`` were
        delivered); returns how many were. ``step``'s logic in one loop: every wave is
        settled (journal flushed, failures supervised) before the next, as ``wait_idle``
        does; a delivery to a live inline ``EngineActor`` is one call of its ``deliver``
        with pykka's failure semantics done here (no tell/on_receive/handled frames, no
        in-flight counting: inline, a handler has returned when the call does);
        anything else (callbacks, dead or other actors) goes through
        ``_deliver_inline``. ``stats`` "deliveries" and "waves" are added up at the end
        of the call."""
        times, buckets, endpoints, clock = self._times, self._due, self._endpoints, self.clock
        heappop = heapq.heappop
        waves = delivered = 0
        try:
            while True:
                if self._in_flight or self._failures or self._halt is not None:
                    self.wait_idle()
                elif self._wave_journal:
                    records, self._wave_journal = self._wave_journal, []
                    self._write_records(records)
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
                    if ref.__class__ is not InlineRef or not ref.alive or ref.deliver is None:
                        self._deliver_inline(dest, sender, msg)
                        continue
                    try:
                        ref.deliver(msg, sender)
                    except Exception as exc:  # as EngineActor.on_receive + InlineRef.tell
                        ref.actor.report_failure(msg, exc)
                        ref.alive = False
                        ref.actor.on_failure(*sys.exc_info())
                    except BaseException as exc:
                        self.halted(dest, exc)
                        ref.alive = False
                    else:
                        delivered += 1
                waves += 1
        finally:
            self.stats["deliveries"] += delivered
            self.stats["waves"] += waves
        return waves

    def _enqueue(self, due, sender_id, seq, dest, sender, msg) -> bool:  # type: ignore[override]
        entry = ((sender_id << _SEQ_BITS) | seq, dest, sender, msg)
        bucket = self._due.get(due)
        if bucket is None:
            self._due[due] = [entry]
            heapq.heappush(self._times, due)
        else:
            bucket.append(entry)
        return False

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
        self._failures.append((name, exc))

    def _journal(self, actor_id: int, msg: Message) -> None:
        with self._lock:
            self._wave_journal.append(
                (((actor_id << _JOURNAL_ID_BITS) + _JOURNAL_ID_BIAS) + msg.msg_id, msg)
            )

    # -------------------------------------------------------------------- the loop

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
                        "work in flight with no handler running: "
                        + ", ".join(n for n, e in self._endpoints.items() if e.outstanding)
                    )
                if not self._idle.wait(self.idle_timeout_s):
                    raise RuntimeHalted(
                        f"actors still busy after {self.idle_timeout_s}s of wall time: "
                        + ", ".join(n for n, e in self._endpoints.items() if e.outstanding)
                    )
            halt = self._halt
        if halt is not None:
            self.stop()  # pykka is doing the same from the actor's thread: settle it here
            raise RuntimeHalted(f"an actor raised {halt!r}") from halt
        with self._lock:
            failures, self._failures = self._failures, []
        self._flush_journal()
        if failures:
            failures.sort(key=lambda f: self.actor_id(f[0]))
            try:
                for name, exc in failures:
                    self._supervise(name, exc)
            finally:
                self._flush_journal()
            self.wait_idle()  # restarted actors' on_start

    def _flush_journal(self) -> None:
        with self._lock:
            records, self._wave_journal = self._wave_journal, []
        if records:
            self._write_records(records)

    def _write_records(self, records: list[tuple[int, Message]]) -> None:
        """Hand one wave's journal records to the sink in (actor id, seq) order."""
        sink = self.journal_sink
        if sink is None:
            return
        if len(records) > 1:
            records.sort(key=_KEY)  # stable: equal keys keep their journaling order
        extend = getattr(sink, "extend", None)
        if extend is not None:  # one call (and one lock) per wave
            extend(map(_MESSAGE, records))
        else:
            for _, msg in records:
                sink.append(msg)

    def _supervise(self, name: str, exc: BaseException) -> None:
        if self.supervisor is None:
            raise RuntimeHalted(f"actor {name} failed with no supervisor: {exc!r}") from exc
        self.supervisor.child_failed(name, exc)

    def next_due(self) -> int | None:
        with self._lock:
            times = self._times
            return times[0] if times else None

    def step(self) -> bool:
        """Deliver one wave (every delivery due at the earliest time); False if none."""
        if not self.threaded:
            return self._run_inline(None, 1) == 1
        self.wait_idle()
        with self._lock:
            if not self._times:
                return False
            due = heapq.heappop(self._times)
            wave = self._due.pop(due)
            wave.sort()
            self.clock.advance_to(due)
        deliver = self._deliver
        for _, dest, sender, msg in wave:
            deliver(dest, sender, msg)
        self.wait_idle()
        self.stats["waves"] += 1
        return True

    def run_until(self, t_ns: int) -> None:
        """Deliver everything due up to and including ``t_ns``, then set the clock to it."""
        with self._halting():
            if not self.threaded:
                self._run_inline(t_ns, None)
            else:
                while True:
                    due = self.next_due()
                    if due is None or due > t_ns:
                        break
                    self.step()
        if t_ns > self.clock.now():
            self.clock.advance_to(t_ns)

    def run(self, until_ns: int | None = None, max_waves: int | None = None) -> None:
        """Run until nothing is pending (or ``until_ns`` / ``max_waves``)."""
        with self._halting():
            if not self.threaded:
                self._run_inline(until_ns, max_waves)
            else:
                waves = 0
                while max_waves is None or waves < max_waves:
                    due = self.next_due()
                    if due is None or (until_ns is not None and due > until_ns):
                        break
                    self.step()
                    waves += 1
            self.wait_idle()

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


class LiveRuntime(Runtime):
    """Wall-clock runtime: a scheduler thread delivers due messages and timers.

    ``cpu``: run every engine thread (the scheduler and each actor's) on this one CPU.
    Python threads take turns on the GIL anyway, so a second core buys them nothing, while
    each handoff between threads on different cores waits for the other core to wake,
    which on a virtual machine's idle vCPU takes longer than the handler itself (here:
    fill → next child decision p50 ~155–175 µs across cores, ~60–100 µs on one). Threads the
    application creates are left alone; call ``pin_thread()`` from one that talks to the
    engine at high rate to put it on the same core.
    """

    def __init__(
        self, seed: int = 0, journal: JournalSink | None = None, cpu: int | None = None
    ) -> None:
        if cpu is not None:
            if not hasattr(os, "sched_setaffinity"):
                raise ValueError("cpu: pinning threads needs os.sched_setaffinity (Linux)")
            allowed = sorted(os.sched_getaffinity(0))
            if cpu not in allowed:
                raise ValueError(f"cpu {cpu!r} is not one this process may run on: {allowed}")
        self.cpu = cpu
        super().__init__(LiveClock(), seed=seed, journal=journal)
        self._heap: list[tuple[int, int, int, str, str, Message]] = []
        self._queued: dict[tuple[str, str], int] = {}  # per link: in the heap or being delivered
        self._wakeup = threading.Condition(self._lock)
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="smart-exec-scheduler", daemon=True)
        self._thread.start()

    def _enqueue(self, due, sender_id, seq, dest, sender, msg) -> bool:  # type: ignore[override]
        # Due now and nothing earlier on this link still on its way: the sender hands it
        # over itself, sparing the scheduler thread's handoff (FIFO per link holds).
        link = (sender, dest)
        if due <= self.clock.now() and not self._queued.get(link):
            return True
        self._queued[link] = self._queued.get(link, 0) + 1
        heapq.heappush(self._heap, (due, sender_id, seq, dest, sender, msg))
        self._wakeup.notify()
        return False

    def _failure(self, name: str, exc: BaseException) -> None:
        # Restart off the failing actor's thread: pykka is still unwinding it.
        threading.Thread(target=self._supervise, args=(name, exc), daemon=True).start()

    def _supervise(self, name: str, exc: BaseException) -> None:
        self.pin_thread()
        if self.supervisor is not None:
            try:
                self.supervisor.child_failed(name, exc)
            except RuntimeHalted as halt:
                self._halt = halt

    def pin_thread(self) -> None:
        """Put the calling thread on ``cpu`` (no-op without one)."""
        if self.cpu is not None:
            os.sched_setaffinity(0, {self.cpu})  # 0: the calling thread, on Linux

    def _loop(self) -> None:
        self.pin_thread()
        while True:
            with self._lock:
                while self._running and (not self._heap or self._heap[0][0] > self.clock.now()):
                    timeout = None
                    if self._heap:
                        timeout = max(self._heap[0][0] - self.clock.now(), 0) / 1e9
                    self._wakeup.wait(timeout)
                if not self._running:
                    return
                _, _, _, dest, sender, msg = heapq.heappop(self._heap)
            self._deliver(dest, sender, msg)
            with self._lock:
                self._queued[(sender, dest)] -= 1

    def shutdown(self) -> None:
        with self._lock:
            self._running = False
            self._wakeup.notify()
        self._thread.join(timeout=5)
        self.stop()
