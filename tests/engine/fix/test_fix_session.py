"""The sans-IO session layer, driven with byte strings and explicit clock values."""

import pytest
from fixclient import T0, Client, kinds, parse

from engine.clock import SECOND
from engine.fix.codec import Framer, Garbled, encode
from engine.fix.config import SessionSettings
from engine.fix.session import Closed, Connection, Dropped, LoggedOn, Phase, Received, Session
from engine.fix.store import FileStore
from engine.fix.times import utc_timestamp

ORDER = ((11, "c1"), (55, "XYZ"), (54, 1), (60, utc_timestamp(T0)), (40, 1), (38, 100))


def new_session(**kw: object) -> Session:
    return Session(SessionSettings(sender_comp_id="OMS1", password="pw", **kw))  # type: ignore[arg-type]


def connect(session: Session, client: Client, now: int = T0, **logon: object):
    conn = Connection({session.settings.key: session}, now)
    step = conn.receive(client.logon(**logon), now)  # type: ignore[arg-type]
    return conn, step


def received(step) -> list:
    return [e.msg for e in step.events if isinstance(e, Received)]


def test_logon_is_answered_with_the_heartbeat_interval_echoed():
    session, client = new_session(), Client()
    conn, step = connect(session, client, hb=7)
    [reply] = parse(step.data)
    assert (reply.msg_type, reply.get(108), reply.get(34), reply.get(56)) == ("A", "7", "1", "OMS1")
    assert isinstance(step.events[0], LoggedOn) and conn.phase is Phase.ACTIVE
    assert conn.heartbeat_ns == 7 * SECOND


@pytest.mark.parametrize(
    ("client", "password", "why"),
    [
        (Client(), "wrong", "invalid username or password"),
        (Client(sender="EVIL"), "pw", "unknown SenderCompID/TargetCompID"),
        (Client(target="OTHER"), "pw", "unknown SenderCompID/TargetCompID"),
    ],
)
def test_a_bad_logon_is_logged_out_and_never_binds_the_session(client, password, why):
    session = new_session()
    _, step = connect(session, client, password=password)
    [logout] = parse(step.data)
    assert (logout.msg_type, logout.get(58)) == ("5", why)
    assert step.closed and session.connection is None and session.store.next_out == 1


def test_a_logon_with_a_sending_time_far_off_is_refused():
    session = new_session()
    _, step = connect(session, Client(), now=T0 + 121 * SECOND)
    assert parse(step.data)[0].get(58) == "SendingTime accuracy problem" and step.closed


def test_heartbt_int_zero_takes_the_sessions_interval():
    session = new_session(heartbeat_s=12)
    conn, step = connect(session, Client(), hb=0)
    assert conn.heartbeat_ns == 12 * SECOND and parse(step.data)[0].get(108) == "12"


def test_the_first_message_must_be_a_logon():
    session, client = new_session(), Client()
    conn = Connection({session.settings.key: session}, T0)
    step = conn.receive(client.msg("D", *ORDER), T0)
    assert step.data == [] and step.closed and not received(step)


def test_a_second_connection_to_a_logged_on_session_is_refused():
    session = new_session()
    connect(session, Client())
    _, step = connect(session, Client())
    assert parse(step.data)[0].get(58) == "the session is already logged on"
    assert step.closed


def test_reset_seq_num_flag_starts_both_sides_at_one():
    session, client = new_session(), Client()
    session.store.next_in = session.store.next_out = 50
    _, step = connect(session, client, header=((141, "Y"),))
    [reply] = parse(step.data)
    assert (reply.get(34), reply.get(141)) == ("1", "Y")
    assert session.store.next_in == 2


def test_logon_with_a_seq_too_high_is_answered_then_a_resend_is_requested():
    session, client = new_session(), Client()
    client.seq = 5
    _, step = connect(session, client)
    logon, resend = parse(step.data)
    assert logon.msg_type == "A"
    assert (resend.msg_type, resend.get(7), resend.get(16)) == ("2", "1", "0")


def test_logon_with_a_seq_too_low_is_logged_out():
    session, client = new_session(), Client()
    session.store.next_in = 10
    _, step = connect(session, client)
    assert parse(step.data)[-1].get(58) == "MsgSeqNum too low, expecting 10 but received 1"
    assert step.closed


def test_application_messages_go_up_in_sequence():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    step = conn.receive(client.msg("D", *ORDER), T0)
    [msg] = received(step)
    assert (msg.msg_type, msg.get(11)) == ("D", "c1")
    assert session.store.next_in == 3


def test_test_request_is_echoed_in_a_heartbeat():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    [hb] = parse(conn.receive(client.msg("1", (112, "ping")), T0).data)
    assert (hb.msg_type, hb.get(112)) == ("0", "ping")


def test_heartbeat_after_outbound_silence_then_test_request_then_disconnect():
    session, client = new_session(), Client()
    conn, _ = connect(session, client, hb=10)
    assert conn.deadline_ns() == T0 + 10 * SECOND
    assert kinds(conn.tick(T0 + 10 * SECOND).data) == ["0"]
    step = conn.tick(T0 + 12 * SECOND)  # inbound silent for HeartBtInt + 20 %
    [test] = parse(step.data)
    assert test.msg_type == "1"
    assert conn.tick(T0 + 18 * SECOND).data == []  # heartbeat not yet due again... or test
    assert conn.tick(T0 + 24 * SECOND).closed


def test_an_answered_test_request_keeps_the_connection():
    session, client = new_session(), Client()
    conn, _ = connect(session, client, hb=10)
    [test] = parse(conn.tick(T0 + 12 * SECOND).data)
    conn.receive(client.msg("0", (112, test.get(112))), T0 + 13 * SECOND)
    assert not conn.tick(T0 + 24 * SECOND).closed


def test_a_gap_sends_one_resend_request_and_queues_until_filled():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    client.seq = 3  # seq 2 lost
    step = conn.receive(client.msg("D", (11, "c2"), *ORDER[1:]), T0)  # seq 3
    assert kinds(step.data) == ["2"] and parse(step.data)[0].get(7) == "2"
    step = conn.receive(client.msg("D", (11, "c3"), *ORDER[1:]), T0)  # seq 4: no second request
    assert step.data == [] and not received(step)
    resent = client.msg("D", *ORDER, seq=2, header=((43, "Y"), (122, utc_timestamp(T0))))
    step = conn.receive(resent, T0)
    assert [m.get(11) for m in received(step)] == ["c1", "c2", "c3"]
    assert session.store.next_in == 5


def test_gap_filled_by_a_resend_delivers_everything_in_order():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    client.seq = 3
    conn.receive(client.msg("D", (11, "c3"), *ORDER[1:]), T0)
    resent = client.msg("D", *ORDER, seq=2, header=((43, "Y"), (122, utc_timestamp(T0 - SECOND))))
    step = conn.receive(resent, T0)
    assert [m.get(11) for m in received(step)] == ["c1", "c3"]
    assert session.store.next_in == 4


def test_the_peers_resend_request_is_answered_while_our_gap_is_open():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    session.send("8", [(17, "E1")], T0)  # seq 2, an application message
    client.seq = 4  # we miss 2 and 3
    step = conn.receive(client.msg("2", (7, 1), (16, 0)), T0)
    out = parse(step.data)
    assert [m.msg_type for m in out] == ["4", "8", "2"]  # gap fill, the resend, our request
    gap_fill, resent = out[0], out[1]
    assert (gap_fill.get(34), gap_fill.get(123), gap_fill.get(36)) == ("1", "Y", "2")
    assert (resent.get(34), resent.get(43), resent.get(17)) == ("2", "Y", "E1")
    assert resent.get(122) is not None


def test_gap_fill_moves_the_expected_number_and_a_backward_one_is_rejected():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    conn.receive(client.msg("4", (123, "Y"), (36, 10)), T0)
    assert session.store.next_in == 10
    client.seq = 10
    [reject] = parse(conn.receive(client.msg("4", (123, "Y"), (36, 5)), T0).data)
    assert (reject.msg_type, reject.get(373), reject.get(45)) == ("3", "5", "10")
    assert session.store.next_in == 11  # a rejected message still uses its number


def test_sequence_reset_is_accepted_at_any_number():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    conn.receive(client.msg("4", (36, 20), seq=99), T0)
    assert session.store.next_in == 20


def test_possdup_already_seen_is_ignored():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    conn.receive(client.msg("D", *ORDER), T0)
    again = client.msg("D", *ORDER, seq=2, header=((43, "Y"), (122, utc_timestamp(T0))))
    step = conn.receive(again, T0)
    assert step.data == [] and not received(step) and not step.closed


@pytest.mark.parametrize(
    ("header", "code", "tag"),
    [
        (((43, "Y"),), "1", "122"),
        (((43, "Y"), (122, utc_timestamp(T0 + 5 * SECOND))), "10", "122"),
    ],
)
def test_possdup_without_or_with_a_late_orig_sending_time_is_rejected(header, code, tag):
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    [reject] = parse(conn.receive(client.msg("D", *ORDER, header=header), T0).data)
    assert (reject.msg_type, reject.get(373), reject.get(371)) == ("3", code, tag)


def test_garbled_messages_are_dropped_and_the_stream_resynchronises():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    good = client.msg("D", *ORDER)
    bad_checksum = good[:-4] + b"000\x01"
    bad_length = good.replace(b"9=", b"9=1", 1)
    step = conn.receive(b"noise" + bad_checksum + bad_length + good, T0)
    assert sum(isinstance(e, Dropped) for e in step.events) == 3
    assert [m.get(34) for m in received(step)] == ["2"]
    assert session.store.next_in == 3


def test_a_message_arriving_in_pieces_is_framed_once_whole():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    data = client.msg("D", *ORDER)
    assert not any(received(conn.receive(bytes([b]), T0)) for b in data[:-1])
    assert len(received(conn.receive(data[-1:], T0))) == 1


def test_sending_time_far_off_is_rejected_then_logged_out():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    step = conn.receive(client.msg("D", *ORDER, now=T0 - 121 * SECOND), T0)
    reject, logout = parse(step.data)
    assert (reject.get(373), logout.msg_type) == ("10", "5")
    assert step.closed


@pytest.mark.parametrize(
    ("body", "code", "tag"),
    [
        (((11, "c1"), (11, "c2"), *ORDER[1:]), "13", "11"),  # tag twice
        (((11, ""), *ORDER[1:]), "4", "11"),  # empty value
        (ORDER[1:], "1", "11"),  # required tag missing
        ((*ORDER, (9999999, "x")), "0", "9999999"),  # undefined tag
        ((*ORDER, (112, "x")), "2", "112"),  # TestReqID: not a NewOrderSingle field
        ((*ORDER, (150, "0")), "2", "150"),  # ExecType: an ExecutionReport's
        ((*ORDER[:-1], (38, "1x")), "6", "38"),  # data format
        ((*ORDER, (34, "2")), "13", "34"),  # header tag repeated in the body
        ((*ORDER, (43, "N")), "14", "43"),  # header tag after the body
        ((*ORDER[:2], (54, "Z"), *ORDER[3:]), "5", "54"),  # value out of range
        ((*ORDER, (453, 2), (448, "P1"), (447, "D"), (452, 1)), "16", "453"),  # NumInGroup
    ],
)
def test_session_rejects_carry_the_reason_code(body, code, tag):
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    step = conn.receive(client.msg("D", *body), T0)
    [reject] = parse(step.data)
    assert (reject.msg_type, reject.get(373), reject.get(371), reject.get(45)) == (
        "3",
        code,
        tag,
        "2",
    )
    assert session.store.next_in == 3 and not received(step)


def test_an_invalid_msg_type_is_rejected():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    [reject] = parse(conn.receive(client.msg("ZZ"), T0).data)
    assert (reject.get(373), reject.get(372)) == ("11", "ZZ")


def test_wrong_comp_id_after_logon_is_rejected_and_logged_out():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    client.sender = "OMS2"
    step = conn.receive(client.msg("D", *ORDER), T0)
    assert kinds(step.data) == ["3", "5"] and parse(step.data)[0].get(373) == "9"


def test_logout_is_answered_and_ours_waits_for_the_reply():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    step = conn.receive(client.msg("5"), T0)
    assert kinds(step.data) == ["5"] and step.closed and session.connection is None

    conn, _ = connect(session, client)
    assert kinds(conn.logout("end of day", T0).data) == ["5"]
    assert conn.phase is Phase.LOGOUT_SENT
    assert conn.receive(client.msg("5"), T0).closed

    conn, _ = connect(session, client)
    conn.logout("end of day", T0)
    assert not conn.tick(T0 + SECOND).closed
    step = conn.tick(T0 + 2 * SECOND)
    assert step.closed and isinstance(step.events[0], Closed)


def test_application_sends_while_logged_out_are_kept_for_a_resend():
    session = new_session()
    assert session.send("8", [(17, "E1")], T0) is None
    assert session.store.next_out == 2
    client = Client()
    conn, _ = connect(session, client)
    out = parse(conn.receive(client.msg("2", (7, 1), (16, 0)), T0).data)
    assert [(m.msg_type, m.get(34)) for m in out] == [("8", "1"), ("4", "2")]


def test_a_restarted_store_resumes_its_numbers_and_replays(tmp_path):
    store = FileStore(tmp_path / "OMS1.log")
    session = Session(SessionSettings(sender_comp_id="OMS1", password="pw"), store)
    client = Client()
    conn, _ = connect(session, client)
    conn.receive(client.msg("D", *ORDER), T0)
    session.send("8", [(17, "E1")], T0)
    store._file.close()  # as after kill -9: no orderly close

    again = FileStore(tmp_path / "OMS1.log")
    assert (again.next_in, again.next_out) == (3, 3)
    [(_, raw)] = again.messages(2, 2)
    assert b"17=E1" in raw
    again.close()


def test_two_processes_never_share_a_store(tmp_path):
    first = FileStore(tmp_path / "s.log")
    with pytest.raises(RuntimeError, match="in use"):
        FileStore(tmp_path / "s.log")
    first.close()


def test_the_codec_encodes_body_length_and_checksum():
    raw = encode([(35, "0"), (49, "A"), (56, "B"), (34, 1), (52, "20261207-00:00:00.000")])
    assert raw.startswith(b"8=FIX.4.4\x019=45\x01") and raw.endswith(
        b"10=%03d\x01" % (sum(raw[: raw.rindex(b"10=")]) % 256)
    )


def test_a_message_over_the_size_limit_is_garbled_and_skipped():
    framer = Framer(max_bytes=100)
    big = Client().msg("D", (58, "x" * 200))
    small = Client().msg("0")
    out = list(framer.feed(big + small))
    assert isinstance(out[0], Garbled) and out[-1].msg_type == "0"


def test_a_well_formed_repeating_group_goes_up():
    session, client = new_session(), Client()
    conn, _ = connect(session, client)
    parties = ((453, 2), (448, "P1"), (447, "D"), (452, 1), (448, "P2"), (447, "D"), (452, 3))
    step = conn.receive(client.msg("D", *ORDER, *parties), T0)
    assert step.data == [] and len(received(step)) == 1


def test_a_client_over_its_message_rate_is_logged_out():
    session, client = new_session(max_messages_per_s=3), Client()
    conn, _ = connect(session, client)
    burst = b"".join(client.msg("0") for _ in range(4))
    step = conn.receive(burst, T0)
    assert parse(step.data)[-1].get(58) == "message rate over the session's limit"
    assert step.closed and session.store.next_in == 5  # three taken (2, 3, 4), not the fourth


def test_records_written_unsynced_are_synced_with_the_next_bytes_sent(tmp_path, monkeypatch):
    store = FileStore(tmp_path / "s.log")
    synced: list[int] = []
    monkeypatch.setattr("engine.fix.store.os.fsync", synced.append)
    store.received(1)
    store.write_durable(store.take_pending(), sync=False)  # nothing on the wire yet
    assert synced == [] and (tmp_path / "s.log").read_bytes() == b"I 2\n"
    store.write_durable(b"")  # bytes about to be sent: what was written unsynced, synced
    store.write_durable(b"")  # nothing new since
    assert len(synced) == 1
    store.close()
