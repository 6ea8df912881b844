"""What every runtime does: names, sends, timers, the journal, actor bookkeeping.

A runtime subclass decides where a queued delivery waits (``_enqueue``), where a journal
record goes (``_record``), and how a failure reaches the supervisor (``_failure``).
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
from loguru import logger

from actors.logs import log_failure
from actors.runtime.endpoint import ActorHandle, Endpoint, Link
from actors.runtime.inline import InlineRef
from actors.runtime.seeds import link_seed, named_seed
from engine.audit.trail import AuditTrail
from engine.clock import LiveClock, SimClock
from engine.messages import Message, TimerFired

if TYPE_CHECKING:
    import pykka

    from actors.actor import EngineActor
    from actors.supervisor import Supervisor

EXTERNAL = "external"  # the sender name of anything outside the actors (API, tests)
_STOP_TIMEOUT_S = 10  # an actor that does not stop by then is given up (its thread died)
_replace = msgspec.structs.replace
Callback = Callable[[Message, str], None]


class RuntimeHalted(RuntimeError):
    """The run cannot continue: a supervisor escalated past the top, or a BaseException
    in an actor stopped every actor."""


class Runtime:
    """What actors see: names, sends, timers, the clock, per-actor RNGs, the journal."""

    threaded = True  # actors on pykka threads; else driven inline (``InlineRef``)
    clock: SimClock | LiveClock

    def __init__(
        self,
        clock: SimClock | LiveClock,
        seed: int = 0,
        journal: AuditTrail | None = None,
        lock: threading.RLock | None = None,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self._inline_refs: list[InlineRef] = []
        self._thread_refs: list[pykka.ActorRef[Any]] = []  # this runtime's pykka actors
        self.journal_sink = journal
        # Actors on pykka threads, the live scheduler and the application's threads share
        # the runtime's state.
        self._lock = threading.RLock() if lock is None else lock
        self._endpoints: dict[str, Endpoint] = {}
        self._next_actor_id = 1
        self._links: dict[tuple[str, str], tuple[int, int]] = {}  # (latency, jitter)
        self.supervisor: Supervisor | None = None
        self.stats: dict[str, int] = defaultdict(int)
        self.dead_letters: list[tuple[str, str, Message]] = []
        self._halt: BaseException | None = None
        self.endpoint(EXTERNAL)

    def pin_thread(self) -> None:
        """Called on each actor's thread as it starts: ``LiveRuntime`` may put it on one
        CPU; other runtimes leave it where it is."""

    def actor_thread(self) -> None:
        """Called on each pykka actor's thread as it starts: the live runtime releases
        what an actor holds for callbacks on the actor's own thread."""

    def now(self) -> int:
        return self.clock.now()

    # ----------------------------------------------------------------- names and ids

    def endpoint(self, name: str) -> Endpoint:
        """The endpoint of ``name``, created with the next stable id on first use.
        Endpoints are never removed (a restart keeps the name's id), so a found one can
        be returned without the lock."""
        ep = self._endpoints.get(name)
        if ep is not None:
            return ep
        with self._lock:
            ep = self._endpoints.get(name)
            if ep is None:
                ep = Endpoint(name, self._next_actor_id)
                self._next_actor_id += 1
                self._endpoints[name] = ep
            return ep

    def actor_id(self, name: str) -> int:
        """``name``'s id: actors are numbered in the order they are first named, which
        orders deliveries due at one time and a wave's journal records. Only the order
        of ids matters there, and an instrument's actors keep theirs relative to each
        other and to the engine's own (supervisors, router, desk) whatever other
        instruments start between them; so no seed is derived from an id."""
        return self.endpoint(name).actor_id

    def rng_for(self, name: str, generation: int = 0) -> random.Random:
        """The actor's own RNG, derived from (seed, actor name, restart generation): not
        from its id, which depends on how many actors started before it."""
        return random.Random(named_seed(self.seed, name, "actor", generation))

    def spawn(
        self, actor_class: type[EngineActor], name: str, generation: int = 0, **kwargs: Any
    ) -> ActorHandle:
        """Start an actor: a pykka thread (threaded runtimes) or an ``InlineRef``, and
        register it under its stable name. Its ``on_start`` counts as work in flight."""
        self.starting(name)
        if self.threaded:
            with self._lock:
                ep = self.endpoint(name)
                if ep.held is None:  # else: mail held for it before it was spawned
                    ep.held = []
            ref = actor_class.start(runtime=self, name=name, generation=generation, **kwargs)
            self._thread_refs.append(ref)
            self.attach(name, ref)
            return ref
        inline = InlineRef(actor_class(runtime=self, name=name, generation=generation, **kwargs))
        self._inline_refs.append(inline)
        self.attach(name, inline)
        return inline.start()

    def attach(self, name: str, ref: ActorHandle) -> None:
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

    def ref(self, name: str) -> ActorHandle | None:
        ep = self._endpoints.get(name)
        return ep.ref if ep else None

    def on_message(self, name: str, callback: Callable[[Message, str], None]) -> None:
        """Deliver messages sent to ``name`` to an in-process callback (API subscribers,
        tests): what leaves the engine. Durable before acknowledged: a message is handed
        over, in delivery order, only once every record journaled before it is committed
        (``_hold``). In simulation it runs on the loop thread at the end of the wave that
        delivers it, after one commit for the wave."""
        with self._lock:
            self.endpoint(name).callback = callback

    # ------------------------------------------------------------------------ links

    def set_link(self, a: str, b: str, latency_ns: int, jitter_ns: int = 0) -> None:
        """One-way latency both ways between ``a`` and ``b``, with uniform jitter.
        Deliveries on a link stay FIFO (as over one TCP connection), across a change."""
        for src, dest in ((a, b), (b, a)):
            self._links[(src, dest)] = (latency_ns, jitter_ns)
            ep = self._endpoints.get(src)
            link = ep.links.get(dest) if ep is not None else None
            if link is not None:
                link.configure(latency_ns, jitter_ns)

    def _link(self, ep: Endpoint, dest: str) -> Link:
        """The link from ``ep`` to ``dest``, made on first use."""
        latency, jitter = self._links.get((ep.name, dest), (0, 0))
        link = Link(latency, jitter, link_seed(self.seed, ep.name, dest))
        ep.links[dest] = link
        return link

    # ---------------------------------------------------------------------- sending

    def stamp(self, sender: str, msg: Message) -> Message:
        """Give ``msg`` its sender's next id (``actor_id << 40 | seq``) and the runtime's
        time if it has no time, unless it has an id already: a relayed message keeps
        the one it was first given."""
        if msg.msg_id:
            return msg
        ep = self._endpoints.get(sender) or self.endpoint(sender)
        return _replace(msg, msg_id=ep.next_id(), ts=msg.ts or self.clock._now)

    def send(self, sender: str, dest: str, msg: Message, delay_ns: int = 0) -> Message:
        """Queue ``msg`` for ``dest``, due after link latency plus ``delay_ns``. Every send
        takes the sender's next sequence number: the id of a message that has none
        (as ``stamp`` gives it), and the order of the delivery among those due at the
        same time (a relayed message keeps its id but is ordered as the relayer's send).

        Sent now, a message is FIFO on its link; sent for later (a client's ``at_ns``) it
        is sent then: held behind nothing sent now, and holding nothing back (it would
        delay every later command on the link until its own time).

        The hottest call of a simulation, so written flat: an inline simulation takes no
        lock, and the stamping is ``stamp``'s, with the id this send takes anyway."""
        ep = self._endpoints.get(sender) or self.endpoint(sender)
        threaded = self.threaded
        if threaded:
            self._lock.acquire()
        try:
            order = ep.key_base | next(ep.seq)
            now = self.clock._now
            if not msg.msg_id:
                msg = _replace(msg, msg_id=order, ts=msg.ts or now)
            link = ep.links.get(dest) or self._link(ep, dest)
            due = now + delay_ns + link.latency
            if link.span > 1:
                due += link.jitter()
            if not delay_ns:
                if link.last > due:
                    due = link.last
                link.last = due
            handover = self._enqueue(due, order, dest, sender, msg)
        finally:
            if threaded:
                self._lock.release()
        if handover:
            self._deliver(dest, sender, msg)
        return msg

    def send_journaled(self, sender: str, dest: str, msg: Message, delay_ns: int = 0) -> Message:
        """``send`` ``msg``, then write it to the audit trail, as one step for the
        threads that release held messages: they take what is held under the runtime's
        lock, so a message handed over (or taken from the queue) meanwhile is taken
        with its record appended, and the commit that precedes its release covers it."""
        if not self.threaded:
            return self.journal(sender, self.send(sender, dest, msg, delay_ns))
        with self._lock:
            return self.journal(sender, self.send(sender, dest, msg, delay_ns))

    def set_timer(self, owner: str, key: str, at_ns: int) -> None:
        """Deliver ``TimerFired(key)`` to ``owner`` at ``at_ns`` (no link latency)."""
        ep = self._endpoints.get(owner) or self.endpoint(owner)
        threaded = self.threaded
        if threaded:
            self._lock.acquire()
        try:
            order = ep.key_base | next(ep.seq)
            now = self.clock._now
            msg = TimerFired(key=key, msg_id=order, ts=at_ns)
            handover = self._enqueue(at_ns if at_ns > now else now, order, owner, owner, msg)
        finally:
            if threaded:
                self._lock.release()
        if handover:
            self._deliver(owner, owner, msg)

    def _enqueue(self, due: int, order: int, dest: str, sender: str, msg: Message) -> bool:
        """Queue a delivery (called with the lock held); ``order`` (the sender's id of the
        send) orders deliveries due at the same time. True: deliver it right away
        instead, from the sender's thread, after the lock is released."""
        raise NotImplementedError

    # -------------------------------------------------------------------- journaling

    def journal(self, sender: str, msg: Message) -> Message:
        """Write ``msg`` to the audit trail (stamped if needed)."""
        msg = self.stamp(sender, msg)
        sink = self.journal_sink
        if sink is not None:
            self._record(sink, self._endpoints.get(sender) or self.endpoint(sender), msg)
        return msg

    def _record(self, sink: AuditTrail, ep: Endpoint, msg: Message) -> None:
        """Hand ``msg``, journaled by ``ep``, towards ``sink``."""
        raise NotImplementedError

    # ------------------------------------------------------------ actor bookkeeping

    def _deliver(self, dest: str, sender: str, msg: Message) -> None:
        """Hand one message to its destination now (called with the lock released)."""
        ep = self._endpoints.get(dest)
        if ep is None:
            with self._lock:
                self._dead_letter(dest, sender, msg)
            return
        if ep.callback is not None:
            self._hold(ep.callback, msg, sender)
            return
        with self._lock:
            ref = ep.ref
            if ref is None and ep.held is not None:
                ep.held.append((sender, msg))
                ep.outstanding += 1
                self._begin()
                return
            if ref is None:
                self._dead_letter(dest, sender, msg)
                return
            ep.outstanding += 1
            self._begin()
        try:
            ref.tell((sender, msg))
        except Exception:  # ActorDeadError: died between lookup and tell
            with self._lock:
                ep.outstanding -= 1
                self._end(1)
                self._dead_letter(dest, sender, msg)

    def _hold(self, callback: Callback, msg: Message, sender: str) -> None:
        """Keep a message for an in-process callback until the audit trail's next commit
        (group commit: one commit releases every message held until then, in order)."""
        raise NotImplementedError

    def _release(self, held: list[tuple[Callback, Message, str]]) -> None:
        """Commit the audit trail, then hand each held message to its callback in order."""
        self._commit(held)
        self._hand_over(held)

    def _commit(self, held: list[tuple[Callback, Message, str]]) -> None:
        """Commit every record journaled so far; if that fails, everything stays held."""
        flush = getattr(self.journal_sink, "flush", None)  # a bare list has nothing to make durable
        if flush is None:
            return
        try:
            flush()
        except BaseException:
            self._requeue(held)
            raise

    def _hand_over(self, held: list[tuple[Callback, Message, str]]) -> None:
        """Call each callback in order; if one raises, the ones after it are held again
        and the error surfaces."""
        for i, (callback, msg, sender) in enumerate(held):
            try:
                callback(msg, sender)
            except BaseException:
                self._requeue(held[i + 1 :])
                raise

    def _requeue(self, held: list[tuple[Callback, Message, str]]) -> None:
        """Put messages not yet handed over back in front of what is held."""
        raise NotImplementedError

    def _dead_letter(self, dest: str, sender: str, msg: Message) -> None:
        self.stats["dead_letters"] += 1
        self.dead_letters.append((dest, sender, msg))
        logger.warning("dead letter: {} from {!r} to {!r}", type(msg).__name__, sender, dest)

    def _begin(self) -> None:
        """One more unit of actor work in flight."""

    def _end(self, n: int) -> None:
        """``n`` units of actor work finished (handled, or dropped by a dead actor)."""

    def _wake(self) -> None:
        """Wake whoever waits on the runtime."""

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

    def _failure(self, name: str, exc: BaseException) -> None:
        """Have the supervisor handle ``name``'s failure (called with the lock held)."""
        raise NotImplementedError

    def halted(self, name: str, exc: BaseException) -> None:
        """A BaseException in an actor: pykka stops every actor. The run is over."""
        with self._lock:
            self._halt = exc
            log_failure("CRITICAL", "actor {!r} halts the run: every actor stops", name, exc=exc)
            self._wake()

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
                logger.error("{!r} did not stop within {}s; given up", ref, _STOP_TIMEOUT_S)
