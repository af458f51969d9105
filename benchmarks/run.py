"""tl-kit benchmarks: how fast the kit runs on this machine, against this machine's own limit.

    python benchmarks/run.py [--quick] [--skip NAME ...]      (or: make bench)

Prints a markdown table and writes it to benchmarks/results.md, to docs/benchmarks.md (between its
benchmark markers) and, with every number, to benchmarks/results.json. Every
micro-benchmark figure is the median of several runs, and every ratio is measured side by side
in the same run. Notebook wall times are one full run each (nbclient), since a lesson takes
minutes. Not part of `make test`: timings belong here, not in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TL_KIT_LIVE_PLOTS", "0")
os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars are for students, not for logs

import numpy as np  # noqa: E402


def median_time(fn, repeats: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def matmul_peak(n: int = 4096, repeats: int = 7) -> float:
    """float32 matrix-multiply GFLOP/s through the Keras backend (the best this machine does)."""
    import keras

    a = keras.random.normal((n, n), seed=1)
    b = keras.random.normal((n, n), seed=2)
    t = median_time(lambda: keras.ops.convert_to_numpy(keras.ops.matmul(a, b)[0, 0]), repeats)
    return 2 * n**3 / t / 1e9


def vgg16_throughput(size: int, images: int, batch: int = 32, repeats: int = 3) -> tuple[float, float]:
    """(images/s, forward GFLOP per image) of VGG16's conv base at size², through model.predict."""
    import keras

    from tl_kit.freezing import layer_flops

    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(size, size, 3))
    x = np.random.default_rng(0).normal(0, 50, (images, size, size, 3)).astype("float32")
    t = median_time(lambda: model.predict(x, batch_size=batch, verbose=0), repeats)
    return images / t, sum(layer_flops(model).values()) / 1e9


def extract_vs_predict(profile, repeats: int = 3) -> dict:
    """The kit's extract_features (uint8 in, preprocessing included, no cache) against a bare
    model.predict on the already-preprocessed array, interleaved on the same images."""
    from tl_kit.data import load_dataset
    from tl_kit.features import extract_features
    from tl_kit.preprocessing import preprocess
    from tl_kit.weights import load_vgg16

    data = load_dataset(profile=profile)
    images = data.x_train
    base, _ = load_vgg16("offline", input_shape=profile.input_shape, verbose=False)
    ready = preprocess(images)
    kit, bare = [], []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        extract_features(base, images, "block5_pool", cache=None, progress=False, verbose=False)
        kit.append(time.perf_counter() - start)
        start = time.perf_counter()
        base.predict(ready, batch_size=32, verbose=0)
        bare.append(time.perf_counter() - start)
    kit_t, bare_t = float(np.median(kit[1:])), float(np.median(bare[1:]))
    return {"images": len(images), "kit_images_per_s": len(images) / kit_t, "predict_images_per_s": len(images) / bare_t,
            "ratio": bare_t / kit_t}


def probe_threads(profile, repeats: int = 3) -> dict:
    """Seconds per linear probe (lesson 02's pixel probe and a block4_pool probe at 50 labels per
    class) with the BLAS threads the machine offers against one thread, which `linear_probe` uses;
    with the two validation scores, which must agree."""
    from tl_kit import linear_probe
    from tl_kit.data import load_dataset
    from tl_kit.experiments import block_features, pixels, take_per_class
    from tl_kit.weights import load_vgg16

    data = load_dataset(profile=profile)
    base, _ = load_vgg16("offline", input_shape=profile.input_shape, verbose=False)
    blocks, raw = block_features(base, data), pixels(data)
    cases = {"pixels, 10 labels per class": (raw["train"], raw["val"], take_per_class(data.y_train, 10, 0)),
             "block4_pool, 50 labels per class": (blocks["train"]["block4_pool"], blocks["val"]["block4_pool"],
                                                  take_per_class(data.y_train, 50, 0))}
    out = {}
    for name, (train, val, idx) in cases.items():
        row = {}
        for threads in (None, 1):  # None: as many BLAS threads as the machine is set up for
            key = "one_thread" if threads else "all_threads"
            fit = lambda: linear_probe(train[idx], data.y_train[idx], val, data.y_val, blas_threads=threads)  # noqa: E731
            row[f"{key}_s"] = median_time(fit, repeats)
            row[f"{key}_val"] = fit().val_score
        row["speedup"] = row["all_threads_s"] / row["one_thread_s"]
        out[name] = row
    return out


def phase_one(profile, cache, seed: int = 0):
    """Lesson 03's starting point: the shipped data, the offline VGG16 frozen, and a GAP head
    trained on its cached block5_pool features. Returns ((train, val, test), its TransferModel)."""
    import keras

    from tl_kit import TransferModel, build_head, extract_features, fit_and_score, load_dataset, load_vgg16

    data = load_dataset(profile=profile)
    splits = tuple(data.split(s) for s in ("train", "val", "test"))
    base, _ = load_vgg16("offline", input_shape=profile.input_shape, verbose=False)
    feats = [extract_features(base, x, "block5_pool", cache=cache, progress=False, verbose=False) for x, _ in splits]
    keras.utils.set_random_seed(seed)
    head = build_head(feats[0].shape[1:], data.num_classes, features=feats[0], name="head")
    fit_and_score("head", head, *((f, y) for f, (_, y) in zip(feats, splits)), epochs=profile.head_epochs,
                  batch_size=profile.batch_size, seed=seed)
    return splits, TransferModel(base, head)


def prefix_speedups(profile, epochs: int = 3) -> dict:
    """Seconds per epoch, naive (full forward pass) versus cached prefix, for each freeze preset,
    from the same start; and the test accuracy of both after `epochs` epochs for block5."""
    from tl_kit import FEATURE_EXTRACTION, FINE_TUNE_LAST_BLOCK, FINE_TUNE_LAST_TWO_BLOCKS
    from tl_kit.features import FeatureCache

    # memory-only caches: each run computes its activations, as a first run would
    (train, val, test), model = phase_one(profile, FeatureCache(None))
    start_weights = model.model.get_weights()
    out = {}
    for preset in (FEATURE_EXTRACTION, FINE_TUNE_LAST_BLOCK, FINE_TUNE_LAST_TWO_BLOCKS):
        row = {}
        for mode in ("naive", "cached"):
            model.model.set_weights(start_weights)
            model.use_preset(preset, learning_rate=1e-5)
            run = model.fit(train, val, epochs=epochs, batch_size=profile.batch_size, use_cache=mode == "cached",
                            cache=FeatureCache(None), seed=0)
            row[f"{mode}_s_per_epoch"] = run.seconds_per_epoch
            row[f"{mode}_cache_s"] = run.cache_seconds
            row[f"{mode}_test_accuracy"] = model.score(*test, use_cache=False)
        row["speedup"] = row["naive_s_per_epoch"] / row["cached_s_per_epoch"]
        row["accuracy_delta_points"] = 100 * (row["cached_test_accuracy"] - row["naive_test_accuracy"])
        out[preset.id] = row
    return out


def run_notebook(path: Path, profile: str, runs: Path, cache: Path) -> float:
    """Execute a notebook top to bottom with nbclient, its run folders under `runs` and its feature
    cache in `cache` (an empty folder: the time a first run takes); return wall seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env = {"TL_KIT_PROFILE": profile, "TL_KIT_RUNS": str(runs), "TL_KIT_CACHE": str(cache)}
    before = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
        if os.environ.get("TL_KIT_BENCH_KEEP"):  # the executed notebook, to read what the run printed
            keep = Path(os.environ["TL_KIT_BENCH_KEEP"])
            keep.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, keep / f"{profile}-{path.name}")
        return seconds
    finally:
        for k, v in before.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def lesson_reports(runs: Path) -> dict[str, dict]:
    """The newest report.json of lessons 02, 03 and 03b in a runs folder (what the lessons saved)."""
    found = {}
    for key in ("lesson02", "lesson03", "lesson03b"):
        pattern = f"*-{key}/report.json"
        reports = sorted(runs.glob(pattern))
        if reports:
            found[key] = json.loads(reports[-1].read_text())
    return found


def experiment_results(reports: dict[str, dict]) -> dict:
    """The fair-comparison numbers of lessons 02 and 03, each difference as [low, mean, high] points."""
    from tl_kit import paired_interval

    out: dict = {}
    if "lesson02" in reports:
        r = reports["lesson02"]
        from tl_kit.experiments import CNN, PIXELS, PRETRAINED, RANDOM
        from tl_kit.reporting import unpaired_interval

        names = {RANDOM: "vs_random", PIXELS: "vs_pixels", CNN: "vs_small_cnn"}
        out["transfer_gain_points"] = {data: {names[m]: gain for m, gain in c["gain_points"].items() if m in names}
                                       for data, c in r["comparisons"].items()}
        out["lesson02_comparisons"] = r["comparisons"]
        if {"emoji", "fashion_mnist"} <= r["comparisons"].keys():  # did transfer pay more on emoji? (Welch)
            seed_gains = {data: {names[m]: [100 * (a - b) for a, b in zip(c["scores"][PRETRAINED], c["scores"][m])]
                                 for m in names if m in c["scores"]} for data, c in r["comparisons"].items()}
            out["gain_difference_emoji_minus_fashion_points"] = {
                key: unpaired_interval(seed_gains["emoji"][key], seed_gains["fashion_mnist"][key]).as_list()
                for key in seed_gains["emoji"]}
        out.setdefault("cpu_seeds", {})["lesson02"] = r["seeds"]
    if "lesson03" in reports:
        r = reports["lesson03"]
        rows = r["strategies"]["rows"]
        cut = r["cut"]
        tuned = next(n for n in rows if n.startswith("fine-tune") and n.endswith(f"cut at {cut}"))
        out["finetune_vs_extraction_points"] = paired_interval(rows[tuned]["test"],
                                                               rows[f"feature extraction, cut at {cut}"]["test"]).as_list()
        out["strategy_budget_equal"] = r["strategies"]["budget_equal"]
        out["lesson03_strategies"] = rows
        out["lesson03_augmentation"] = r.get("augmentation")
        out["lesson03_cut"] = cut
        out["lesson03_cut_choice"] = r["cut_choice"]
        out["lesson03_learning_rate"] = r["learning_rate"]
        out["lesson03_best_strategy"] = r["best_strategy"]
        out["lesson03_best_test"] = r["best_test"]
        out["lesson03_probe_test"] = r["probe_test"]
        out["lesson03_best_minus_probe_points"] = r["best_minus_probe_points"]
        out.setdefault("cpu_seeds", {})["lesson03"] = r["strategy_seeds"]
    if "lesson03b" in reports:
        r = reports["lesson03b"]
        out["backbone_probe_test"] = r["backbone_probe_test"]
        out["backbone_layers"] = {data: c["blocks"] for data, c in r["comparisons"].items()}
        out["backbone_vs_imagenet_points"] = {data: c["gain_points"] for data, c in r["comparisons"].items()}
        out["backbone_sizes"] = r["sizes"]
        out["bn_trap_points"] = r["bn_trap_points"]
        out["bn_trap_test"] = r["bn_trap_test"]
        out["bn_trap_statistics_shift"] = r["bn_trap_statistics_shift"]
        out.setdefault("cpu_seeds", {})["lesson03b"] = r["seeds"]
    return out


def machine() -> str:
    """"x86_64, 2 cores, <CPU model>" (the model from /proc/cpuinfo where there is one)."""
    model = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), model)
    return f"{platform.machine()}, {os.cpu_count()} cores, {model or 'unknown CPU'}"


#: What issue 17 calls the newer parts of `make test` (the JupyterHub and grading tests, lesson 05),
#: as a pytest -k expression that leaves them out: the rest is the "core".
WITHOUT_NEWER = "not test_hub and not test_grading and not 05_look_inside"


ORDER = ("test-unit", "test-notebooks", "test-notebooks-jax", "test-browser")
#: How many times `make test` runs pytest (the Makefile's lanes: unit tests, nbval on TensorFlow;
#: JAX unit tests, nbval on JAX, browser, hub and grading): one summary line each.
PYTEST_RUNS = 6


def test_part(row: dict) -> str:
    """Which part of `make test` a timed test belongs to (the Makefile's target names)."""
    if row["nodeid"].startswith("tests/test_browser.py"):
        return "test-browser"
    if row["nodeid"].startswith("tests/"):
        return "test-unit"
    return "test-notebooks-jax" if row.get("backend") == "jax" else "test-notebooks"


def run_make_test(log_name: str, keyword: str | None = None) -> tuple[float, str, list[dict]]:
    """Run `make test` as the README does; return its wall seconds, its whole output (also written
    to build/<log_name>) and the timed tests (tests/timing.py's rows).

    With `keyword`, pytest's -k `keyword` is added to every part, and make keeps going (-k) past
    a part whose tests were all left out (pytest exits 5 there), so the other lane finishes."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        times = Path(tmp) / "times.jsonl"
        options = [os.environ.get("PYTEST_ADDOPTS", ""), "-p tests.timing"] + ([f"-k '{keyword}'"] if keyword else [])
        env = {**os.environ, "TL_KIT_TEST_TIMES": str(times), "PYTEST_ADDOPTS": " ".join(options).strip()}
        start = time.perf_counter()
        command = ["make", "test"] + (["-k"] if keyword else [])
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - start
        rows = [json.loads(line) for line in times.read_text().splitlines()] if times.exists() else []
    output = done.stdout + done.stderr
    log = ROOT / "build" / log_name  # the whole output, to read when a part failed
    log.parent.mkdir(exist_ok=True)
    log.write_text(output)
    return seconds, output, rows


def every_part_passed(output: str, parts: int) -> bool:
    """Whether `output` has `parts` pytest summary lines and none of them counts a failure or error
    (a part whose tests were all deselected says "N deselected" and exits 5: not a failure)."""
    summaries = re.findall(r"^=+ (.+) in [\d.]+s(?: \([\d:]+\))? =+$", output, flags=re.M)
    return len(summaries) == parts and not any(re.search(r"\b(failed|errors?)\b", line) for line in summaries)


def time_make_test() -> dict:
    """Two warm `make test` runs (the environment installed, the caches filled), as the README
    runs it: the whole, and the core (the same command with pytest's -k leaving out the newer
    parts, WITHOUT_NEWER). Each part's seconds in the whole are the sum of its tests' seconds,
    which pytest reports through tests/timing.py; two lanes run side by side, so the parts add up
    to more than the whole."""
    print("make test (warm) …", flush=True)
    whole, output, rows = run_make_test("make-test.log")
    passed = every_part_passed(output, PYTEST_RUNS)
    if not passed:
        print(output[-3000:], file=sys.stderr)
    print("make test, the core only (warm) …", flush=True)
    core, core_output, _ = run_make_test("make-test-core.log", WITHOUT_NEWER)
    core_passed = every_part_passed(core_output, PYTEST_RUNS)
    if not core_passed:
        print(core_output[-3000:], file=sys.stderr)
    parts = {part: sum(row["seconds"] for row in rows if test_part(row) == part) for part in ORDER}
    return {"make_test_warm_seconds": whole, "make_test_passed": passed, "make_test_parts_seconds": parts,
            "make_test_core_warm_seconds": core, "make_test_core_passed": core_passed}


BACKEND_SCRIPT = """
import json, sys, time, numpy as np, keras
from tl_kit.training import batch_predict
from tl_kit.weights import load_vgg16
size = int(sys.argv[1])
base, _ = load_vgg16("offline", input_shape=(size, size, 3), verbose=False)
x = np.random.default_rng(0).uniform(0, 255, (960, size, size, 3)).astype("float32")
batch_predict(base, x[:64], 32)  # compile first: the steady rate is what is compared
start = time.perf_counter(); batch_predict(base, x, 32); seconds = time.perf_counter() - start
print(json.dumps(960 / seconds))
"""


def backend_comparison() -> dict:
    """Lesson 02 in the fast profile, and VGG16's forward pass at the fast profile's size, on
    TensorFlow and on JAX as each ships (same machine, one after the other). Also JAX at 32 px,
    where block 5's maps are smaller than its kernels, with and without `tl_kit.xla_cpu`'s flag:
    the slow path that made the fast profile move to 48 px."""
    import tempfile

    from tl_kit.profiles import PROFILES

    size = PROFILES["fast"].image_size

    def forward(backend: str, px: int, **env: str) -> float:
        done = subprocess.run([sys.executable, "-c", BACKEND_SCRIPT, str(px)], capture_output=True, text=True,
                              cwd=ROOT, env={**os.environ, "KERAS_BACKEND": backend, **env}, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    out: dict = {"image_size": size}
    for backend in ("tensorflow", "jax"):
        out[backend] = {"vgg16_images_per_s": forward(backend, size)}
        before = os.environ.get("KERAS_BACKEND")
        os.environ["KERAS_BACKEND"] = backend  # the kernel nbclient starts inherits it
        try:
            with tempfile.TemporaryDirectory() as runs:
                print(f"lesson 02, fast profile, {backend} …", flush=True)
                out[backend]["lesson02_seconds"] = run_notebook(ROOT / "notebooks" / "02_feature_extraction.ipynb",
                                                                "fast", Path(runs))
        finally:
            os.environ.pop("KERAS_BACKEND") if before is None else os.environ.__setitem__("KERAS_BACKEND", before)
    out["jax"]["vgg16_32px_images_per_s"] = forward("jax", 32, TL_KIT_XLA_CPU_FIX="0")
    out["jax"]["vgg16_32px_images_per_s_with_xla_cpu_fix"] = forward("jax", 32, TL_KIT_XLA_CPU_FIX="1")
    return {"backends": out,
            "jax_over_tf_lesson02": out["jax"]["lesson02_seconds"] / out["tensorflow"]["lesson02_seconds"],
            "jax_over_tf_vgg16_forward": out["tensorflow"]["vgg16_images_per_s"] / out["jax"]["vgg16_images_per_s"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and repeats (a smoke run)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["notebooks", "make-test", "prefix", "vgg"],
                        help="parts to leave out")
    parser.add_argument("--only-lessons", nargs="*", metavar="PROFILE", choices=["fast", "cpu"],
                        help="run only the lessons in these profiles (their times, and lessons 02 and 03's "
                             "experiments in cpu), merged into the existing results.json")
    parser.add_argument("--notebooks", nargs="*", default=None, metavar="NAME",
                        help="with --only-lessons: only these notebooks (e.g. 03_fine_tuning.ipynb)")
    parser.add_argument("--only-bf16", action="store_true", help="only compare mixed_bfloat16 with float32 "
                        "(benchmarks/bf16.py), merged into the existing results.json")
    parser.add_argument("--only-make-test", action="store_true", help="time only a warm `make test`, merged into "
                                                                      "the existing results.json")
    parser.add_argument("--only-probe", action="store_true", help="only time the linear probe with all BLAS threads "
                                                                  "and with one, merged into results.json")
    parser.add_argument("--only-backends", action="store_true", help="only compare TensorFlow and JAX (lesson 02, "
                                                                     "VGG16 forward), merged into results.json")
    args = parser.parse_args()

    import keras

    import tl_kit
    from tl_kit.profiles import PROFILES

    tl_kit.start(quiet=True)  # seeds, and TensorFlow's retracing warnings off

    cpu = PROFILES["cpu"] if not args.quick else PROFILES["fast"]
    out = Path(__file__).resolve().parent
    if args.only_backends:
        res = json.loads((out / "results.json").read_text())
        res.update(backend_comparison())
        print(write_results(res, out))
        return 0
    if args.only_probe:
        res = json.loads((out / "results.json").read_text())
        res["probe_threads"] = probe_threads(cpu)
        print(write_results(res, out))
        return 0
    if args.only_bf16:
        import bf16

        res = json.loads((out / "results.json").read_text())
        res.update(bf16.compare())
        print(write_results(res, out))
        bf16.write_readme(res)
        return 0
    if args.only_make_test:
        res = json.loads((out / "results.json").read_text())
        res["machine"] = machine()  # the same machine measures the rest
        res.update(time_make_test())
        print(write_results(res, out))
        return 0
    if args.only_lessons is not None:
        res = json.loads((out / "results.json").read_text())
        res["machine"], res["date"] = machine(), time.strftime("%Y-%m-%d")  # the same machine measures the rest
        measured = run_lessons(args.only_lessons or ["fast", "cpu"], args.notebooks)
        for key, value in measured.items():  # merge per notebook, so one lesson's run keeps the others' times
            merge = key.endswith("_lesson_seconds") or key in ("cpu_seeds", "at_image_size")
            res[key] = {**res.get(key, {}), **value} if merge else value
        print(write_results(res, out))
        return 0
    res: dict = {"machine": machine(),
                 "python": platform.python_version(), "keras": keras.__version__, "backend": keras.backend.backend(),
                 "date": time.strftime("%Y-%m-%d")}
    print("measuring matmul peak …", flush=True)
    res["matmul_gflops"] = matmul_peak(2048 if args.quick else 4096)
    if "vgg" not in args.skip:
        res["vgg16"] = {}
        for size in (32, 64, 96, 224):
            count = (64 if size < 224 else 16) if args.quick else (256 if size < 224 else 48)
            print(f"VGG16 forward at {size} px …", flush=True)
            ips, gflop = vgg16_throughput(size, count)
            res["vgg16"][str(size)] = {"images_per_s": ips, "gflop_per_image": gflop,
                                       "fraction_of_peak": ips * gflop / res["matmul_gflops"]}
        res["vgg16_224_fraction_of_peak"] = res["vgg16"]["224"]["fraction_of_peak"]
    print("feature extraction versus bare predict …", flush=True)
    res["extraction"] = extract_vs_predict(cpu)
    res["extract_vs_predict"] = res["extraction"]["ratio"]
    print("linear probe, all BLAS threads versus one …", flush=True)
    res["probe_threads"] = probe_threads(cpu)
    if "prefix" not in args.skip:
        print("fine-tuning per epoch, naive versus cached prefix …", flush=True)
        res["prefix"] = prefix_speedups(cpu, epochs=2 if args.quick else 3)
        res["prefix_speedup_block5"] = res["prefix"]["fine_tune_last_block"]["speedup"]
        res["prefix_accuracy_delta_block5"] = res["prefix"]["fine_tune_last_block"]["accuracy_delta_points"]
    if "notebooks" not in args.skip:
        res.update(run_lessons(["fast"] if args.quick else ["fast", "cpu"]))
    if "notebooks" not in args.skip and not args.quick:
        res.update(backend_comparison())
    if "make-test" not in args.skip and not args.quick:
        res.update(time_make_test())

    print(write_results(res, out))
    return 0


def run_lessons(profiles: list[str], notebooks: list[str] | None = None) -> dict:
    """Every lesson, whole, in each profile: wall times (also into tl_kit/lesson_times.json), and
    in the cpu profile the experiments lessons 02 and 03 saved in their run folders.

    With TL_KIT_IMAGE_SIZE set, the same runs are a measurement at that size: they go under
    `at_image_size` ("cpu 96 px") and leave the lessons' recorded times alone.
    """
    import tempfile

    from tl_kit.info import measure_vgg16_speed
    from tl_kit.lessons import LESSONS, record_times, write_header_times
    from tl_kit import config
    from tl_kit.profiles import PROFILES

    size = config.image_size()
    res: dict = {}
    for profile in profiles:
        key = f"{profile}_lesson_seconds"
        seconds = res[key] = {}
        with tempfile.TemporaryDirectory() as runs:
            for lesson in LESSONS:
                if notebooks and lesson.notebook not in notebooks:
                    continue
                print(f"notebook {lesson.notebook} in the {profile} profile, empty cache …", flush=True)
                with tempfile.TemporaryDirectory() as cache:
                    seconds[lesson.notebook] = run_notebook(ROOT / "notebooks" / lesson.notebook, profile, Path(runs),
                                                            Path(cache))
            found = experiment_results(lesson_reports(Path(runs))) if profile == "cpu" else {}
        if size:  # a measurement at another resolution: kept apart, the lessons' own times stay as they are
            res.pop(key)
            res.setdefault("at_image_size", {})[f"{profile} {size} px"] = {"lesson_seconds": seconds, **found}
            continue
        res.update(found)
        speed = measure_vgg16_speed(PROFILES[profile].image_size)
        record_times(profile, seconds, speed)
        if profile == "cpu":
            print("lesson headers rewritten:", write_header_times() or "none changed", flush=True)
        res[f"{profile}_vgg16_images_per_s"] = {"image_size": PROFILES[profile].image_size, "images_per_s": speed}
        if profile == "fast" and not notebooks:
            res["fast_suite_seconds"] = sum(seconds.values())
    return res


README_START, README_END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


def write_results(res: dict, out: Path) -> str:
    """Write results.json and results.md, and put the same table into docs/benchmarks.md between its
    markers, so the page never shows numbers from another run. Returns the table."""
    from tl_kit.lessons import read_times

    times = read_times()  # the gpu column is written by scripts/gpu_check.sh on a GPU machine
    device = times.get("devices", {}).get("gpu", "one NVIDIA H100, Keras on JAX")
    res["gpu_lesson_seconds"] = {"device": f"{device} (tl_kit/lesson_times.json)",
                                 "seconds": {nb: t.get("gpu") for nb, t in times["seconds"].items()}}
    (out / "results.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    table = render(res)
    (out / "results.md").write_text(table)
    readme = ROOT / "docs" / "benchmarks.md"
    text = readme.read_text()
    if README_START in text and README_END in text:
        head, rest = text.split(README_START, 1)
        body = table.split("\n", 2)[2].strip()  # without the "# tl-kit benchmarks" title
        readme.write_text(f"{head}{README_START}\n{body}\n{README_END}{rest.split(README_END, 1)[1]}")
    return table


def render(res: dict) -> str:
    rows = [f"# tl-kit benchmarks\n\n{res['date']} · {res['machine']} · Python {res['python']} · "
            f"Keras {res['keras']} ({res['backend']})\n", "| measure | value | target |", "|---|---|---|",
            f"| float32 matmul peak (Keras backend) | {res['matmul_gflops']:.0f} GFLOP/s | |"]
    for size, v in res.get("vgg16", {}).items():
        target = "≥ 70% of peak" if size == "224" else ""
        rows.append(f"| VGG16 forward at {size} px | {v['images_per_s']:.1f} images/s = {v['fraction_of_peak']:.0%} of "
                    f"peak ({v['gflop_per_image']:.2f} GFLOP/image) | {target} |")
    e = res["extraction"]
    rows.append(f"| feature extraction, kit / bare predict ({e['images']} images) | {e['ratio']:.2f}× "
                f"({e['kit_images_per_s']:.0f} vs {e['predict_images_per_s']:.0f} images/s) | ≥ 0.9× |")
    for case, p in res.get("probe_threads", {}).items():
        rows.append(f"| linear probe ({case}), all BLAS threads → one | {p['all_threads_s']:.2f} → {p['one_thread_s']:.2f} s "
                    f"= {p['speedup']:.1f}× (validation {p['all_threads_val']:.1%} vs {p['one_thread_val']:.1%}) | |")
    from tl_kit import PRESETS

    for preset, p in res.get("prefix", {}).items():
        target = "≥ 3×" if preset == "fine_tune_last_block" else ""
        rows.append(f"| {PRESETS[preset].label}: s/epoch naive → cached prefix | {p['naive_s_per_epoch']:.1f} → "
                    f"{p['cached_s_per_epoch']:.1f} s = {p['speedup']:.1f}× (test acc {p['naive_test_accuracy']:.1%} vs "
                    f"{p['cached_test_accuracy']:.1%}, Δ {p['accuracy_delta_points']:+.1f} points) | {target} |")
    for key, label, target in (("fast_lesson_seconds", "fast", ""), ("cpu_lesson_seconds", "cpu", "≤ 10 min each")):
        for nb, s in res.get(key, {}).items():
            rows.append(f"| {nb}, {label} profile | {s / 60:.1f} min | {target} |")
    if "fast_suite_seconds" in res:
        rows.append(f"| all notebooks, fast profile | {res['fast_suite_seconds'] / 60:.1f} min | ≤ 5 min |")
    if "jax_over_tf_lesson02" in res and "image_size" in res["backends"]:
        b, px = res["backends"], res["backends"]["image_size"]
        rows.append(f"| lesson 02, fast profile ({px} px), JAX / TensorFlow | {res['jax_over_tf_lesson02']:.2f}× "
                    f"({b['jax']['lesson02_seconds']:.0f} vs {b['tensorflow']['lesson02_seconds']:.0f} s) | ≤ 1.3× |")
        rows.append(f"| VGG16 forward at {px} px, compiled, JAX / TensorFlow time | {res['jax_over_tf_vgg16_forward']:.2f}× "
                    f"({b['jax']['vgg16_images_per_s']:.0f} vs {b['tensorflow']['vgg16_images_per_s']:.0f} images/s) | |")
        rows.append(f"| VGG16 forward at 32 px (block 5 on 2×2 maps), JAX as shipped → with TL_KIT_XLA_CPU_FIX=1 | "
                    f"{b['jax']['vgg16_32px_images_per_s']:.0f} → {b['jax']['vgg16_32px_images_per_s_with_xla_cpu_fix']:.0f}"
                    " images/s | |")
    if "gpu_lesson_seconds" in res:
        gpu = res["gpu_lesson_seconds"]["seconds"]
        timed = [t for t in gpu.values() if t is not None]
        rows.append("| lessons in the gpu profile on a GPU (scripts/gpu_check.sh) | "
                    + ", ".join(f"{nb.split('_')[0]}: {'not timed' if t is None else f'{t} s'}" for nb, t in gpu.items())
                    + (f" ({sum(timed) / 60:.1f} min timed)" if timed else "")
                    + f"; {res['gpu_lesson_seconds']['device']} | all, ≤ 10 min |")
    if "bf16_forward_speedup" in res:
        b = res["bf16"]
        low, mean, high = b["accuracy_delta_interval"]
        rows.append(f"| mixed_bfloat16 / float32, VGG16 forward at {b['image_size_speed']} px | "
                    f"{res['bf16_forward_speedup']:.2f}× | |")
        rows.append(f"| mixed_bfloat16 / float32, block-5 fine-tuning step at {b['image_size_speed']} px | "
                    f"{res['bf16_train_speedup']:.2f}× | |")
        rows.append(f"| lesson 03 block-5 fine-tune (emoji, cpu, {b['seeds']} seeds, {b['epochs']} epochs each): "
                    f"mixed_bfloat16 − float32 | {mean:+.1f} points (95% interval {low:+.1f} to {high:+.1f}) | |")
    if "make_test_warm_seconds" in res:
        rows.append(f"| make test, warm ({'passed' if res['make_test_passed'] else 'FAILED'}) | "
                    f"{res['make_test_warm_seconds'] / 60:.1f} min ({res['make_test_warm_seconds']:.0f} s) | ≤ 15 min |")
        for target, seconds in res.get("make_test_parts_seconds", {}).items():
            rows.append(f"| make {target}: its tests' seconds, two lanes side by side | {seconds / 60:.1f} min | |")
        if "make_test_core_warm_seconds" in res:
            rows.append(f"| make test without the hub and grading tests and lesson 05 (the core, run alone; "
                        f"{'passed' if res.get('make_test_core_passed') else 'FAILED'}) | "
                        f"{res['make_test_core_warm_seconds'] / 60:.1f} min ({res['make_test_core_warm_seconds']:.0f} s) | "
                        f"≤ 8 min (480 s) |")
    def interval(points: list[float]) -> str:
        low, mean, high = points
        return f"{mean:+.1f} points (95% interval {low:+.1f} to {high:+.1f})"

    seeds = res.get("cpu_seeds", {})
    names = {"vs_random": "random VGG16 features", "vs_pixels": "raw pixels", "vs_small_cnn": "a small CNN"}
    for data, gains in res.get("transfer_gain_points", {}).items():
        for key, points in gains.items():
            rows.append(f"| lesson 02 (cpu, {seeds.get('lesson02')} seeds, 10 labels/class), {data}: pretrained probe "
                        f"− {names[key]} | {interval(points)} | report |")
    for key, points in res.get("gain_difference_emoji_minus_fashion_points", {}).items():
        rows.append(f"| lesson 02: gain over {names[key]} on emoji − the same gain on Fashion-MNIST (Welch) | "
                    f"{interval(points)} | report |")
    if "cpu_vgg16_images_per_s" in res:
        v = res["cpu_vgg16_images_per_s"]
        rows.append(f"| VGG16 forward at {v['image_size']} px when the cpu lessons were timed | "
                    f"{v['images_per_s']:.0f} images/s | |")
    if "lesson03_cut" in res:
        rows.append(f"| lesson 03 (cpu): the cut chosen on validation | {res['lesson03_cut']} (validation "
                    + ", ".join(f"{b}: {v:.1%}" for b, v in res["lesson03_cut_choice"]["val"].items())
                    + f"); learning rate {res['lesson03_learning_rate']:g} | |")
        rows.append(f"| lesson 03 (cpu, {seeds.get('lesson03')} seeds): the best strategy on validation | "
                    f"{res['lesson03_best_strategy']}: balanced test {res['lesson03_best_test']:.1%} | |")
        rows.append(f"| lesson 03: best strategy − the linear probe on the same cut ({res['lesson03_probe_test']:.1%}) | "
                    f"{interval(res['lesson03_best_minus_probe_points'])} | report |")
    if "finetune_vs_extraction_points" in res:
        rows.append(f"| lesson 03 (cpu, {seeds.get('lesson03')} seeds): fine-tune the last block − feature extraction, "
                    f"both at the chosen cut | {interval(res['finetune_vs_extraction_points'])} | report |")
    for name, row in res.get("lesson03_strategies", {}).items():
        rows.append(f"| lesson 03 (cpu): {name} | balanced test {np.mean(row['test']):.1%}, "
                    f"{np.median(row['seconds_per_epoch']):.2f} s/epoch, {min(row['epochs'])}–{max(row['epochs'])} "
                    f"epochs | |")
    if "strategy_budget_equal" in res:
        rows.append(f"| lesson 03: every strategy trained until early stopping fired (the same stopping rule) | "
                    f"{res['strategy_budget_equal']} | true |")
    for data, by_source in res.get("backbone_probe_test", {}).items():
        sizes = res["backbone_sizes"]
        for source, score in by_source.items():
            layer = res["backbone_layers"][data][source]
            rows.append(f"| lesson 03b (cpu, {seeds.get('lesson03b')} seeds, 10 labels/class), {data}: linear probe on "
                        f"{source} ({layer}, {sizes['vgg16' if source.startswith('VGG16') else 'efficientnet_lite0']} px) | "
                        f"balanced test {score:.1%} | |")
        for source, points in res["backbone_vs_imagenet_points"][data].items():
            rows.append(f"| lesson 03b, {data}: EfficientNet-Lite0 (ImageNet) − {source} | {interval(points)} | report |")
    if "bn_trap_points" in res:
        shift = res["bn_trap_statistics_shift"]
        rows.append(f"| lesson 03b (cpu, {seeds.get('lesson03b')} seeds): fine-tuning EfficientNet-Lite0 on emoji, "
                    f"BN in inference mode − training mode | {interval(res['bn_trap_points'])} (stored means moved "
                    f"{np.mean(shift['inference']):.3f} vs {np.mean(shift['training']):.3f} sd) | report |")
    for where, m in res.get("at_image_size", {}).items():
        for nb, s in m["lesson_seconds"].items():
            rows.append(f"| {nb}, {where} (TL_KIT_IMAGE_SIZE) | {s / 60:.1f} min | ≤ 10 min to become the default |")
        if "finetune_vs_extraction_points" in m:
            rows.append(f"| lesson 03 at {where}: fine-tune block 5 − feature extraction | "
                        f"{interval(m['finetune_vs_extraction_points'])} | report |")
        for name, row in m.get("lesson03_strategies", {}).items():
            rows.append(f"| lesson 03 at {where}: {name} | balanced test {np.mean(row['test']):.1%}, "
                        f"{np.median(row['seconds_per_epoch']):.2f} s/epoch | |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.exit(main())
