"""tl-kit: the helper package behind the transfer-learning lessons in notebooks/.

The lessons keep the code they teach (the conv loop, the freezing, the head) in the notebook;
this package holds the plumbing: profiles, data, weights, plots, widgets, caches. Every name a
lesson uses can be imported from here, so a lesson has one import line:

    >>> import tl_kit
    >>> profile = tl_kit.start()                                   # doctest: +SKIP
    >>> from tl_kit import TransferModel, FINE_TUNE_LAST_BLOCK        # doctest: +SKIP

Names are imported from their modules on first use (the table below), so `import tl_kit` stays
quick and does not load Keras or ipywidgets before a lesson needs them.
"""

from __future__ import annotations

import importlib
import os as _os

# Quiet TensorFlow's C++ start-up chatter for students; must happen before TensorFlow loads.
# (oneDNN stays on: turning it off costs VGG16 about a third of its CPU speed.)
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Before JAX compiles anything: with TL_KIT_XLA_CPU_FIX=1, keep XLA off a slow CPU path (tl_kit/xla_cpu.py).
from . import xla_cpu as _xla_cpu  # noqa: E402

_xla_cpu.apply()

# Before JAX compiles anything: keep compiled programs on disk, so a lesson run again skips them (tl_kit/compile_cache.py).
from . import compile_cache as _compile_cache  # noqa: E402

_compile_cache.apply()

__version__ = "0.1.0"

#: module → the public names the lessons use from it.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "augment": ("augmentation_for", "light_augmentation", "rendering_augmentation"),
    "callbacks": ("LiveCurves", "early_stopping"),
    "checks": ("check_channel_weights", "check_conv2d", "check_max_pool", "check_number", "check_output_size", "check_softmax"),
    "config": ("markdown_table",),
    "checkup": ("Checkup", "check_run"),
    "cuts": ("CutChoice", "choose_cut"),
    "conv": ("KERNELS", "conv2d", "conv_param_count", "conv_view", "cross_entropy", "dense_param_count",
             "output_size", "pool2d", "softmax"),
    "data": ("Dataset", "SHIPPED", "SPLITS", "load_dataset", "load_image_folder", "take_per_class"),
    "datacheck": ("check_folder", "make_demo_folder"),
    "errors": ("DataError", "DataWarning", "FreezeError", "GradingError", "ImageError", "LayerError", "ModelFileError", "NotebookError",
               "OptionError", "ProfileError", "ShapeError", "StaleCompileError", "TLKitError", "TrainingError",
               "WeightsError"),
    "batchnorm": ("batchnorm_layers", "moving_statistics", "set_batchnorm_mode", "statistics_shift"),
    "experiments": ("BLOCKS", "Comparison", "FeatureSource", "StrategyTable", "block_features", "compare_sources",
                    "contrast_gains", "layer_features", "run_comparison", "train_small_cnn"),
    "features": ("extract_features",),
    "imagenet": ("class_names", "decode"),
    "export": ("CLASSIFIER_FILE", "export_classifier", "load_classifier", "predict_files", "write_usage"),
    "info": ("check_environment", "estimate_lessons", "measure_speed", "measure_vgg16_speed", "precision_advice"),
    "inside": ("GradCAM", "background_mask", "favourites_in_common", "favourites_sentence", "gradcam", "channel_weights",
               "heat_place", "layer_weights", "split_at", "top_images", "weight_change"),
    "lessons": ("LESSONS", "reference_images_per_s"),
    "freezing": ("FEATURE_EXTRACTION", "FINE_TUNE_LAST_BLOCK", "FINE_TUNE_LAST_TWO_BLOCKS", "PRESETS", "Preset",
                 "TRAIN_ALL", "base_blocks", "layer_flops", "summarize"),
    "models": ("build_head", "small_cnn"),
    "notebook": ("show_code", "show_figure", "start"),
    "plots": ("plot_block_shares", "plot_by_layer", "plot_confused", "plot_confusion", "plot_examples",
              "plot_feature_maps", "plot_filters", "plot_activations", "plot_comparison", "plot_history", "plot_kernel_learning", "plot_label_efficiency",
              "plot_gradcam", "plot_hardest", "plot_network", "plot_predictions", "plot_projection", "plot_top_classes", "plot_top_images",
              "plot_weight_change"),
    "pretrained": ("BACKBONES", "load_pretrained"),
    "preprocessing": ("VGG16_MEAN_BGR", "centre_square", "model_input", "preprocess",
                      "takes_raw_pixels"),
    "profiles": ("PROFILES", "Profile", "get_profile", "gpu_available"),
    "probe": ("balanced_score", "linear_probe"),
    "reporting": ("Interval", "balanced_step", "caveat_for_test_set", "difference_sentence", "gain_contrast_sentence", "paired_interval",
                  "transfer_verdict", "unpaired_interval"),
    "runs": ("BestModelCheckpoint", "latest_run", "load_model", "new_run", "read_report", "write_report"),
    "training": ("Result", "ResultsTable", "batch_predict", "class_weights", "compile_for_reuse", "fit_and_score", "repeat_for_steps",
                 "restart_optimizer", "score", "trainable_params"),
    "optimizers": ("LayerwiseAdam",),
    "transfer": ("TransferModel", "suffix_model"),
    "uploads": ("classify_bytes",),
    "weights": ("WeightsSource", "load_vgg16", "resolve_weights"),
    "widgets": ("ConvExplorer", "FreezeWidget", "UploadClassifier"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name in _EXPORTS:  # a module, e.g. tl_kit.config
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'tl_kit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
