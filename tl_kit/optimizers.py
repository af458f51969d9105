"""A learning rate per part of the model: the new head faster than the pretrained base.

Fine-tuning often gives the new, randomly initialised head a larger learning rate than the
pretrained layers it sits on (d2l's fine-tuning chapter uses 10×): the head has everything to
learn, the base should only be nudged. Keras has no built-in for this (keras-team/keras
#21741), and scaling gradients does not work with Adam (its steps do not depend on the
gradient's scale). `LayerwiseAdam` scales the learning rate itself, per variable, inside
Adam's own update step, which every Keras backend calls for each variable; it is saved with
the model and loads again in safe mode.

    >>> opt = LayerwiseAdam(1e-5, multipliers={"dense/kernel": 10.0})
    >>> opt.get_config()["multipliers"]
    {'dense/kernel': 10.0}
"""

from __future__ import annotations

import keras

from .errors import TrainingError


@keras.saving.register_keras_serializable(package="tl_kit")
class LayerwiseAdam(keras.optimizers.Adam):
    """Adam whose learning rate is multiplied by `multipliers[variable.path]` for the variables
    named there (1 for every other variable)."""

    def __init__(self, learning_rate: float = 1e-3, multipliers: dict[str, float] | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.multipliers = {str(path): float(factor) for path, factor in (multipliers or {}).items()}
        bad = {path: factor for path, factor in self.multipliers.items() if not factor > 0}
        if bad:
            raise TrainingError(f"Learning-rate multipliers must be positive; got {bad}.")
        self._factors: list[float] = []

    def build(self, variables) -> None:
        super().build(variables)
        # in the order of Adam's own slots, so update_step finds a variable's factor by its index
        self._factors = [self.multipliers.get(v.path, 1.0) for v in variables]

    def update_step(self, gradient, variable, learning_rate) -> None:
        factor = self._factors[self._get_variable_index(variable)]
        super().update_step(gradient, variable, learning_rate if factor == 1.0 else learning_rate * factor)

    def get_config(self) -> dict:
        return {**super().get_config(), "multipliers": dict(self.multipliers)}
