"""Bad input at the embedded API: rejected with a reason naming the field, never journaled
raw. Afterwards the trail still replays, its digest computes, and the good orders in the
same run complete (a desk crash after the bad input still recovers)."""

import pytest

from actors import Engine, MarketConfig
from engine import messages as m
from engine.clock import MINUTE, SECOND
from engine.config import VenueConfig
from engine.desk.intake import MAX_IDENTIFIER_LENGTH
from engine.instruments import Instrument
from engine.prices import to_price

MARKET = MarketConfig(
    instrument=Instrument(symbol="XYZ", ref_price=to_price("100"), lot=100),
    venues=[VenueConfig(name="LIT1"), VenueConfig(name="LIT2")],
)
OPEN = MARKET.session.open_ns
END = OPEN + 20 * MINUTE
MANDATE = m.Mandate(strategy=m.StrategyName.TWAP, end_ns=END)


def order(cid, qty=1_000, **kw):
    fields = {
        "source": "OMS",
        "account": "A1",
        "client_order_id": cid,
        "instrument": "XYZ",
        "side": m.Side.BUY,
        "quantity": qty,
        "mandate": MANDATE,
    }
    fields.update(kw)
    return m.ClientOrder(**fields)


def run_with(submit_bad, *, crash_desk=False):
    """A good order before and after the bad input; returns (reports, rejects, journal)."""
    engine = Engine(MARKET, seed=5)
    try:
        engine.submit(order("good1"), at_ns=OPEN + SECOND)
        submit_bad(engine)
        engine.submit(order("good2"), at_ns=OPEN + 3 * SECOND)
        if crash_desk:
            engine.inject_crash("desk", at_ns=OPEN + 5 * MINUTE)
        engine.run_until(END + 5 * MINUTE)
        journal = engine.journal
        assert journal is not None
        replayed = list(journal.replay())  # every record decodes
        assert len(replayed) == len(journal)
        assert len(journal.digest()) == 64
        assert not engine.runtime.dead_letters
        return engine.reports, replayed
    finally:
        engine.close()


def assert_good_orders_filled(reports):
    last = {r.client_order_id: r for r in reports if isinstance(r, m.ExecutionReport)}
    for cid in ("good1", "good2"):
        assert last[cid].ord_status is m.OrdStatus.FILLED and last[cid].cum_qty == 1_000


def rejects(reports):
    return [r for r in reports if isinstance(r, m.ClientOrderRejected)]


def journaled_rejects(replayed):
    return [r for r in replayed if isinstance(r, m.ClientOrderRejected)]


@pytest.mark.parametrize("crash_desk", [False, True])
def test_a_float_quantity_is_rejected_and_not_journaled_raw(crash_desk):
    reports, replayed = run_with(
        lambda e: e.submit(order("f", 100.5), at_ns=OPEN + 2 * SECOND), crash_desk=crash_desk
    )
    (reject,) = rejects(reports)
    assert (reject.client_order_id, reject.reason) == ("f", "bad_quantity")
    assert "quantity" in reject.text and "100.5" not in reject.text
    assert journaled_rejects(replayed) == [reject]
    assert_good_orders_filled(reports)


def test_submitting_none_is_rejected_and_the_desk_keeps_working():
    # past Engine.submit's TypeError: the desk screens what reaches it by any other way
    reports, replayed = run_with(
        lambda e: e._send(m.SubmitClientOrder(order=None), OPEN + 2 * SECOND)
    )
    (reject,) = rejects(reports)
    assert reject.reason == "malformed" and "order" in reject.text
    assert (reject.source, reject.client_order_id) == ("", "")
    assert journaled_rejects(replayed) == [reject]
    assert not any(isinstance(r, m.ActorFailed) for r in replayed)
    assert_good_orders_filled(reports)


HUGE = 2**64


@pytest.mark.parametrize(
    ("bad", "reason", "field"),
    [
        (order("q", HUGE), "out_of_range", "quantity"),
        (order("p", 1_000, limit_price=HUGE), "out_of_range", "limit_price"),
        (order("e", 1_000, mandate=m.Mandate(end_ns=HUGE)), "out_of_range", "end_ns"),
        (order("s", 1_000, mandate=m.Mandate(start_ns=2**63)), "out_of_range", "start_ns"),
        (order("n", -(2**64)), "out_of_range", "quantity"),
    ],
)
def test_an_integer_beyond_64_bits_is_rejected_and_no_batch_is_lost(bad, reason, field):
    reports, replayed = run_with(lambda e: e.submit(bad, at_ns=OPEN + 2 * SECOND))
    (reject,) = rejects(reports)
    assert (reject.client_order_id, reject.reason) == (bad.client_order_id, reason)
    assert field in reject.text and str(HUGE) not in reject.text
    assert journaled_rejects(replayed) == [reject]
    assert any(isinstance(r, m.SubmitClientOrder) for r in replayed)  # the good ones
    assert_good_orders_filled(reports)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (order("x" * 1_000_000), "client_order_id"),
        (order("c", source="OMS\x00\n"), "source"),
        (order("c", account="A\r1"), "account"),
        (order("c", instrument="XYZ\n"), "instrument"),
    ],
)
def test_a_long_or_unprintable_identifier_is_rejected_without_echoing_it(bad, field):
    reports, replayed = run_with(lambda e: e.submit(bad, at_ns=OPEN + 2 * SECOND))
    (reject,) = rejects(reports)
    assert reject.reason in ("identifier_too_long", "bad_characters")
    assert field in reject.text
    for text in (reject.source, reject.client_order_id, reject.text):
        assert len(text) <= 200 and text.isprintable()
    assert journaled_rejects(replayed) == [reject]
    assert_good_orders_filled(reports)


def test_an_identifier_at_the_bound_is_accepted():
    cid = "x" * MAX_IDENTIFIER_LENGTH
    reports, _ = run_with(lambda e: e.submit(order(cid), at_ns=OPEN + 2 * SECOND))
    assert not rejects(reports)
    assert any(r.client_order_id == cid for r in reports)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"quantity": 2.5}, "bad_quantity"),
        ({"quantity": HUGE}, "out_of_range"),
        ({"limit_price": "100"}, "bad_price"),
    ],
)
def test_a_bad_amend_is_rejected_and_not_journaled_raw(kwargs, reason):
    def amend(engine):
        engine.submit(order("a"), at_ns=OPEN + SECOND)
        engine.amend("OMS", "a", at_ns=OPEN + 2 * SECOND, **kwargs)

    reports, replayed = run_with(amend)
    (reject,) = rejects(reports)
    assert (reject.client_order_id, reject.reason) == ("a", reason)
    assert journaled_rejects(replayed) == [reject]
    assert not any(isinstance(r, m.AmendClientOrder) for r in replayed)
    assert_good_orders_filled(reports)


def test_a_cancel_with_a_control_character_is_rejected():
    reports, replayed = run_with(lambda e: e.cancel("OMS", "good1\n", at_ns=OPEN + 2 * SECOND))
    (reject,) = rejects(reports)
    assert reject.reason == "bad_characters" and reject.client_order_id == ""
    assert not any(isinstance(r, m.CancelClientOrder) for r in replayed)
    assert_good_orders_filled(reports)


def test_every_poison_in_one_run_and_a_desk_crash_after_them_recovers():
    """The desk rebuilt from the trail after the poison sees only valid commands and
    rejects: it recovers once, and the good orders finish."""
    poisons = [
        order("f", 100.5),
        None,
        order("q", HUGE),
        order("x" * 1_000_000),
        order("c", source="OMS\x00\n"),
        order("e", 1_000, mandate=m.Mandate(end_ns=HUGE)),
    ]

    def submit_all(engine):
        for i, bad in enumerate(poisons):  # past submit's type check, as None cannot pass it
            engine._send(m.SubmitClientOrder(order=bad), OPEN + 2 * SECOND + i)

    runtimes = []

    def submit_all_and_keep_the_runtime(engine):
        submit_all(engine)
        runtimes.append(engine.runtime)

    reports, replayed = run_with(submit_all_and_keep_the_runtime, crash_desk=True)
    assert len(rejects(reports)) == len(poisons)
    assert journaled_rejects(replayed) == rejects(reports)
    assert runtimes[0].stats["desks_recovered"] == 1
    assert_good_orders_filled(reports)
