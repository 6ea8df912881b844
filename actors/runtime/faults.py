"""Link faults and fault triggers inside the runtime, costing nothing when there are none.

While a link fault is on, ``LinkFaults.enqueue`` stands in for the runtime's
``_enqueue`` (an instance attribute over the class's method) and decides, per matching
message, to drop it, queue it twice, or queue it late; when the last fault ends the
attribute goes and every send takes the plain path again. Fault triggers
(``TriggerWatch``) do the same with ``_record``: they count the events the trail
records, and the one that completes a trigger sends its fault on to the fault actor.

A fault hits the messages sent strictly after the instant it started and before the
instant it ends: the actors of the wave that starts it may run on threads at the same
time, and which of their sends came first is no part of a seed's run. A link's messages
come from one actor, so a count of them is kept in that actor's order, and the record
of a count used up is journaled by that actor: the same trail inline or on threads.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.faults import FAULT_ACTOR, TriggerCounter, target
from engine.messages import FaultEnded, FaultKind, InjectFault, Message

if TYPE_CHECKING:
    from actors.runtime.base import Runtime
    from engine.audit.trail import AuditTrail

EXTERNAL = "external"
Enqueue = Callable[[int, int, str, str, Message], bool]


class LinkFault:
    """One active link fault (or latency spike) as the runtime applies it."""

    __slots__ = ("affected", "cmd", "key", "kind", "lates", "remaining", "start", "until")

    def __init__(self, cmd: InjectFault, key: str, start: int) -> None:
        self.cmd = cmd
        self.kind = cmd.fault
        self.key = key  # the fault actor's timer key: ends it
        self.remaining = cmd.count  # 0: every matching message while it is on
        self.affected = 0
        self.start = start
        self.until = None if cmd.duration_ns is None else start + cmd.duration_ns
        self.lates: dict[tuple[str, str], int] = {}  # per link: when its last delayed one is due

    def matches(self, sender: str, dest: str, msg: Message, now: int) -> bool:
        if now <= self.start or (self.until is not None and now >= self.until):
            return False
        cmd = self.cmd
        if self.kind is FaultKind.LATENCY_SPIKE:
            if sender in (EXTERNAL, FAULT_ACTOR, dest) or cmd.venue not in (sender, dest):
                return False
        elif sender != cmd.sender or dest != cmd.receiver:
            return False
        return not cmd.message or type(msg).__name__ == cmd.message


class LinkFaults:
    """The runtime's active link faults, in the order they started."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.active: list[LinkFault] = []
        self._plain: Enqueue = type(runtime)._enqueue.__get__(runtime)

    def start(self, fault: LinkFault) -> None:
        self.active.append(fault)
        self.runtime._enqueue = self.enqueue  # type: ignore[method-assign]

    def end(self, key: str) -> LinkFault | None:
        """Take fault ``key`` off (None: it had ended already)."""
        for fault in self.active:
            if fault.key == key:
                self.active.remove(fault)
                if not self.active:
                    del self.runtime._enqueue  # the plain path again
                return fault
        return None

    def enqueue(self, due: int, order: int, dest: str, sender: str, msg: Message) -> bool:
        now = self.runtime.clock._now
        for fault in self.active:
            if fault.matches(sender, dest, msg, now):
                return self._apply(fault, due, order, dest, sender, msg)
        return self._plain(due, order, dest, sender, msg)

    def _apply(
        self, fault: LinkFault, due: int, order: int, dest: str, sender: str, msg: Message
    ) -> bool:
        fault.affected += 1
        if fault.remaining:
            fault.remaining -= 1
            if not fault.remaining:  # its last message: over once this one is hit
                self._used_up(fault, sender)
        kind, plain = fault.kind, self._plain
        if kind is FaultKind.LINK_DROP:
            return False
        if kind is FaultKind.LINK_DUPLICATE:
            again = self.runtime.endpoint(sender).next_id()  # its own place in the wave
            return plain(due, order, dest, sender, msg) | plain(due, again, dest, sender, msg)
        delay = fault.cmd.delay_ns
        late = due + delay
        if kind is not FaultKind.LINK_REORDER:  # FIFO: what follows waits behind it
            link = self.runtime.endpoint(sender).links.get(dest)
            if link is not None and link.last == due:
                if fault.lates.get((sender, dest)) == due:
                    # queued behind this fault's last one: late by the delay from its own
                    # sending, not after that one (a burst of N is not N delays late)
                    late = max(due, self.runtime.clock._now + link.latency + delay)
                link.last = fault.lates[(sender, dest)] = late
        return plain(late, order, dest, sender, msg)

    def _used_up(self, fault: LinkFault, sender: str) -> None:
        self.end(fault.key)
        ended = FaultEnded(
            fault=fault.kind, target=target(fault.cmd), reason="count", affected=fault.affected
        )
        self.runtime.journal(sender, ended)


class TriggerWatch:
    """Faults waiting for an event of the trail; each fires once."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.pending: list[tuple[TriggerCounter, InjectFault]] = []
        self._plain = type(runtime)._record.__get__(runtime)

    def arm(self, cmd: InjectFault) -> None:
        assert cmd.after is not None
        self.pending.append((TriggerCounter(cmd.after), cmd))
        self.runtime._record = self.record  # type: ignore[method-assign]

    def record(self, sink: AuditTrail, ep: object, msg: Message) -> None:
        self._plain(sink, ep, msg)
        if not sum(counter.seen(msg) for counter, _ in self.pending):  # each one counts it
            return
        fired = [cmd for counter, cmd in self.pending if counter.fired]
        self.pending = [(counter, cmd) for counter, cmd in self.pending if not counter.fired]
        if not self.pending:
            del self.runtime._record
        name = getattr(ep, "name", FAULT_ACTOR)
        for cmd in fired:  # sent by the actor whose record fired it: its place is fixed
            self.runtime.send(name, FAULT_ACTOR, cmd)  # its id kept: the actor knows it


_BY_RUNTIME: weakref.WeakKeyDictionary[Runtime, tuple[LinkFaults, TriggerWatch]] = (
    weakref.WeakKeyDictionary()
)


def fault_hooks(runtime: Runtime) -> tuple[LinkFaults, TriggerWatch]:
    """The runtime's link faults and triggers (one pair per runtime: a restarted fault
    actor finds the faults its predecessor started)."""
    hooks = _BY_RUNTIME.get(runtime)
    if hooks is None:
        hooks = _BY_RUNTIME[runtime] = (LinkFaults(runtime), TriggerWatch(runtime))
    return hooks
