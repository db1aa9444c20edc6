"""The live camera's library: one frame through a shared model, the newest-frame worker, the drawing."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from cvviz.catalog import get_spec
from cvviz.catalog.schema import Preprocessing
from cvviz.explain.attention import vit_attention
from cvviz.explain.features import extract_features
from cvviz.explain.saliency import attribute, private_copy
from cvviz.hooks import count_hooks
from cvviz.live import LatestFrameWorker, LiveOptions, annotate, crop_box, overlays_for, process_frame
from cvviz.live.frames import LiveFrameError
from cvviz.live.worker import THREAD_NAME
from cvviz.models.build import build_architecture
from cvviz.models.inference import predict, preprocess
from cvviz.models.loading import WeightsInfo
from cvviz.models.workbench import LoadedModel

SMALL = Preprocessing(resize_size=40, crop_size=32)
# ResNet-18 divides by 32: at 64 px its last stage is a 2 × 2 map, so a channel has a shape to show.
SMALL_CNN = Preprocessing(resize_size=72, crop_size=64)


def _normalised(values: np.ndarray) -> np.ndarray:
    return (values - values.min()) / (values.max() - values.min())


@pytest.fixture(scope="module")
def shared_cnn() -> LoadedModel:
    """ResNet-18 (in-place, reused ReLUs) at 64 px, shared as the workbench shares it."""
    torch.manual_seed(0)
    spec = dataclasses.replace(get_spec("resnet18"), preprocessing=SMALL_CNN)
    model = build_architecture(spec).eval().requires_grad_(False)
    return LoadedModel(spec, model, WeightsInfo("random", "live-cnn"), torch.device("cpu"), 0)


@pytest.fixture(scope="module")
def shared_vit() -> LoadedModel:
    torch.manual_seed(0)
    model = torchvision.models.VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=10
    )
    nn.init.normal_(model.heads.head.weight, std=0.5)  # torchvision zero-initialises the head
    layers = ("encoder.layers.encoder_layer_0", "encoder.layers.encoder_layer_1")
    spec = dataclasses.replace(
        get_spec("vit_b_32"),
        preprocessing=SMALL,
        stages=layers,
        attention_layers=tuple(f"{name}.self_attention" for name in layers),
    )
    return LoadedModel(
        spec, model.eval().requires_grad_(False), WeightsInfo("random", "live-vit"), torch.device("cpu"), 0
    )


@pytest.fixture(scope="module")
def frame(cat_image) -> np.ndarray:
    return np.asarray(cat_image.convert("RGB").resize((96, 72)))


def _untouched(loaded: LoadedModel) -> None:
    with loaded.exclusive() as model:
        assert count_hooks(model) == 0
        assert all(p.grad is None and not p.requires_grad for p in model.parameters())
        assert not model.training


def test_live_grad_cam_is_the_saliency_grad_cam_of_the_top_class(shared_cnn, frame, cat_image):
    from PIL import Image

    result = process_frame(shared_cnn, frame, LiveOptions("grad_cam"))
    expected_top = predict(shared_cnn, Image.fromarray(frame), topk=3)
    assert [p.index for p in result.top] == [p.index for p in expected_top]
    assert [p.prob for p in result.top] == pytest.approx([p.prob for p in expected_top], abs=1e-5)
    x = preprocess(Image.fromarray(frame), shared_cnn.spec)
    reference = attribute(private_copy(shared_cnn), shared_cnn.spec, x, "grad_cam", result.top[0].index).map
    assert result.overlay.shape == reference.shape == (64, 64)
    np.testing.assert_allclose(result.overlay, _normalised(reference), atol=1e-5)
    assert result.overlay.min() == 0 and result.overlay.max() == pytest.approx(1)
    _untouched(shared_cnn)
    with shared_cnn.exclusive() as model:
        assert model.relu.inplace  # the shared model keeps its in-place ReLU


def test_live_feature_channel_is_the_most_active_channel_of_the_last_stage(shared_cnn, frame):
    from PIL import Image

    result = process_frame(shared_cnn, frame, LiveOptions("feature_channel"))
    layer = shared_cnn.spec.stages[-1]
    x = preprocess(Image.fromarray(frame), shared_cnn.spec)
    maps = extract_features(shared_cnn, x, [layer])[layer].maps
    strongest = int(maps.mean(axis=(1, 2)).argmax())
    assert result.detail == f"{layer} · #{strongest}"
    np.testing.assert_allclose(result.overlay, _normalised(maps[strongest]), atol=1e-5)
    chosen = process_frame(shared_cnn, frame, LiveOptions("feature_channel", channel=3))
    np.testing.assert_allclose(chosen.overlay, _normalised(maps[3]), atol=1e-5)
    with pytest.raises(LiveFrameError, match="channel 9999"):
        process_frame(shared_cnn, frame, LiveOptions("feature_channel", channel=9999))
    _untouched(shared_cnn)


def test_live_attention_is_the_class_tokens_last_layer_attention(shared_vit, frame):
    from PIL import Image

    assert overlays_for(shared_vit.spec) == ("grad_cam", "feature_channel", "attention")
    result = process_frame(shared_vit, frame, LiveOptions("attention"))
    x = preprocess(Image.fromarray(frame), shared_vit.spec)
    with shared_vit.exclusive() as model:
        maps = vit_attention(model, x, shared_vit.spec.attention_layers)
    expected = maps.class_token_maps()[-1].mean(axis=0)
    assert result.overlay.shape == (4, 4)
    np.testing.assert_allclose(result.overlay, _normalised(expected), atol=1e-5)
    # Grad-CAM on a ViT goes through its token grid and puts the layer back afterwards.
    cam = process_frame(shared_vit, frame, LiveOptions("grad_cam"))
    assert cam.overlay.shape == (32, 32) and np.isfinite(cam.overlay).all()
    with shared_vit.exclusive() as model:
        assert type(model.get_submodule(cam.detail)) is nn.LayerNorm
    _untouched(shared_vit)


def test_live_refuses_bad_frames_and_attention_without_a_vit(shared_cnn, frame):
    assert "attention" not in overlays_for(shared_cnn.spec)
    with pytest.raises(LiveFrameError, match="ViT"):
        process_frame(shared_cnn, frame, LiveOptions("attention"))
    for bad in (np.zeros((72, 96), np.uint8), np.zeros((72, 96, 4), np.uint8), "frame"):
        with pytest.raises(LiveFrameError, match="height, width, 3"):
            process_frame(shared_cnn, bad)
    with pytest.raises(LiveFrameError, match="Unknown overlay"):
        process_frame(shared_cnn, frame, LiveOptions("occlusion"))  # type: ignore[arg-type]
    _untouched(shared_cnn)


def test_crop_box_is_the_centre_square_the_model_keeps():
    spec = get_spec("efficientnet_lite0")  # resize 256, crop 224
    assert crop_box((480, 640, 3), spec) == (110, 30, 530, 450)  # 480 · 224/256 = 420 px, centred
    left, top, right, bottom = crop_box((720, 405, 3), spec)
    assert right - left == bottom - top == round(405 * 224 / 256)
    assert abs(left + right - 405) <= 1 and abs(top + bottom - 720) <= 1
    assert crop_box((72, 96, 3), get_spec("lenet5")) == (0, 0, 96, 72)  # a digit model sees it all


def test_annotate_draws_inside_the_box_and_leaves_the_frame_alone(shared_cnn, cat_image):
    frame = np.asarray(cat_image.convert("RGB").resize((320, 240)))
    before = frame.copy()
    result = process_frame(shared_cnn, frame)
    drawn = annotate(frame, result, "9.9 fps · 100 ms")
    np.testing.assert_array_equal(frame, before)
    assert drawn.shape == frame.shape and drawn.dtype == np.uint8
    left, top, right, bottom = result.box
    middle = slice(top + 40, bottom - 40), slice(left + 5, right - 5)
    assert np.abs(drawn[middle].astype(int) - frame[middle]).mean() > 5  # the overlay is blended in
    assert np.array_equal(drawn[120, : left - 1], frame[120, : left - 1])  # outside the box: untouched
    assert drawn[:10].mean() < frame[:10].mean()  # the classes' dark band at the top
    np.testing.assert_array_equal(annotate(frame, None), frame)


class SlowModel:
    """A fake model that takes ``seconds`` per frame and records which frames it read (each frame's value
    is its number in the stream)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.read: list[int] = []
        self.newest_at_start: list[int] = []
        self.submitted = 0

    def __call__(self, frame: np.ndarray) -> int:
        self.newest_at_start.append(self.submitted)
        self.read.append(int(frame[0, 0, 0]))
        time.sleep(self.seconds)
        return int(frame[0, 0, 0])


def _frame(index: int) -> np.ndarray:
    return np.full((2, 2, 3), index, dtype=np.uint8)


def _wait(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_worker_reads_only_the_newest_frame_and_never_queues():
    model = SlowModel(0.05)
    with LatestFrameWorker(model, idle_s=2.0) as worker:
        for index in range(1, 61):  # 60 frames at ~500 per second: ten times faster than the model
            model.submitted = index
            worker.submit(_frame(index))
            time.sleep(0.002)
        _wait(lambda: worker.latest() is not None and worker.latest().frame_index == 60)
        stats = worker.stats()
        assert worker.latest().result == 60  # the last result is about the newest frame
        assert model.read == sorted(set(model.read))  # in order, none twice
        # Each frame read was the newest one when the model became free (a frame can arrive just after).
        assert all(newest - read <= 1 for read, newest in zip(model.read, model.newest_at_start))
        assert stats.received == 60 and stats.processed == len(model.read) < 20
        assert stats.skipped == 60 - stats.processed
        assert worker.latest().latency_ms < 4 * 50  # no backlog: about one model call, not sixty
        assert 5 < stats.fps < 25


def test_worker_thread_ends_when_idle_on_close_and_on_errors():
    def failing(frame: np.ndarray) -> int:
        tasks = Path("/proc/self/task")
        if tasks.exists():  # Linux: the operating system sees the thread by its name too
            assert THREAD_NAME in {(task / "comm").read_text().strip() for task in tasks.iterdir()}
        if frame[0, 0, 0] == 1:
            raise ValueError("bad frame")
        return int(frame[0, 0, 0])

    worker = LatestFrameWorker(failing, idle_s=0.2)
    worker.submit(_frame(1))
    _wait(lambda: worker.error is not None)
    assert isinstance(worker.error, ValueError) and worker.latest() is None
    worker.submit(_frame(2))  # the stream goes on after an error
    _wait(lambda: worker.latest() is not None)
    assert worker.latest().result == 2 and worker.error is None
    _wait(lambda: not worker.alive, timeout=3)  # nobody closed it: it ends by itself
    worker.submit(_frame(3))  # and a new frame starts it again
    _wait(lambda: worker.latest().result == 3)
    worker.close()
    assert not worker.alive
    worker.submit(_frame(4))  # ignored after close
    assert not worker.alive and worker.latest().result == 3
    assert not [t for t in threading.enumerate() if t.name == THREAD_NAME]
