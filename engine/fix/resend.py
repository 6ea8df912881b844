"""Answering a ResendRequest from the store: application messages again with PossDupFlag
(43=Y), their original SendingTime in 122 and a new 52; admin messages and numbers the
store does not hold collapse into SequenceReset-GapFill (one per run)."""

from __future__ import annotations

from engine.fix import tags as T
from engine.fix.codec import Pair, decode, encode
from engine.fix.store import MemoryStore
from engine.fix.times import utc_timestamp

_OWN_HEADER = 7  # 8, 9, 35, 49, 56, 34, 52: how ``Session.stamp`` starts every message


def replay(
    store: MemoryStore, begin: int, end: int, now_ns: int, comp_ids: tuple[str, str]
) -> list[bytes]:
    """The messages ``begin``..``end`` (0 or past the last: to the last) as resent;
    ``comp_ids``: (our SenderCompID, theirs) for the gap fills."""
    last = store.next_out - 1
    end = last if end == 0 or end > last else end
    if begin < 1 or begin > end:
        return []
    held = dict(store.messages(begin, end))
    out: list[bytes] = []
    gap_from = 0
    for seq in range(begin, end + 1):
        raw = held.get(seq)
        msg = decode(raw) if raw is not None else None
        if msg is None or msg.msg_type in T.ADMIN:
            gap_from = gap_from or seq
            continue
        if gap_from:
            out.append(_gap_fill(comp_ids, gap_from, seq, now_ns))
            gap_from = 0
        out.append(_possible_duplicate(msg.fields, now_ns))
    if gap_from:
        out.append(_gap_fill(comp_ids, gap_from, end + 1, now_ns))
    return out


def _possible_duplicate(fields: list[Pair], now_ns: int) -> bytes:
    header = dict(fields[:_OWN_HEADER])
    return encode(
        [
            (T.MSG_TYPE, header[T.MSG_TYPE]),
            (T.SENDER, header[T.SENDER]),
            (T.TARGET, header[T.TARGET]),
            (T.SEQ, header[T.SEQ]),
            (T.POSS_DUP, "Y"),
            (T.SENDING_TIME, utc_timestamp(now_ns)),
            (T.ORIG_SENDING_TIME, header[T.SENDING_TIME]),
            *fields[_OWN_HEADER:-1],
        ]
    )


def _gap_fill(comp_ids: tuple[str, str], first: int, next_seq: int, now_ns: int) -> bytes:
    return encode(
        [
            (T.MSG_TYPE, T.SEQUENCE_RESET),
            (T.SENDER, comp_ids[0]),
            (T.TARGET, comp_ids[1]),
            (T.SEQ, first),
            (T.POSS_DUP, "Y"),
            (T.SENDING_TIME, utc_timestamp(now_ns)),
            (T.ORIG_SENDING_TIME, utc_timestamp(now_ns)),
            (T.GAP_FILL, "Y"),
            (T.NEW_SEQ_NO, next_seq),
        ]
    )
