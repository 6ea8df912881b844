"""The fault actor: applies the faults of a plan that are not a venue's own.

A link fault or latency spike starts when its command is delivered here (at its time),
is journaled (``FaultStarted``), and ends at its duration's end or when its count of
messages is used up (``FaultEnded``, with the messages it hit); the runtime applies it
(``actors.runtime.faults``). A fault with a trigger is armed here and fires when the
trail records the event it waits for: the command comes back then, and a venue's fault
goes on to the venue, which journals it with its cause.
"""

from __future__ import annotations

from actors.actor import EngineActor
from actors.runtime.faults import LinkFault, fault_hooks
from actors.supervisor import ChildSpec, Supervisor
from engine.faults import FAULT_ACTOR, VENUE_FAULTS, describe_trigger, target
from engine.messages import FaultEnded, FaultStarted, InjectFault, Message


class FaultActor(EngineActor):
    def started(self) -> None:
        self.links, self.watch = fault_hooks(self.runtime)
        self.armed: set[int] = set()  # commands waiting for their trigger, by id

    def receive(self, msg: Message, sender: str) -> None:
        if type(msg) is not InjectFault:
            return
        if msg.after is not None and msg.msg_id not in self.armed:
            self.armed.add(msg.msg_id)
            self.watch.arm(msg)
            return
        self.armed.discard(msg.msg_id)
        if msg.fault in VENUE_FAULTS:
            self.send(msg.venue, msg)
            return
        key = f"fault:{msg.msg_id}"
        self.links.start(LinkFault(msg, key, self.now))
        cause = describe_trigger(msg.after) if msg.after is not None else ""
        self.journal(
            FaultStarted(
                fault=msg.fault, target=target(msg), duration_ns=msg.duration_ns, cause=cause
            )
        )
        if msg.duration_ns is not None:
            self.set_timer(key, self.now + msg.duration_ns)

    def on_timer(self, key: str) -> None:
        fault = self.links.end(key)
        if fault is not None:  # else its count was used up first
            ended = FaultEnded(
                fault=fault.kind,
                target=target(fault.cmd),
                reason="expired",
                affected=fault.affected,
            )
            self.journal(ended)


def fault_actor(supervisor: Supervisor) -> str:
    """The fault actor's name, started under ``supervisor`` on first use (an engine whose
    plan has no such fault has none: its actor ids, and so its trail, stay as they were)."""
    if FAULT_ACTOR not in supervisor.children:
        supervisor.start_child(ChildSpec(FAULT_ACTOR, FaultActor, {}))
    return FAULT_ACTOR
