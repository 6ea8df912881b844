"""The gateway against an independent FIX engine: a QuickFIX initiator over loopback.

Every wait has a timeout, ports are ephemeral, and every initiator, acceptor and engine is
stopped in teardown. The order flows run on the wall clock against simulated venues, so
they assert what must hold whatever the timing: the FIX report invariants, ids, states.
"""

from __future__ import annotations

import pytest
from qfclient import DONE, Initiator, check_invariants

from actors.api import Engine, MarketConfig
from actors.fix import FixAcceptor
from actors.runtime.live import session_from_now
from engine.clock import MS, SECOND
from engine.config import VenueConfig
from engine.desk.desk import DeskConfig
from engine.fix.config import GatewaySettings, Role, SessionSettings
from engine.fix.times import utc_timestamp
from engine.instruments import Instrument

pytest.importorskip("quickfix")

XYZ = Instrument(symbol="XYZ", ref_price=100_000_000)
SESSIONS = GatewaySettings(
    sessions=[
        SessionSettings(sender_comp_id="OMS1", password="pw1", tags={"urgency": 7001}),
        SessionSettings(sender_comp_id="OMS2", password="pw2"),
        SessionSettings(sender_comp_id="CLEAR", password="pw3", role=Role.DROP_COPY),
    ]
)


@pytest.fixture
def engine():
    market = MarketConfig(
        instrument=XYZ,
        venues=[VenueConfig(name="NYSE"), VenueConfig(name="DARK", kind="dark")],
        session=session_from_now(1.0),
    )
    # a wide aggregation window: two sessions' orders sent a moment apart always meet in it
    with Engine(market, live=True, desk=DeskConfig(window_ns=400 * MS)) as engine:
        yield engine


@pytest.fixture
def gateway(engine, tmp_path):
    acceptor = FixAcceptor(engine, SESSIONS, store_dir=tmp_path / "gateway")
    yield acceptor
    acceptor.close()


@pytest.fixture
def connect(gateway, tmp_path):
    started: list[Initiator] = []

    def start(sender: str = "OMS1", password: str = "pw1", **settings: object) -> Initiator:
        store = tmp_path / f"client-{sender}"  # one per CompID: a reconnect resumes it
        initiator = Initiator(gateway.address[1], store, password, sender=sender, **settings)
        started.append(initiator)
        return initiator

    yield start
    for initiator in started:
        initiator.stop()


def logged_on(connect, sender: str = "OMS1", password: str = "pw1", **kw: object):
    client = connect(sender, password, **kw)
    assert client.app.logged_on.wait(15), f"{sender} did not log on"
    return client.app


def new_order(app, engine, cl: str, qty: int = 300, fast: bool = True, *extra) -> None:
    now = engine.now
    fields = [(11, cl), (21, 1), (55, "XYZ"), (54, 1), (60, utc_timestamp(now)), (38, qty)]
    if fast:  # a market order ending in a few seconds, urgency high: filled while we wait
        fields += [(40, 1), (59, 6), (126, utc_timestamp(now + 3 * SECOND)), (7001, "high")]
    else:  # a buy limit 5 % under the market: it stays working, never filled
        fields += [(40, 2), (44, "95.00")]
    app.send(*fields, *extra, msg_type="D")


def test_logon_order_fills_and_the_drop_copy_sees_every_report_in_order(engine, connect):
    oms = logged_on(connect)
    clear = logged_on(connect, "CLEAR", "pw3")
    new_order(oms, engine, "buy-1")
    reports = oms.until(lambda m: m[39] in DONE, timeout=20)
    assert next(r[150] for r in reports) == "0" and reports[-1][39] == "2"
    assert all(r[11] == "buy-1" and r[35] == "8" for r in reports)
    check_invariants(reports)
    fills = [r for r in reports if r[150] == "F"]
    assert fills and all(r[30] in ("NYSE", "DARK") for r in fills)
    copies = [clear.next_app() for _ in reports]
    assert [c[17] for c in copies] == [r[17] for r in reports]


def test_cancel_and_replace_name_the_new_and_original_ids(engine, connect):
    oms = logged_on(connect)
    new_order(oms, engine, "slow-1", 1_000, False)  # a limit under the market: stays working
    assert oms.next_app()[150] == "0"
    replace = [(41, "slow-1"), (11, "slow-2"), (55, "XYZ"), (54, 1), (40, 2), (44, "95.00")]
    replace.append((38, 2_000))
    oms.send(*replace, (60, utc_timestamp(engine.now)), msg_type="G")
    replaced = oms.until(lambda m: m[150] == "5")[-1]
    assert (replaced[11], replaced[41], replaced[38], replaced[39]) == (
        "slow-2",
        "slow-1",
        "2000",
        "0",
    )
    cancel = [(41, "slow-2"), (11, "slow-3"), (55, "XYZ"), (54, 1)]
    oms.send(*cancel, (60, utc_timestamp(engine.now)), msg_type="F")
    done = oms.until(lambda m: m[150] == "4")[-1]
    assert (done[11], done[41], done[39], done[151]) == ("slow-3", "slow-2", "4", "0")
    # too late: the order is done
    oms.send((41, "slow-3"), (11, "slow-4"), (55, "XYZ"), (54, 1),
             (60, utc_timestamp(engine.now)), msg_type="F")  # fmt: skip
    late = oms.next_app()
    assert (late[35], late[102], late[434]) == ("9", "0", "1")


def test_duplicate_cl_ord_id_and_each_reject_case(engine, connect):
    oms = logged_on(connect)
    new_order(oms, engine, "d-1", 500, False)
    assert oms.next_app()[150] == "0"
    new_order(oms, engine, "d-1", 900, False)
    dup = oms.next_app()
    assert (dup[150], dup[39], dup[103]) == ("8", "8", "6") and "duplicate" in dup[58]
    past = utc_timestamp(engine.now - 60 * SECOND)
    cases = {
        "r-strategy": ([(847, 42)], "unknown TargetStrategy"),
        "r-past": ([(59, 6), (126, past)], "end_in_past"),
        "r-floor": ([(111, 9_999)], "MaxFloor"),
        "r-rate": ([(849, "1.5")], "outside (0, 1]"),
        "r-symbol": ([], "unknown_instrument"),
    }
    for cl, (extra, text) in cases.items():
        now = utc_timestamp(engine.now)
        symbol = "NOPE" if cl == "r-symbol" else "XYZ"
        fields = [(11, cl), (55, symbol), (54, 1), (60, now), (38, 100), (40, 1), *extra]
        oms.send(*fields, msg_type="D")
        reject = oms.next_app()
        assert (reject[11], reject[150], reject[39]) == (cl, "8", "8")
        assert text in reject[58], reject[58]
    oms.send((131, "q1"), (146, 0), msg_type="R")
    unsupported = oms.next_app()
    assert (unsupported[35], unsupported[380]) == ("j", "3")
    now = utc_timestamp(engine.now)
    oms.send((11, "r-px"), (55, "XYZ"), (54, 1), (60, now), (38, 100), (40, 2), msg_type="D")
    missing = oms.next_app()
    assert (missing[35], missing[380]) == ("j", "5")
    oms.send(
        (11, "r-tag"), (55, "XYZ"), (54, 1), (60, now), (38, 100), (40, 1), (112, "x"), msg_type="D"
    )
    reject = next(m for m in iter(lambda: oms.admin.get(timeout=15), None) if m[35] == "3")
    assert (reject[373], reject[371]) == ("2", "112")  # TestReqID is not an order's field


def test_a_session_cannot_cancel_another_sessions_order(engine, connect):
    oms = logged_on(connect)
    other = logged_on(connect, "OMS2", "pw2")
    new_order(oms, engine, "mine", 500, False)
    assert oms.next_app()[150] == "0"
    other.send((41, "mine"), (11, "steal"), (55, "XYZ"), (54, 1),
               (60, utc_timestamp(engine.now)), msg_type="F")  # fmt: skip
    refused = other.next_app()
    assert (refused[35], refused[102], refused[434]) == ("9", "1", "1")
    assert oms.app.empty()  # the owner's order is untouched and nothing was said to it


def test_a_wrong_password_never_logs_on(connect):
    client = connect("OMS1", "wrong")
    assert client.app.logged_out.wait(15)
    assert not client.app.logged_on.is_set()


def test_reports_missed_while_away_come_back_as_possdup_resends(engine, connect, tmp_path):
    oms = logged_on(connect)
    clear_client = connect("CLEAR", "pw3", reset=False)
    assert clear_client.app.logged_on.wait(15)
    clear_client.stop()  # the drop copy goes away
    new_order(oms, engine, "away-1")
    reports = oms.until(lambda m: m[39] in DONE, timeout=20)
    again = connect("CLEAR", "pw3", reset=False)  # same store: a sequence gap to fill
    assert again.app.logged_on.wait(15)
    copies = [again.app.next_app() for _ in reports]
    assert [c[17] for c in copies] == [r[17] for r in reports]
    assert all(c[43] == "Y" and 122 in c for c in copies)


def test_opposing_orders_of_two_sessions_cross_internally_each_with_its_own_reports(
    engine, connect
):
    buyer = logged_on(connect)
    seller = logged_on(connect, "OMS2", "pw2")
    new_order(buyer, engine, "b-1", 300)
    now = engine.now
    seller.send((11, "s-1"), (55, "XYZ"), (54, 2), (60, utc_timestamp(now)), (38, 200), (40, 1),
                (59, 6), (126, utc_timestamp(now + 3 * SECOND)), msg_type="D")  # fmt: skip
    bought = buyer.until(lambda m: m[39] in DONE, timeout=20)
    sold = seller.until(lambda m: m[39] in DONE, timeout=20)
    for reports, cl in ((bought, "b-1"), (sold, "s-1")):
        assert {r[11] for r in reports} == {cl}
        check_invariants(reports)
    crossed = [r for r in bought if r.get(30) == "XOFF"]
    assert crossed and all(r[29] == "2" for r in crossed)
    assert sum(int(r[32]) for r in crossed) == sum(int(r[32]) for r in sold if r.get(30) == "XOFF")
