"""Per-actor seeds: every source of randomness in a run derives from the run's seed.

A stream an instrument's events depend on is keyed by names (an actor's, a link's two
ends'), never by an actor's id: ids count actors in start order, so they depend on how
many other instruments the engine started first, and a sub-trail must be the same
whichever other instruments share its engine (``actors.shards``).
"""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, actor_id: int, purpose: str = "", generation: int = 0) -> int:
    """A stable per-actor seed. Not ``hash()``: that is salted per process for str."""
    data = f"{seed}:{actor_id}:{purpose}:{generation}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def named_seed(seed: int, name: str, purpose: str = "", generation: int = 0) -> int:
    """A stable seed for the actor (or anything) called ``name``: the same in every engine
    that has it, whatever else the engine holds. Quoted, so no name (they may hold ``:``)
    can read as another name with another purpose."""
    data = f"{seed}:{name!r}:{purpose}:{generation}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def link_seed(seed: int, sender: str, dest: str) -> int:
    """The seed of the link's jitter stream from ``sender`` to ``dest``: one stream per
    direction of each link, so a sender that serves many instruments (the router to every
    instrument's books) draws each instrument's jitter from a stream of its own."""
    return named_seed(seed, f"{sender!r}->{dest!r}", "link")
