"""Fault injection into the engine's own actors (``Engine.inject_crash`` / scenario
``[[crashes]]``): each crashed actor is restarted by its supervisor, rebuilds its state
from the audit trail, and the run still keeps every invariant."""

import signal
import subprocess
from collections import Counter
from pathlib import Path

import msgspec
import pytest

import scenarios
from actors.scenario_runner import run_scenario
from engine import messages as m
from engine.scenario import CrashSpec, ScenarioError, load, loads

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


# ------------------------------------------------------------- fault plans in a file

DOCS = Path(__file__).resolve().parents[2] / "docs" / "faults.md"


def documented_scenario() -> str:
    """The scenario of ``docs/faults.md``: the example a reader copies must run."""
    text = DOCS.read_text()
    return text.split("```toml\n", 1)[1].split("```", 1)[0]


def test_the_documented_fault_plan_runs_and_its_faults_are_in_the_trail():
    scenario = loads(documented_scenario())
    result = run_scenario(scenario)
    journal = result.journal
    started = {(s.fault.value, s.target): s for s in journal.messages(m.FaultStarted)}
    ended = [(e.fault.value, e.target, e.reason) for e in journal.messages(m.FaultEnded)]
    assert set(started) == {
        ("stale_data", "LIT2"),
        ("latency_spike", "LIT1"),
        ("link_drop", "router>LIT1"),
        ("down", "LIT2"),
    }
    assert started[("link_drop", "router>LIT1")].cause == "after fill 3 of P1"
    assert started[("down", "LIT2")].cause == "after fill 10 of P1 at LIT2"
    lit2_fills = [f for f in journal.messages(m.ChildOrderFilled) if f.venue == "LIT2"]
    assert started[("down", "LIT2")].ts == lit2_fills[9].ts
    assert ("link_drop", "router>LIT1", "count") in ended
    assert ("stale_data", "LIT2", "expired") in ended
    # every client order accounted for
    ordered = {(o.source, o.client_order_id): o.quantity for _, o in scenario.client_orders()}
    cum = Counter()
    for r in result.fills:
        cum[(r.source, r.client_order_id)] += r.last_qty
    assert set(cum) <= set(ordered) and all(cum[k] <= ordered[k] for k in cum)
    assert run_scenario(scenario).digest == result.digest  # same seed, same trail


@pytest.mark.parametrize(
    "fault, message",
    [
        ('fault = "melt"\nvenue = "LIT1"', r"faults\[0\]\.fault: Invalid enum value 'melt'"),
        ('fault = "down"\nvenue = "LIT9"', r"faults\[0\]\.venue: unknown venue 'LIT9'"),
        ('fault = "down"\nvenue = "LIT1"\nduration_s = -5', r"faults\[0\]\.duration_s: -5"),
        (
            'fault = "link_drop"\nsender = "router"\nreceiver = "NYSE"',
            r"faults\[0\]\.receiver: unknown actor 'NYSE'",
        ),
        ('fault = "latency_spike"\nvenue = "LIT1"', r"faults\[0\]\.delay_ms: latency_spike"),
        (
            'fault = "down"\nvenue = "LIT1"\nafter = { event = "cancel" }',
            r"faults\[0\]\.after\.event: trigger event 'cancel'",
        ),
    ],
)
def test_an_impossible_fault_in_a_file_is_refused_naming_the_field(fault, message):
    text = documented_scenario().split("[[faults]]")[0] + f'[[faults]]\nat = "09:40"\n{fault}\n'
    with pytest.raises(ScenarioError, match=message):
        loads(text)


def test_a_run_with_link_faults_and_triggers_killed_and_resumed_ends_as_uninterrupted(tmp_path):
    from tests.actors.test_resume import cli, digest_line, finished, stopped_after

    scenario = tmp_path / "faults.toml"
    scenario.write_text(documented_scenario())
    full = finished(
        "run", scenario, "--quiet", "--no-baseline", "--audit", tmp_path / "full.sqlite"
    )
    trail = tmp_path / "killed.sqlite"
    run = ("run", scenario, "--quiet", "--no-baseline", "--trace-reports", "--audit", trail)
    proc = cli(*run, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stopped_after(proc, 20, signal.SIGKILL)  # the triggers have fired by then
    assert proc.returncode == -signal.SIGKILL
    status, out = finished("resume", trail, "--quiet", "--no-baseline")
    assert status == 0 and digest_line(out) == digest_line(full[1])
