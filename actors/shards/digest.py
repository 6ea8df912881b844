"""A run's digest over instruments: the same seed gives the same digest whether the
instruments run in one engine or are sharded across many.

One engine's trail interleaves its instruments' records; a shard's trail holds only its
own. So the run digest is not over any one trail: each record is attributed to the
instrument it concerns, each instrument's records are hashed in trail order (its
sub-trail digest), and the run digest hashes those in symbol order. ``msg_id`` is left
out of a record's hash: it numbers each sender's messages across every instrument the
engine trades, so it says where an instrument ran, not what happened to it. For the same
reason the ids an engine assigns (parents, children, venue orders, fills, executions,
crosses) are numbered again per instrument, in order of first appearance: an engine
counts its parents across all its instruments, so an instrument's first parent is ``P1``
in a shard of its own and ``P7`` beside others. The renaming is one-to-one within a
sub-trail, so it keeps which record refers to which order; an id quoted in a reason or
text is renamed with it.

A record is attributed by what it names: an instrument; a client order (the instrument of
the order submitted under that key); a parent, child or venue order (the instrument of
the order that created it). Records that name none (a venue fault, a router's scorecard
snapshot, an actor failure) belong to the engine that wrote them, not to an instrument:
they stay in that engine's own ``audit-digest``, not in the run digest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

import msgspec

from engine.audit.digest import DIGEST_LINES
from engine.messages import Message

_ORDER_KEYS = ("parent_id", "buy_parent_id", "sell_parent_id", "child_id", "order_id")
# ids an engine assigns from counters it shares across its instruments (client order
# ids are the client's: the same wherever the order runs)
_ENGINE_IDS = (*_ORDER_KEYS, "fill_id", "exec_id", "cross_id", "release_id", "subscriber")
_PROSE = ("reason", "text")  # may name orders by id: "keep P5-C1-V1 at LIT1: ..."
_WORD = re.compile(r"[\w-]+")


class _Fields:
    """The fields of one message type that attribution and renaming read, and how a
    record of it is hashed."""

    def __init__(self, kind: type) -> None:
        names = set(getattr(kind, "__struct_fields__", ()))
        self.instrument = "instrument" in names
        self.order = "order" in names  # a client order submitted: SubmitClientOrder
        self.client = "client_order_id" in names and "source" in names
        self.order_ids = tuple(k for k in _ORDER_KEYS if k in names)
        self.engine_ids = tuple(k for k in _ENGINE_IDS if k in names)
        self.prose = tuple(k for k in _PROSE if k in names)
        self.line = DIGEST_LINES[kind]
        # the common records (market data, most of a trail) take the short ways: named
        # by their instrument alone, and hashed with nothing to rename
        self.by_instrument = self.instrument and not (self.order or self.client or self.order_ids)
        self.nothing_to_rename = not (self.engine_ids or self.prose)


_FIELDS: dict[type, _Fields] = {}


def _fields(msg: Message) -> _Fields:
    kind = type(msg)
    found = _FIELDS.get(kind)
    if found is None:
        found = _FIELDS[kind] = _Fields(kind)
    return found


class InstrumentIndex:
    """Which instrument each id seen so far belongs to, learnt in trail order."""

    def __init__(self) -> None:
        self._by_id: dict[str, str] = {}
        self._by_client: dict[tuple[str, str], str] = {}

    def instrument_of(self, msg: Message) -> str | None:
        f = _fields(msg)
        if f.by_instrument:
            return getattr(msg, "instrument")  # noqa: B009 (not every Message has one)
        symbol = getattr(msg, "instrument", None) if f.instrument else None
        if f.order:
            order = getattr(msg, "order")  # noqa: B009 (not every Message has one)
            symbol = order.instrument
            self._by_client[(order.source, order.client_order_id)] = symbol
        ids = [i for i in (getattr(msg, k) for k in f.order_ids) if i is not None]
        if symbol is None:
            symbol = next((self._by_id[i] for i in ids if i in self._by_id), None)
        if symbol is None and f.client:
            key = (getattr(msg, "source"), getattr(msg, "client_order_id"))  # noqa: B009
            symbol = self._by_client.get(key)
        if symbol is not None:
            for i in ids:
                self._by_id.setdefault(i, symbol)
        return symbol


def instrument_digests(messages: Iterable[Message]) -> dict[str, str]:
    """Each instrument's sub-trail digest (sha256 hex), for a trail's messages in order."""
    digests = InstrumentDigests()
    for msg in messages:
        digests.add(msg)
    return digests.digests()


class InstrumentDigests:
    """Sub-trail digests kept as a trail takes its messages: ``journal.tap(d.add)``
    gives at the end of a run what ``instrument_digests(journal.replay())`` would,
    without reading the trail back."""

    def __init__(self) -> None:
        self._index = InstrumentIndex()
        self._subtrails: dict[str, SubTrail] = {}

    def add(self, msg: Message) -> None:
        symbol = self._index.instrument_of(msg)
        if symbol is not None:
            subtrail = self._subtrails.get(symbol)
            if subtrail is None:
                subtrail = self._subtrails[symbol] = SubTrail()
            subtrail.add(msg)

    def digests(self) -> dict[str, str]:
        return {symbol: t.hexdigest() for symbol, t in sorted(self._subtrails.items())}


class SubTrail:
    """One instrument's records, hashed as they come, with engine ids renumbered."""

    def __init__(self) -> None:
        self._hasher = hashlib.sha256()
        self._aliases: dict[str, str] = {}

    def add(self, msg: Message) -> None:
        # as the record reads back from the trail (a float field's int is a float there)
        self._hasher.update(_fields(msg).line(self.projected(msg)))

    def projected(self, msg: Message) -> Message:
        """``msg`` as hashed: no msg_id, engine ids renumbered."""
        f = _fields(msg)
        if f.nothing_to_rename:
            return msgspec.structs.replace(msg, msg_id=0)
        aliases = self._aliases
        renamed = {}
        for key in f.engine_ids:
            value = getattr(msg, key)
            if value is not None:
                alias = aliases.get(value)
                if alias is None:
                    alias = aliases[value] = f"#{len(aliases) + 1}"
                renamed[key] = alias
        for key in f.prose:
            text = getattr(msg, key)
            # most reasons quote no id: finding that takes no Python call per word
            if text and not aliases.keys().isdisjoint(_WORD.findall(text)):
                renamed[key] = _WORD.sub(self._alias_known, text)
        return msgspec.structs.replace(msg, msg_id=0, **renamed)

    def _alias_known(self, word: re.Match[str]) -> str:
        return self._aliases.get(word.group(), word.group())

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()


def run_digest(instruments: Mapping[str, str]) -> str:
    """sha256 hex over ``"SYMBOL SUBTRAIL-DIGEST\\n"`` per instrument, in symbol order."""
    hasher = hashlib.sha256()
    for symbol in sorted(instruments):
        hasher.update(f"{symbol} {instruments[symbol]}\n".encode())
    return hasher.hexdigest()
