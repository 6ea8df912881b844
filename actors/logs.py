"""Logging of the engine's actors, in one place.

A library does not own the process's logging: importing ``actors`` disables its loguru
records (``logger.disable("actors")``), so an embedding application sees none of them
until it calls ``enable()`` (its own sinks and format) or ``configure(level)`` (ours).
The command line calls ``configure``.

What a line may hold: at INFO and above, identifiers (escaped with ``!r``: they come
from callers) and counts, never an order's contents. A failure is one line with the
exception's type and message (escaped, truncated); its traceback is a separate DEBUG
record, shown only at that level, and never with variable values (``diagnose=False``).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, TextIO

from loguru import logger

LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
DEFAULT_LEVEL = "WARNING"
FORMAT = "{time:HH:mm:ss.SSS} {level: <8} {name}: {message}"
_MAX_ERROR_CHARS = 300  # an exception's message can carry a caller's megabyte

logger.disable("actors")
_handler: int | None = None  # the sink configure() added, replaced by the next call


def enable() -> None:
    """Let the engine's records reach the application's own loguru sinks."""
    logger.enable("actors")


def disable() -> None:
    logger.disable("actors")


def configure(level: str = DEFAULT_LEVEL, sink: TextIO | None = None) -> int:
    """Send the engine's records at ``level`` and above to ``sink`` (stderr) in a compact
    one-line format, and nowhere else: loguru's default DEBUG handler is removed. Other
    sinks an application added stay. Returns the handler id."""
    global _handler
    level = level.upper()
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: one of {', '.join(LEVELS)}")
    for handler in (0, _handler):  # loguru's default, then ours from an earlier call
        if handler is not None:
            with contextlib.suppress(ValueError):  # already removed
                logger.remove(handler)
    _handler = logger.add(
        sink if sink is not None else sys.stderr,
        level=level,
        format=FORMAT,
        backtrace=False,
        diagnose=False,
    )
    enable()
    return _handler


def reset() -> None:
    """Undo ``configure``: its sink removed, the engine's records off again."""
    global _handler
    if _handler is not None:
        with contextlib.suppress(ValueError):
            logger.remove(_handler)
        _handler = None
    disable()


def describe(exc: BaseException) -> str:
    """An exception as one escaped line: its type and message, truncated."""
    text = repr(exc)
    if len(text) > _MAX_ERROR_CHARS:
        text = text[: _MAX_ERROR_CHARS - 3] + "..."
    return text


def log_failure(level: str, message: str, *args: Any, exc: BaseException) -> None:
    """Log a failure as one line at ``level`` (``message`` formatted with ``args``, then
    the exception described), and its traceback at DEBUG. Attributed to the caller."""
    logger.opt(depth=1).log(level, message + ": {}", *args, describe(exc))
    logger.opt(depth=1, exception=exc).debug("traceback of the failure above")
