"""Preprocessing matches the weights' own transforms, and the offline default model predicts correctly."""

from __future__ import annotations

import pytest
import torch

from cvviz.catalog import DEFAULT_MODEL, get_spec
from cvviz.models.inference import preprocess, to_display_image
from cvviz.models.workbench import Workbench


@pytest.mark.parametrize("name", ["resnet50", "inception_v3", "vit_h_14", "swin_v2_t", "efficientnet_b3"])
def test_preprocess_equals_torchvision_weights_transforms(name, cat_image):
    spec = get_spec(name)
    expected = spec.torchvision_weights.transforms()(cat_image).unsqueeze(0)
    torch.testing.assert_close(preprocess(cat_image, spec), expected)


def test_preprocess_shapes_for_grayscale_and_display(cat_image):
    spec = get_spec("lenet5")
    assert preprocess(cat_image, spec).shape == (1, 1, 32, 32)
    assert to_display_image(cat_image, get_spec("resnet50")).size == (224, 224)


@pytest.fixture(scope="module")
def lite0():
    return Workbench().get(DEFAULT_MODEL, "pretrained")


def test_default_model_is_trained_offline(lite0):
    assert lite0.trained and lite0.weights.kind == "pretrained"


def test_default_model_predicts_a_cat_for_the_cat_photo(lite0, cat_image):
    from cvviz.models.inference import predict

    top = predict(lite0, cat_image, topk=5)
    assert top[0].index in range(281, 286), top  # tabby, tiger cat, Persian, Siamese, Egyptian cat
    assert [p.prob for p in top] == sorted((p.prob for p in top), reverse=True)


def test_default_model_predicts_coffee_for_the_coffee_photo(lite0, coffee_image):
    from cvviz.models.inference import predict

    top = predict(lite0, coffee_image, topk=3)
    assert top[0].label in ("espresso", "cup", "coffee mug"), top
    assert top[0].prob > 0.5
