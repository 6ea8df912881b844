"""``smart-exec`` command line. Each subcommand lives in its own module exposing
``add_arguments(parser)`` and ``main(args) -> int``; modules are imported lazily so a
pure command (``schedule``, ``tca``) never starts the actor runtime."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("actors.cli.run", "run a scenario end to end on simulated venues"),
    "bench": ("actors.cli.bench", "measure throughput and latency, print the figures"),
    "schedule": ("actors.cli.schedule", "preview a strategy's schedule before trading"),
    "profile": ("actors.cli.profile", "estimate a VWAP volume profile from the market's history"),
    "tca": ("actors.cli.tca", "transaction cost analysis of fills from a CSV file"),
    "audit": ("actors.cli.audit", "query an audit trail, export CSV"),
    "compare": ("actors.cli.compare", "compare routing logics side by side on seeded scenarios"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smart-exec", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # command not built yet: it is simply not offered
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_main=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args._main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
