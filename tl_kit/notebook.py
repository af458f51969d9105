"""What the first cell of every lesson does: quiet logs, short errors, a line on what this runs on."""

from __future__ import annotations

from .errors import TLKitError
from .i18n import _, set_language
from .profiles import Profile, get_profile


def short_errors() -> bool:
    """In IPython, show the kit's own errors as one line (their message says what to do).

    Errors from anywhere else keep their full traceback. Returns False outside IPython.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def handler(shell, etype, value, tb, tb_offset=None):
        # IPython ignores what a custom handler returns; _showtraceback is the hook that both the
        # terminal and ipykernel (as an error message to the notebook) implement.
        stb = [f"{etype.__name__}: {value}"]
        shell._showtraceback(etype, value, stb)
        return stb

    shell.set_custom_exc((TLKitError,), handler)
    return True


def runtime_summary() -> str:
    """One line: Python, Keras and its backend (with version), and the device it computes on."""
    import os
    import platform

    import keras

    from .profiles import gpu_available

    backend = keras.backend.backend()
    try:
        backend_version = __import__(backend).__version__
    except (ImportError, AttributeError):
        backend_version = "?"
    device = "GPU" if gpu_available() else _("CPU ({cores} cores)").format(cores=os.cpu_count())
    return (f"Python {platform.python_version()} · Keras {keras.__version__} on {backend} {backend_version}"
            f" · {device}")


def start(seed: int = 0, quiet: bool = False, language: str | None = None) -> Profile:
    """Set up a lesson: seed every random generator, shorten kit errors, print what this runs on.

    `language` is the lesson's ("zh_CN" in `notebooks/zh/`): the kit's sentences, widgets and
    figure labels follow it (`TL_KIT_LANG` overrides it; see `tl_kit.i18n`).

    Returns the active profile (see `tl_kit.profiles`). Call it in the first cell:

    >>> profile = start()   # doctest: +SKIP
    tl-kit · Python 3.11.7 · Keras 3.15.1 on tensorflow 2.21.0 · CPU (2 cores)
    profile fast (chosen by TL_KIT_PROFILE=fast): 48×48 px, per class 10 train / 5 val / 10 test
    """
    import keras

    set_language(language or "en")
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":  # its retracing warnings mean nothing to a student
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    short_errors()
    profile = get_profile()
    keras.config.set_dtype_policy(profile.precision)  # models built after this compute in it
    if not quiet:
        print("tl-kit · " + runtime_summary())
        print(describe_profile(profile))
    return profile


def describe_profile(profile: Profile) -> str:
    """One line on the profile: its name, why it was chosen, image size and images per class."""

    def n(x):
        return _("all") if x is None else str(x)

    precision = "" if profile.precision == "float32" else _(", {precision} (bfloat16 arithmetic)").format(
        precision=profile.precision)
    return _("profile {name} ({reason}): {size}×{size} px, per class {train} train / {val} val / {test} test, "
             "batch {batch}").format(name=profile.name, reason=profile.reason or _("default"), size=profile.image_size,
                                     train=n(profile.train_per_class), val=n(profile.val_per_class),
                                     test=n(profile.test_per_class), batch=profile.batch_size) + precision


def show_code(obj) -> None:
    """Show the source of a kit function or class in the notebook, so the code a lesson is about
    stays in view even when it lives in tl_kit (where the next lesson reuses it)."""
    import inspect

    from IPython.display import Code, display

    display(Code(inspect.getsource(obj), language="python"))


def show_figure(fig) -> None:
    """Show a figure, then its text alternative printed under it (every `plot_*` of the kit
    attaches one as `fig.alt_text`): a screen reader reads it, and every reader gets a caption
    that says what the figure shows. Outside a notebook only the text is printed."""
    import matplotlib.pyplot as plt

    text = getattr(fig, "alt_text", None)
    if not text:
        raise TLKitError("This figure has no text alternative: set fig.alt_text to a sentence that says what it "
                         "shows, then call show_figure(fig) again.")
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(fig)
    plt.close(fig)
    print(_("Figure: {text}").format(text=text))
