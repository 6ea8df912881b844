"""Session-level checks of a message that arrived in sequence: what makes a Reject (35=3)
with its SessionRejectReason (373), before the application sees anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from engine.fix import tags as T
from engine.fix.codec import FixMessage
from engine.fix.config import SessionSettings
from engine.fix.dictionary import FIELDS, allowed
from engine.fix.tags import HEADER
from engine.fix.times import parse_utc_timestamp

REQUIRED: dict[str, tuple[int, ...]] = {
    T.NEW_ORDER_SINGLE: (T.CL_ORD_ID, T.SYMBOL, T.SIDE, T.TRANSACT_TIME, T.ORD_TYPE),
    T.ORDER_CANCEL_REQUEST: (T.ORIG_CL_ORD_ID, T.CL_ORD_ID, T.SYMBOL, T.SIDE, T.TRANSACT_TIME),
    T.ORDER_CANCEL_REPLACE: (
        T.ORIG_CL_ORD_ID,
        T.CL_ORD_ID,
        T.SYMBOL,
        T.SIDE,
        T.TRANSACT_TIME,
        T.ORD_TYPE,
    ),
    T.ORDER_STATUS_REQUEST: (T.CL_ORD_ID, T.SYMBOL, T.SIDE),
    T.RESEND_REQUEST: (T.BEGIN_SEQ_NO, T.END_SEQ_NO),
    T.SEQUENCE_RESET: (T.NEW_SEQ_NO,),
    T.TEST_REQUEST: (T.TEST_REQ_ID,),
}
INTEGER_TAGS = frozenset({T.ORDER_QTY, T.BEGIN_SEQ_NO, T.END_SEQ_NO, T.NEW_SEQ_NO, T.MAX_FLOOR})
DECIMAL_TAGS = frozenset({T.PRICE, T.PARTICIPATION_RATE})
ENUMS: dict[int, frozenset[str]] = {
    T.SIDE: frozenset("123456789ABCDEFG"),
    T.ORD_TYPE: frozenset("123456789DEGIJKLMP"),
    T.HANDL_INST: frozenset("123"),
    T.POSS_DUP: frozenset("YN"),
    T.GAP_FILL: frozenset("YN"),
}
# Repeating groups may repeat their tags: a message with a group gets no repeat check.
GROUP_COUNTERS = frozenset({78, 73, 146, 268, 382, 386, 453, 454, 555, 711, 802, 957})
# NumInGroup → the first field of each entry (FIX 4.4), for the count check (373=16)
GROUP_FIRST_FIELD = {453: 448, 78: 79, 386: 336, 555: 600, 454: 455, 146: 55, 73: 11}


class Problem(NamedTuple):
    tag: int  # 0: none to name
    code: int  # SessionRejectReason (373)
    text: str
    fatal: bool = False  # Reject, then Logout


def check(
    msg: FixMessage, settings: SessionSettings, now_ns: int, tolerance_ns: int
) -> Problem | None:
    for rule in _RULES:
        problem = rule(msg, settings, now_ns, tolerance_ns)
        if problem is not None:
            return problem
    return None


def _msg_type(msg: FixMessage, *_: object) -> Problem | None:
    if not T.is_msg_type(msg.msg_type):
        return Problem(T.MSG_TYPE, T.R_INVALID_MSG_TYPE, f"invalid MsgType {msg.msg_type!r}")
    return None


def _comp_ids(msg: FixMessage, settings: SessionSettings, *_: object) -> Problem | None:
    index = msg.index
    if index.get(T.SENDER) != settings.sender_comp_id or index.get(T.TARGET) != (
        settings.target_comp_id
    ):
        return Problem(T.SENDER, T.R_COMP_ID, "CompID problem", fatal=True)
    return None


def _structure(msg: FixMessage, *_: object) -> Problem | None:
    """Tags defined (and for this MsgType), values not empty, no tag twice, the header
    first. Most messages are well formed: checked as sets first, field by field only when
    that finds something (to say what)."""
    tags = [tag for tag, _ in msg.fields[3:-1]]
    unique = set(tags)
    defined_here = FIELDS.get(msg.msg_type)
    if (
        msg.raw
        and b"=\x01" not in msg.raw  # an empty value (or a value ending in "=")
        and len(unique) == len(tags)
        and defined_here is not None
        and all(_user_defined(tag) for tag in unique - defined_here)
        and HEADER.issuperset(tags[: len(unique & HEADER)])
    ):
        return None
    return _structure_problem(msg)


def _structure_problem(msg: FixMessage) -> Problem | None:
    seen: set[int] = set()
    groups = not GROUP_COUNTERS.isdisjoint(msg.index)
    in_body = False
    kind = msg.msg_type
    for tag, value in msg.fields[3:-1]:
        if not _defined(tag):
            return Problem(tag, T.R_INVALID_TAG, f"invalid tag number {tag}")
        if not allowed(kind, tag):
            why = f"tag {tag} is not defined for MsgType {kind}"
            return Problem(tag, T.R_NOT_FOR_MSG_TYPE, why)
        if value == "":
            return Problem(tag, T.R_EMPTY_VALUE, f"tag {tag} has no value")
        if tag in seen and (tag in HEADER or not groups):
            return Problem(tag, T.R_TAG_REPEATED, f"tag {tag} appears more than once")
        if tag in HEADER and in_body:
            return Problem(tag, T.R_OUT_OF_ORDER, f"header tag {tag} after the body")
        in_body = in_body or tag not in HEADER
        seen.add(tag)
    return None


def _groups(msg: FixMessage, *_: object) -> Problem | None:
    for counter in GROUP_FIRST_FIELD.keys() & msg.index.keys():
        first, declared = GROUP_FIRST_FIELD[counter], msg.index[counter]
        entries = sum(1 for tag, _ in msg.fields if tag == first)
        if not declared.isdigit() or int(declared) != entries:
            why = f"NumInGroup {counter}={declared} but {entries} entries"
            return Problem(counter, T.R_NUM_IN_GROUP, why)
    return None


def _defined(tag: int) -> bool:
    """FIX 4.4 tags and the user-defined ranges."""
    return 0 < tag < 957 or _user_defined(tag)


def _user_defined(tag: int) -> bool:
    return 5_000 <= tag < 10_000 or 20_000 <= tag < 40_000


def _sending_time(
    msg: FixMessage, settings: SessionSettings, now_ns: int, tolerance_ns: int
) -> Problem | None:
    text = msg.get(T.SENDING_TIME)
    if text is None:
        return Problem(T.SENDING_TIME, T.R_REQUIRED_MISSING, "SendingTime (52) missing")
    try:
        sent = parse_utc_timestamp(text)
    except ValueError:
        return Problem(T.SENDING_TIME, T.R_DATA_FORMAT, "SendingTime is not a UTCTimestamp")
    if abs(now_ns - sent) > tolerance_ns:
        return Problem(T.SENDING_TIME, T.R_SENDING_TIME, "SendingTime accuracy problem", True)
    if msg.get(T.POSS_DUP) == "Y":
        orig = msg.get(T.ORIG_SENDING_TIME)
        if orig is None:
            return Problem(T.ORIG_SENDING_TIME, T.R_REQUIRED_MISSING, "PossDup without 122")
        try:
            if parse_utc_timestamp(orig) > sent:
                return Problem(T.ORIG_SENDING_TIME, T.R_SENDING_TIME, "OrigSendingTime after 52")
        except ValueError:
            return Problem(T.ORIG_SENDING_TIME, T.R_DATA_FORMAT, "OrigSendingTime format")
    return None


def _required(msg: FixMessage, *_: object) -> Problem | None:
    index = msg.index
    for tag in REQUIRED.get(msg.msg_type, ()):
        if tag not in index:
            return Problem(tag, T.R_REQUIRED_MISSING, f"required tag {tag} missing")
    return None


def _formats(msg: FixMessage, *_: object) -> Problem | None:
    for tag, value in msg.fields[3:-1]:
        if tag in INTEGER_TAGS and not value.lstrip("-").isdigit():
            return Problem(tag, T.R_DATA_FORMAT, f"tag {tag} is not an integer")
        if tag in DECIMAL_TAGS and not _is_decimal(value):
            return Problem(tag, T.R_DATA_FORMAT, f"tag {tag} is not a number")
        if tag in ENUMS and value not in ENUMS[tag]:
            return Problem(tag, T.R_VALUE_OUT_OF_RANGE, f"tag {tag} value {value!r} unknown")
    return None


def _is_decimal(value: str) -> bool:
    head, _, tail = value.lstrip("-").partition(".")
    return (head + tail).isdigit()


_RULES: tuple[Callable[..., Problem | None], ...] = (
    _msg_type,
    _comp_ids,
    _structure,
    _groups,
    _sending_time,
    _required,
    _formats,
)
