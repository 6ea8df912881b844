"""A run's TCA reads the records the simulation kept as it journaled them, not the trail
decoded back (``actors.scenario_runner``): the same messages, in the same order, and the
trail itself whenever the kept records are not its beginning."""

from actors import scenario_runner
from actors.scenario_runner import _KeptTrail, _read_back, run_scenario
from engine import messages as m
from engine.audit.journal import Journal
from engine.scenario import loads
from engine.tca.from_trail import tca_from_journal
from tests.actors.test_scenarios import SMALL


def _state(parent: str, ts: int) -> m.ParentStateChanged:
    return m.ParentStateChanged(
        parent_id=parent, state=m.ParentState.WORKING, target=100, filled=0, msg_id=ts, ts=ts
    )


def test_the_run_reads_back_what_it_kept_which_is_its_trail(monkeypatch):
    read: list = []

    def spy(journal, kept):
        trail = _read_back(journal, kept)
        read.append(trail)
        return trail

    monkeypatch.setattr(scenario_runner, "_read_back", spy)
    result = run_scenario(loads(SMALL), seed=2)
    try:
        [trail] = read
        assert isinstance(trail, _KeptTrail)  # the kept records, not a decode of the trail
        assert list(trail.replay()) == list(result.journal.replay())
        assert len(result.journal) > 100
        again = tca_from_journal(result.journal)
        assert again.parents == result.tca.parents
        assert again.tape.mid_points() == result.tca.tape.mid_points()
    finally:
        result.journal.close()


def test_records_appended_after_the_kept_ones_are_read_back_from_the_trail():
    journal = Journal(":memory:")
    a, b, direct = _state("P1", 1), _state("P2", 2), _state("P3", 3)
    journal.extend([a, b, direct])
    trail = _read_back(journal, [a, b])
    assert isinstance(trail, _KeptTrail)
    assert list(trail.replay()) == [a, b, direct]


def test_a_record_appended_between_kept_ones_makes_it_read_the_trail():
    journal = Journal(":memory:")
    a, direct, b = _state("P1", 1), _state("P3", 3), _state("P2", 4)
    journal.extend([a, direct, b])
    assert _read_back(journal, [a, b]) is journal
    assert _read_back(journal, None) is journal  # nothing kept
    assert _read_back(journal, [a, direct, b, _state("P4", 5)]) is journal  # more than it holds
