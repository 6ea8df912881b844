"""One test per reject reason; a rejection changes nothing else."""

import copy

import msgspec
import pytest

from engine.desk.desk import DeskConfig, OrderDesk
from engine.desk.intake import Intake, Rejection, RejectReason, decode_order
from engine.instruments import Instrument
from engine.messages import (
    ClientOrder,
    ClientOrderRejected,
    ExecType,
    ExecutionReport,
    Mandate,
    OrdStatus,
    Side,
    StrategyName,
)
from tests.engine.desk.support import MessagesOnly

NOW = 1_000_000_000_000
AAPL = Instrument(symbol="AAPL", ref_price=100_000_000, lot=10, tick=10_000, band_bps=1_000)


def desk(**kw) -> MessagesOnly:
    return MessagesOnly(OrderDesk([AAPL], DeskConfig(window_ns=1_000), **kw))


def order(**kw) -> ClientOrder:
    fields = {
        "source": "OMS",
        "account": "A1",
        "client_order_id": "c1",
        "instrument": "AAPL",
        "side": Side.BUY,
        "quantity": 100,
        "limit_price": None,
        "mandate": Mandate(),
    }
    fields.update(kw)
    return ClientOrder(**fields)


def snapshot(d: MessagesOnly) -> bytes:
    """Everything observable about the desk's state, for 'nothing changed' checks."""
    orders = [
        (o.order, o.qty, o.limit, o.leaves, o.cum_qty, o.cum_notional, o.status) for o in d.orders()
    ]
    parents = [(p.parent_id, p.target, p.open, p.filled) for p in d.parents.values()]
    return repr((orders, parents, d.window_deadline(), d.exec_count)).encode()


def assert_rejected(msgs, reason: RejectReason) -> None:
    assert len(msgs) == 1
    (msg,) = msgs
    assert isinstance(msg, ClientOrderRejected)
    assert msg.reason == reason.value
    assert msg.text.startswith(reason.text)
    assert msg.ts == NOW and msg.msg_id == 0


def reject_new(o: ClientOrder, reason: RejectReason, d: MessagesOnly | None = None) -> None:
    d = d or desk()
    before = snapshot(d)
    assert_rejected(d.submit(o, NOW), reason)
    assert snapshot(d) == before


def test_accepted_order_is_acknowledged_and_enriched():
    d = desk()
    (ack,) = d.submit(order(source="trader:jane"), NOW)
    assert isinstance(ack, ExecutionReport)
    assert (ack.exec_type, ack.ord_status, ack.leaves_qty, ack.cum_qty) == (
        ExecType.NEW,
        OrdStatus.NEW,
        100,
        0,
    )
    state = d.order("trader:jane", "c1")
    assert state.arrival_ns == NOW and state.source_kind == "trader"
    assert d.window_deadline() == NOW + 1_000


def test_normalization_canonical_symbol_and_side():
    d = desk()
    (ack,) = d.submit(order(instrument=" aapl ", side=-1), NOW)
    assert ack.instrument == "AAPL" and ack.side is Side.SELL


@pytest.mark.parametrize(
    "raw",
    [b"{not json", {"source": "OMS"}, {**msgspec.to_builtins(order()), "quantity": "ten"}],
)
def test_malformed(raw):
    rejection = decode_order(raw)
    assert isinstance(rejection, Rejection)
    assert rejection.reason is RejectReason.MALFORMED
    assert len(rejection.text) > len(RejectReason.MALFORMED.text)  # carries msgspec's error


def test_decode_ok():
    assert decode_order(msgspec.json.encode(order())) == order()
    assert decode_order(msgspec.to_builtins(order())) == order()


def test_bad_identifier():
    reject_new(order(client_order_id=""), RejectReason.BAD_IDENTIFIER)


def test_unknown_instrument():
    reject_new(order(instrument="MSFT"), RejectReason.UNKNOWN_INSTRUMENT)


def test_bad_side():
    reject_new(order(side=0), RejectReason.BAD_SIDE)


@pytest.mark.parametrize("qty", [0, -10, 10.0])
def test_bad_quantity(qty):
    reject_new(order(quantity=qty), RejectReason.BAD_QUANTITY)


def test_quantity_off_lot():
    reject_new(order(quantity=105), RejectReason.QUANTITY_OFF_LOT)


def test_quantity_too_large():
    d = MessagesOnly(OrderDesk([AAPL], intake=Intake([AAPL], max_order_qty=1_000)))
    reject_new(order(quantity=1_010), RejectReason.QUANTITY_TOO_LARGE, d)


@pytest.mark.parametrize("price", [0, -10_000, 100.0])
def test_bad_price(price):
    reject_new(order(limit_price=price), RejectReason.BAD_PRICE)


def test_price_off_tick():
    reject_new(order(limit_price=100_005_000), RejectReason.PRICE_OFF_TICK)


def test_price_out_of_band():
    reject_new(order(limit_price=111_000_000), RejectReason.PRICE_OUT_OF_BAND)
    reject_new(order(limit_price=89_990_000), RejectReason.PRICE_OUT_OF_BAND)
    assert desk().submit(order(limit_price=110_000_000), NOW)[0].exec_type is ExecType.NEW


def test_start_after_end():
    m = Mandate(start_ns=NOW + 10, end_ns=NOW + 5)
    reject_new(order(mandate=m), RejectReason.START_AFTER_END)


def test_end_in_past():
    reject_new(order(mandate=Mandate(end_ns=NOW - 1)), RejectReason.END_IN_PAST)


def session_desk() -> MessagesOnly:
    """A desk whose mandates without an end end at a session close of NOW + 100."""
    return desk(intake=Intake([AAPL], default_end_ns=NOW + 100))


def test_start_at_or_after_the_default_end_is_start_after_end():
    for start in (NOW + 100, NOW + 200):
        reject_new(
            order(mandate=Mandate(start_ns=start)), RejectReason.START_AFTER_END, session_desk()
        )
    (ack,) = session_desk().submit(order(mandate=Mandate(start_ns=NOW + 99)), NOW)
    assert ack.exec_type is ExecType.NEW
    # an explicit end after the close is the client's choice: the default does not apply
    (ack,) = session_desk().submit(
        order(mandate=Mandate(start_ns=NOW + 200, end_ns=NOW + 300)), NOW
    )
    assert ack.exec_type is ExecType.NEW


def test_no_end_at_or_after_the_default_end_is_end_in_past():
    for close in (NOW, NOW - 1):  # arriving at the close, or after it
        reject_new(
            order(), RejectReason.END_IN_PAST, desk(intake=Intake([AAPL], default_end_ns=close))
        )
    (ack,) = desk(intake=Intake([AAPL], default_end_ns=NOW + 1)).submit(order(), NOW)
    assert ack.exec_type is ExecType.NEW


def test_unknown_strategy():
    reject_new(order(mandate=Mandate(strategy="MOON")), RejectReason.UNKNOWN_STRATEGY)
    d = desk(strategies=[StrategyName.TWAP])  # supported set is configurable
    reject_new(order(mandate=Mandate(strategy=StrategyName.POV)), RejectReason.UNKNOWN_STRATEGY, d)


@pytest.mark.parametrize(
    "mandate",
    [
        Mandate(max_participation=0.0),
        Mandate(max_participation=1.5),
        Mandate(max_participation=float("nan")),
        Mandate(pov_rate=-0.1),
        Mandate(pov_rate=0.2, max_participation=0.05),  # a POV rate above the client's cap
    ],
)
def test_bad_participation(mandate):
    reject_new(order(mandate=mandate), RejectReason.BAD_PARTICIPATION)


def test_mandate_cache_still_checks_end_and_other_mandates():
    d = desk()
    # a good mandate, then an equal one in a new object (as decoded per order): accepted
    for i in range(2):
        (ack,) = d.submit(order(client_order_id=f"ok{i}", mandate=Mandate(end_ns=NOW + 10)), NOW)
        assert isinstance(ack, ExecutionReport)
    # a cached mandate is still refused once its end is past
    before = snapshot(d)
    (rej,) = d.submit(order(client_order_id="late", mandate=Mandate(end_ns=NOW + 10)), NOW + 10)
    assert rej.reason == RejectReason.END_IN_PAST.value and snapshot(d) == before
    # a bad mandate is never cached
    for _ in range(2):
        reject_new(
            order(client_order_id="bad", mandate=Mandate(end_ns=NOW + 10, pov_rate=2.0)),
            RejectReason.BAD_PARTICIPATION,
            d,
        )


@pytest.mark.parametrize("risk_aversion", [-1.0, float("inf"), float("nan")])
def test_bad_risk_aversion(risk_aversion):
    reject_new(order(mandate=Mandate(risk_aversion=risk_aversion)), RejectReason.BAD_RISK_AVERSION)


def test_pov_rate_at_the_cap_is_accepted():
    (ack,) = desk().submit(order(mandate=Mandate(pov_rate=0.05, max_participation=0.05)), NOW)
    assert ack.exec_type is ExecType.NEW


def test_duplicate_client_order_id_same_source_only():
    d = desk()
    d.submit(order(), NOW)
    reject_new(order(quantity=200), RejectReason.DUPLICATE_ID_DIFFERENT_CONTENT, d)
    assert d.submit(order(source="trader:jane"), NOW)[0].exec_type is ExecType.NEW


def reject_cancel_and_amend(d: MessagesOnly, reason: RejectReason, source="OMS", account=None):
    before = snapshot(d)
    assert_rejected(d.cancel(source, "c1", NOW, account=account), reason)
    assert_rejected(d.amend(source, "c1", NOW, quantity=50, account=account), reason)
    assert snapshot(d) == before


def test_unknown_order():
    reject_cancel_and_amend(desk(), RejectReason.UNKNOWN_ORDER)


def test_foreign_order_other_source_or_account():
    d = desk()
    d.submit(order(), NOW)
    reject_cancel_and_amend(d, RejectReason.FOREIGN_ORDER, source="trader:bob")
    reject_cancel_and_amend(d, RejectReason.FOREIGN_ORDER, account="A2")


def test_order_done():
    d = desk()
    d.submit(order(), NOW)
    assert d.cancel("OMS", "c1", NOW)[0].exec_type is ExecType.CANCELED
    reject_cancel_and_amend(d, RejectReason.ORDER_DONE)


def test_amend_checks_quantity_and_price():
    d = desk()
    d.submit(order(), NOW)
    before = snapshot(d)
    assert_rejected(d.amend("OMS", "c1", NOW, quantity=0), RejectReason.BAD_QUANTITY)
    assert_rejected(d.amend("OMS", "c1", NOW, quantity=15), RejectReason.QUANTITY_OFF_LOT)
    assert_rejected(d.amend("OMS", "c1", NOW, limit_price=100_001_000), RejectReason.PRICE_OFF_TICK)
    assert_rejected(
        d.amend("OMS", "c1", NOW, limit_price=1_000_000), RejectReason.PRICE_OUT_OF_BAND
    )
    assert snapshot(d) == before


def test_amend_below_filled():
    from engine.messages import Liquidity, ParentOrderFilled

    d = desk()
    d.submit(order(), NOW)
    (created,) = d.close_window(NOW)
    d.on_parent_fill(
        ParentOrderFilled(
            ts=NOW,
            parent_id=created.parent_id,
            child_id="C1",
            fill_id="F1",
            venue="LIT1",
            quantity=60,
            price=100_000_000,
            liquidity=Liquidity.TAKER,
        )
    )
    before = snapshot(d)
    assert_rejected(d.amend("OMS", "c1", NOW, quantity=50), RejectReason.AMEND_BELOW_FILLED)
    assert snapshot(d) == before


def test_every_reason_has_a_message():
    assert all(reason.text for reason in RejectReason)
    assert len({r.value for r in RejectReason}) == len(RejectReason)


def test_rejection_is_pure():
    d = desk()
    d.submit(order(), NOW)
    twin = copy.deepcopy(d)
    d.submit(order(instrument="ZZZ", client_order_id="c2"), NOW)
    assert snapshot(d) == snapshot(twin)


# --------------------------------------------- screening: before anything is journaled

from engine import messages as m  # noqa: E402
from engine.desk.intake import INT64_MAX, MAX_IDENTIFIER_LENGTH  # noqa: E402

SCREEN = Intake([AAPL])


def screened(msg: m.Message) -> ClientOrderRejected | None:
    rejected = SCREEN.screen(msg, NOW)
    if rejected is not None:  # the reject itself always round-trips through the trail
        assert m.decode(m.encode(rejected)) == rejected
        assert rejected.text.isprintable() and len(rejected.text) < 200
    return rejected


def submit(**kw) -> m.SubmitClientOrder:
    return m.SubmitClientOrder(order=order(**kw), ts=NOW)


@pytest.mark.parametrize(
    ("msg", "reason", "field"),
    [
        (m.SubmitClientOrder(order=None, ts=NOW), RejectReason.MALFORMED, "order"),
        (submit(quantity=100.0), RejectReason.BAD_QUANTITY, "quantity"),
        (submit(quantity=True), RejectReason.BAD_QUANTITY, "quantity"),
        (submit(quantity=INT64_MAX + 1), RejectReason.OUT_OF_RANGE, "quantity"),
        (submit(limit_price=1e8), RejectReason.BAD_PRICE, "limit_price"),
        (submit(limit_price=-(2**64)), RejectReason.OUT_OF_RANGE, "limit_price"),
        (submit(side="buy"), RejectReason.BAD_SIDE, "side"),
        (submit(side=0), RejectReason.BAD_SIDE, "side"),
        (submit(source=7), RejectReason.MALFORMED, "source"),
        (submit(account="A" * 65), RejectReason.IDENTIFIER_TOO_LONG, "account"),
        (submit(client_order_id="c\x00"), RejectReason.BAD_CHARACTERS, "client_order_id"),
        (submit(instrument="AAPL\t"), RejectReason.BAD_CHARACTERS, "instrument"),
        (submit(mandate=None), RejectReason.MALFORMED, "mandate"),
        (submit(mandate=Mandate(strategy="ICEBERG")), RejectReason.UNKNOWN_STRATEGY, "strategy"),
        (submit(mandate=Mandate(urgency="now")), RejectReason.MALFORMED, "urgency"),
        (submit(mandate=Mandate(routing="any")), RejectReason.MALFORMED, "routing"),
        (submit(mandate=Mandate(must_complete=1)), RejectReason.MALFORMED, "must_complete"),
        (submit(mandate=Mandate(end_ns=1.5e18)), RejectReason.BAD_TIME, "end_ns"),
        (submit(mandate=Mandate(start_ns=2**63)), RejectReason.OUT_OF_RANGE, "start_ns"),
        (submit(mandate=Mandate(pov_rate="0.1")), RejectReason.BAD_PARTICIPATION, "pov_rate"),
        (submit(mandate=Mandate(risk_aversion=10**30)), RejectReason.OUT_OF_RANGE, "risk"),
        (m.SubmitClientOrder(order=order(), ts=2**64), RejectReason.OUT_OF_RANGE, "ts"),
        (
            m.CancelClientOrder(source="OMS", client_order_id=None, ts=NOW),
            RejectReason.MALFORMED,
            "client_order_id",
        ),
        (
            m.AmendClientOrder(source="OMS", client_order_id="c1", quantity=1.5, ts=NOW),
            RejectReason.BAD_QUANTITY,
            "quantity",
        ),
        (
            m.AmendClientOrder(source="OMS", client_order_id="c1", limit_price=2**70, ts=NOW),
            RejectReason.OUT_OF_RANGE,
            "limit_price",
        ),
    ],
)
def test_screen_names_the_field_and_never_echoes_the_value(msg, reason, field):
    rejected = screened(msg)
    assert rejected is not None
    assert rejected.reason == reason.value and rejected.text.startswith(reason.text)
    assert field in rejected.text


def test_screen_replies_with_the_identifiers_only_where_they_are_valid():
    rejected = screened(submit(client_order_id="x" * 10_000, quantity=1.5))
    assert rejected is not None
    assert (rejected.source, rejected.client_order_id) == ("OMS", "")
    rejected = screened(submit(source="O\nMS", client_order_id="c7"))
    assert rejected is not None
    assert (rejected.source, rejected.client_order_id) == ("", "c7")


@pytest.mark.parametrize(
    "msg",
    [
        submit(),
        submit(client_order_id="x" * MAX_IDENTIFIER_LENGTH, source="trader:jané 1"),
        submit(side=-1, quantity=INT64_MAX, limit_price=100_000_000),  # intake's to judge
        submit(quantity=0),  # encodes fine: intake rejects it with its own reason
        submit(client_order_id=""),
        submit(mandate=Mandate(strategy="VWAP", pov_rate=1, end_ns=NOW + 1)),
        m.CancelClientOrder(source="OMS", client_order_id="c1", ts=NOW),
        m.AmendClientOrder(source="OMS", client_order_id="c1", quantity=200, ts=NOW),
        m.InjectActorFailure(target="desk", reason="x\n" * 100),  # not a client command
    ],
)
def test_screen_passes_what_the_trail_can_hold(msg):
    assert screened(msg) is None
    m.decode(m.encode(msg))
