"""The run digest over instruments (no Ray): an instrument's sub-trail digest does not
depend on which other instruments shared its engine, and the partition of instruments
into shards."""

import heapq
import pickle

import msgspec
import pytest

import scenarios
from actors.api import new_trail
from actors.scenario_runner import run_scenario
from actors.shards import instrument_digests, partition, run_digest
from actors.shards.digest import InstrumentDigests
from actors.shards.shard import Shard
from engine.messages import (
    FaultKind,
    InjectVenueFault,
    Message,
    PlaceVenueOrder,
    Side,
    VenueOrderCancelled,
)
from engine.scenario import load

RENAMED_IDS = ("parent_id", "child_id", "order_id", "fill_id", "exec_id")


@pytest.fixture(scope="module")
def thin_trail() -> list[Message]:
    result = run_scenario(load(scenarios.locate("routing_thin")), seed=7)
    try:
        return list(result.journal.replay())
    finally:
        result.journal.close()


def as_other_instrument(msg: Message, symbol: str, shift: int, prefix: str = "Z") -> Message:
    """``msg`` as another instrument's engine would have written it beside this one: its
    own symbol, its ids counted differently (prefixed), its msg_id another sender seq."""
    changes: dict[str, object] = {"msg_id": msg.msg_id + shift}
    if getattr(msg, "instrument", None) is not None:
        changes["instrument"] = symbol
    order = getattr(msg, "order", None)
    if order is not None:
        changes["order"] = msgspec.structs.replace(order, instrument=symbol)
    for key in RENAMED_IDS:
        value = getattr(msg, key, None)
        if isinstance(value, str):
            changes[key] = f"{prefix}{value}"
    return msgspec.structs.replace(msg, **changes)


def test_subtrail_digest_is_the_same_alone_and_interleaved(thin_trail):
    other = [as_other_instrument(m, "OTH", 1 << 20) for m in thin_trail]
    alone = instrument_digests(thin_trail) | instrument_digests(other)
    # one engine, both books: each instrument's records in their own order, interleaved
    together = list(heapq.merge(thin_trail, other, key=lambda m: m.ts))
    assert together[:2] != thin_trail[:2]
    assert instrument_digests(together) == alone
    numbered_apart = [as_other_instrument(m, "OTH", 1 << 30, prefix="Y") for m in thin_trail]
    assert instrument_digests(numbered_apart) == {"OTH": alone["OTH"]}  # ids, msg_ids
    assert run_digest(instrument_digests(together)) == run_digest(alone)


def test_subtrail_digest_sees_a_changed_fill_on_its_instrument_only(thin_trail):
    other = [as_other_instrument(m, "OTH", 1 << 20) for m in thin_trail]
    fill = next(i for i, m in enumerate(other) if type(m).__name__ == "VenueOrderFilled")
    changed = list(other)
    changed[fill] = msgspec.structs.replace(other[fill], price=other[fill].price + 1)
    before = instrument_digests([*thin_trail, *other])
    after = instrument_digests([*thin_trail, *changed])
    assert after["THN"] == before["THN"]
    assert after["OTH"] != before["OTH"]
    assert run_digest(after) != run_digest(before)


def venue_order_cancelled_with(order_id: str, reason: str) -> list[Message]:
    placed = PlaceVenueOrder(
        venue="LIT1",
        order_id=order_id,
        parent_id=order_id.split("-")[0],
        child_id=order_id.rsplit("-", 1)[0],
        instrument="THN",
        side=Side.BUY,
        quantity=100,
        price=100_000,
        msg_id=4,
        ts=10,
    )
    gone = VenueOrderCancelled(venue="LIT1", order_id=order_id, cancelled=100, reason=reason)
    return [placed, msgspec.structs.replace(gone, msg_id=5, ts=11)]


def test_an_id_quoted_in_a_reason_is_renamed_with_the_order():
    """An engine numbers orders across its instruments, and its reasons quote them: the
    same order numbered apart, quoted the same way, hashes the same; a reason that quotes
    another order, or words that are no id, does not."""
    digest = instrument_digests
    here = digest(venue_order_cancelled_with("P5-C1-V1", "cancel P5-C1-V1 at LIT1: timeout"))
    apart = digest(venue_order_cancelled_with("P9-C2-V4", "cancel P9-C2-V4 at LIT1: timeout"))
    assert here == apart
    other = digest(venue_order_cancelled_with("P9-C2-V4", "cancel P9-C2 at LIT1: timeout"))
    assert other != here  # quotes its child, not itself
    unknown = digest(venue_order_cancelled_with("P9-C2-V4", "cancel P5-C1-V1 at LIT1: timeout"))
    assert unknown != here  # an id this sub-trail never saw stays as written
    assert digest(venue_order_cancelled_with("P9-C2-V4", "cancel at LIT1: timeout")) != here


def test_records_naming_no_instrument_stay_out(thin_trail):
    fault = InjectVenueFault(venue="LIT1", fault=FaultKind.DOWN, msg_id=9, ts=thin_trail[9].ts)
    with_fault = [*thin_trail[:10], fault, *thin_trail[10:]]
    assert instrument_digests(with_fault) == instrument_digests(thin_trail)


def test_digests_tapped_while_a_run_writes_its_trail_are_those_of_the_trail_read_back(
    tmp_path, thin_trail
):
    journal = new_trail(str(tmp_path / "thin.audit.sqlite"))
    tapped = InstrumentDigests()
    journal.tap(tapped.add)
    result = run_scenario(load(scenarios.locate("routing_thin")), seed=7, audit=journal)
    try:
        assert list(journal.replay()) == thin_trail
        assert tapped.digests() == instrument_digests(thin_trail)
        assert result.digest == journal.digest()
    finally:
        journal.close()


def test_a_shard_outcome_crosses_to_the_driver_whole(tmp_path):
    """Ray pickles what a shard returns; its reports travel as one msgpack buffer."""
    scenario = load(scenarios.locate("routing_thin"))
    outcome = Shard(0, ["THN"], str(tmp_path / "thn.audit.sqlite")).run(scenario, 7)
    crossed = pickle.loads(pickle.dumps(outcome))
    assert len(crossed.reports) == len(outcome.reports) > 20
    assert crossed.reports == outcome.reports
    assert {type(r) for r in crossed.reports} == {type(r) for r in outcome.reports}
    assert crossed == outcome


def test_run_digest_is_over_symbols_in_order():
    assert run_digest({"B": "2", "A": "1"}) == run_digest({"A": "1", "B": "2"})
    assert run_digest({"A": "1", "B": "2"}) != run_digest({"A": "2", "B": "1"})


def test_partition_deals_symbols_round_robin():
    assert partition(["E", "A", "D", "C", "B"], 2) == [["A", "C", "E"], ["B", "D"]]
    assert partition(["A", "B"], 5) == [["A"], ["B"]]  # never an engine with nothing
    assert partition(["A"], 1) == [["A"]]
    with pytest.raises(ValueError, match="at least 1"):
        partition(["A"], 0)


def test_shards_are_balanced_by_daily_volume():
    volumes = {"A": 900, "B": 500, "C": 400, "D": 300, "E": 100}
    # largest first onto the lightest shard (a tie to the lower): A | B, C | D onto A's
    # (900 = 900) | E onto B's: 1,200 | 1,000, each shard in symbol order
    assert partition(list(volumes), 2, volumes) == [["A", "D"], ["B", "C", "E"]]
    assert partition(["B", "A"], 3, {"A": 1, "B": 1}) == [["A"], ["B"]]
