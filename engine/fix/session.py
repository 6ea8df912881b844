"""The FIX 4.4 session layer as a pure state machine (bytes and clock ticks in, bytes and
events out, no I/O), in the manner of h11 for HTTP.

A ``Session`` is what outlives connections: its settings, its store (sequence numbers and
sent messages) and the connection bound to it, if any. A ``Connection`` is one socket's
protocol state: it authenticates the first message (a Logon for a configured pair of
CompIDs with the right password), then keeps the sequence, heartbeats, resends and gap
fills, and hands application messages up in sequence order as ``Received`` events.

Every public method returns a ``Step``: the bytes to write, in order, and the events. The
store is committed (fsynced) before the step is returned, so nothing is on the wire that a
restart would not know about.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.clock import SECOND
from engine.fix import tags as T
from engine.fix.codec import Field, FixMessage, Framer, Garbled, encode
from engine.fix.config import SessionSettings
from engine.fix.resend import replay
from engine.fix.store import MemoryStore
from engine.fix.times import parse_utc_timestamp, utc_timestamp
from engine.fix.validate import Problem, check

LOGON_TIMEOUT_NS = 10 * SECOND
LOGOUT_TIMEOUT_NS = 2 * SECOND
TEST_REQUEST_GRACE = 1.2  # inbound silence of HeartBtInt × this before a TestRequest


class Phase(enum.Enum):
    AWAIT_LOGON = "await-logon"
    ACTIVE = "active"
    LOGOUT_SENT = "logout-sent"
    CLOSED = "closed"


@dataclass(frozen=True)
class Received:
    """An application message, delivered once, in sequence order."""

    session: Session
    msg: FixMessage


@dataclass(frozen=True)
class LoggedOn:
    session: Session


@dataclass(frozen=True)
class Closed:
    """The connection is over: close the socket."""

    reason: str


@dataclass(frozen=True)
class Dropped:
    """Garbled bytes, dropped; the expected sequence number is unchanged."""

    reason: str


Event = Received | LoggedOn | Closed | Dropped


@dataclass
class Step:
    data: list[bytes] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return any(isinstance(e, Closed) for e in self.events)


class Session:
    """One configured session: its numbers and sent messages survive connections."""

    def __init__(self, settings: SessionSettings, store: MemoryStore | None = None) -> None:
        self.settings = settings
        self.store = store if store is not None else MemoryStore()
        self.connection: Connection | None = None

    def stamp(self, msg_type: str, body: list[Field], now_ns: int) -> bytes:
        """The next outbound message: numbered and recorded (durable at ``commit``)."""
        seq = self.store.next_out
        raw = encode(
            [
                (T.MSG_TYPE, msg_type),
                (T.SENDER, self.settings.target_comp_id),
                (T.TARGET, self.settings.sender_comp_id),
                (T.SEQ, seq),
                (T.SENDING_TIME, utc_timestamp(now_ns)),
                *body,
            ]
        )
        self.store.sent(seq, raw)
        return raw

    def send(
        self, msg_type: str, body: list[Field], now_ns: int, commit: bool = True
    ) -> bytes | None:
        """An application message, recorded (a client logged out gets it by
        ResendRequest when it comes back); the bytes when it is logged on. ``commit``
        False: the caller commits the store before it writes the bytes (one fsync for a
        batch of messages, group commit)."""
        raw = self.stamp(msg_type, body, now_ns)
        if commit:
            self.store.commit()
        conn = self.connection
        if conn is not None and conn.phase is Phase.ACTIVE:
            conn.last_out_ns = now_ns
            return raw
        return None


class Connection:
    """One socket's session protocol, from the first byte to the close."""

    def __init__(
        self,
        sessions: Mapping[tuple[str, str], Session],
        now_ns: int,
        tolerance_ns: int = 120 * SECOND,
        max_bytes: int | None = None,
    ) -> None:
        self._sessions = sessions
        self._framer = Framer() if max_bytes is None else Framer(max_bytes)
        self.tolerance_ns = tolerance_ns
        self.phase = Phase.AWAIT_LOGON
        self.session: Session | None = None
        self.heartbeat_ns = 30 * SECOND
        self.opened_ns = self.last_in_ns = self.last_out_ns = now_ns
        self._logout_sent_ns = 0
        self._test_request: tuple[str, int] | None = None  # (TestReqID, sent at)
        self._queue: dict[int, FixMessage] = {}  # ahead of a gap, by MsgSeqNum
        self._resend_upto = 0  # a ResendRequest is out until next_in passes this
        self._rate_window = (0, 0)  # (second, messages in it)
        # False: the caller commits the store before it writes a step's bytes (group
        # commit by an I/O loop); True: every step returns committed.
        self.autocommit = True

    # ------------------------------------------------------------------ public

    def receive(self, data: bytes, now_ns: int) -> Step:
        step = Step()
        self.last_in_ns = now_ns
        for item in self._framer.feed(data):
            if self.phase is Phase.CLOSED:
                break
            if isinstance(item, Garbled):
                step.events.append(Dropped(str(item)))
            elif self.phase is Phase.AWAIT_LOGON:
                self._on_logon(item, now_ns, step)
            elif self._within_rate(now_ns, step):
                self._on_message(item, now_ns, step)
        return self._done(step, now_ns)

    def tick(self, now_ns: int) -> Step:
        """Heartbeats, test requests and timeouts; call it by ``deadline_ns()``."""
        step = Step()
        if self.phase is Phase.AWAIT_LOGON and now_ns - self.opened_ns >= LOGON_TIMEOUT_NS:
            self._close(step, "no Logon in time")
        elif self.phase is Phase.LOGOUT_SENT:
            if now_ns - self._logout_sent_ns >= LOGOUT_TIMEOUT_NS:
                self._close(step, "no Logout reply in time")
        elif self.phase is Phase.ACTIVE:
            self._keep_alive(now_ns, step)
        return self._done(step, now_ns)

    def logout(self, text: str, now_ns: int) -> Step:
        """Our Logout; the connection closes on the reply or after ``LOGOUT_TIMEOUT_NS``."""
        step = Step()
        if self.phase is Phase.ACTIVE:
            self._send(step, T.LOGOUT, [(T.TEXT, text)], now_ns)
            self.phase = Phase.LOGOUT_SENT
            self._logout_sent_ns = now_ns
        elif self.phase is Phase.AWAIT_LOGON:
            self._close(step, text)
        return self._done(step, now_ns)

    def lost(self) -> None:
        """The socket went away: free the session for its next connection."""
        if self.session is not None and self.session.connection is self:
            self.session.connection = None
            self.session.store.commit()
        self.phase = Phase.CLOSED

    def deadline_ns(self) -> int:
        if self.phase is Phase.AWAIT_LOGON:
            return self.opened_ns + LOGON_TIMEOUT_NS
        if self.phase is Phase.LOGOUT_SENT:
            return self._logout_sent_ns + LOGOUT_TIMEOUT_NS
        silence = int(self.heartbeat_ns * TEST_REQUEST_GRACE)
        nxt = min(self.last_out_ns + self.heartbeat_ns, self.last_in_ns + silence)
        if self._test_request is not None:
            nxt = min(nxt, self._test_request[1] + silence)
        return nxt

    # ------------------------------------------------------------------ logon

    def _on_logon(self, msg: FixMessage, now_ns: int, step: Step) -> None:
        session, why = self._authenticate(msg, now_ns)
        if session is None:
            self._refuse(msg, why, now_ns, step)
            return
        self.session = session
        session.connection = self
        asked = int(msg.get(T.HEARTBT_INT) or 0)
        self.heartbeat_ns = (asked or session.settings.heartbeat_s) * SECOND
        reset = msg.get(T.RESET_SEQ) == "Y"
        if reset:
            session.store.reset()
        seq, expected = int(msg.get(T.SEQ) or 0), session.store.next_in
        if seq < expected and msg.get(T.POSS_DUP) != "Y":
            self.phase = Phase.ACTIVE
            self._logout_and_close(
                step, f"MsgSeqNum too low, expecting {expected} but received {seq}", now_ns
            )
            return
        body: list[Field] = [(T.ENCRYPT_METHOD, 0), (T.HEARTBT_INT, self.heartbeat_ns // SECOND)]
        if reset:
            body.append((T.RESET_SEQ, "Y"))
        self.phase = Phase.ACTIVE
        self._send(step, T.LOGON, body, now_ns)
        step.events.append(LoggedOn(session))
        if seq > expected:
            self._queue[seq] = msg  # the Logon itself is processed once the gap is filled
            self._request_resend(expected, seq, now_ns, step)
        else:
            session.store.received(seq)

    def _authenticate(self, msg: FixMessage, now_ns: int) -> tuple[Session | None, str]:
        if msg.msg_type != T.LOGON:
            return None, "the first message must be a Logon"
        if msg.get(T.BEGIN_STRING) != "FIX.4.4":
            return None, f"BeginString {msg.get(T.BEGIN_STRING)!r} is not FIX.4.4"
        session = self._sessions.get((msg.get(T.SENDER) or "", msg.get(T.TARGET) or ""))
        if session is None:
            return None, "unknown SenderCompID/TargetCompID"
        password = session.settings.password
        if password and not hmac.compare_digest(
            (msg.get(T.PASSWORD) or "").encode(), password.encode()
        ):
            return None, "invalid username or password"
        if session.connection is not None:
            return None, "the session is already logged on"
        if not (msg.get(T.HEARTBT_INT) or "").isdigit() or not (msg.get(T.SEQ) or "").isdigit():
            return None, "Logon needs HeartBtInt (108) and MsgSeqNum (34)"
        try:
            sent = parse_utc_timestamp(msg.get(T.SENDING_TIME) or "")
        except ValueError:
            return None, "Logon needs a SendingTime (52)"
        if abs(now_ns - sent) > self.tolerance_ns:
            return None, "SendingTime accuracy problem"
        return session, ""

    def _refuse(self, msg: FixMessage, why: str, now_ns: int, step: Step) -> None:
        """A Logout outside any session's sequence (nothing reaches a session), then close."""
        if msg.msg_type == T.LOGON:
            fields: list[Field] = [
                (T.MSG_TYPE, T.LOGOUT),
                (T.SENDER, msg.get(T.TARGET) or ""),
                (T.TARGET, msg.get(T.SENDER) or ""),
                (T.SEQ, 1),
                (T.SENDING_TIME, utc_timestamp(now_ns)),
                (T.TEXT, why),
            ]
            step.data.append(encode(fields))
        self._close(step, why)

    # --------------------------------------------------------------- messages

    def _on_message(self, msg: FixMessage, now_ns: int, step: Step) -> None:
        session = self._bound()
        seq_text = msg.get(T.SEQ) or ""
        if not seq_text.isdigit():
            self._logout_and_close(step, "MsgSeqNum (34) missing or not a number", now_ns)
            return
        seq, expected = int(seq_text), session.store.next_in
        if msg.msg_type == T.SEQUENCE_RESET and msg.get(T.GAP_FILL) != "Y":
            self._sequence_reset(msg, seq, now_ns, step)
        elif seq > expected:
            self._queue[seq] = msg
            if msg.msg_type == T.RESEND_REQUEST:  # answered even while our own gap is open
                self._answer_resend(msg, now_ns, step)
            if self._resend_upto < expected:
                self._request_resend(expected, seq, now_ns, step)
        elif seq < expected:
            if msg.get(T.POSS_DUP) != "Y":
                self._logout_and_close(
                    step, f"MsgSeqNum too low, expecting {expected} but received {seq}", now_ns
                )
        else:
            self._in_sequence(msg, seq, now_ns, step)
            self._drain(now_ns, step)

    def _drain(self, now_ns: int, step: Step) -> None:
        """Messages queued behind a gap, now in sequence."""
        store = self._bound().store
        while store.next_in in self._queue and self.phase is not Phase.CLOSED:
            seq = store.next_in
            self._in_sequence(self._queue.pop(seq), seq, now_ns, step, queued=True)
        for seq in [s for s in self._queue if s < store.next_in]:
            del self._queue[seq]

    def _in_sequence(
        self, msg: FixMessage, seq: int, now_ns: int, step: Step, queued: bool = False
    ) -> None:
        store = self._bound().store
        problem = check(msg, self._bound().settings, now_ns, self.tolerance_ns)
        if problem is not None:
            store.received(seq)  # a rejected message still consumes its number
            self._reject(msg, problem, now_ns, step)
            if problem.fatal:
                self._logout_and_close(step, problem.text, now_ns)
            return
        kind = msg.msg_type
        if kind == T.SEQUENCE_RESET:  # GapFill (a Reset is handled before sequencing)
            self._gap_fill(msg, seq, now_ns, step)
            return
        store.received(seq)
        if kind in T.ADMIN:
            self._admin(msg, now_ns, step, queued)
        else:
            step.events.append(Received(self._bound(), msg))

    def _admin(self, msg: FixMessage, now_ns: int, step: Step, queued: bool) -> None:
        kind = msg.msg_type
        if kind == T.TEST_REQUEST:
            self._send(step, T.HEARTBEAT, [(T.TEST_REQ_ID, msg.get(T.TEST_REQ_ID) or "")], now_ns)
        elif kind == T.HEARTBEAT:
            if self._test_request and msg.get(T.TEST_REQ_ID) == self._test_request[0]:
                self._test_request = None
        elif kind == T.RESEND_REQUEST and not queued:  # a queued one was answered on arrival
            self._answer_resend(msg, now_ns, step)
        elif kind == T.LOGOUT:
            if self.phase is Phase.ACTIVE:
                self._send(step, T.LOGOUT, [], now_ns)
            self._close(step, "Logout from the counterparty")
        elif kind == T.LOGON and not queued:
            self._logout_and_close(step, "Logon received on a logged-on session", now_ns)

    # -------------------------------------------------------- sequence repair

    def _request_resend(self, begin: int, seen: int, now_ns: int, step: Step) -> None:
        self._resend_upto = seen
        self._send(step, T.RESEND_REQUEST, [(T.BEGIN_SEQ_NO, begin), (T.END_SEQ_NO, 0)], now_ns)

    def _answer_resend(self, msg: FixMessage, now_ns: int, step: Step) -> None:
        store = self._bound().store
        try:
            begin, end = int(msg.get(T.BEGIN_SEQ_NO) or ""), int(msg.get(T.END_SEQ_NO) or "")
        except ValueError:
            return  # check() rejects it when it comes in sequence
        settings = self._bound().settings
        comp_ids = (settings.target_comp_id, settings.sender_comp_id)
        step.data.extend(replay(store, begin, end, now_ns, comp_ids))
        self.last_out_ns = now_ns

    def _gap_fill(self, msg: FixMessage, seq: int, now_ns: int, step: Step) -> None:
        store = self._bound().store
        new = int(msg.get(T.NEW_SEQ_NO) or 0)
        if new <= seq:
            store.received(seq)
            why = f"NewSeqNo {new} is not above MsgSeqNum {seq}"
            self._reject(msg, Problem(T.NEW_SEQ_NO, T.R_VALUE_OUT_OF_RANGE, why), now_ns, step)
            return
        store.set_next_in(new)

    def _sequence_reset(self, msg: FixMessage, seq: int, now_ns: int, step: Step) -> None:
        store = self._bound().store
        new_text = msg.get(T.NEW_SEQ_NO) or ""
        new = int(new_text) if new_text.isdigit() else 0
        if new < store.next_in:
            why = f"NewSeqNo {new} is below the expected {store.next_in}"
            self._reject(msg, Problem(T.NEW_SEQ_NO, T.R_VALUE_OUT_OF_RANGE, why), now_ns, step)
            return
        store.set_next_in(new)
        self._queue = {s: m for s, m in self._queue.items() if s >= new}
        self._drain(now_ns, step)

    # --------------------------------------------------------------- helpers

    def _keep_alive(self, now_ns: int, step: Step) -> None:
        silence = int(self.heartbeat_ns * TEST_REQUEST_GRACE)
        if self._test_request is not None and now_ns - self._test_request[1] >= silence:
            self._close(step, "no answer to a TestRequest")
            return
        if self._test_request is None and now_ns - self.last_in_ns >= silence:
            req_id = f"TEST-{now_ns}"
            self._test_request = (req_id, now_ns)
            self._send(step, T.TEST_REQUEST, [(T.TEST_REQ_ID, req_id)], now_ns)
        elif now_ns - self.last_out_ns >= self.heartbeat_ns:
            self._send(step, T.HEARTBEAT, [], now_ns)

    def _within_rate(self, now_ns: int, step: Step) -> bool:
        second, count = self._rate_window
        now_s = now_ns // SECOND
        count = count + 1 if now_s == second else 1
        self._rate_window = (now_s, count)
        if count <= self._bound().settings.max_messages_per_s:
            return True
        self._logout_and_close(step, "message rate over the session's limit", now_ns)
        return False

    def _reject(self, msg: FixMessage, problem: Problem, now_ns: int, step: Step) -> None:
        body: list[Field] = [(T.REF_SEQ_NUM, msg.get(T.SEQ) or 0)]
        if problem.tag:
            body.append((T.REF_TAG_ID, problem.tag))
        body += [
            (T.REF_MSG_TYPE, msg.msg_type),
            (T.SESSION_REJECT_REASON, problem.code),
            (T.TEXT, problem.text),
        ]
        self._send(step, T.REJECT, body, now_ns)

    def _logout_and_close(self, step: Step, why: str, now_ns: int) -> None:
        if self.phase is Phase.ACTIVE:
            self._send(step, T.LOGOUT, [(T.TEXT, why)], now_ns)
        self._close(step, why)

    def _close(self, step: Step, why: str) -> None:
        if self.phase is not Phase.CLOSED:
            step.events.append(Closed(why))
            self.lost()

    def _send(self, step: Step, msg_type: str, body: list[Field], now_ns: int) -> None:
        step.data.append(self._bound().stamp(msg_type, body, now_ns))
        self.last_out_ns = now_ns

    def _bound(self) -> Session:
        assert self.session is not None, "no session before the Logon"
        return self.session

    def _done(self, step: Step, now_ns: int) -> Step:
        if self.session is not None and self.autocommit:
            self.session.store.commit()
        return step
