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
from actors.runtime.seeds import derive_seed
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


class Link:
    """One direction of a link as its sender uses it: latency, uniform jitter, and the
    last delivery time, which keeps it FIFO (as one TCP connection is)."""

    __slots__ = ("bits", "last", "latency", "span")

    def __init__(self, latency_ns: int, jitter_ns: int) -> None:
        self.last = 0
        self.configure(latency_ns, jitter_ns)

    def configure(self, latency_ns: int, jitter_ns: int) -> None:
        """Set latency and jitter; the FIFO state carries over."""
        self.latency = latency_ns
        self.span = jitter_ns + 1  # jitter is drawn in [0, span)
        self.bits = self.span.bit_length()


class Endpoint:
    """A named destination: an actor ref or an in-process callback, with a stable id."""

    __slots__ = (
        "actor_id",
        "callback",
        "held",
        "journal_key",
        "key_base",
        "link_bits",
        "link_rng",
        "links",
        "name",
        "outstanding",
        "ref",
        "seq",
    )

    def __init__(self, name: str, actor_id: int, seed: int) -> None:
        self.name = name
        self.actor_id = actor_id
        self.key_base = actor_id << SEQ_BITS  # | seq: msg ids and delivery order keys
        self.journal_key = (actor_id << _JOURNAL_ID_BITS) + _JOURNAL_ID_BIAS  # + msg_id
        self.ref: ActorHandle | None = None
        self.callback: Callable[[Message, str], None] | None = None
        self.seq = itertools.count(1)
        self.link_rng = random.Random(derive_seed(seed, actor_id, "link"))
        self.link_bits = self.link_rng.getrandbits
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

    def jitter(self, link: Link) -> int:
        """A jitter draw for ``link``: ``link_rng.randrange(span)`` unrolled (CPython's
        ``_randbelow``: draw bit_length bits, redraw while out of range), the same draws."""
        span, bits, draw_bits = link.span, link.bits, self.link_bits
        draw = draw_bits(bits)
        while draw >= span:
            draw = draw_bits(bits)
        return draw
