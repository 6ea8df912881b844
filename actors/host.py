"""The generic host: one actor around one engine object (``engine.contract.Hosted``).

It delivers, sends what comes back, and keeps one timer at the object's next wake. A
subclass builds its object in ``started()`` (fresh, or rebuilt from the audit trail
after a restart) and adds no routing logic of its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from actors.actor import EngineActor
from engine.audit.trail import AuditTrail
from engine.contract import FEED, JOURNAL, Hosted
from engine.messages import Message

WAKE = "wake"


class HostActor(EngineActor):
    obj: Hosted

    def receive(self, msg: Message, sender: str) -> None:
        self.dispatch(self.obj.handle(msg, self.now))

    def on_timer(self, key: str) -> None:
        self.dispatch(self.obj.on_wake(self.now))

    def dispatch(self, out: Iterable[tuple[str, Message]]) -> None:
        """Send each outgoing message (journaled unless it is a feed message, its record
        before the send; one to ``JOURNAL`` only journaled), then re-arm the timer (or
        drop it: the object wants no wake)."""
        journal, send, send_journaled = self.journal, self.send, self.send_journaled
        for dest, msg in out:
            if dest == JOURNAL:
                journal(msg)
            elif msg.__class__ in FEED:
                send(dest, msg)
            else:
                send_journaled(dest, msg)
        wake = self.obj.next_wake_ns()
        if wake is None:
            self.cancel_timer(WAKE)
        else:
            self.set_timer(WAKE, wake)

    def trail(self) -> AuditTrail:
        """The runtime's audit trail, which recovery reads (a restart without one is a
        configuration error, not something to guess around)."""
        sink = self.runtime.journal_sink
        if sink is None:
            raise RuntimeError(f"{self.name} restarted without an audit trail to recover from")
        return sink
