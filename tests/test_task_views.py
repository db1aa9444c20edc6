"""The task-heads page's views beyond one run: slider moves that re-run only post-processing (masks and
joints included), Grad-CAM / EigenCAM on one detection, and the side-by-side contrasts. A tiny two-stage
detector with random weights (a ResNet-18 FPN of 32 channels carrying both a mask and a keypoint head) and
small inputs; nothing is downloaded."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import resnet18
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.ops import MultiScaleRoIAlign

from cvviz.catalog import get_spec
from cvviz.hooks import hooks_removed_on_exit
from cvviz.tasks.cam import DetectionCamError, cam_levels, detection_cam, pooled_level
from cvviz.tasks.contrast import detection_counts, instance_counts, semantic_counts
from cvviz.tasks.pipeline import Detections, SemanticMap, image_tensor, run_task
from cvviz.tasks.postprocess import ThresholdError, second_stage, select


def tiny_two_stage() -> MaskRCNN:
    """Mask R-CNN on a ResNet-18 FPN (32 channels), 3 classes, with a small mask head and a small keypoint
    head (5 joints): one model exercises both second-stage heads."""
    torch.manual_seed(0)
    layers = {f"layer{i}": str(i - 1) for i in range(1, 5)}
    backbone = BackboneWithFPN(resnet18(), layers, [64, 128, 256, 512], 32)
    model = MaskRCNN(
        backbone,
        num_classes=3,
        min_size=96,
        max_size=128,
        rpn_pre_nms_top_n_test=60,
        rpn_post_nms_top_n_test=30,
        box_detections_per_img=4,
    )
    roi = model.roi_heads
    roi.mask_head = MaskRCNNHeads(32, (32, 32), 1)
    roi.mask_predictor = MaskRCNNPredictor(32, 32, 3)
    roi.keypoint_roi_pool = MultiScaleRoIAlign(["0", "1", "2", "3"], 14, 2)
    roi.keypoint_head = KeypointRCNNHeads(32, (32, 32))
    roi.keypoint_predictor = KeypointRCNNPredictor(32, 5)
    return model.eval().requires_grad_(False)


@pytest.fixture(scope="module")
def image() -> Image.Image:
    generator = np.random.default_rng(1)
    return Image.fromarray(generator.integers(0, 256, (80, 104, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def tiny(image):
    model = tiny_two_stage()
    return model, run_task(get_spec("maskrcnn_resnet50_fpn"), model, image)


def _count_calls(modules: dict[str, torch.nn.Module], handles: list) -> Counter:
    calls: Counter = Counter()
    for name, module in modules.items():
        handles.append(module.register_forward_hook(lambda *_, name=name: calls.update([name])))
    return calls


def test_slider_reruns_only_postprocessing_and_equals_a_fresh_run_with_masks_and_keypoints(tiny, image):
    model, result = tiny
    head = result.head
    assert result.detections.masks is not None and result.detections.keypoints is not None
    score = float(np.quantile(head.candidates.scores.numpy(), 0.5))
    upstream = {f"backbone.{n}": m for n, m in model.backbone.named_modules()} | {
        "rpn": model.rpn,
        "box_head": model.roi_heads.box_head,
    }
    roi = model.roi_heads
    with hooks_removed_on_exit([]) as handles:
        calls = _count_calls({**upstream, "mask": roi.mask_head, "keypoint": roi.keypoint_head}, handles)
        moved = second_stage(head, select(head, score, 0.3), roi)
        again = second_stage(head, select(head, score, 0.3), roi)
    assert not any(calls[n] for n in upstream), calls
    assert calls["mask"] <= 1 and calls["keypoint"] <= 1  # the second move's boxes had all run once
    np.testing.assert_array_equal(again.masks, moved.masks)

    saved = roi.score_thresh, roi.nms_thresh
    roi.score_thresh, roi.nms_thresh = score, 0.3
    try:
        with torch.no_grad():
            fresh = model([image_tensor(image)])[0]
    finally:
        roi.score_thresh, roi.nms_thresh = saved
    assert 0 < len(moved) == len(fresh["scores"])
    np.testing.assert_allclose(moved.boxes, fresh["boxes"].numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(moved.scores, fresh["scores"].numpy(), rtol=1e-5)
    np.testing.assert_array_equal(moved.labels, fresh["labels"].numpy())
    assert moved.masks.shape == (len(moved), image.height, image.width)
    np.testing.assert_allclose(moved.masks, fresh["masks"][:, 0].numpy(), atol=1e-4)
    np.testing.assert_allclose(moved.keypoints, fresh["keypoints"].numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(moved.keypoint_scores, fresh["keypoints_scores"].numpy(), atol=1e-4)
    with pytest.raises(ThresholdError):
        select(head, head.candidates.floor / 2, 0.5)


def test_grad_cam_on_a_detection_depends_on_the_detection_and_leaves_no_hook(tiny, image):
    model, result = tiny
    found = result.detections
    assert len(cam_levels(result)) == 4 and len(found) >= 2
    first = detection_cam(model, image, found.boxes[0], found.labels[0], 0)
    level = first.source_level
    assert level is not None and pooled_level(result, found.boxes[0]) == level
    maps = [detection_cam(model, image, found.boxes[i], found.labels[i], level).heatmap for i in range(2)]
    for heatmap in maps:
        assert heatmap.shape == (image.height, image.width) and np.isfinite(heatmap).all()
        assert heatmap.max() > 0
    assert not np.allclose(maps[0], maps[1])
    eigen = [
        detection_cam(model, image, found.boxes[i], found.labels[i], level, "eigencam").heatmap
        for i in range(2)
    ]
    np.testing.assert_array_equal(eigen[0], eigen[1])  # EigenCAM has no target
    assert all(not m._forward_hooks for m in model.modules())
    assert all(p.grad is None and not p.requires_grad for p in model.parameters())
    assert model.roi_heads.score_thresh == 0.05
    with pytest.raises(DetectionCamError):
        detection_cam(model, image, found.boxes[0], found.labels[0], 7)


def test_side_by_side_counts_follow_the_pipeline_and_tell_objects_apart(tiny):
    _, result = tiny
    steps = [count for _, count in detection_counts(result, result.detections).steps]
    assert detection_counts(result, result.detections).stages == 2
    assert steps[0] == sum(level.count for level in result.anchors) >= steps[1] >= steps[2] > 0
    assert steps[4] == len(result.detections) <= steps[3] == len(result.head.candidates)

    labels = np.zeros((6, 8), dtype=np.int64)
    labels[1:3, 1:3] = labels[2:4, 3:5] = 7  # two touching squares of one class: one region
    labels[5, 7] = 2
    semantic = SemanticMap(labels, np.ones(labels.shape, np.float32), (21, 6, 8), 8, "bilinear")
    assert semantic_counts(semantic) == (2, 2, 9)
    masks = np.stack([labels == 7, labels == 7, labels == 2]).astype(np.float32)
    found = Detections(np.zeros((3, 4), np.float32), np.ones(3, np.float32), np.array([7, 7, 2]), masks)
    assert instance_counts(found) == (2, 3, 9)


def test_cam_and_pipeline_figures_draw_what_they_are_given():
    from cvviz.plotting.tasks import detection_cam_figure, pipeline_counts_figure

    heatmap = np.linspace(0, 1, 80, dtype=np.float32).reshape(8, 10)
    fig = detection_cam_figure(np.zeros((8, 10, 3), np.uint8), heatmap, [1, 1, 5, 5], "cat")
    (heat,) = [trace for trace in fig.data if trace.type == "heatmap"]
    np.testing.assert_array_equal(np.asarray(heat.z), heatmap)
    fig = pipeline_counts_figure([("one", [("anchors", 3234), ("final", 0)]), ("two", [("final", 5)])])
    assert [list(trace.text) for trace in fig.data] == [["3,234", "0"], ["5"]]
    assert [list(trace.y) for trace in fig.data] == [["anchors", "final"], ["final"]]
