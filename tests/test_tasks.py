"""Task models (detection, instance and semantic segmentation, keypoints): the catalog keeps them apart
from classifiers, every count equals torchvision's published figures, and each pipeline step agrees with
the model's own forward pass. Random weights and small inputs only; nothing is downloaded."""

from __future__ import annotations

import dataclasses
import json
from types import MappingProxyType

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.ops import box_iou

from cvviz.catalog import (
    HEAD_TASKS,
    family_names,
    get_family,
    get_spec,
    list_models,
    list_self_supervised,
    list_task_models,
)
from cvviz.cli import main
from cvviz.errors import UnknownModelError
from cvviz.models.build import build_for_timing, build_on_meta
from cvviz.tasks.parts import task_cost
from cvviz.tasks.pipeline import decode_rle, encode_rle, image_tensor, run_task
from cvviz.tasks.postprocess import SCORE_FLOOR, ThresholdError, detect_from_head, ranked_detections

TASK_MODELS = [spec.name for spec in list_task_models()]


def small(name: str, side: int = 128, **kwargs) -> tuple:
    """``name``'s entry rebuilt for side×side inputs (a detector's own transform resizes to it), with
    stand-in random weights (fast to build), in eval mode."""
    spec = get_spec(name)
    extra = dict(kwargs)
    if spec.task != "semantic_segmentation" and not name.startswith("ssd"):
        extra.update(min_size=side, max_size=side)
    pre = dataclasses.replace(spec.preprocessing, resize_size=side, crop_size=side)
    spec = dataclasses.replace(
        spec, architecture_kwargs=MappingProxyType({**spec.architecture_kwargs, **extra}), preprocessing=pre
    )
    return spec, build_for_timing(spec).eval()


@pytest.fixture(scope="module")
def image() -> Image.Image:
    generator = np.random.default_rng(0)
    return Image.fromarray(generator.integers(0, 256, (96, 120, 3), dtype=np.uint8))


def test_task_models_are_listed_apart_from_classifiers():
    assert len(TASK_MODELS) == 18 and "fasterrcnn_resnet50_fpn" in TASK_MODELS
    assert all(spec.task == "classification" for spec in list_models())
    assert {spec.task for spec in list_task_models()} == set(HEAD_TASKS)
    assert "Detection" not in family_names() and "Detection" in family_names(None)
    assert len(list_models(task=None)) == len(list_models()) + len(TASK_MODELS) + len(list_self_supervised())
    with pytest.raises(UnknownModelError, match="is a detection model, not a classification model"):
        get_spec("fasterrcnn_resnet50_fpn", task="classification")
    assert get_spec("fcn_resnet50", task=HEAD_TASKS).task == "semantic_segmentation"


@pytest.mark.parametrize("name", TASK_MODELS)
def test_task_weights_carry_their_published_metrics_with_source(name):
    spec = get_spec(name)
    assert spec.published is None and spec.published_metrics
    published = spec.torchvision_weights.meta["_metrics"]
    for metric in spec.published_metrics:
        assert published[metric.dataset][metric.name] == metric.value
        assert str(spec.torchvision_weights) in metric.source


@pytest.mark.parametrize("name", TASK_MODELS)
def test_task_cost_equals_published_params_and_macs(name):
    """Parameters split into parts sum to ``num_params``; MACs to ``_ops`` (GMACs), with a two-stage
    detector's RoI head counted for the proposals and detections the family says the figure used."""
    spec = get_spec(name)
    meta = spec.torchvision_weights.meta
    rois = getattr(get_family(spec), "published_rois", lambda _: None)(spec)
    cost = task_cost(spec, build_on_meta(spec), proposals=rois and rois[0], detections=rois[1] if rois else 0)
    assert cost.params == meta["num_params"]
    assert cost.macs / 1e9 == pytest.approx(meta["_ops"], abs=5e-4)
    assert cost.part("backbone").params > 0 and cost.part("head").params > 0
    assert all(part.macs >= 0 for part in cost.parts)


@pytest.fixture(scope="module")
def faster(image):
    spec, model = small("fasterrcnn_resnet50_fpn", box_score_thresh=0.0)
    return spec, model, run_task(spec, model, image)


def test_two_stage_steps_have_fpn_strides_and_agree_with_the_model(faster, image):
    _, model, result = faster
    assert [level.name for level in result.stages] == ["C2", "C3", "C4", "C5"]
    assert [level.stride for level in result.stages] == [4, 8, 16, 32]
    assert [level.name for level in result.levels] == ["P2", "P3", "P4", "P5", "pool"]
    assert [level.stride for level in result.levels] == [4, 8, 16, 32, 64]
    assert len(result.proposals_before_nms) >= len(result.proposals) > 0
    with torch.no_grad():
        expected = model([image_tensor(image)])[0]
    torch.testing.assert_close(
        torch.as_tensor(result.detections.boxes), expected["boxes"], rtol=1e-4, atol=1e-3
    )
    np.testing.assert_allclose(result.detections.scores, expected["scores"].numpy(), rtol=1e-5)


def test_anchor_count_per_level_equals_the_models_own_generator(faster, image):
    _, model, result = faster
    with torch.no_grad():
        batch, _ = model.transform([image_tensor(image)])
        maps = list(model.backbone(batch.tensors).values())
        anchors = model.rpn.anchor_generator(batch, maps)[0]
    assert sum(level.count for level in result.anchors) == len(anchors)
    per_location = model.rpn.anchor_generator.num_anchors_per_location()
    for level, fmap, each in zip(result.anchors, maps, per_location, strict=True):
        assert level.count == fmap.shape[-2] * fmap.shape[-1] * each
        assert level.stride == batch.tensors.shape[-1] // fmap.shape[-1]
        assert level.per_location == 3 and np.allclose(
            sorted(level.aspect_ratios), [0.5, 1.0, 2.0], rtol=0.06
        )


def test_thresholds_rerun_only_postprocessing_and_nms_holds(faster):
    _, _, result = faster
    loose = detect_from_head(result.head, score=0.0, iou=0.7)
    strict = detect_from_head(result.head, score=float(np.median(loose.scores)), iou=0.7)
    assert 0 < len(strict) < len(loose) and set(map(tuple, strict.boxes)) <= set(map(tuple, loose.boxes))
    tight = detect_from_head(result.head, score=0.0, iou=0.3)
    for label in np.unique(tight.labels):
        boxes = torch.as_tensor(tight.boxes[tight.labels == label])
        overlap = box_iou(boxes, boxes).fill_diagonal_(0)
        assert overlap.max() <= 0.3 + 1e-5
    with pytest.raises(ThresholdError):
        detect_from_head(result.head, score=1.5)


def test_a_score_slider_filters_the_ranked_detections_instead_of_rerunning_nms(faster, image):
    _, _, result = faster
    ranked = ranked_detections(result.head, 0.5)
    for score in (SCORE_FLOOR, *np.quantile(ranked.scores, [0.5, 0.9])):
        exact = detect_from_head(result.head, float(score), 0.5)
        filtered = ranked.above(float(score))
        assert len(filtered) == len(exact) > 0
        np.testing.assert_array_equal(filtered.boxes, exact.boxes)
        np.testing.assert_array_equal(filtered.labels, exact.labels)


def test_one_stage_detections_from_cached_head_equal_the_models_forward(image):
    spec, model = small("ssdlite320_mobilenet_v3_large")
    result = run_task(spec, model, image)
    with torch.no_grad():
        expected = model([image_tensor(image)])[0]
    assert len(result.detections) == len(expected["scores"])
    np.testing.assert_allclose(
        np.sort(result.detections.scores), np.sort(expected["scores"].numpy()), rtol=1e-5
    )
    generator = model.anchor_generator.num_anchors_per_location()
    assert [level.per_location for level in result.anchors] == list(generator)


def test_mask_rcnn_masks_match_boxes_and_image(image):
    spec, model = small("maskrcnn_resnet50_fpn", 96, box_score_thresh=0.0, box_detections_per_img=2)
    result = run_task(spec, model, image)
    masks = result.detections.masks
    assert masks.shape == (len(result.detections), image.height, image.width)
    assert masks.min() >= 0 and masks.max() <= 1


def test_semantic_map_equals_the_models_upsampled_output(image):
    spec, model = small("lraspp_mobilenet_v3_large")
    result = run_task(spec, model, image)
    assert result.semantic.labels.shape == (image.height, image.width)
    assert result.semantic.output_stride == 8
    assert [level.name for level in result.stages] == ["C2", "C3", "C4", "C5"]


def test_rle_round_trips_a_mask():
    mask = np.zeros((5, 7), dtype=bool)
    mask[0, 0] = mask[1:4, 2:5] = mask[4, 6] = True
    rle = encode_rle(mask)
    assert rle["size"] == [5, 7] and rle["counts"][0] == 0 and sum(rle["counts"]) == 35
    assert np.array_equal(decode_rle(rle), mask)


def test_cli_detect_offline_without_weights_is_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CVVIZ_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = tmp_path / "image.png"
    Image.new("RGB", (64, 48), "white").save(path)
    assert main(["detect", str(path), "--model", "ssdlite320_mobilenet_v3_large"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error:") and "weights fetch" in error[0]
    assert main(["segment", str(path), "--model", "resnet18"]) == 2


def test_cli_segment_writes_the_class_map(tmp_path, capsys):
    path = tmp_path / "image.png"
    Image.new("RGB", (64, 48), "gray").save(path)
    out = tmp_path / "mask.png"
    assert (
        main(
            [
                "segment",
                str(path),
                "--model",
                "lraspp_mobilenet_v3_large",
                "--untrained",
                "--out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    labels = np.asarray(Image.open(out))
    assert labels.shape == (48, 64) and sum(c["pixels"] for c in report["classes"]) == labels.size
    assert report["output_stride"] == 8


def test_task_heads_page_shows_the_structure_and_asks_for_weights_offline(monkeypatch, tmp_path):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CVVIZ_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    page = str(Path(__file__).resolve().parent.parent / "app_pages" / "tasks.py")
    at = AppTest.from_file(page, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    warning = " ".join(w.value for w in at.warning)
    assert "Structure only" in warning and "weights fetch fasterrcnn_mobilenet_v3_large_320_fpn" in warning
    headers = [h.value for h in at.header]
    assert any("Anchors" in h for h in headers) and any("Region proposals" in h for h in headers)
    before = [m.value for m in at.markdown if "boxes scoring above" in m.value]
    at.slider(key="tasks.score").set_value(0.01).run()
    after = [m.value for m in at.markdown if "boxes scoring above" in m.value]
    assert not at.exception and before != after
