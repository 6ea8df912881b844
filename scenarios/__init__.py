"""The shipped scenarios: runnable TOML files installed with the package, so an installed
``smart-exec`` finds them from any directory.

    from scenarios import locate, path, shipped
    shipped()                          # ['brief_vwap', 'dark_liquidity', ...]
    load(path("brief_vwap"))           # engine.scenario.load; "brief_vwap.toml" works too
    load(locate(argument))             # a file if it exists, else a shipped name

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


def locate(given: str) -> Path:
    """What a user names on the command line: ``given`` if that file exists, else the
    shipped scenario of that name if there is one, else ``given`` (the caller's load
    reports the missing file). A path with a directory part is never a shipped name."""
    as_file = Path(given)
    if as_file.exists() or as_file.name != given:
        return as_file
    try:
        return path(given)
    except LookupError:
        return as_file


__all__ = ["locate", "path", "shipped"]
