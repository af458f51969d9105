import numpy as np
from PIL import Image

from tl_kit.preprocessing import VGG16_MEAN_BGR, ensure_rgb, pil_to_rgb, preprocess


def test_preprocess_is_bgr_minus_imagenet_mean():
    rgb = np.random.default_rng(0).integers(0, 256, (2, 5, 5, 3), dtype=np.uint8)
    out = preprocess(rgb)
    expected = rgb[..., ::-1].astype(np.float32) - np.array(VGG16_MEAN_BGR, np.float32)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-4)
    assert out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]


def test_preprocess_does_not_modify_its_input():
    x = np.full((1, 4, 4, 3), 100.0, np.float32)
    preprocess(x)
    assert (x == 100.0).all()


def test_grayscale_becomes_three_equal_channels():
    gray = np.arange(16, dtype=np.uint8).reshape(1, 4, 4)
    for shaped in (gray, gray[..., None]):
        rgb = ensure_rgb(shaped)
        assert rgb.shape == (1, 4, 4, 3)
        assert (rgb[..., 0] == rgb[..., 2]).all()
    assert preprocess(gray).shape == (1, 4, 4, 3)


def test_transparent_pixels_become_white_and_16_bit_is_scaled():
    rgba = Image.new("RGBA", (2, 2), (255, 0, 0, 0))
    assert pil_to_rgb(rgba).getpixel((0, 0)) == (255, 255, 255)
    deep = Image.fromarray(np.array([[0, 65535]], dtype=np.uint16))
    assert np.asarray(pil_to_rgb(deep))[0, 1].tolist() == [255, 255, 255]

