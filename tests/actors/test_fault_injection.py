"""Fault injection into the engine's own actors (``Engine.inject_crash`` / scenario
``[[crashes]]``): each crashed actor is restarted by its supervisor, rebuilds its state
from the audit trail, and the run still keeps every invariant."""

from collections import Counter

import msgspec

import scenarios
from actors.scenario_runner import run_scenario
from engine import messages as m
from engine.scenario import CrashSpec, load

BRIEF = scenarios.path("brief_vwap")


def crashed_brief(crashes):
    scenario = load(BRIEF)
    mandate = msgspec.structs.replace(scenario.mandate, end="10:30")
    return msgspec.structs.replace(
        scenario,
        mandate=mandate,
        run_until="10:40",
        crashes=[CrashSpec(actor=a, at=t) for a, t in crashes],
    )


def test_router_desk_parent_and_venue_crashes_are_survived():
    scenario = crashed_brief(
        [
            ("router", "09:50"),
            ("desk", "09:55"),
            ("P1", "10:00"),
            ("NASDAQ", "10:05"),
            ("router", "10:10"),
        ]
    )
    result = run_scenario(scenario)
    journal = result.journal
    failed = Counter(f.name for f in journal.messages(m.ActorFailed))
    restarted = Counter(r.name for r in journal.messages(m.ActorRestarted))
    assert failed == {"router": 2, "desk": 1, "P1": 1, "NASDAQ": 1} == restarted
    assert all("injected failure" in f.error for f in journal.messages(m.ActorFailed))
    assert result.stats["failures"] == 5 and result.stats["restarts"] == 5

    # The order still completes and every share is accounted for, exactly once.
    states = [s for s in journal.messages(m.ParentStateChanged) if s.parent_id == "P1"]
    assert states[-1].state is m.ParentState.COMPLETED
    ordered = {(o.source, o.client_order_id): o.quantity for _, o in scenario.client_orders()}
    cum = Counter()
    for r in result.fills:
        cum[(r.source, r.client_order_id)] += r.last_qty
    assert cum == ordered  # every client filled, none over
    fill_ids = [f.fill_id for f in journal.messages(m.ParentOrderFilled)]
    assert len(fill_ids) == len(set(fill_ids))
    parent_fills = sum(f.quantity for f in journal.messages(m.ParentOrderFilled))
    # Every share our venue orders bought reached the parent: a restarted venue's fill ids
    # never repeat one of before its restart (a repeat was dropped as a duplicate).
    ours = {p.order_id for p in journal.messages(m.PlaceVenueOrder)}
    venue_fills = [f for f in journal.messages(m.VenueOrderFilled) if f.order_id in ours]
    assert len({(f.venue, f.fill_id) for f in venue_fills}) == len(venue_fills)
    assert any("-R1-" in f.fill_id for f in venue_fills if f.venue == "NASDAQ")
    assert sum(f.quantity for f in venue_fills) == parent_fills
    crossed = sum(r.last_qty for r in result.fills if r.internal)
    assert sum(cum.values()) == parent_fills + crossed
    done = Counter(d.child_id for d in journal.messages(m.ChildOrderDone))
    placed = {c.child_id for c in journal.messages(m.PlaceChildOrder)}
    assert set(done) == placed and set(done.values()) == {1}


def test_a_crashed_run_replays_to_the_same_digest():
    scenario = crashed_brief([("router", "09:50"), ("desk", "10:00")])
    assert run_scenario(scenario).digest == run_scenario(scenario).digest
