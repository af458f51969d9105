"""Profiles: one setting that sizes every lesson for the machine it runs on.

Every notebook reads its image size, images per class and split, epochs and batch size from
`get_profile()`, so the same lesson runs in a minute under the test suite (`fast`), in under
ten minutes on a 2-core laptop (`cpu`) and at VGG16's native 224×224 on a GPU (`gpu`).

The profile is chosen automatically (a visible GPU → `gpu`, else `cpu`); the environment
variable `TL_KIT_PROFILE` overrides it, and `TL_KIT_IMAGE_SIZE` changes only its image size:

    >>> import os; os.environ["TL_KIT_PROFILE"] = "fast"
    >>> get_profile().image_size
    48
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import config
from .errors import ProfileError
from .i18n import N_, _

ENV_VAR = config.SETTINGS["profile"].env


@dataclass(frozen=True)
class Profile:
    """How big one run of the lessons is.

    Counts are images per class; `None` means every shipped image of that split. `head_epochs`
    and `fine_tune_epochs` are maxima: training stops earlier when validation loss has not
    improved for `patience` epochs (small enough that early stopping can really fire).
    `scratch_patience` is the same for models trained from scratch (the small CNN), whose
    validation loss wanders more before it settles. `precision` is the Keras dtype policy that
    `tl_kit.start()` sets: "float32", or "mixed_bfloat16" (bfloat16 arithmetic, float32 weights),
    which `make bench` measured about 2× faster on a CPU with AVX-512 BF16 at the same accuracy.
    `description` is in English, marked for the kit's catalog: `_(profile.description)`
    (`tl_kit.i18n`) gives it in the lesson's language.
    """

    name: str
    description: str
    image_size: int
    train_per_class: int | None
    val_per_class: int | None
    test_per_class: int | None
    batch_size: int
    head_epochs: int
    fine_tune_epochs: int
    label_counts: tuple[int, ...]
    seeds: int
    patience: int
    scratch_patience: int
    precision: str = "float32"
    reason: str = ""

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """The (height, width, channels) every model of the lessons is built for."""
        return (self.image_size, self.image_size, 3)


PROFILES: dict[str, Profile] = {
    "fast": Profile(
        name="fast",
        # TRANSLATORS: what the profile is for, after its name in lesson 00's table of profiles.
        description=N_("tests and a first look: tiny images, a few per class (minutes for all lessons)"),
        # 48, not VGG16's minimum of 32: at 32 px block 5 sees 2×2 maps, smaller than its 3×3 kernels,
        # and XLA on the CPU (the JAX backend) swaps such a convolution's operands onto a path about
        # 50× slower (tl_kit/xla_cpu.py); at 48 px block 5 sees 3×3 maps and both backends run fast.
        image_size=48, train_per_class=10, val_per_class=5, test_per_class=10,
        batch_size=32, head_epochs=5, fine_tune_epochs=3,
        label_counts=(2, 5, 10), seeds=2, patience=1, scratch_patience=3,
    ),
    "cpu": Profile(
        name="cpu",
        # TRANSLATORS: what the profile is for, after its name in lesson 00's table of profiles.
        description=N_("a 2-core laptop: 64×64 images, 100 per class (each lesson under ~10 minutes)"),
        image_size=64, train_per_class=100, val_per_class=30, test_per_class=100,
        batch_size=32, head_epochs=15, fine_tune_epochs=15,
        label_counts=(5, 10, 20, 50, 100), seeds=5, patience=2, scratch_patience=10,
    ),
    "gpu": Profile(
        name="gpu",
        # TRANSLATORS: what the profile is for, after its name in lesson 00's table of profiles.
        description=N_("a GPU: VGG16's native 224×224 and every shipped image"),
        image_size=224, train_per_class=None, val_per_class=None, test_per_class=None,
        batch_size=64, head_epochs=20, fine_tune_epochs=30,
        label_counts=(5, 10, 20, 50, 300), seeds=5, patience=5, scratch_patience=10,
    ),
}


def gpu_available() -> bool:
    """True when the active Keras backend sees a GPU.

    Asks the backend itself (TensorFlow or JAX), because a GPU that one framework
    sees may be invisible to another (TensorFlow has no GPU build on some platforms).
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    return False


def get_profile(name: str | None = None) -> Profile:
    """Return the profile to use: `name`, else $TL_KIT_PROFILE, else `gpu` or `cpu` by hardware.

    >>> get_profile("cpu").image_size
    64

    Raises ProfileError, listing the valid names, for an unknown name.
    """
    env_value = config.profile_name()
    if name is not None:
        chosen, reason = name.strip().lower(), _("chosen in code")
    elif env_value:
        chosen, reason = env_value, _("chosen by {setting}").format(setting=f"{ENV_VAR}={env_value}")
    else:
        gpu = gpu_available()
        chosen = "gpu" if gpu else "cpu"
        reason = _("chosen automatically: a GPU is visible") if gpu else _("chosen automatically: no GPU is visible")
    if chosen not in PROFILES:
        source = f"{ENV_VAR}={chosen!r}" if name is None else repr(chosen)
        raise ProfileError(
            f"Unknown profile {source}. Valid profiles: {', '.join(PROFILES)}. "
            f"Set {ENV_VAR} to one of them, or unset it to choose by hardware."
        )
    profile = _with_image_size(replace(PROFILES[chosen], reason=reason), config.image_size())
    return _with_precision(profile, config.precision())


SIZE_ENV = config.SETTINGS["image_size"].env
MIN_SIZE, MAX_SIZE = 32, 512  # VGG16 without its top needs 32 px; beyond 512 a CPU lesson takes hours


def _with_image_size(profile: Profile, asked: str | None) -> Profile:
    """The profile at the image size TL_KIT_IMAGE_SIZE asks for (every other field unchanged).

    One number changes the cost of every lesson (VGG16's work grows with its square), so a
    teacher can measure a lesson at another resolution, or use a faster machine's time for
    larger images, without a new profile. The reason line says that the size was changed.
    """
    if asked is None:
        return profile
    try:
        size = int(asked)
    except ValueError:
        size = None
    if size is None or not MIN_SIZE <= size <= MAX_SIZE:
        raise ProfileError(f"{SIZE_ENV}={asked!r} is not an image size: give a whole number of pixels from "
                           f"{MIN_SIZE} to {MAX_SIZE} (e.g. 96), or unset it to use the {profile.name} profile's "
                           f"{profile.image_size}.")
    if size == profile.image_size:
        return profile
    return replace(profile, image_size=size,
                   reason=profile.reason + _("; images at {size} px by {setting} (the profile's own: {own})").format(
                       size=size, setting=SIZE_ENV, own=profile.image_size))


PRECISION_ENV = config.SETTINGS["precision"].env
PRECISIONS = ("float32", "mixed_bfloat16")


def _with_precision(profile: Profile, asked: str | None) -> Profile:
    """The profile with the precision TL_KIT_PRECISION asks for (every other field unchanged)."""
    if asked is None or asked == profile.precision:
        return profile
    if asked not in PRECISIONS:
        raise ProfileError(f"{PRECISION_ENV}={asked!r} is not a precision the kit offers: give one of "
                           f"{', '.join(PRECISIONS)}, or unset it for the profile's {profile.precision}.")
    return replace(profile, precision=asked, reason=profile.reason + _("; {precision} by {setting}").format(
        precision=asked, setting=PRECISION_ENV))
