"""Chaos kills whole processes and resumes them: ``smart-exec chaos --kill-resume K``.

Each case below has link faults, some on a trigger, so the resumed replay must rebuild
the runtime's fault hooks and the fault actor's armed triggers as the first run did.
"""

from __future__ import annotations

import pytest

from actors.chaos.generator import draw
from actors.chaos.kill_resume import KILL_CLASSES, kill_and_resume, kill_point
from actors.chaos.runner import kill_seeds, run_case, run_seed
from actors.chaos.summary import Summary
from engine import messages as m

SEEDS = (7, 17, 24)  # link delays, duplicates, drops; spikes and a delay on a trigger


@pytest.mark.parametrize("seed", SEEDS)
def test_a_killed_chaos_run_resumes_to_the_uninterrupted_digest(seed):
    case = draw(seed)
    assert any(f.kind.value.startswith("link_") for f in case.faults)
    result = run_seed(seed, rerun_every=0, kill_resume=True)
    assert result.killed and 1 <= kill_point(seed, result.reports) <= result.reports
    assert [v for v in result.violations if v.kind in (*KILL_CLASSES, "report_not_journaled")] == []
    summary = Summary.of([result])
    assert "killed and resumed: 1 runs, 1 resumed to the uninterrupted digest" in summary.lines()


def test_a_resume_that_ends_elsewhere_is_a_violation():
    case = draw(17)
    uninterrupted = run_case(case)
    assert any(r.cause for r in _started(case)), "the case has a triggered fault"
    found = kill_and_resume(case, "0" * 64, uninterrupted.reports)
    assert [v.kind for v in found] == ["resume_differs"]
    assert found[0].detail.startswith(f"killed after {kill_point(17, uninterrupted.reports)}")
    assert "resume_differs" in "\n".join(Summary.of([_with(uninterrupted, found)]).lines())


def test_kill_seeds_are_spread_over_the_campaign():
    seeds = list(range(1, 201))
    assert kill_seeds(seeds, 4) == {1, 51, 101, 151}
    assert kill_seeds(seeds, 0) == set() and len(kill_seeds(seeds[:3], 10)) == 3


def _started(case) -> list[m.FaultStarted]:
    from actors.chaos.runner import _engine, advance, schedule

    engine = _engine(case, None)
    try:
        schedule(engine, case)
        advance(engine, case.end_ns)
    finally:
        engine.close()
    assert engine.journal is not None
    return list(engine.journal.messages(m.FaultStarted))


def _with(result, violations):
    result.violations = list(violations)
    result.killed = True
    return result


def test_the_kill_lands_right_after_the_drawn_report(tmp_path):
    from actors.chaos.kill_resume import _killed, _reports_in

    trail = tmp_path / "t.sqlite"
    delivered = _killed(7, trail, 5)
    kept, complete = _reports_in(trail)
    assert len(delivered) == 5 and not complete
    assert set(delivered) <= kept  # durable before delivered
