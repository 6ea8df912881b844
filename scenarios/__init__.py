"""The shipped scenarios: runnable TOML files installed with the package, so an installed
``smart-exec`` finds them from any directory.

    from scenarios import path, shipped
    shipped()                          # ['brief_vwap', 'dark_liquidity', ...]
    load(path("brief_vwap"))           # engine.scenario.load; "brief_vwap.toml" works too

The files are read through ``importlib.resources``, never relative to a source checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SUFFIX = ".toml"


def shipped() -> list[str]:
    """The names of the shipped scenarios, sorted (file names without ``.toml``)."""
    return sorted(
        f.name.removesuffix(SUFFIX) for f in files(__name__).iterdir() if f.name.endswith(SUFFIX)
    )


def path(name: str) -> Path:
    """The file of the shipped scenario ``name`` (``brief_vwap`` or ``brief_vwap.toml``);
    ``LookupError`` names the shipped ones if there is no such scenario."""
    stem = name.removesuffix(SUFFIX)
    if stem not in shipped():
        raise LookupError(f"no shipped scenario {name!r} (one of {', '.join(shipped())})")
    resource = files(__name__) / f"{stem}{SUFFIX}"
    if not isinstance(resource, Path):  # only a zipped install gives something else
        raise LookupError(f"shipped scenario {name!r} is not a file on disk: {resource}")
    return resource


__all__ = ["path", "shipped"]
