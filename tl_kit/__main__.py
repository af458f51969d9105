"""Command line: `python -m tl_kit info` prints the environment report of 00_start_here."""

from __future__ import annotations

import argparse
import sys

from .errors import NotebookError, TLKitError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tl_kit", description="tl-kit helper commands")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="what this machine has: versions, device, profile, weights, data, timings")
    info.add_argument("--no-measure", action="store_true", help="skip the two-second speed test")
    fetch = sub.add_parser("prefetch", help="download ImageNet weights and online data sets once, for offline use")
    fetch.add_argument("--dest", default=None, help="a shared folder (then set TL_KIT_SHARED_DIR to it); "
                                                    "default: Keras' own cache")
    fetch.add_argument("--datasets", nargs="*", default=[], metavar="NAME",
                       help="online data sets to fetch too: tf_flowers, cats_vs_dogs, or all")
    fetch.add_argument("--no-weights", action="store_true", help="fetch data sets only")
    exercises = sub.add_parser("exercises", help="write a student copy of a lesson with every answer removed")
    exercises.add_argument("notebooks", nargs="+", metavar="notebook",
                           help="the lesson(s), e.g. notebooks/01_conv_pool_softmax.ipynb")
    where = exercises.add_mutually_exclusive_group()
    where.add_argument("--out", default=None, help="for one lesson: where to write it "
                                                   "(default: NAME_exercises.ipynb beside it)")
    where.add_argument("--out-dir", default=None, help="a folder for the copies of every lesson given that has "
                                                       "exercises (the others are skipped)")
    args = parser.parse_args(argv)
    try:
        if args.command == "info":
            from .info import report

            print(report(measure=not args.no_measure))
        elif args.command == "prefetch":
            from pathlib import Path

            from .online import ONLINE, prefetch

            names = list(ONLINE) if "all" in args.datasets else args.datasets
            items = prefetch(names, Path(args.dest).expanduser() if args.dest else None, weights=not args.no_weights)
            for item in items:
                print(f"{'ok  ' if item.ok else 'MISSING'}  {item.what}: {item.detail}")
            if args.dest:
                print(f"Students' kernels find these when TL_KIT_SHARED_DIR={Path(args.dest).expanduser().resolve()}")
            return 0 if all(item.ok for item in items) else 1
        elif args.command == "exercises":
            from .exercises import make_student_copies, make_student_copy

            if args.out_dir:
                written = make_student_copies(args.notebooks, args.out_dir)
            elif len(args.notebooks) == 1:
                written = [make_student_copy(args.notebooks[0], args.out)]
            else:
                raise NotebookError("Several lessons need --out-dir, a folder for their copies (--out names one file).")
            for path in written:
                print(f"wrote {path}")
    except TLKitError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
