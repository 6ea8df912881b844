"""``smart-exec`` command line. Each subcommand lives in its own module exposing
``add_arguments(parser)`` and ``main(args) -> int``, imported when the parser is built (not
when ``actors.cli`` is imported); a pure command (``schedule``, ``tca``) never starts the
actor runtime."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from importlib.metadata import PackageNotFoundError, version

from actors.logs import DEFAULT_LEVEL, LEVELS, configure

DESCRIPTION = "Smart trading execution engine: algorithmic strategies, smart order routing, TCA."
EPILOG = """examples:
  smart-exec run scenarios/brief_vwap.toml --report report
  smart-exec run brief_vwap              (a shipped scenario by name, from any directory)
  smart-exec --log-level INFO run brief_vwap
  smart-exec compare routing_lit_only --logic sequential --logic parallel --seeds 6
  smart-exec serve --fix-port 9878 --sessions SESSIONS.toml
  smart-exec schedule vwap --help
  smart-exec chaos --runs 200 --jobs 2
  smart-exec COMMAND --help              (a command's own options)"""

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("actors.cli.run", "run a scenario end to end on simulated venues"),
    "resume": ("actors.cli.resume", "continue a killed or interrupted run from its audit trail"),
    "bench": ("actors.cli.bench", "measure throughput and latency, print the figures"),
    "schedule": ("actors.cli.schedule", "preview a strategy's schedule before trading"),
    "profile": ("actors.cli.profile", "estimate a VWAP volume profile from the market's history"),
    "tca": ("actors.cli.tca", "transaction cost analysis of fills from a CSV file"),
    "audit": ("actors.cli.audit", "query an audit trail, export CSV"),
    "compare": (
        "actors.cli.compare",
        "engine vs the naive baseline over seeds, market drift taken out",
    ),
    "serve": ("actors.cli.serve", "live engine with a FIX 4.4 acceptor on simulated venues"),
    "chaos": ("actors.cli.chaos", "simulation testing: random orders and faults, invariants"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smart-exec",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LEVELS,
        default=DEFAULT_LEVEL,
        metavar="LEVEL",
        help=f"log records at LEVEL and above to stderr (default {DEFAULT_LEVEL}; "
        "one of %(choices)s; DEBUG adds tracebacks)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_main=module.main)
    return parser


def package_version() -> str:
    """The installed distribution's version (a source tree never installed has none)."""
    try:
        return version("smart-exec")
    except PackageNotFoundError:
        return "unknown (not installed)"


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell shows for a reader that went away
EXIT_INTERRUPTED = 130  # 128 + SIGINT


def main(argv: list[str] | None = None) -> int:
    """Run one command. Its output piped into a reader that stops early (``| head``) ends
    it quietly; so does Ctrl-C in a command that does not handle it itself."""
    args = build_parser().parse_args(argv)
    configure(args.log_level)
    try:
        return int(args._main(args) or 0)
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(f"smart-exec {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _discard_stdout() -> None:
    """Point stdout at /dev/null: the interpreter's last flush of what is still buffered
    would otherwise raise BrokenPipeError again, at exit, with a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout replaced (a test's capture): nothing to flush
        pass
