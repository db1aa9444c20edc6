"""Contract tests over the whole catalog: completeness, metadata schema, and every model builds and runs."""

from __future__ import annotations

import pytest
import torch
import torchvision.models as tvm

from cvviz.catalog import CATALOG, DEFAULT_MODEL, family_names, get_spec, list_models
from cvviz.errors import UnknownModelError
from cvviz.models.build import build_on_meta

# Every backbone of the story the product promises.
REQUIRED = [
    "lenet5", "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
    "googlenet", "inception_v3", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "wide_resnet50_2", "densenet121", "densenet161", "densenet169", "densenet201",
    "squeezenet1_0", "squeezenet1_1", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large",
    "mobilenet_v3_small", "shufflenet_v2_x1_0", "mnasnet1_0", *(f"efficientnet_b{i}" for i in range(8)),
    "efficientnet_v2_s", "efficientnet_lite0", "regnet_y_400mf", "vit_b_16", "vit_b_32", "vit_l_16",
    "vit_l_32", "vit_h_14", "swin_t", "swin_s", "swin_b", "swin_v2_t", "convnext_tiny", "maxvit_t",
]  # fmt: skip

# torchvision's published num_params counts training-only auxiliary classifiers for these.
AUX_HEADS = {"inception_v3"}

ALL = [spec.name for spec in list_models()]


def count_parameters(name: str) -> int:
    """Parameters of the catalog model as built here, counted on the meta device."""
    return sum(p.numel() for p in build_on_meta(get_spec(name)).parameters())


def test_catalog_contains_every_backbone_of_the_story():
    missing = [name for name in REQUIRED if name not in CATALOG]
    assert not missing, f"catalog lacks {missing}"
    # The default model must show a real prediction offline: its weights ship in a package.
    assert get_spec(DEFAULT_MODEL).packaged_weights is not None


def test_catalog_orders_models_by_family_story():
    families = [spec.family for spec in list_models()]
    assert families == sorted(families, key=family_names().index)
    assert families[0] == "LeNet"
    assert {spec.family for spec in list_models()} == set(family_names())


def test_get_spec_unknown_name_raises_one_sentence_with_hint():
    with pytest.raises(UnknownModelError, match=r"Unknown model 'resnet5'.*did you mean") as info:
        get_spec("resnet5")
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("name", ALL)
def test_spec_metadata_is_complete(name):
    spec = get_spec(name)
    assert spec.name == name and spec.title and spec.family in family_names()
    assert 1990 < spec.year < 2030 and spec.paper.url.startswith("http") and spec.key_idea.endswith(".")
    assert spec.kind in ("cnn", "vit", "swin", "hybrid")
    prep = spec.preprocessing
    assert prep.crop_size <= prep.resize_size and len(prep.mean) == len(prep.std) == prep.channels
    assert spec.num_classes == len(spec.categories) > 1
    assert spec.stages, "every model declares its feature stages"
    if spec.kind in ("vit", "swin"):
        assert spec.attention_layers
    if spec.published is not None:
        assert spec.published.source and 0 < spec.published.top1 < 100


@pytest.mark.parametrize("name", [n for n in ALL if get_spec(n).torchvision_weights is not None])
def test_spec_metadata_comes_from_torchvision_weights(name):
    spec = get_spec(name)
    weights = spec.torchvision_weights
    preset = weights.transforms()
    assert spec.categories == tuple(weights.meta["categories"])
    assert spec.published.top1 == weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert spec.published.top5 == weights.meta["_metrics"]["ImageNet-1K"]["acc@5"]
    assert (spec.preprocessing.resize_size, spec.preprocessing.crop_size) == (
        preset.resize_size[0],
        preset.crop_size[0],
    )
    assert list(spec.preprocessing.mean) == list(preset.mean) and list(spec.preprocessing.std) == list(
        preset.std
    )
    assert spec.preprocessing.interpolation == preset.interpolation.value


@pytest.mark.parametrize("name", ALL)
def test_every_model_builds_and_runs_its_stages_at_its_input_size_on_meta(name):
    spec = get_spec(name)
    model = build_on_meta(spec)
    modules = dict(model.named_modules())
    stage_shapes, last_conv_shape = [], []
    hooks = [
        modules[s].register_forward_hook(lambda m, i, o: stage_shapes.append(o.shape)) for s in spec.stages
    ]
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    hooks.append(convs[-1].register_forward_hook(lambda m, i, o: last_conv_shape.append(o.shape)))
    try:
        with torch.no_grad():
            logits = model(torch.empty(2, *spec.input_shape, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    assert logits.shape == (2, spec.num_classes)
    assert len(stage_shapes) == len(spec.stages), "every stage runs exactly once"
    assert all(layer in modules for layer in spec.attention_layers)
    if spec.kind in ("cnn", "hybrid"):
        sizes = [shape[-1] for shape in stage_shapes]
        assert sizes == sorted(sizes, reverse=True), f"stage resolutions {sizes} must not grow"
        assert sizes[-1] == last_conv_shape[-1][-1], "the last stage is the final feature map"


@pytest.mark.parametrize("name", [n for n in ALL if get_spec(n).torchvision_weights is not None])
def test_parameter_count_equals_torchvision_published_count(name):
    published = get_spec(name).torchvision_weights.meta["num_params"]
    counted = count_parameters(name)
    if name in AUX_HEADS:
        assert counted < published, "inference-time count excludes the auxiliary classifier"
    else:
        assert counted == published


def test_inference_models_have_no_auxiliary_heads():
    for name in ("googlenet", "inception_v3"):
        model = build_on_meta(get_spec(name))
        assert not any(
            n.startswith(("aux", "AuxLogits")) and m is not None for n, m in model.named_children()
        )
    # Inception v3's published count minus its AuxLogits head is exactly what we count.
    with torch.device("meta"):
        with_aux = tvm.inception_v3(weights=None, aux_logits=True, init_weights=False)
    aux = sum(p.numel() for p in with_aux.AuxLogits.parameters())
    assert count_parameters("inception_v3") == tvm.Inception_V3_Weights.DEFAULT.meta["num_params"] - aux


def test_vit_h_uses_weights_at_its_224_input():
    spec = get_spec("vit_h_14")
    assert spec.input_size == 224 and "SWAG_LINEAR" in spec.weights_name
