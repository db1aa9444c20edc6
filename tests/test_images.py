"""Tests for cvviz.data.images: hostile, damaged and unusual images are refused or normalised to 8-bit RGB."""

from __future__ import annotations

import io
import os
import re
import struct
import time
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from cvviz.data.images import LoadedImage, load_image, load_sample, sample_images
from cvviz.errors import ImageError

NOT_AN_IMAGE = "The file is not an image cvviz can read (JPEG, PNG, WebP, BMP, GIF or TIFF)."
CORRUPT = "The image data is truncated or corrupt."


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    """Encode ``image`` with Pillow into bytes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def craft_png(width: int, height: int, bit_depth: int, colour_type: int, scanlines: bytes) -> bytes:
    """A PNG built by hand, so headers can claim any size and samples can be 16-bit RGB."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(scanlines))
        + png_chunk(b"IEND", b"")
    )


def pixel(loaded: LoadedImage, x: int, y: int) -> tuple[int, int, int]:
    return loaded.image.getpixel((x, y))


def over_white(channel: int, alpha: int) -> float:
    """Expected 8-bit result of compositing ``channel`` with ``alpha`` over white."""
    return channel * alpha / 255 + 255 * (1 - alpha / 255)


def assert_close(actual: tuple[int, ...], expected: tuple[float, ...], tolerance: float) -> None:
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), (actual, expected)


# --- refused input -------------------------------------------------------------------------------------


def test_load_image_refuses_empty_bytes() -> None:
    with pytest.raises(ImageError, match=r"^The image is empty \(0 bytes\)\.$"):
        load_image(b"")


def test_load_image_refuses_random_bytes() -> None:
    noise = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    with pytest.raises(ImageError) as caught:
        load_image(noise)
    assert str(caught.value) == NOT_AN_IMAGE


def test_load_image_refuses_text_file_named_png(tmp_path) -> None:
    fake = tmp_path / "holiday.png"
    fake.write_text("<html><body>This is not a picture.</body></html>\n")
    with pytest.raises(ImageError) as caught:
        load_image(fake)
    assert str(caught.value) == NOT_AN_IMAGE


def test_load_image_refuses_truncated_jpeg() -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    jpeg = encode(Image.fromarray(noise), "JPEG", quality=95)
    with pytest.raises(ImageError) as caught:
        load_image(jpeg[: len(jpeg) // 2])
    assert str(caught.value) == CORRUPT
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # refused by cvviz, not by a changed global setting


def test_load_image_refuses_truncated_png() -> None:
    noise = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    png = encode(Image.fromarray(noise), "PNG")
    with pytest.raises(ImageError) as caught:
        load_image(png[: len(png) // 2])
    assert str(caught.value) == CORRUPT


def test_load_image_refuses_decompression_bomb_quickly() -> None:
    # The header claims 30000×30000 (900 megapixels) while the file is a few dozen bytes.
    bomb = craft_png(30_000, 30_000, 1, 0, b"")
    started = time.perf_counter()
    with pytest.raises(ImageError) as caught:
        load_image(bomb)
    assert time.perf_counter() - started < 1.0
    assert str(caught.value) == "The image has 900 megapixels; cvviz accepts up to 40 megapixels."


def test_load_image_refuses_pixel_count_over_limit_from_header() -> None:
    header_only = craft_png(8000, 6000, 8, 2, b"")  # 48 megapixels: under Pillow's limit, over cvviz's
    with pytest.raises(ImageError) as caught:
        load_image(header_only)
    assert (
        str(caught.value)
        == "The image is 8000×6000 pixels (48 megapixels); cvviz accepts up to 40 megapixels."
    )


def test_load_image_turns_pillow_bomb_warning_into_refusal_without_changing_filters() -> None:
    filters_before = list(warnings.filters)
    header_only = craft_png(10_000, 10_000, 8, 2, b"")  # 100 megapixels: Pillow warns rather than raises
    with pytest.raises(
        ImageError, match=r"^The image has 100 megapixels; cvviz accepts up to 89\.5 megapixels\.$"
    ):
        load_image(header_only, max_pixels=10**9)
    assert warnings.filters == filters_before


def test_load_image_refuses_bytes_over_max_bytes() -> None:
    png = encode(Image.new("RGB", (32, 32), (1, 2, 3)), "PNG")
    with pytest.raises(ImageError) as caught:
        load_image(png, max_bytes=len(png) - 1)
    assert str(caught.value).startswith("The file is ")
    assert "cvviz accepts files up to" in str(caught.value)


def test_load_image_refuses_file_over_max_bytes_without_decoding(tmp_path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * 2_000_001)
    with pytest.raises(ImageError, match=r"^The file is 2 MB; cvviz accepts files up to 1\.5 MB\.$"):
        load_image(big, max_bytes=1_500_000)


def test_load_image_refuses_one_pixel_image() -> None:
    with pytest.raises(ImageError) as caught:
        load_image(encode(Image.new("RGB", (1, 1)), "PNG"))
    assert str(caught.value) == "The image is 1×1 pixels; cvviz needs at least 8 pixels on each side."


def test_load_image_refuses_thin_strip() -> None:
    strip = encode(Image.new("L", (20_000, 20), 100), "PNG")
    with pytest.raises(ImageError) as caught:
        load_image(strip)
    assert str(caught.value) == "The image is 20000×20 pixels; cvviz accepts aspect ratios up to 20:1."


def test_load_image_accepts_aspect_ratio_of_exactly_twenty() -> None:
    loaded = load_image(encode(Image.new("RGB", (8, 160), (9, 8, 7)), "PNG"))
    assert loaded.image.size == (8, 160)


@pytest.mark.parametrize(
    ("description", "payload"),
    [
        ("ICO", encode(Image.new("RGB", (16, 16), (255, 0, 0)), "ICO")),
        ("PPM", encode(Image.new("RGB", (16, 16), (255, 0, 0)), "PPM")),
        ("EPS", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\nnewpath 0 0 moveto showpage\n%%EOF\n"),
        ("PDF", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"),
    ],
)
def test_load_image_refuses_unsupported_format(description: str, payload: bytes) -> None:
    with pytest.raises(ImageError) as caught:
        load_image(payload)
    assert str(caught.value) == NOT_AN_IMAGE, description


def test_load_image_names_missing_file(tmp_path) -> None:
    missing = tmp_path / "no-such-photo.jpg"
    with pytest.raises(ImageError, match=r"no-such-photo\.jpg' does not exist\.$"):
        load_image(missing)


def test_load_image_refuses_folder(tmp_path) -> None:
    with pytest.raises(ImageError, match=r"is not a file\.$"):
        load_image(tmp_path)


def test_load_image_error_messages_are_single_plain_sentences(tmp_path) -> None:
    bad_inputs: list[object] = [
        b"",
        b"GIF89a" + b"\xff" * 40,
        b"<!doctype html><title>x</title>",
        encode(Image.new("RGB", (1, 1)), "PNG"),
        encode(Image.new("L", (400, 8)), "PNG"),
        craft_png(30_000, 30_000, 1, 0, b""),
        craft_png(8000, 6000, 8, 2, b""),
        encode(Image.new("RGB", (64, 64), (5, 5, 5)), "JPEG")[:200],
        tmp_path / "missing.png",
    ]
    for bad in bad_inputs:
        with pytest.raises(ImageError) as caught:
            load_image(bad)
        message = str(caught.value)
        assert "\n" not in message, message
        assert message.endswith("."), message
        assert message[0].isupper(), message
        assert "Traceback" not in message, message
        assert not re.search(r"[A-Za-z]+(Error|Warning|Exception)\b", message), message
        assert "PIL" not in message and "Pillow" not in message, message


# --- modes and formats ---------------------------------------------------------------------------------


def test_load_image_scales_16_bit_grayscale_png_instead_of_clipping() -> None:
    samples = np.zeros((8, 8), dtype=np.uint16)
    samples[0, :4] = [65535, 32896, 0, 1000]
    png = encode(Image.fromarray(samples), "PNG")
    assert Image.open(io.BytesIO(png)).mode == "I;16"  # what Pillow 13 decodes 16-bit gray PNG to

    loaded = load_image(png)

    assert [pixel(loaded, x, 0) for x in range(4)] == [(255, 255, 255), (128, 128, 128), (0, 0, 0), (4, 4, 4)]
    assert "Scaled 16-bit samples to 8-bit." in loaded.notes


def test_load_image_scales_16_bit_big_endian_tiff() -> None:
    samples = np.zeros((8, 8), dtype=">u2")
    samples[0, :3] = [65535, 32896, 1000]
    tiff = encode(Image.frombytes("I;16B", (8, 8), samples.tobytes()), "TIFF")
    assert Image.open(io.BytesIO(tiff)).mode == "I;16B"

    loaded = load_image(tiff)

    assert [pixel(loaded, x, 0) for x in range(3)] == [(255, 255, 255), (128, 128, 128), (4, 4, 4)]
    assert loaded.source_format == "TIFF"


def test_load_image_reduces_16_bit_rgb_png_to_8_bit() -> None:
    first_pixel = struct.pack(">3H", 65535, 32896, 0)
    rows = b"".join(b"\x00" + (first_pixel if y == 0 else b"\0" * 6) + b"\0" * 6 * 7 for y in range(8))
    png = craft_png(8, 8, 16, 2, rows)
    assert Image.open(io.BytesIO(png)).mode == "RGB"  # Pillow 13 keeps the high byte of each sample itself

    loaded = load_image(png)

    assert pixel(loaded, 0, 0) == (255, 128, 0)
    assert "Reduced 16-bit colour samples to 8-bit." in loaded.notes


def test_load_image_scales_float_tiff_in_unit_range() -> None:
    samples = np.zeros((8, 8), dtype=np.float32)
    samples[0, :4] = [1.0, 0.5, -0.25, 2.0 / 255.0]
    loaded = load_image(encode(Image.fromarray(samples, mode="F"), "TIFF"))
    assert [pixel(loaded, x, 0)[0] for x in range(4)] == [255, 128, 0, 2]


def test_load_image_stretches_float_tiff_beyond_unit_range() -> None:
    samples = np.full((8, 8), 10.0, dtype=np.float32)
    samples[0, :3] = [-10.0, 0.0, 30.0]
    loaded = load_image(encode(Image.fromarray(samples, mode="F"), "TIFF"))
    assert [pixel(loaded, x, 0)[0] for x in range(3)] == [0, 64, 255]


def test_load_image_scales_32_bit_integer_tiff_holding_16_bit_values() -> None:
    samples = np.zeros((8, 8), dtype=np.int32)
    samples[0, :2] = [65535, 32896]
    loaded = load_image(encode(Image.fromarray(samples, mode="I"), "TIFF"))
    assert [pixel(loaded, x, 0) for x in range(2)] == [(255, 255, 255), (128, 128, 128)]


def test_load_image_converts_cmyk_jpeg_to_rgb() -> None:
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in ink terms
    loaded = load_image(encode(cmyk, "JPEG", quality=95))
    assert loaded.image.mode == "RGB"
    assert_close(pixel(loaded, 8, 8), (255, 0, 0), tolerance=12)


def test_load_image_composites_palette_transparency_over_white() -> None:
    palette_image = Image.new("P", (8, 8), 0)
    palette_image.putpalette([0, 0, 0, 200, 30, 60] + [0] * 3 * 254)
    for x in range(4):
        for y in range(8):
            palette_image.putpixel((x, y), 1)
    loaded = load_image(encode(palette_image, "PNG", transparency=0))

    assert pixel(loaded, 0, 0) == (200, 30, 60)
    assert pixel(loaded, 7, 7) == (255, 255, 255)  # transparent black becomes white, not black
    assert "Composited transparency over white." in loaded.notes


def test_load_image_composites_rgba_over_white() -> None:
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent, with junk red underneath
    rgba.putpixel((1, 0), (10, 20, 30, 255))
    rgba.putpixel((2, 0), (0, 0, 0, 128))
    rgba.putpixel((3, 0), (200, 100, 0, 128))
    loaded = load_image(encode(rgba, "PNG"))

    assert pixel(loaded, 0, 0) == (255, 255, 255)
    assert pixel(loaded, 1, 0) == (10, 20, 30)
    assert_close(pixel(loaded, 2, 0), (over_white(0, 128),) * 3, tolerance=1)
    assert_close(pixel(loaded, 3, 0), tuple(over_white(c, 128) for c in (200, 100, 0)), tolerance=1)
    assert "Composited transparency over white." in loaded.notes


def test_load_image_composites_gray_alpha_over_white() -> None:
    gray_alpha = Image.new("LA", (8, 8), (0, 128))
    gray_alpha.putpixel((1, 0), (100, 255))
    loaded = load_image(encode(gray_alpha, "PNG"))

    assert_close(pixel(loaded, 0, 0), (over_white(0, 128),) * 3, tolerance=1)
    assert pixel(loaded, 1, 0) == (100, 100, 100)


def test_load_image_leaves_opaque_rgba_without_transparency_note() -> None:
    loaded = load_image(encode(Image.new("RGBA", (8, 8), (1, 2, 3, 255)), "PNG"))
    assert pixel(loaded, 0, 0) == (1, 2, 3)
    assert loaded.notes == ()


def test_load_image_uses_first_frame_of_animated_gif() -> None:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new("RGB", (16, 16), colour) for colour in colours]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    loaded = load_image(gif)

    assert pixel(loaded, 8, 8) == (255, 0, 0)
    assert "Used frame 1 of 3." in loaded.notes
    assert loaded.source_format == "GIF"


def test_load_image_uses_first_frame_of_animated_webp() -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in [(255, 0, 0), (0, 0, 255)]]
    webp = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True, duration=100)

    loaded = load_image(webp)

    assert pixel(loaded, 8, 8) == (255, 0, 0)
    assert "Used frame 1 of 2." in loaded.notes


def test_load_image_uses_first_page_of_multi_page_tiff() -> None:
    pages = [Image.new("RGB", (16, 16), colour) for colour in [(10, 20, 30), (200, 200, 200)]]
    tiff = encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])

    loaded = load_image(tiff)

    assert pixel(loaded, 8, 8) == (10, 20, 30)
    assert "Used frame 1 of 2." in loaded.notes


def test_load_image_uses_first_frame_of_mpo() -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in [(255, 0, 0), (0, 0, 255)]]
    mpo = encode(frames[0], "MPO", save_all=True, append_images=frames[1:], quality=95)

    loaded = load_image(mpo)

    assert loaded.source_format == "MPO"
    assert_close(pixel(loaded, 8, 8), (255, 0, 0), tolerance=12)
    assert "Used frame 1 of 2." in loaded.notes


def test_load_image_applies_exif_orientation() -> None:
    stored = Image.new("RGB", (32, 16), (255, 0, 0))
    stored.paste((0, 0, 255), (16, 0, 32, 16))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    jpeg = encode(stored, "JPEG", quality=95, exif=exif.tobytes())

    loaded = load_image(jpeg)

    assert loaded.original_size == (32, 16)
    assert loaded.image.size == (16, 32)
    assert_close(pixel(loaded, 8, 4), (255, 0, 0), tolerance=12)  # the left edge is now the top
    assert_close(pixel(loaded, 8, 27), (0, 0, 255), tolerance=12)
    assert "Applied EXIF rotation." in loaded.notes


def test_load_image_converts_grayscale_to_rgb() -> None:
    loaded = load_image(encode(Image.new("L", (8, 8), 77), "PNG"))
    assert loaded.image.mode == "RGB"
    assert pixel(loaded, 3, 3) == (77, 77, 77)


def test_load_image_converts_bilevel_to_rgb() -> None:
    bilevel = Image.new("1", (8, 8), 0)
    bilevel.putpixel((0, 0), 1)
    loaded = load_image(encode(bilevel, "BMP"))
    assert pixel(loaded, 0, 0) == (255, 255, 255)
    assert pixel(loaded, 1, 0) == (0, 0, 0)


@pytest.mark.parametrize(
    ("fmt", "params", "expected_format"),
    [
        ("PNG", {}, "PNG"),
        ("WEBP", {"lossless": True}, "WEBP"),
        ("BMP", {}, "BMP"),
        ("TIFF", {}, "TIFF"),
        ("TIFF", {"compression": "tiff_lzw"}, "TIFF"),
    ],
)
def test_load_image_round_trips_lossless_format(
    fmt: str, params: dict[str, object], expected_format: str
) -> None:
    original = Image.fromarray(np.random.default_rng(3).integers(0, 256, (12, 10, 3), dtype=np.uint8))
    loaded = load_image(encode(original, fmt, **params))

    assert loaded.source_format == expected_format
    assert loaded.original_size == (10, 12)
    assert loaded.image.mode == "RGB"
    assert np.array_equal(np.asarray(loaded.image), np.asarray(original))


def test_load_image_reads_jpeg_from_str_and_pathlike(tmp_path) -> None:
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (20, 10), (0, 128, 255)).save(path, quality=95)
    for source in (path, str(path)):
        loaded = load_image(source)
        assert loaded.source_format == "JPEG"
        assert loaded.image.size == (20, 10)
        assert_close(pixel(loaded, 5, 5), (0, 128, 255), tolerance=4)


def test_load_image_returns_independent_loaded_image(tmp_path) -> None:
    path = tmp_path / "photo.png"
    Image.new("RGB", (16, 16), (4, 5, 6)).save(path)
    loaded = load_image(path)
    os.remove(path)

    assert type(loaded.image) is Image.Image  # a plain image, not a file-backed ImageFile
    assert pixel(loaded, 0, 0) == (4, 5, 6)


# --- bundled samples -----------------------------------------------------------------------------------


def test_sample_images_lists_four_decodable_credited_photos() -> None:
    samples = sample_images()

    assert [sample.name for sample in samples] == ["cat", "coffee", "rocket", "astronaut"]
    for sample in samples:
        assert sample.path.is_file(), sample.path
        assert sample.title and sample.credit
        loaded = load_sample(sample.name)
        assert loaded.image.mode == "RGB"
        assert min(loaded.image.size) >= 256
    assert (samples[0].path.parent / "ATTRIBUTION.md").is_file()


def test_sample_images_total_size_is_small() -> None:
    assert sum(sample.path.stat().st_size for sample in sample_images()) < 1_500_000


def test_load_sample_refuses_unknown_name() -> None:
    with pytest.raises(ImageError) as caught:
        load_sample("dog")
    assert (
        str(caught.value)
        == "There is no sample image called 'dog'; choose one of: cat, coffee, rocket, astronaut."
    )
