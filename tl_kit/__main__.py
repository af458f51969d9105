"""Command line: `python -m tl_kit info` prints the environment report of 00_start_here;
`python -m tl_kit predict RUN IMAGE...` classifies pictures with a run's exported classifier;
`python -m tl_kit translate update|build|check` keeps the Chinese lessons in step (tl_kit/translate.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    fetch.add_argument("--features", nargs="*", default=[], metavar="PROFILE", choices=["fast", "cpu", "gpu"],
                       help="with --dest: run the lessons once in these profiles and keep the VGG16 features they "
                            "extract in DEST/features, for every student to read")
    fetch.add_argument("--lessons", nargs="*", default=None, metavar="NOTEBOOK",
                       help="with --features: only these lessons (e.g. 04_your_own_images.ipynb)")
    exercises = sub.add_parser("exercises", help="write a student copy of a lesson with every answer removed")
    exercises.add_argument("notebooks", nargs="+", metavar="notebook",
                           help="the lesson(s), e.g. notebooks/01_conv_pool_softmax.ipynb")
    where = exercises.add_mutually_exclusive_group()
    where.add_argument("--out", default=None, help="for one lesson: where to write it "
                                                   "(default: NAME_exercises.ipynb beside it)")
    where.add_argument("--out-dir", default=None, help="a folder for the copies of every lesson given that has "
                                                       "exercises (the others are skipped)")
    rel = sub.add_parser("release", help="a teacher's nbgrader course: one assignment per lesson with exercises, "
                                         "and its student release")
    rel.add_argument("notebooks", nargs="+", metavar="notebook", help="the lessons, e.g. notebooks/*.ipynb")
    rel.add_argument("--course", required=True, help="the course folder (created; kept private to you)")
    grade = sub.add_parser("grade", help="grade returned notebooks (RETURNED/<student>/<lesson>.ipynb) into "
                                         "COURSE/grades.csv")
    grade.add_argument("returned", help="the folder of returned notebooks, one subfolder per student")
    grade.add_argument("--course", required=True, help="the course folder made by `release`")
    grade.add_argument("--profile", default="fast", help="the profile the notebooks run in (default: fast)")
    grade.add_argument("--cell-timeout", type=int, default=120, help="seconds one cell may run (default: 120)")
    grade.add_argument("--notebook-timeout", type=int, default=1800,
                       help="seconds one student's notebook may take in all (default: 1800)")
    grade.add_argument("--out", default=None, help="where to write the CSV (default: COURSE/grades.csv)")
    predict = sub.add_parser("predict", help="classify pictures with a run's exported classifier (lesson 04 exports "
                                             "one): each picture's class and probability")
    predict.add_argument("model", help="a run folder (holding classifier.keras) or a .keras file exported by the kit")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="picture files: PNG, JPEG, GIF, BMP or WebP")
    predict.add_argument("--top", type=int, default=1, help="how many classes to print per picture (default: 1)")
    translate = sub.add_parser("translate", help="the Chinese lessons: refresh the message catalogs from the English "
                                                 "(update), write notebooks/zh/ (build), or list what is untranslated (check)")
    translate.add_argument("action", choices=["update", "build", "check"])
    translate.add_argument("notebooks", nargs="*", help="lessons (default: every lesson in notebooks/)")
    args = parser.parse_args(argv)
    try:
        if args.command == "info":
            from .info import report

            print(report(measure=not args.no_measure))
        elif args.command == "prefetch":
            from .errors import OptionError
            from .online import ONLINE, prefetch, prefetch_features

            names = list(ONLINE) if "all" in args.datasets else args.datasets
            if args.features and not args.dest:
                raise OptionError("--features needs --dest, the shared folder the students' kernels read.")
            items = prefetch(names, Path(args.dest).expanduser() if args.dest else None, weights=not args.no_weights)
            for profile in args.features:
                items += prefetch_features(Path(args.dest).expanduser(), profile, args.lessons)
            for item in items:
                print(f"{'ok  ' if item.ok else 'MISSING'}  {item.what}: {item.detail}")
            if args.dest:
                print(f"Students' kernels find these when TL_KIT_SHARED_DIR={Path(args.dest).expanduser().resolve()}")
            return 0 if all(item.ok for item in items) else 1
        elif args.command == "predict":
            from .export import load_classifier, predict_files

            model, names = load_classifier(args.model)
            failed = 0
            for file, probabilities, error in predict_files(model, args.images):
                if error:
                    failed += 1
                    print(f"{file}: {error}", file=sys.stderr)
                    continue
                best = probabilities.argsort()[::-1][:max(1, args.top)]
                print(f"{file}: " + ", ".join(f"{names[i] if names else f'class {i}'} {probabilities[i]:.1%}"
                                              for i in best))
            return 2 if failed else 0
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
        elif args.command == "release":
            from .grading import release

            for path in release(args.notebooks, args.course):
                print(f"released {path}")
            print("Hand out the release folder's notebooks; collect them as RETURNED/<student>/<lesson>.ipynb.")
        elif args.command == "grade":
            from .grading import GRADE_CSV, grade as grade_folder

            rows = grade_folder(args.returned, args.course, profile=args.profile, cell_timeout=args.cell_timeout,
                                notebook_timeout=args.notebook_timeout, out=args.out)
            students = sorted({r.student for r in rows})
            for student in students:
                mine = [r for r in rows if r.student == student]
                print(f"{student}: {sum(r.points for r in mine):g} of {sum(r.max_points for r in mine):g} points")
            print(f"wrote {args.out or Path(args.course).expanduser() / GRADE_CSV}")
        elif args.command == "translate":
            from . import translate as tr

            lessons = [Path(n) for n in args.notebooks] or tr.lessons()
            if args.action == "update":
                for lesson in lessons:
                    print(f"updated {tr.update(lesson)}")
                print(f"updated {tr.update_kit()}")
            elif args.action == "build":
                for lesson in lessons:
                    print(f"wrote {tr.build(lesson)}")
            else:
                missing = [item for lesson in lessons for item in tr.stale(lesson)]
                print("\n".join(map(str, missing)) or "every text has a current translation")
                return 1 if missing else 0
    except TLKitError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
