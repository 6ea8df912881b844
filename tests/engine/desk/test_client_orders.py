import msgspec

from engine.desk.client_orders import ClientOrderState, ExecIds, trade_report
from engine.desk.desk import OrderDesk
from engine.instruments import Instrument
from engine.messages import (
    ClientOrder,
    ExecType,
    ExecutionReport,
    Mandate,
    OrdStatus,
    Side,
    StrategyName,
)


def test_take_gives_the_ids_next_would_across_thousands():
    one_by_one, in_blocks = ExecIds("E"), ExecIds("E")
    for n in (0, 1, 998, 3, 1_000, 1_001, 2_500, 7):
        assert in_blocks.take(n) == [one_by_one.next() for _ in range(n)]
        assert in_blocks.count == one_by_one.count
    in_blocks.count = one_by_one.count = 99_998  # e.g. after recovery
    assert (
        in_blocks.take(3)
        == ["E99999", "E100000", "E100001"]
        == [one_by_one.next() for _ in range(3)]
    )


def test_take_keeps_the_prefix():
    assert ExecIds("X7-").take(2) == ["X7-1", "X7-2"]


def test_ids_are_the_numbers_after_the_prefix_across_thousands():
    for prefix in ("E", "", "shard\n2-"):  # a newline cannot split the thousand's block
        ids = ExecIds(prefix)
        made = ids.take(1_500) + [ids.next() for _ in range(1_001)] + ids.take(2)
        assert made == [f"{prefix}{n}" for n in range(1, 2_504)]


# ------------------------------------------------------- the positional builders


def _distinct_order() -> ClientOrder:
    return ClientOrder(
        source="src",
        account="acct",
        client_order_id="coid",
        instrument="XYZ",
        side=Side.SELL,
        quantity=700,
        limit_price=100_010_000,
        mandate=Mandate(strategy=StrategyName.VWAP),
    )


def test_trade_report_puts_every_field_where_its_name_says():
    """``trade_report`` builds positionally: a reordered ``ExecutionReport`` field
    would land in the wrong place, and this comparison with a keyword build fails."""
    o = ClientOrderState.of(_distinct_order(), arrival_ns=5)
    o.cum_qty, o.cum_notional, o.leaves = 300, 300 * 121_000, 400
    o.status, o.parent_id = OrdStatus.PARTIALLY_FILLED, "P9"
    by_keyword = ExecutionReport(
        source="src",
        account="acct",
        client_order_id="coid",
        exec_id="E42",
        exec_type=ExecType.TRADE,
        ord_status=OrdStatus.PARTIALLY_FILLED,
        instrument="XYZ",
        side=Side.SELL,
        order_qty=700,
        cum_qty=300,
        leaves_qty=400,
        cum_notional=300 * 121_000,
        last_qty=100,
        last_price=121_000,
        parent_id="P9",
        internal=True,
        venue="VENUE",
        reason=None,
        text="why",
        ts=77,
    )
    built = trade_report(o, "E42", 100, 121_000, "VENUE", True, "why", 77)
    assert msgspec.structs.asdict(built) == msgspec.structs.asdict(by_keyword)


def test_submit_builds_the_state_of_does():
    """``OrderDesk.submit`` builds a new order's state positionally on its hot path; it
    must be the state ``ClientOrderState.of`` builds by keyword."""
    o = _distinct_order()
    desk = OrderDesk([Instrument(symbol="XYZ", ref_price=100_000_000)])
    ((_, ack),) = desk.submit(o, 5)
    assert isinstance(ack, ExecutionReport) and ack.exec_type is ExecType.NEW
    submitted = desk.order("src", "coid")
    assert submitted is not None
    assert msgspec.structs.asdict(submitted) == msgspec.structs.asdict(
        ClientOrderState.of(o, arrival_ns=5)
    )
    fields = msgspec.structs.asdict(submitted)
    assert (fields["order_qty"], fields["qty"], fields["leaves"]) == (700, 700, 700)
    assert (fields["order_limit"], fields["limit"], fields["arrival_ns"]) == (
        100_010_000,
        100_010_000,
        5,
    )
