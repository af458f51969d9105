"""The conv explorer is a view over conv_view: setting its controls from code redraws it."""

import numpy as np
import pytest

from tl_kit.errors import OptionError, ShapeError
from tl_kit.conv import KERNELS, conv_view
from tl_kit.plots import plot_conv_view
from tl_kit.widgets import ConvExplorer


@pytest.fixture
def explorer():
    rng = np.random.default_rng(0)
    return ConvExplorer({"a": rng.random((28, 28)), "b": rng.random((20, 30))})


def test_initial_view_uses_the_preset_kernel(explorer):
    np.testing.assert_array_equal(explorer.kernel, KERNELS["vertical edges (Sobel x)"])
    assert explorer.view.feature_map.shape == (26, 26) and explorer.view.pooled.shape == (13, 13)


def test_setting_controls_from_code_redraws_with_the_new_shapes(explorer):
    before = explorer.redraws
    explorer.stride.value = 2
    assert explorer.redraws == before + 1
    assert explorer.view.feature_map.shape == (13, 13)
    explorer.padding.value = "same"
    assert explorer.view.feature_map.shape == (14, 14)
    explorer.pool.value = "none"
    assert explorer.view.pooled is None and "pool" not in explorer.view.description
    explorer.image.value = "b"
    assert explorer.view.feature_map.shape == (10, 15)
    assert "input 20×30" in explorer.shapes.value


def test_editing_a_kernel_cell_switches_to_custom_and_changes_the_map(explorer):
    old = explorer.view.feature_map.copy()
    explorer.cells[4].value = 5.0
    assert explorer.preset.value == "custom"
    assert explorer.kernel[1, 1] == 5.0
    assert not np.allclose(explorer.view.feature_map, old)
    explorer.preset.value = "blur (box)"
    np.testing.assert_allclose(explorer.kernel, np.round(KERNELS["blur (box)"], 4))


def test_a_bad_combination_shows_a_message_not_a_traceback(explorer):
    explorer.image.value = "b"
    explorer.stride.value = 1
    explorer.pool_size.value = 4
    explorer.cells[0].value = 1.0
    assert explorer.error is None
    tiny = ConvExplorer({"tiny": np.ones((2, 2))})
    assert tiny.view is None and "does not fit" in tiny.error and "⚠" in tiny.shapes.value
    tiny.padding.value = "same"
    assert tiny.error is None and tiny.view.feature_map.shape == (2, 2)


def test_conv_view_validates_its_input():
    with pytest.raises(ShapeError, match="2-D array"):
        conv_view(np.ones((8, 8)), np.ones((3, 3, 3)))
    with pytest.raises(ShapeError, match="grayscale"):
        conv_view(np.ones((8, 8, 3)), np.ones((3, 3)))
    with pytest.raises(OptionError, match="stride"):
        conv_view(np.ones((8, 8)), np.ones((3, 3)), stride=0)
    with pytest.raises(OptionError, match="'max', 'avg' or 'none'"):
        conv_view(np.ones((8, 8)), np.ones((3, 3)), pool="median")
    with pytest.raises(ShapeError):
        ConvExplorer({})


def test_plot_has_one_panel_per_stage():
    fig = plot_conv_view(conv_view(np.ones((8, 8)), KERNELS["identity"]))
    assert len(fig.axes) == 3
    fig = plot_conv_view(conv_view(np.ones((8, 8)), KERNELS["identity"], pool="none"))
    assert len(fig.axes) == 2
