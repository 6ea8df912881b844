import msgspec
import pytest

from engine import messages as m
from engine.instruments import Instrument
from engine.prices import PRICE_SCALE, average_price, to_price


def test_every_message_roundtrips_through_the_tagged_union():
    sample = m.ExecutionReport(
        source="OMS",
        account="A1",
        client_order_id="c1",
        exec_id="E1",
        exec_type=m.ExecType.TRADE,
        ord_status=m.OrdStatus.PARTIALLY_FILLED,
        instrument="XYZ",
        side=m.Side.SELL,
        order_qty=100,
        cum_qty=40,
        leaves_qty=60,
        cum_notional=40 * to_price("100.01"),
        last_qty=40,
        last_price=to_price("100.01"),
        msg_id=7,
        ts=123,
    )
    assert m.decode(m.encode(sample)) == sample
    assert len({cls.__name__ for cls in m.ALL_MESSAGES}) == len(m.ALL_MESSAGES)


def test_messages_are_frozen():
    msg = m.TimerFired(key="k")
    with pytest.raises(AttributeError):
        msg.key = "other"  # type: ignore[misc]


def test_canonical_encoding_is_key_sorted_and_stable():
    a = m.CancelVenueOrder(venue="LIT1", order_id="V1", ts=5, msg_id=1)
    assert m.canonical(a) == m.canonical(m.decode(m.encode(a)))
    assert m.canonical(a).startswith(b'{"msg_id":1,"order_id":"V1"')


def test_unknown_tag_is_a_clear_error():
    with pytest.raises(msgspec.ValidationError):
        m.decode(msgspec.msgpack.encode({"type": "NoSuchMessage"}))


def test_prices_are_exact_fixed_point():
    assert to_price("100.01") == 100_010_000
    with pytest.raises(TypeError):
        to_price(100.01)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        to_price("1.0000001")
    assert str(average_price(3 * to_price("100.01") + to_price("100.02"), 4)) == "100.0125"


def test_instrument_tick_lot_band():
    inst = Instrument(symbol="XYZ", tick=PRICE_SCALE // 100, lot=100, ref_price=to_price("100"))
    assert inst.on_tick(to_price("100.01")) and not inst.on_tick(to_price("100.015"))
    assert inst.on_lot(300) and not inst.on_lot(250)
    assert inst.in_band(to_price("109.99")) and not inst.in_band(to_price("110.01"))
    assert inst.round_to_tick(to_price("100.015"), up=True) == to_price("100.02")
