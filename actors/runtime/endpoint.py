"""Named endpoints, the links between them, and message ids.

An endpoint is a name the runtime delivers to (an actor or an in-process callback) with a
stable id. Its sequence numbers give every message it sends or journals a unique id,
``actor_id << 40 | seq``, independent of thread timing; the same number orders the
deliveries due at one time (as the pair ``(sender_id, seq)`` would).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from actors.runtime.inline import InlineRef
from engine.messages import Message

if TYPE_CHECKING:
    import pykka

# What the runtime tells an actor's messages to: its pykka ref, or the inline driver.
ActorHandle: TypeAlias = "pykka.ActorRef[Any] | InlineRef"

SEQ_BITS = 40
# A journal record's order key (journaling actor id, msg id) as one int: msg ids are
# msgpack ints, within [-2**63, 2**64), so ``actor_id << 65`` plus ``msg_id + 2**63`` orders
# exactly like the pair.
_JOURNAL_ID_BITS = 65
_JOURNAL_ID_BIAS = 1 << 63


def _no_stream(bits: int) -> int:
    """A link without jitter has no stream: nothing draws from it."""
    raise AssertionError("a link without jitter has no jitter stream")


class Link:
    """One direction of a link as its sender uses it: latency, uniform jitter drawn from
    the link's own stream (seeded by its two ends' names: ``link_seed``), and the last
    delivery time, which keeps it FIFO (as one TCP connection is).

    A stream per link, not per sender: a sender's one stream would be shared by every
    destination it sends to, so an instrument's delays would move with how much the
    router sends the other instruments' books. The stream is made when the link first
    has jitter (most links have none), not per message."""

    __slots__ = ("bits", "draw_bits", "last", "latency", "seed", "span")

    def __init__(self, latency_ns: int, jitter_ns: int, seed: int) -> None:
        self.last = 0
        self.seed = seed
        self.draw_bits: Callable[[int], int] = _no_stream
        self.configure(latency_ns, jitter_ns)

    def configure(self, latency_ns: int, jitter_ns: int) -> None:
        """Set latency and jitter; the FIFO state and the jitter stream carry over."""
        self.latency = latency_ns
        self.span = jitter_ns + 1  # jitter is drawn in [0, span)
        self.bits = self.span.bit_length()
        if self.span > 1 and self.draw_bits is _no_stream:
            self.draw_bits = random.Random(self.seed).getrandbits

    def jitter(self) -> int:
        """A jitter draw: ``random.Random(seed).randrange(span)`` unrolled (CPython's
        ``_randbelow``: draw bit_length bits, redraw while out of range), the same draws.
        Only called when ``span > 1`` (then the stream exists)."""
        span, bits, draw_bits = self.span, self.bits, self.draw_bits
        draw = draw_bits(bits)
        while draw >= span:
            draw = draw_bits(bits)
        return draw


class Endpoint:
    """A named destination: an actor ref or an in-process callback, with a stable id."""

    __slots__ = (
        "actor_id",
        "callback",
        "held",
        "journal_key",
        "key_base",
        "links",
        "name",
        "outstanding",
        "ref",
        "seq",
    )

    def __init__(self, name: str, actor_id: int) -> None:
        self.name = name
        self.actor_id = actor_id
        self.key_base = actor_id << SEQ_BITS  # | seq: msg ids and delivery order keys
        self.journal_key = (actor_id << _JOURNAL_ID_BITS) + _JOURNAL_ID_BIAS  # + msg_id
        self.ref: ActorHandle | None = None
        self.callback: Callable[[Message, str], None] | None = None
        self.seq = itertools.count(1)
        self.links: dict[str, Link] = {}  # by destination, made on first send
        self.outstanding = 0  # messages told to this actor, not yet handled
        # While a pykka actor is starting it has no ref yet, but its on_start may already
        # have drawn replies: hold them (counted in flight) until attach, never drop them.
        self.held: list[tuple[str, Message]] | None = None

    def next_id(self) -> int:
        """The id of this endpoint's next message: ``actor_id << 40 | seq``."""
        return self.key_base | next(self.seq)

    def journal_order(self, msg: Message) -> int:
        """Where ``msg``, journaled by this endpoint, goes among a wave's records: by
        (journaling actor id, msg id)."""
        return self.journal_key + msg.msg_id
