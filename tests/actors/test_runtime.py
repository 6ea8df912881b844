"""The simulated runtime: virtual time, waves, timers, latency, determinism."""

import hashlib

import pytest

from actors.actor import EngineActor
from actors.runtime import EXTERNAL, LiveRuntime, SimRuntime
from actors.supervisor import ChildSpec, Supervisor
from engine import messages as m
from engine.clock import MS, SECOND


class ListJournal:
    def __init__(self):
        self.records = []

    def append(self, msg):
        self.records.append(msg)

    def digest(self):
        h = hashlib.sha256()
        for r in self.records:
            h.update(m.canonical(r))
        return h.hexdigest()


class Pinger(EngineActor):
    """Bounces a counter to a peer with a random think time; journals every hop."""

    def __init__(self, runtime, name, generation=0, peer="", hops=0):
        super().__init__(runtime, name, generation)
        self.peer, self.hops = peer, hops

    def receive(self, msg, sender):
        self.journal(m.CancelParentOrder(parent_id=msg.parent_id, reason=f"{self.name}<-{sender}"))
        n = int(msg.parent_id)
        if n < self.hops:
            hop = m.CancelParentOrder(parent_id=str(n + 1))
            self.send(self.peer, hop, delay_ns=self.rng.randrange(5 * MS))


def run_pingpong(seed, pairs=3, hops=40, threaded=False):
    journal = ListJournal()
    rt = SimRuntime(seed=seed, journal=journal, threaded=threaded)
    sup = Supervisor(rt)
    for i in range(pairs):
        a, b = f"a{i}", f"b{i}"
        sup.start_child(ChildSpec(a, Pinger, {"peer": b, "hops": hops}))
        sup.start_child(ChildSpec(b, Pinger, {"peer": a, "hops": hops}))
        rt.set_link(a, b, latency_ns=1 * MS, jitter_ns=300_000)
    for i in range(pairs):
        rt.send(EXTERNAL, f"a{i}", m.CancelParentOrder(parent_id="0"))
    rt.run()
    rt.stop()
    return journal, rt


def test_same_seed_same_journal_different_seed_differs():
    j1, rt1 = run_pingpong(seed=7)
    j2, _ = run_pingpong(seed=7)
    j3, _ = run_pingpong(seed=8)
    assert len(j1.records) == 3 * 41
    assert j1.digest() == j2.digest()
    assert j1.digest() != j3.digest()
    assert rt1.stats["deliveries"] >= 3 * 41


def test_threaded_and_inline_simulation_write_the_same_journal():
    """The same actors on pykka threads (wave-synchronous) or driven inline on the loop
    thread: byte-identical audit trail."""
    threaded, _ = run_pingpong(seed=21, threaded=True)
    inline, _ = run_pingpong(seed=21, threaded=False)
    assert threaded.digest() == inline.digest()
    assert len(threaded.records) == 3 * 41


def test_time_only_moves_to_the_next_delivery_and_links_stay_fifo():
    journal = ListJournal()
    rt = SimRuntime(seed=1, journal=journal)
    sup = Supervisor(rt)
    seen = []
    rt.on_message("probe", lambda msg, sender: seen.append((rt.now(), msg.key)))
    rt.set_link(EXTERNAL, "probe", latency_ns=10 * MS, jitter_ns=9 * MS)
    for k in range(50):
        rt.send(EXTERNAL, "probe", m.TimerFired(key=str(k)))
    rt.run()
    assert [k for _, k in seen] == [str(k) for k in range(50)]  # FIFO despite jitter
    assert all(10 * MS <= t <= 19 * MS for t, _ in seen)
    assert sup.failures == {}


class Sleeper(EngineActor):
    def started(self):
        self.set_timer("wake", self.now + 3 * SECOND)
        self.set_timer("stale", self.now + 1 * SECOND)
        self.cancel_timer("stale")
        self.set_timer("rearmed", self.now + 1 * SECOND)
        self.set_timer("rearmed", self.now + 2 * SECOND)

    def on_timer(self, key):
        self.send("probe", m.TimerFired(key=key))


def test_timers_fire_at_virtual_time_and_only_the_latest_arming():
    rt = SimRuntime(seed=1, start_ns=1_000 * SECOND)
    sup = Supervisor(rt)
    fired = []
    rt.on_message("probe", lambda msg, sender: fired.append((rt.now() - 1_000 * SECOND, msg.key)))
    sup.start_child(ChildSpec("sleeper", Sleeper))
    rt.run()
    assert fired == [(2 * SECOND, "rearmed"), (3 * SECOND, "wake")]


def test_run_until_stops_at_the_horizon():
    rt = SimRuntime(seed=1)
    got = []
    rt.on_message("probe", lambda msg, sender: got.append(msg.key))
    rt.send(EXTERNAL, "probe", m.TimerFired(key="early"), delay_ns=1 * SECOND)
    rt.send(EXTERNAL, "probe", m.TimerFired(key="late"), delay_ns=5 * SECOND)
    rt.run_until(2 * SECOND)
    assert got == ["early"] and rt.now() == 2 * SECOND
    rt.run()
    assert got == ["early", "late"]


def test_message_ids_are_unique_and_stamped_with_runtime_time():
    journal, _ = run_pingpong(seed=3, pairs=2, hops=10)
    ids = [r.msg_id for r in journal.records]
    assert len(set(ids)) == len(ids)
    assert all(r.ts >= 0 for r in journal.records)


def test_live_runtime_delivers_on_the_wall_clock():
    import threading

    rt = LiveRuntime(seed=1)
    got = threading.Event()
    sup = Supervisor(rt)
    rt.on_message("probe", lambda msg, sender: got.set())
    sup.start_child(ChildSpec("a", Pinger, {"peer": "probe", "hops": 1}))
    rt.send(EXTERNAL, "a", m.CancelParentOrder(parent_id="0"))
    try:
        assert got.wait(10)
    finally:
        rt.shutdown()


class Greeter(EngineActor):
    """Asks for a reply in on_start: the reply can arrive before the runtime attached the
    new actor's ref (a pykka thread starts running on_start at once)."""

    def started(self):
        self.send("echo", m.CancelParentOrder(parent_id="hello"))

    def receive(self, msg, sender):
        self.send("probe", msg)


class Echo(EngineActor):
    def receive(self, msg, sender):
        self.send(sender, msg)


@pytest.mark.parametrize("threaded", [True, False])
def test_a_reply_to_an_actor_still_starting_is_held_not_dropped(threaded):
    rt = SimRuntime(seed=1, threaded=threaded)
    sup = Supervisor(rt)
    got = []
    rt.on_message("probe", lambda msg, sender: got.append(msg.parent_id))
    sup.start_child(ChildSpec("echo", Echo))
    for i in range(20):  # many starts: the race window is hit sooner or later if open
        sup.start_child(ChildSpec(f"greeter{i}", Greeter))
    rt.run()
    assert got == ["hello"] * 20 and rt.stats["dead_letters"] == 0
