"""Scale-out: a scenario's instruments sharded across whole engines on Ray.

Each shard is a complete engine (desk, parents, router, venues, its own audit trail) in
one Ray actor, so the fill → recalibrate → cancel loop never leaves a process; client
orders go in, reports come out. The run's digest is over instruments, not trails, so it
is the same for any number of shards and for the in-process engine (``digest.py``).
Ray is an optional extra; nothing here imports it until a sharded run starts.
"""

from actors.shards.cluster import ShardError
from actors.shards.digest import instrument_digests, run_digest
from actors.shards.partition import partition
from actors.shards.shard import Shard, ShardOutcome
from actors.shards.sharded import (
    Overhead,
    ShardedResult,
    ShardedRun,
    ShardFailed,
    run_sharded,
    trail_paths,
)

__all__ = [
    "Overhead",
    "Shard",
    "ShardError",
    "ShardFailed",
    "ShardOutcome",
    "ShardedResult",
    "ShardedRun",
    "instrument_digests",
    "partition",
    "run_digest",
    "run_sharded",
    "trail_paths",
]
