"""Hooks always remove themselves, and capture exactly what the model computed."""

import pytest
import torch
from torch import nn

from cvviz.hooks import UnknownLayerError, capture_outputs, count_hooks


def _tiny() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3)).eval()


def test_capture_outputs_equals_manual_forward():
    model = _tiny()
    x = torch.randn(1, 3, 8, 8)
    with capture_outputs(model, ["0", "2"]) as captured:
        model(x)
    torch.testing.assert_close(captured["0"], model[0](x))
    torch.testing.assert_close(captured["2"], model[2](model[1](model[0](x))))
    assert not captured["0"].requires_grad


def test_capture_outputs_removes_hooks_on_exception():
    model = _tiny()
    with pytest.raises(RuntimeError), capture_outputs(model, ["0"]):
        assert count_hooks(model) == 1
        model(torch.randn(1, 5, 8, 8))  # wrong channel count
    assert count_hooks(model) == 0


def test_capture_outputs_unknown_layer_raises_one_sentence_and_leaves_no_hook():
    model = _tiny()
    with (
        pytest.raises(UnknownLayerError, match="no layer called 'nope'"),
        capture_outputs(model, ["0", "nope"]),
    ):
        pass
    assert count_hooks(model) == 0


def test_capture_outputs_ignores_forward_passes_of_other_threads():
    import threading

    model = _tiny()
    mine, theirs = torch.randn(1, 3, 8, 8), torch.randn(1, 3, 8, 8)
    with capture_outputs(model, ["0"]) as captured:
        model(mine)
        other = threading.Thread(target=lambda: model(theirs))
        other.start()
        other.join()
    torch.testing.assert_close(captured["0"], model[0](mine))
