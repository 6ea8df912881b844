"""The base of every engine actor: a pykka ``ThreadingActor`` addressed by a stable name.

Subclasses implement ``receive(msg, sender)`` (and optionally ``started()``); they talk
to the world only through ``send``/``set_timer``/``journal``, never by calling another
actor. The base does the runtime bookkeeping that makes simulation deterministic and
failures visible: every handled message is reported as handled; an exception is reported
to the runtime (then the supervisor) before pykka stops the actor.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import pykka

from actors.logs import log_failure
from actors.runtime import Runtime
from engine.messages import InjectActorFailure, Message, TimerFired


class InjectedFailure(RuntimeError):
    """Raised by an actor told ``InjectActorFailure`` (fault-injection testing)."""


class EngineActor(pykka.ThreadingActor):
    def __init__(self, runtime: Runtime, name: str, generation: int = 0) -> None:
        super().__init__()
        self.runtime = runtime
        self.name = name
        self.generation = generation  # restarts so far; a restart reseeds the RNG
        self.rng = runtime.rng_for(name, generation)
        self._timers: dict[str, int] = {}
        # ``send`` and ``journal`` bound straight to the runtime's: no Python frame of their
        # own on the most frequent calls of a run (unless a subclass overrides them).
        if type(self).send is EngineActor.send:
            self.send = functools.partial(runtime.send, name)  # type: ignore[method-assign]
        if type(self).journal is EngineActor.journal:
            self.journal = functools.partial(runtime.journal, name)  # type: ignore[method-assign]
        if type(self).send_journaled is EngineActor.send_journaled:
            self.send_journaled = functools.partial(  # type: ignore[method-assign]
                runtime.send_journaled, name
            )

    # ------------------------------------------------------------------ to override

    def started(self) -> None:
        """Runs in the actor's thread before any message (e.g. recover from the journal)."""

    def receive(self, msg: Message, sender: str) -> None:
        raise NotImplementedError

    def on_timer(self, key: str) -> None:
        """A timer set with ``set_timer`` fired (stale timers are filtered out)."""

    # ------------------------------------------------------------------ for subclasses

    # The runtime clock's time, read with no Python frame: a C ``attrgetter`` as the
    # property's getter (SimClock keeps it in ``_now``; LiveClock's ``_now`` is a property
    # reading the wall clock).
    now = property(
        operator.attrgetter("runtime.clock._now"), doc="The runtime clock's current time (ns)."
    )

    def send(self, dest: str, msg: Message, delay_ns: int = 0) -> Message:
        """Send ``msg`` to ``dest`` through the runtime; returns it stamped."""
        return self.runtime.send(self.name, dest, msg, delay_ns)

    def journal(self, msg: Message) -> Message:
        """Write ``msg`` to the audit trail; returns it stamped."""
        return self.runtime.journal(self.name, msg)

    def send_journaled(self, dest: str, msg: Message, delay_ns: int = 0) -> Message:
        """Send ``msg`` and write it to the audit trail (the record before the send, so
        no thread can deliver it first); returns it stamped."""
        return self.runtime.send_journaled(self.name, dest, msg, delay_ns)

    def set_timer(self, key: str, at_ns: int) -> None:
        """Arm (or re-arm) timer ``key``; only the latest arming of a key fires."""
        now = self.now
        if at_ns < now:
            at_ns = now
        timers = self._timers
        if timers.get(key) == at_ns:
            return
        timers[key] = at_ns
        self.runtime.set_timer(self.name, key, at_ns)

    def cancel_timer(self, key: str) -> None:
        self._timers.pop(key, None)

    # ------------------------------------------------------------------ pykka hooks

    def on_start(self) -> None:
        self.runtime.pin_thread()
        self.runtime.actor_thread()
        try:
            self.started()
        except Exception as exc:
            log_failure("ERROR", "actor {!r} failed in on_start", self.name, exc=exc)
            self.runtime.failed(self.name, exc)
            raise
        except BaseException as exc:
            self.runtime.halted(self.name, exc)
            raise
        self.runtime.handled(self.name)

    def deliver(self, msg: Message, sender: str) -> None:
        """Handle one message: a live timer's ``on_timer`` (stale ones are dropped), an
        injected failure, else ``receive``. No bookkeeping: ``on_receive`` (pykka
        threads) wraps it, and the inline simulation calls it directly and does the
        bookkeeping itself (see ``SimRuntime._run``)."""
        # Exact class checks: messages are final (a tagged union has no subclasses), and
        # ``type() is`` is cheaper than ``isinstance`` on every delivery.
        if type(msg) is TimerFired:
            timers, key = self._timers, msg.key
            if timers.get(key) == msg.ts:
                del timers[key]
                self.on_timer(key)
        elif type(msg) is InjectActorFailure:
            raise InjectedFailure(f"{self.name}: {msg.reason}")
        else:
            self.receive(msg, sender)

    def report_failure(self, msg: Message, exc: Exception) -> None:
        """A handler raised ``exc``: log it and report it to the runtime (then the
        supervisor), before pykka (or the inline loop) stops this actor."""
        log_failure(
            "ERROR", "actor {!r} failed handling {}", self.name, type(msg).__name__, exc=exc
        )
        self.runtime.failed(self.name, exc)

    def on_receive(self, message: Any) -> Any:
        sender, msg = message
        try:
            self.deliver(msg, sender)
        except Exception as exc:
            self.report_failure(msg, exc)
            raise
        except BaseException as exc:
            self.runtime.halted(self.name, exc)
            raise
        self.runtime.handled(self.name)
        return None
