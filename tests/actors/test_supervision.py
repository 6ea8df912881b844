"""Supervision: every pykka failure path is caught, counted, logged and acted on."""

import pykka
import pytest
from loguru import logger

from actors.actor import EngineActor
from actors.runtime import EXTERNAL, RuntimeHalted, SimRuntime
from actors.supervisor import ChildSpec, RestartStrategy, RestartType, Supervisor
from engine import messages as m
from engine.clock import SECOND


class Journal(list):
    def append(self, msg):  # type: ignore[override]
        super().append(msg)


class Counter(EngineActor):
    """Counts messages; a message whose parent_id is "boom" raises, "exit" raises SystemExit."""

    def __init__(self, runtime, name, generation=0):
        super().__init__(runtime, name, generation)
        self.count = 0

    def receive(self, msg, sender):
        if msg.parent_id == "boom":
            raise ValueError("bad message")
        if msg.parent_id == "exit":
            raise SystemExit(3)
        self.count += 1
        self.send(
            "probe",
            m.ResizeParentOrder(
                parent_id=self.name, quantity=self.count, reason=f"gen{self.generation}"
            ),
        )


class FailsOnStart(EngineActor):
    def started(self):
        raise RuntimeError("cannot connect")

    def receive(self, msg, sender):
        pass


@pytest.fixture(params=[True, False], ids=["pykka-threads", "inline"], autouse=True)
def threaded(request):
    global THREADED
    THREADED = request.param
    return request.param


THREADED = True


def make(strategy=RestartStrategy.ONE_FOR_ONE, max_restarts=3):
    journal = Journal()
    rt = SimRuntime(seed=1, journal=journal, threaded=THREADED)
    sup = Supervisor(rt, strategy=strategy, max_restarts=max_restarts, window_ns=10 * SECOND)
    probe = []
    rt.on_message(
        "probe", lambda msg, sender: probe.append((msg.parent_id, msg.quantity, msg.reason))
    )
    return rt, sup, journal, probe


def tell(rt, name, tag, delay_ns=0):
    rt.send(EXTERNAL, name, m.CancelParentOrder(parent_id=tag), delay_ns=delay_ns)


@pytest.fixture
def log_lines():
    lines = []
    sink = logger.add(lines.append, level="WARNING", format="{level} {message}")
    logger.enable("actors")  # a library's records are off until the application asks
    yield lines
    logger.disable("actors")
    logger.remove(sink)


def test_exception_in_a_tell_handler_restarts_the_actor_by_name(log_lines):
    rt, sup, journal, probe = make()
    sup.start_child(ChildSpec("c", Counter))
    tell(rt, "c", "x", 1 * SECOND)
    tell(rt, "c", "boom", 2 * SECOND)
    tell(rt, "c", "y", 3 * SECOND)  # sent to the same name: reaches the new instance
    rt.run()
    assert probe == [("c", 1, "gen0"), ("c", 1, "gen1")]  # state was not journaled: fresh
    assert sup.failures["c"] == 1 and sup.restarts["c"] == 1
    assert rt.stats["failures"] == 1 and rt.stats["restarts"] == 1
    kinds = [type(r).__name__ for r in journal]
    assert kinds == ["ActorFailed", "ActorRestarted"]
    assert "ValueError: bad message" in journal[0].error
    assert any("failed handling" in line for line in log_lines)


def test_messages_queued_behind_a_crash_are_dropped_and_counted():
    rt, sup, _, probe = make()
    sup.start_child(ChildSpec("c", Counter))
    for tag in ["boom", "a", "b"]:  # same instant, same wave: both queued behind the crash
        tell(rt, "c", tag, 1 * SECOND)
    rt.run()
    assert probe == []
    # On a pykka thread the two are dropped from the inbox; inline they are dead letters.
    assert rt.stats["dropped_on_failure"] + rt.stats["dead_letters"] == 2


def test_exception_in_on_start_is_a_failure_and_escalates_when_it_persists():
    rt, sup, journal, _ = make(max_restarts=2)
    with pytest.raises(RuntimeHalted, match="escalated"):
        sup.start_child(ChildSpec("f", FailsOnStart))
        rt.run()
    assert sup.failures["f"] == 3 and sup.restarts["f"] == 2 and sup.escalated
    assert type(journal[-1]).__name__ == "SupervisorEscalated"


def test_restart_intensity_is_per_window_of_runtime_time():
    rt, sup, _, probe = make(max_restarts=1)
    sup.start_child(ChildSpec("c", Counter))
    tell(rt, "c", "boom", 1 * SECOND)
    tell(rt, "c", "boom", 20 * SECOND)  # outside the 10 s window: still allowed
    tell(rt, "c", "x", 21 * SECOND)
    rt.run()
    assert sup.restarts["c"] == 2 and not sup.escalated and probe == [("c", 1, "gen2")]
    tell(rt, "c", "boom", 1 * SECOND)  # at 22 s: second failure within 10 s, escalate
    with pytest.raises(RuntimeHalted):
        rt.run()


def test_base_exception_halts_the_run_instead_of_hanging():
    rt, sup, _, _ = make()
    sup.start_child(ChildSpec("c", Counter))
    sup.start_child(ChildSpec("d", Counter))
    tell(rt, "c", "exit", 1 * SECOND)
    with pytest.raises(RuntimeHalted, match="SystemExit"):
        rt.run()
    assert pykka.ActorRegistry.get_all() == []  # every actor stopped
    assert not any(rt.ref(n) and rt.ref(n).is_alive() for n in "cd")


@pytest.mark.parametrize(
    "strategy, restarted",
    [
        (RestartStrategy.ONE_FOR_ONE, {"b"}),
        (RestartStrategy.ONE_FOR_ALL, {"a", "b", "c"}),
        (RestartStrategy.REST_FOR_ONE, {"b", "c"}),
    ],
)
def test_restart_strategies(strategy, restarted):
    rt, sup, _, _ = make(strategy=strategy)
    for name in "abc":
        sup.start_child(ChildSpec(name, Counter))
    tell(rt, "b", "boom", 1 * SECOND)
    rt.run()
    assert {n for n, k in sup.restarts.items() if k} == restarted


def test_temporary_child_is_not_restarted():
    rt, sup, _, _ = make()
    sup.start_child(ChildSpec("t", Counter, restart=RestartType.TEMPORARY))
    tell(rt, "t", "boom", 1 * SECOND)
    tell(rt, "t", "x", 2 * SECOND)
    rt.run()
    assert sup.restarts["t"] == 0 and rt.stats["dead_letters"] == 1


def test_nested_supervisor_escalates_to_its_parent_which_restarts_the_subtree():
    rt, top, journal, probe = make(max_restarts=5)
    sub = Supervisor(rt, name="venues", max_restarts=0, parent=top)
    sub.start_child(ChildSpec("v", Counter))
    tell(rt, "v", "boom", 1 * SECOND)
    tell(rt, "v", "x", 2 * SECOND)
    rt.run()
    assert top.failures["venues"] == 1 and not sub.escalated
    assert probe == [("v", 1, "gen1")]
    assert "SupervisorEscalated" in [type(r).__name__ for r in journal]


def restarted_in_order(log_lines):
    """Names in the order the supervisors restarted them (logged as they restart)."""
    return [
        line.split()[4].strip("'")  # names are logged escaped
        for line in log_lines
        if line.startswith("WARNING supervisor ") and line.split()[3] == "restarts"
    ]


@pytest.mark.parametrize("strategy", [RestartStrategy.ONE_FOR_ALL, RestartStrategy.REST_FOR_ONE])
def test_a_temporary_sibling_taken_down_is_stopped_and_dropped_not_restarted(strategy):
    rt, sup, journal, probe = make(strategy=strategy)
    sup.start_child(ChildSpec("a", Counter))
    sup.start_child(ChildSpec("tmp", Counter, restart=RestartType.TEMPORARY))
    sup.start_child(ChildSpec("c", Counter))
    old_tmp = rt.ref("tmp")
    tell(rt, "a", "boom", 1 * SECOND)
    for name in ["a", "tmp", "c"]:
        tell(rt, name, "x", 2 * SECOND)
    rt.run()
    assert dict(sup.restarts) == {"a": 1, "c": 1}
    assert list(sup.children) == ["a", "c"]  # dropped: never restarted later either
    assert rt.ref("tmp") is None and not old_tmp.is_alive()
    assert sorted(probe) == [("a", 1, "gen1"), ("c", 1, "gen1")]
    assert [d for d, *_ in rt.dead_letters] == ["tmp"]
    assert [r.name for r in journal if type(r).__name__ == "ActorRestarted"] == ["a", "c"]


def test_a_subtree_restart_brings_nested_supervisors_children_back_in_start_order(log_lines):
    rt, top, _, probe = make(max_restarts=5)
    mid = Supervisor(rt, name="mid", max_restarts=0, window_ns=10 * SECOND, parent=top)
    leaf = Supervisor(rt, name="leaf", max_restarts=5, window_ns=10 * SECOND, parent=mid)
    mid.start_child(ChildSpec("m1", Counter))
    leaf.start_child(ChildSpec("l1", Counter))
    mid.start_child(ChildSpec("m2", Counter))
    tell(rt, "m1", "boom", 1 * SECOND)  # mid escalates: top restarts mid's whole subtree
    for name in ["m1", "l1", "m2"]:
        tell(rt, name, "x", 2 * SECOND)
    rt.run()
    assert top.failures["mid"] == 1 and not mid.escalated
    assert sorted(probe) == [("l1", 1, "gen1"), ("m1", 1, "gen1"), ("m2", 1, "gen1")]
    assert rt.dead_letters == []
    assert restarted_in_order(log_lines) == ["m1", "l1", "m2"]


def test_a_subtree_restart_is_journaled_counted_and_drops_temporary_children():
    rt, top, journal, probe = make(max_restarts=1)
    sub = Supervisor(rt, name="sub", max_restarts=0, window_ns=10 * SECOND, parent=top)
    sub.start_child(ChildSpec("w", Counter))
    sub.start_child(ChildSpec("tmp", Counter, restart=RestartType.TEMPORARY))
    tell(rt, "w", "boom", 1 * SECOND)
    tell(rt, "tmp", "x", 2 * SECOND)
    rt.run()
    kinds = [(type(r).__name__, r.name) for r in journal]
    assert kinds == [("ActorFailed", "w"), ("SupervisorEscalated", "sub"), ("ActorRestarted", "w")]
    assert rt.stats["restarts"] == 1 and dict(sub.restarts) == {"w": 1}
    assert list(sub.children) == ["w"] and rt.ref("tmp") is None
    assert [d for d, *_ in rt.dead_letters] == ["tmp"] and probe == []
    # Intensity still holds: a second subtree failure within top's window escalates.
    tell(rt, "w", "boom", 1 * SECOND)
    with pytest.raises(RuntimeHalted, match="subtree sub failed"):
        rt.run()
