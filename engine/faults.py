"""Fault plans: which faults there are, where each one acts, and how a plan is checked.

Three places a fault acts (``FaultKind`` is the one enum of them):

- at a venue (``VENUE_FAULTS``): the venue itself misbehaves — down, degraded, rejecting
  orders, dropping cancels, publishing stale or crossed quotes, filling in small pieces;
- on the link from one actor to another (``LINK_FAULTS``): messages dropped, duplicated,
  delayed (the link stays FIFO, as a slow TCP connection does) or reordered (a message
  is held back and the ones sent after it overtake it);
- on every link of a venue (``LATENCY_SPIKE``): everything to or from it is late.

A fault starts at a time, or on an event (``FaultTrigger``: "after the 3rd fill of
parent P1"), and lasts ``duration_ns`` (None: until an ``up`` for a venue fault, until
the run ends otherwise) or, for a link fault, until ``count`` messages were hit.
``fault_command`` checks a plan entry and builds its command: an impossible plan (an
unknown kind, venue or actor, a duration that is not positive) is refused with a reason,
never run as something else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.messages import ALL_MESSAGES, FaultKind, FaultTrigger, InjectFault, Message

INT64_MAX = 2**63 - 1
VENUE_FAULTS = frozenset(
    {
        FaultKind.DOWN,
        FaultKind.UP,
        FaultKind.DEGRADE,
        FaultKind.REJECT_ORDERS,
        FaultKind.DROP_CANCELS,
        FaultKind.STALE_DATA,
        FaultKind.CROSSED_DATA,
        FaultKind.PARTIAL_FILLS,
    }
)
LINK_FAULTS = frozenset(
    {FaultKind.LINK_DROP, FaultKind.LINK_DUPLICATE, FaultKind.LINK_DELAY, FaultKind.LINK_REORDER}
)
DELAYING = frozenset({FaultKind.LINK_DELAY, FaultKind.LINK_REORDER, FaultKind.LATENCY_SPIKE})
TRIGGER_EVENTS = ("fill", "child")  # a child fill; a child order placed
FAULT_ACTOR = "faults"  # the actor that applies link faults and waits for triggers
MESSAGE_TYPES = frozenset(cls.__name__ for cls in ALL_MESSAGES)
FIXED_ACTORS = ("router", "desk")


class FaultPlanError(ValueError):
    """A fault that cannot happen as planned; the message says why, ``field`` where."""

    def __init__(self, message: str, field: str = "fault") -> None:
        super().__init__(message)
        self.field = field


def fault_kind(fault: FaultKind | str) -> FaultKind:
    try:
        return FaultKind(fault)
    except ValueError:
        valid = ", ".join(kind.value for kind in FaultKind)
        raise FaultPlanError(f"unknown fault {fault!r} (one of: {valid})") from None


def fault_command(
    fault: FaultKind | str,
    *,
    venues: Sequence[str],
    parent_prefix: str = "P",
    venue: str = "",
    link: tuple[str, str] | None = None,
    duration_ns: int | None = None,
    delay_ns: int = 0,
    count: int = 0,
    message: str = "",
    after: FaultTrigger | None = None,
) -> InjectFault:
    """The command of one plan entry, checked against the engine's ``venues`` and actor
    names (``parent_prefix``: parents are P1, P2, ...); ``FaultPlanError`` if it cannot
    happen."""
    kind = fault_kind(fault)
    if link is not None and not (len(link) == 2 and all(isinstance(name, str) for name in link)):
        raise FaultPlanError(f"link {link!r} is not a pair of actor names", "sender")
    sender, receiver = link if link is not None else ("", "")
    if kind in LINK_FAULTS:
        if link is None or venue:
            raise FaultPlanError(
                f"{kind.value}: give the link (sender, receiver), not a venue", "sender"
            )
        for name, field in ((sender, "sender"), (receiver, "receiver")):
            _check_actor(name, venues, parent_prefix, field)
        if sender == receiver:
            raise FaultPlanError(f"{kind.value}: a link joins two different actors", "receiver")
    else:
        if link is not None:
            raise FaultPlanError(f"{kind.value}: a fault at a venue, not on a link", "sender")
        if venue not in venues:
            raise FaultPlanError(f"unknown venue {venue!r} (venues: {', '.join(venues)})", "venue")
    _check_numbers(kind, duration_ns, delay_ns, count)
    if not isinstance(message, str) or (message and message not in MESSAGE_TYPES):
        raise FaultPlanError(f"message {message!r} is not a message type", "message")
    if after is not None and not isinstance(after, FaultTrigger):
        raise FaultPlanError(f"after {after!r} is not a FaultTrigger", "after")
    if after is not None:
        check_trigger(after, venues, parent_prefix)
    return InjectFault(
        fault=kind,
        venue=venue,
        sender=sender,
        receiver=receiver,
        duration_ns=duration_ns,
        delay_ns=delay_ns,
        count=count,
        message=message,
        after=after,
    )


def _check_actor(name: str, venues: Sequence[str], parent_prefix: str, field: str) -> None:
    if name in FIXED_ACTORS or name in venues or is_parent_id(name, parent_prefix):
        return
    raise FaultPlanError(
        f"unknown actor {name!r} (router, desk, a venue ({', '.join(venues)}) "
        f"or a parent id like {parent_prefix}1)",
        field,
    )


def is_parent_id(name: str, prefix: str) -> bool:
    return re.fullmatch(re.escape(prefix) + r"[1-9]\d*", name) is not None


def _check_numbers(kind: FaultKind, duration_ns: int | None, delay_ns: int, count: int) -> None:
    if duration_ns is not None and not _fits(duration_ns, 1):
        raise FaultPlanError(
            f"duration_ns {duration_ns!r} is not a positive number of nanoseconds "
            "(None: no set end)",
            "duration",
        )
    if kind in DELAYING and not _fits(delay_ns, 1):
        raise FaultPlanError(
            f"{kind.value}: delay_ns {delay_ns!r} is not a positive delay", "delay"
        )
    if kind not in DELAYING and delay_ns:
        raise FaultPlanError(f"{kind.value}: a delay is for {', '.join(sorted(DELAYING))}", "delay")
    if not _fits(count, 0):
        raise FaultPlanError(f"count {count!r} is not a number of messages (0: all)", "count")
    if count and kind not in LINK_FAULTS:
        raise FaultPlanError(f"{kind.value}: a count of messages is for link faults", "count")


def check_trigger(after: FaultTrigger, venues: Sequence[str], parent_prefix: str) -> None:
    if after.event not in TRIGGER_EVENTS:
        raise FaultPlanError(
            f"trigger event {after.event!r} is not one of: {', '.join(TRIGGER_EVENTS)}",
            "after.event",
        )
    if not _fits(after.count, 1):
        raise FaultPlanError(
            f"trigger count {after.count!r} is not a positive count", "after.count"
        )
    if after.parent and not is_parent_id(after.parent, parent_prefix):
        raise FaultPlanError(f"trigger parent {after.parent!r} is not a parent id", "after.parent")
    if after.venue and after.venue not in venues:
        raise FaultPlanError(f"trigger venue {after.venue!r} is not a venue", "after.venue")


def _fits(value: object, low: int) -> bool:
    return type(value) is int and low <= value <= INT64_MAX


def target(cmd: InjectFault) -> str:
    """Where the fault acts, as its records name it: a venue, or "sender>receiver"."""
    return cmd.venue or f"{cmd.sender}>{cmd.receiver}"


# ---------------------------------------------------------------------- triggers


def counts_towards(after: FaultTrigger, msg: Message) -> bool:
    """Is the journaled ``msg`` one of the events ``after`` counts?"""
    name = "ChildOrderFilled" if after.event == "fill" else "PlaceChildOrder"
    if type(msg).__name__ != name:
        return False
    parent = getattr(msg, "parent_id", "")
    if after.parent and parent != after.parent:
        return False
    return not after.venue or getattr(msg, "venue", "") == after.venue


def describe_trigger(after: FaultTrigger) -> str:
    """ "after fill 3 of P1 at LIT1" — the cause a ``FaultStarted`` names."""
    what = {"fill": "fill", "child": "child order"}[after.event]
    of = f" of {after.parent}" if after.parent else ""
    at = f" at {after.venue}" if after.venue else ""
    return f"after {what} {after.count}{of}{at}"


class TriggerCounter:
    """Counts the events of one trigger in the trail; ``seen`` says when it fires."""

    __slots__ = ("after", "count")

    def __init__(self, after: FaultTrigger) -> None:
        self.after = after
        self.count = 0

    def seen(self, msg: Message) -> bool:
        """Count ``msg`` if it is an event of the trigger; True the once it fires."""
        if not counts_towards(self.after, msg):
            return False
        self.count += 1
        return self.count == self.after.count

    @property
    def fired(self) -> bool:
        return self.count >= self.after.count
