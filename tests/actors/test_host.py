"""The generic host: deliver, journal and send what comes back, keep one timer."""

from __future__ import annotations

from actors.host import HostActor
from actors.runtime import EXTERNAL, SimRuntime
from actors.supervisor import ChildSpec, Supervisor
from engine import messages as m
from engine.audit.memory import MemoryTrail
from engine.clock import SECOND
from engine.contract import JOURNAL, Outbox


class Countdown:
    """A toy engine object: each command asks for a wake one second later; each wake
    tells the peer and records a decision, until the count runs out."""

    def __init__(self, peer: str, wakes: int) -> None:
        self.peer, self.left, self.wake_at = peer, wakes, None

    def handle(self, msg: m.Message, now_ns: int) -> Outbox:
        self.wake_at = now_ns + SECOND
        return [(JOURNAL, m.CancelParentOrder(parent_id="seen", reason=str(now_ns)))]

    def on_wake(self, now_ns: int) -> Outbox:
        self.left -= 1
        self.wake_at = now_ns + SECOND if self.left else None
        return [(self.peer, m.CancelParentOrder(parent_id="tick", reason=str(self.left)))]

    def next_wake_ns(self) -> int | None:
        return self.wake_at


class CountdownHost(HostActor):
    def __init__(self, runtime, name, generation=0, *, peer: str, wakes: int) -> None:
        super().__init__(runtime, name, generation)
        self.obj = Countdown(peer, wakes)


class Sink(HostActor):
    def __init__(self, runtime, name, generation=0, *, got: list[tuple[int, str]]) -> None:
        super().__init__(runtime, name, generation)
        self.obj = Countdown(peer="", wakes=0)
        self.got = got

    def receive(self, msg, sender):
        self.got.append((self.now, msg.reason))


def test_the_host_journals_sends_and_rearms_until_the_object_wants_no_wake():
    trail = MemoryTrail()
    rt = SimRuntime(seed=1, journal=trail)
    sup = Supervisor(rt)
    sink: list[tuple[int, str]] = []
    sup.start_child(ChildSpec("sink", Sink, {"got": sink}))
    sup.start_child(ChildSpec("countdown", CountdownHost, {"peer": "sink", "wakes": 3}))
    rt.send(EXTERNAL, "countdown", m.CancelParentOrder(parent_id="go"))
    rt.run()
    rt.stop()
    # three wakes a second apart, then none: the timer is dropped, the run ends
    assert [reason for _, reason in sink] == ["2", "1", "0"]
    times = [t for t, _ in sink]
    assert times[1] - times[0] == SECOND and times[2] - times[1] == SECOND
    # the decision is journaled and sent nowhere; every sent message is journaled too
    journaled = [
        (r.parent_id, r.reason) for r in trail.replay() if isinstance(r, m.CancelParentOrder)
    ]
    assert journaled[0][0] == "seen"
    assert [reason for pid, reason in journaled if pid == "tick"] == ["2", "1", "0"]
