"""The application layer, sans I/O: FIX messages in, engine commands and FIX replies out."""

import msgspec
import pytest
from fixclient import T0

from engine.fix.codec import FixMessage
from engine.fix.config import Role, SessionSettings
from engine.fix.gateway import Gateway
from engine.fix.restart import engine_orders
from engine.fix.session import Session
from engine.fix.times import utc_timestamp
from engine.messages import (
    AmendClientOrder,
    CancelClientOrder,
    ClientOrderRejected,
    ExecType,
    ExecutionReport,
    OrdStatus,
    Side,
    StrategyName,
    SubmitClientOrder,
    Urgency,
)

NOW = utc_timestamp(T0)


def fix(msg_type: str, *body: tuple[int, str], seq: int = 2) -> FixMessage:
    header = [(8, "FIX.4.4"), (9, "0"), (35, msg_type), (49, "OMS1"), (56, "SMARTEXEC")]
    return FixMessage([*header, (34, str(seq)), (52, NOW), *body, (10, "000")])


def order(cl: str = "c1", *extra: tuple[int, str], qty: str = "100") -> FixMessage:
    base = [(11, cl), (55, "XYZ"), (54, "1"), (60, NOW), (40, "2"), (44, "100.01"), (38, qty)]
    return fix("D", *base, *extra)


def sessions(**tags: int):
    oms = Session(SessionSettings(sender_comp_id="OMS1", tags=tags))
    other = Session(SessionSettings(sender_comp_id="OMS2"))
    copy = Session(SessionSettings(sender_comp_id="CLEAR", role=Role.DROP_COPY))
    return oms, other, copy, Gateway([oms, other, copy], incarnation=3)


def er(cid: str, exec_type: ExecType, status: OrdStatus, **kw: object) -> ExecutionReport:
    fields: dict = {
        "source": "OMS1",
        "account": "OMS1",
        "client_order_id": cid,
        "exec_id": "E1",
        "instrument": "XYZ",
        "side": Side.BUY,
        "order_qty": 100,
        "cum_qty": 0,
        "leaves_qty": 100,
        "ts": T0,
    }
    fields.update(kw)
    return ExecutionReport(exec_type=exec_type, ord_status=status, **fields)


def test_new_order_single_becomes_a_client_order_with_its_mandate():
    oms, _, _, gw = sessions(urgency=7001)
    algo = [(847, "2"), (849, "0.1"), (168, NOW), (7001, "high")]
    [cmd], out = gw.on_message(oms, order("c1", *algo), T0)
    assert out == [] and isinstance(cmd, SubmitClientOrder)
    o = cmd.order
    assert (o.source, o.client_order_id, o.side, o.quantity, o.limit_price) == (
        "OMS1",
        "c1",
        Side.BUY,
        100,
        100_010_000,
    )
    m = o.mandate
    assert (m.strategy, m.pov_rate, m.start_ns, m.urgency) == (
        StrategyName.POV,
        0.1,
        T0,
        Urgency.HIGH,
    )


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        ([(847, "42")], "unknown TargetStrategy"),
        ([(849, "1.5")], "outside (0, 1]"),
        ([(111, "500")], "MaxFloor (111) 500 is above OrderQty 100"),
        ([(59, "3")], "TimeInForce"),
    ],
)
def test_parameters_the_engine_cannot_honour_are_rejected_with_a_reason(extra, text):
    oms, _, _, gw = sessions()
    cmds, [out] = gw.on_message(oms, order("c1", *extra), T0)
    body = dict(out.body)
    assert cmds == [] and out.msg_type == "8" and out.session is oms
    assert (body[150], body[39], body[103], body[151], body[14]) == ("8", "8", 99, 0, 0)
    assert text in body[58]


def test_a_missing_price_on_a_limit_order_is_a_business_reject():
    oms, _, _, gw = sessions()
    msg = fix("D", (11, "c1"), (55, "XYZ"), (54, "1"), (60, NOW), (40, "2"), (38, "100"))
    _, [out] = gw.on_message(oms, msg, T0)
    assert out.msg_type == "j" and dict(out.body)[380] == 5


def test_a_duplicate_cl_ord_id_is_rejected_and_the_original_untouched():
    oms, _, _, gw = sessions()
    gw.on_message(oms, order("c1"), T0)
    cmds, [out] = gw.on_message(oms, order("c1", qty="999"), T0)
    assert cmds == [] and dict(out.body)[103] == 6
    [report, _] = gw.on_report(er("c1", ExecType.NEW, OrdStatus.NEW), T0)
    assert dict(report.body)[38] == 100


def test_an_unsupported_message_type_is_a_business_reject():
    oms, _, _, gw = sessions()
    _, [out] = gw.on_message(oms, fix("R", (131, "q1")), T0)
    assert (out.msg_type, dict(out.body)[380]) == ("j", 3)


def test_a_drop_copy_session_cannot_enter_orders():
    _, _, copy, gw = sessions()
    cmds, [out] = gw.on_message(copy, order(), T0)
    assert cmds == [] and (out.msg_type, dict(out.body)[380]) == ("j", 6)


def cancel(orig: str, new: str, msg_type: str = "F", *extra: tuple[int, str]) -> FixMessage:
    return fix(msg_type, (41, orig), (11, new), (55, "XYZ"), (54, "1"), (60, NOW), *extra)


def test_cancel_then_the_engine_report_names_new_and_original_ids():
    oms, _, copy, gw = sessions()
    gw.on_message(oms, order("c1"), T0)
    gw.on_report(er("c1", ExecType.NEW, OrdStatus.NEW), T0)
    [cmd], [] = gw.on_message(oms, cancel("c1", "c1-x"), T0)
    assert cmd == CancelClientOrder(source="OMS1", client_order_id="c1", ts=T0)
    mine, copied = gw.on_report(er("c1", ExecType.CANCELED, OrdStatus.CANCELED), T0)
    body = dict(mine.body)
    assert (body[150], body[39], body[11], body[41], body[151]) == ("4", "4", "c1-x", "c1", 0)
    assert copied.session is copy and copied.body == mine.body


def test_a_pending_cancel_is_150_6_then_the_cancel_names_both_ids():
    """The engine keeps a cancelled order working while its venue orders settle: the
    client hears 150=6 39=6 for its request first, then 150=4 once it is done."""
    oms, _, copy, gw = sessions()
    gw.on_message(oms, order("c1"), T0)
    gw.on_report(er("c1", ExecType.NEW, OrdStatus.NEW), T0)
    gw.on_message(oms, cancel("c1", "c1-x"), T0)
    pending = er("c1", ExecType.PENDING_CANCEL, OrdStatus.PARTIALLY_FILLED, cum_qty=40)
    mine, copied = gw.on_report(pending, T0)
    body = dict(mine.body)
    assert (body[150], body[39], body[11], body[41], body[14]) == ("6", "6", "c1-x", "c1", 40)
    assert copied.session is copy
    done = er("c1", ExecType.CANCELED, OrdStatus.CANCELED, exec_id="E2", cum_qty=40)
    body = dict(gw.on_report(done, T0)[0].body)
    assert (body[150], body[39], body[11], body[41]) == ("4", "4", "c1-x", "c1")


def test_a_pending_replace_is_150_e():
    oms, _, _, gw = sessions()
    gw.on_message(oms, order("c1"), T0)
    gw.on_report(er("c1", ExecType.NEW, OrdStatus.NEW), T0)
    amend = cancel("c1", "c1-r", "G", (40, "2"), (44, "100.02"), (38, "200"))
    gw.on_message(oms, amend, T0)
    mine, _ = gw.on_report(er("c1", ExecType.PENDING_REPLACE, OrdStatus.NEW), T0)
    body = dict(mine.body)
    assert (body[150], body[39], body[11], body[41]) == ("E", "E", "c1-r", "c1")


def test_cancel_rejects_unknown_foreign_done_and_pending():
    oms, other, _, gw = sessions()
    gw.on_message(oms, order("c1"), T0)
    gw.on_report(er("c1", ExecType.NEW, OrdStatus.NEW), T0)
    _, [out] = gw.on_message(other, cancel("c1", "x1"), T0)  # OMS2 cannot see OMS1's c1
    assert out.session is other and (dict(out.body)[102], dict(out.body)[434]) == (1, "1")
    gw.on_message(oms, cancel("c1", "c1-a"), T0)
    _, [out] = gw.on_message(oms, cancel("c1", "c1-b"), T0)
    assert dict(out.body)[102] == 3  # already pending
    rejected = ClientOrderRejected(
        source="OMS1", client_order_id="c1", reason="order_done", text="done", ts=T0
    )
    [out] = gw.on_report(rejected, T0)
    assert out.msg_type == "9" and dict(out.body)[102] == 0 and dict(out.body)[11] == "c1-a"


def test_replace_amends_quantity_and_price():
    oms, _, _, gw = sessions()
    gw.on_message(oms, order("c1"), T0)
    gw.on_report(er("c1", ExecType.NEW, OrdStatus.NEW), T0)
    g = cancel("c1", "c1-r", "G", (40, "2"), (44, "100.02"), (38, "200"))
    [cmd], [] = gw.on_message(oms, g, T0)
    assert isinstance(cmd, AmendClientOrder)
    assert (cmd.quantity, cmd.limit_price) == (200, 100_020_000)
    [out, _] = gw.on_report(er("c1", ExecType.REPLACED, OrdStatus.NEW, order_qty=200), T0)
    body = dict(out.body)
    assert (body[150], body[39], body[11], body[41], body[38]) == ("5", "0", "c1-r", "c1", 200)


def test_fills_carry_last_qty_price_market_and_an_exact_average():
    oms, _, _, gw = sessions()
    gw.on_message(oms, order("c1"), T0)
    gw.on_report(er("c1", ExecType.NEW, OrdStatus.NEW), T0)
    fill = er(
        "c1",
        ExecType.TRADE,
        OrdStatus.PARTIALLY_FILLED,
        exec_id="E7",
        cum_qty=30,
        leaves_qty=70,
        cum_notional=30 * 100_010_000,
        last_qty=30,
        last_price=100_010_000,
        venue="NYSE",
    )
    [out, _] = gw.on_report(fill, T0)
    body = dict(out.body)
    assert (body[150], body[32], body[31], body[30], body[6], body[17]) == (
        "F",
        30,
        "100.01",
        "NYSE",
        "100.01",
        "3-E7",
    )
    cross = msgspec.structs.replace(fill, internal=True, venue=None, exec_id="E8")
    [out, _] = gw.on_report(cross, T0)
    assert (dict(out.body)[30], dict(out.body)[29]) == ("XOFF", "2")


def test_reports_of_orders_from_elsewhere_go_to_drop_copies_only():
    _, _, copy, gw = sessions()
    [out] = gw.on_report(er("api-1", ExecType.NEW, OrdStatus.NEW, source="API"), T0)
    assert out.session is copy and dict(out.body)[37] == "3-API/api-1"


def test_replace_to_at_most_the_filled_quantity_ends_the_order():
    oms, _, _, gw = sessions()
    gw.on_message(oms, order("c1"), T0)
    gw.on_report(er("c1", ExecType.NEW, OrdStatus.NEW), T0)
    partial = er("c1", ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, cum_qty=40, leaves_qty=60)
    gw.on_report(partial, T0)
    [cmd], [] = gw.on_message(oms, cancel("c1", "c1-r", "G", (40, "1"), (38, "10")), T0)
    assert isinstance(cmd, AmendClientOrder) and cmd.quantity == 40


def test_a_restarted_gateway_closes_what_was_working_and_keeps_cl_ord_ids_taken():
    oms, other, copy, gw = sessions()
    gw.on_message(oms, order("c1"), T0)
    for out in gw.on_report(er("c1", ExecType.NEW, OrdStatus.NEW), T0):
        out.session.send(out.msg_type, out.body, T0)
    gw.on_message(oms, order("c2"), T0)
    done = er("c2", ExecType.TRADE, OrdStatus.FILLED, exec_id="E2", cum_qty=100, leaves_qty=0,
              cum_notional=100 * 100_000_000, last_qty=100, last_price=100_000_000)  # fmt: skip
    for out in gw.on_report(done, T0):
        out.session.send(out.msg_type, out.body, T0)

    restarted = Gateway([oms, other, copy], incarnation=4)
    [closed, copied] = restarted.restore(oms, T0)
    body = dict(closed.body)
    assert (body[11], body[150], body[39], body[151], body[14]) == ("c1", "4", "4", 0, "0")
    assert "restarted" in body[58] and body[17].startswith("4-") and copied.session is copy
    _, [dup] = restarted.on_message(oms, order("c2"), T0)
    assert dict(dup.body)[103] == 6
    _, [late] = restarted.on_message(oms, cancel("c1", "c1-x"), T0)
    assert (late.msg_type, dict(late.body)[102]) == ("9", 0)


def test_a_cancel_racing_a_rejected_new_order_gets_both_answers():
    oms, _, _, gw = sessions()
    gw.on_message(oms, order("c1"), T0)
    gw.on_message(oms, cancel("c1", "c1-x"), T0)  # before the engine answered the order
    refused = ClientOrderRejected(
        source="OMS1", client_order_id="c1", reason="end_in_past", text="late", ts=T0
    )
    [new_reject, _copy] = gw.on_report(refused, T0)
    assert (new_reject.msg_type, dict(new_reject.body)[11], dict(new_reject.body)[150]) == (
        "8",
        "c1",
        "8",
    )
    unknown = msgspec.structs.replace(refused, reason="unknown_order", text="no such order")
    [cancel_reject] = gw.on_report(unknown, T0)
    body = dict(cancel_reject.body)
    assert (cancel_reject.msg_type, body[11], body[41], body[102]) == ("9", "c1-x", "c1", 0)


def test_a_replace_with_a_bad_price_leaves_nothing_pending():
    oms, _, _, gw = sessions()
    gw.on_message(oms, order("c1"), T0)
    gw.on_report(er("c1", ExecType.NEW, OrdStatus.NEW), T0)
    _, [out] = gw.on_message(oms, cancel("c1", "c1-r", "G", (40, "2"), (44, "1.0000001")), T0)
    assert out.msg_type == "9" and dict(out.body)[434] == "2"
    [cmd], [] = gw.on_message(oms, cancel("c1", "c1-x"), T0)  # not "already pending"
    assert isinstance(cmd, CancelClientOrder)


def test_a_gateway_restarted_with_its_engine_resumes_orders_and_sends_what_was_missed():
    oms, other, copy, gw = sessions()
    gw.on_message(oms, order("c1"), T0)
    new = er("c1", ExecType.NEW, OrdStatus.NEW)
    fill = er("c1", ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, exec_id="E2", cum_qty=40,
              leaves_qty=60, cum_notional=40 * 100_000_000, last_qty=40, last_price=100_000_000)  # fmt: skip
    for out in gw.on_report(new, T0):
        out.session.send(out.msg_type, out.body, T0)
    missed = msgspec.structs.replace(fill, exec_id="E3", cum_qty=70, leaves_qty=30,
                                     cum_notional=70 * 100_000_000, last_qty=30)  # fmt: skip
    unheard = er("c9", ExecType.NEW, OrdStatus.NEW, exec_id="E4")  # acked, then the crash
    trail = engine_orders([new, fill, missed, unheard])
    gw.on_report(fill, T0)  # committed in the trail, but the process died before sending it

    restarted = Gateway([oms, other, copy], incarnation=4)
    sent = restarted.restore(oms, T0, trail)
    bodies = [dict(o.body) for o in sent if o.session is oms]
    assert [(b[11], b[17], b[14], b[39]) for b in bodies] == [
        ("c1", "4-E2", 40, "1"),
        ("c1", "4-E3", 70, "1"),
        ("c9", "4-E4", 0, "0"),
    ]
    assert bodies[0][37] == bodies[1][37] == "3-O1" and bodies[2][37] == "4-O1"
    assert restarted.on_report(missed, T0) == []  # the engine's own delivery: sent already
    later = msgspec.structs.replace(missed, exec_id="E5", cum_qty=100, leaves_qty=0,
                                    ord_status=OrdStatus.FILLED)  # fmt: skip
    [done, _] = restarted.on_report(later, T0)
    assert (dict(done.body)[37], dict(done.body)[39], dict(done.body)[17]) == ("3-O1", "2", "4-E5")
    [cmd], [] = restarted.on_message(oms, cancel("c9", "c9-x"), T0)  # the engine's order
    assert isinstance(cmd, CancelClientOrder) and cmd.client_order_id == "c9"


def test_order_status_request_answers_the_state_last_reported():
    oms, other, _, gw = sessions()
    gw.on_message(oms, order("c1"), T0)
    _, [pending] = gw.on_message(oms, fix("H", (11, "c1"), (55, "XYZ"), (54, "1")), T0)
    assert (dict(pending.body)[150], dict(pending.body)[39]) == ("I", "A")
    gw.on_report(er("c1", ExecType.NEW, OrdStatus.NEW), T0)
    fill = er("c1", ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, exec_id="E2", cum_qty=40,
              leaves_qty=60, cum_notional=40 * 100_000_000, last_qty=40, last_price=100_000_000)  # fmt: skip
    gw.on_report(fill, T0)
    ask = fix("H", (11, "c1"), (55, "XYZ"), (54, "1"), (790, "q7"))
    [], [status] = gw.on_message(oms, ask, T0)
    body = dict(status.body)
    assert (status.msg_type, body[150], body[39], body[14], body[151], body[6]) == (
        "8", "I", "1", 40, 60, "100",
    )  # fmt: skip
    assert body[790] == "q7" and 32 not in body and body[17] != "3-E2"
    [], [unknown] = gw.on_message(other, ask, T0)  # another session's order: not found
    assert (dict(unknown.body)[150], dict(unknown.body)[39], dict(unknown.body)[58]) == (
        "I", "8", "unknown order",
    )  # fmt: skip
