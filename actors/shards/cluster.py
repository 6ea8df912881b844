"""The Ray cluster the shards run on: a local one started on demand, or an existing one
joined by address.

Ray is an optional extra (``pip install 'smart-exec[ray]'``): importing this module does
not import it, and a sharded run without it fails with the command that installs it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import actors

INSTALL_HINT = "pip install 'smart-exec[ray]' (or -e '.[ray]' in a checkout)"


class ShardError(RuntimeError):
    """A sharded run that could not start or did not finish."""


def ray_module() -> Any:
    try:
        import ray
    except ImportError:
        raise ShardError(f"sharded runs need Ray: {INSTALL_HINT}") from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Make sure this process is connected to a cluster: ``address`` joins an existing
    one ("auto", or "HOST:PORT"), None starts a local one with ``num_cpus`` (default:
    this machine's cores). True if this call connected (the caller then disconnects)."""
    ray = ray_module()
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {
        "include_dashboard": False,
        "logging_level": logging.ERROR,
        "log_to_driver": False,
    }
    if address is None:
        options["num_cpus"] = num_cpus or os.cpu_count() or 1
        # Ray runs its workers at nice 15 by default, so that they yield to everything
        # else on the machine. A shard's engine is the run itself: at nice 15 it waits
        # for any process that wakes (Ray's own agents included) while an in-process
        # run, at the caller's priority, does not.
        options["_system_config"] = {"worker_niceness": 0}
    else:
        options["address"] = address
        # the workers import this process's code, a source checkout's as well; a local
        # cluster's workers inherit it from this process's environment instead (below),
        # which spares each worker the runtime-env set-up (0.65 s per shard's start)
        options["runtime_env"] = {"env_vars": {"PYTHONPATH": _source_root()}}
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a run reports nothing outside
    try:
        with _source_on_path(local=address is None):
            ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise ShardError(f"could not start or join {where}: {exc}") from exc
    return True


@contextlib.contextmanager
def _source_on_path(local: bool) -> Iterator[None]:
    """PYTHONPATH with this code's source root while a local cluster starts: its
    processes, the workers hosting the shards, inherit this environment."""
    if not local:
        yield
        return
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = _source_root()
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before


def disconnect() -> None:
    ray_module().shutdown()


def _source_root() -> str:
    paths = [str(Path(actors.__file__).resolve().parents[1])]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(paths)
