"""Per-actor seeds: every source of randomness in a run derives from the run's seed."""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, actor_id: int, purpose: str = "", generation: int = 0) -> int:
    """A stable per-actor seed. Not ``hash()``: that is salted per process for str."""
    data = f"{seed}:{actor_id}:{purpose}:{generation}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")
