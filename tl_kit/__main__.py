"""Command line: `python -m tl_kit info` prints the environment report of 00_start_here."""

from __future__ import annotations

import argparse
import sys

from .errors import TLKitError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tl_kit", description="tl-kit helper commands")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="what this machine has: versions, device, profile, weights, data, timings")
    info.add_argument("--no-measure", action="store_true", help="skip the two-second speed test")
    args = parser.parse_args(argv)
    try:
        if args.command == "info":
            from .info import report

            print(report(measure=not args.no_measure))
    except TLKitError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
