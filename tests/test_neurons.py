"""What a unit looks for: feature visualisation by optimisation, dataset examples, the CAM family from the
grad-cam library (and that it agrees with our Grad-CAM), the CLI commands and the page."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest
from torch import nn

from cvviz.catalog import get_spec
from cvviz.cli import main
from cvviz.data.images import sample_images
from cvviz.explain.neurons import (
    NeuronError,
    Objective,
    VisualizationSettings,
    from_folder,
    from_images,
    layer_maxima,
    top_patches,
    unit_field,
    visualization_job,
    visualize,
    visualize_cached,
)
from cvviz.explain.neurons import optimize as optimize_module
from cvviz.explain.neurons.objectives import diversity_penalty
from cvviz.explain.neurons.parametrization import ImageParam, spectrum_scale
from cvviz.explain.receptive_field import unit_box
from cvviz.explain.saliency import METHODS, SaliencyOptions, attribute, private_copy
from cvviz.hooks import UnknownLayerError, capture_outputs, count_hooks
from cvviz.jobs import Job
from cvviz.models.build import build_architecture
from cvviz.models.inference import preprocess
from cvviz.models.loading import WeightsInfo
from cvviz.models.workbench import LoadedModel, Workbench

ROOT = Path(__file__).resolve().parent.parent
LIBRARY_CAMS = [name for name, method in METHODS.items() if hasattr(method, "cam_class")]


def _loaded(name: str) -> LoadedModel:
    spec = get_spec(name)
    torch.manual_seed(0)
    model = build_architecture(spec).eval().requires_grad_(False)
    return LoadedModel(spec, model, WeightsInfo("random", "random"), torch.device("cpu"), 0)


@pytest.fixture(scope="module")
def lenet() -> LoadedModel:
    return _loaded("lenet5")


class TinyNet(nn.Module):
    """Two convolutions at full resolution, then a linear read-out (no pooling before the CAM layer)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(6, 8, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu2(self.conv2(self.relu1(self.conv1(x))))
        return self.fc(x.mean(dim=(2, 3)))


def _affine_residual(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    """Fit ours = a·theirs + b (the library rescales its map to [0, 1]); the slope and the largest
    residual as a share of our map's largest value."""
    design = np.stack([theirs.ravel(), np.ones(theirs.size)], axis=1)
    coef, *_ = np.linalg.lstsq(design, ours.ravel().astype(np.float64), rcond=None)
    return float(coef[0]), float(np.abs(design @ coef - ours.ravel()).max() / np.abs(ours).max())


# --- The CAM family ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["full resolution", "resnet18 layer4"])
def test_our_grad_cam_agrees_with_the_library_grad_cam(where):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(1)
    if where == "full resolution":
        model, spec, layer, x = TinyNet().eval(), None, "conv2", torch.rand(1, 3, 12, 12)
    else:
        loaded = _loaded("resnet18")
        model, spec, layer, x = loaded._model, loaded.spec, "layer4", torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        target = int(model(x).argmax())
    private = private_copy(model, spec)
    ours = attribute(private, spec, x, "grad_cam", target, SaliencyOptions(layer=layer)).map
    module = private.model.get_submodule(layer)
    with GradCAM(model=private.model, target_layers=[module]) as cam:
        theirs = cam(input_tensor=x.clone().requires_grad_(True), targets=[ClassifierOutputTarget(target)])[0]
    assert count_hooks(private.model) == 0
    slope, residual = _affine_residual(ours, theirs)
    assert slope > 0
    assert residual < 1e-5, f"our Grad-CAM and the library's differ by {residual:.2e} of the map's maximum"


def test_library_cams_leave_no_hook_and_give_maps_in_the_unit_range():
    model = TinyNet().eval()
    private = private_copy(model, None)
    x = torch.rand(1, 3, 16, 16)
    for name in LIBRARY_CAMS:
        result = attribute(private, None, x, name, 2, SaliencyOptions(layer="conv2"))
        assert result.map.shape == (16, 16) and result.layer == "conv2", name
        assert result.map.min() >= 0.0 and result.map.max() <= 1.0 + 1e-6, name
        assert result.raw is None, name
        assert count_hooks(private.model) == 0, name
    assert isinstance(private.model.conv2, nn.Conv2d)  # Ablation-CAM put the layer back


def test_eigen_cam_is_the_same_for_every_class_and_grad_cam_plus_plus_is_not():
    torch.manual_seed(3)
    private = private_copy(TinyNet().eval(), None)
    x = torch.rand(1, 3, 16, 16)
    options = SaliencyOptions(layer="conv2")
    eigen = [attribute(private, None, x, "eigen_cam", t, options).map for t in (0, 4)]
    np.testing.assert_allclose(eigen[0], eigen[1], atol=1e-6)
    plus = [attribute(private, None, x, "grad_cam_plus_plus", t, options).map for t in (0, 4)]
    assert np.abs(plus[0] - plus[1]).max() > 1e-3


# --- Feature visualisation --------------------------------------------------------------------------------


def test_spectrum_scale_is_one_over_frequency():
    scale = spectrum_scale(8, 8)
    assert scale.shape == (8, 5)
    assert scale[0, 0] == pytest.approx(8)  # DC: frequency floored at 1/8
    assert scale[0, 4] == pytest.approx(1 / 0.5)  # Nyquist along x: f = 0.5
    assert scale[0, 1] > scale[0, 2] > scale[0, 4]


def test_image_param_starts_the_same_whatever_shares_its_batch():
    with torch.no_grad():
        alone = ImageParam([7], 16)()
        together = ImageParam([3, 7, 11], 16)()
    assert together.shape == (3, 3, 16, 16)
    assert float(together.min()) >= 0.0 and float(together.max()) <= 1.0
    torch.testing.assert_close(together[1], alone[0])


def test_diversity_penalty_is_one_for_identical_images_and_lower_for_different_ones():
    same = torch.rand(1, 4, 5, 5).repeat(3, 1, 1, 1)
    assert float(diversity_penalty(same)) == pytest.approx(1.0, abs=1e-5)
    different = torch.zeros(2, 2, 3, 3)
    different[0, 0], different[1, 1] = 1.0, 1.0
    assert float(diversity_penalty(different)) == pytest.approx(0.0, abs=1e-6)


def test_optimised_image_excites_its_channel_far_more_than_the_photos(lenet):
    settings = VisualizationSettings(steps=48, size=32, lr=0.1)
    results = visualize(lenet, lenet.spec, [Objective.channel("features.3", c) for c in (0, 5)], settings)
    for result in results:
        assert result.image.shape == (32, 32, 1)
        assert result.curve[-8:].mean() > result.curve[:4].mean()
        assert result.activation > result.photo_activation
        assert result.truth_ratio is None or result.truth_ratio > 1.5
    with lenet.exclusive() as model:
        assert count_hooks(model) == 0 and not any(p.requires_grad for p in model.parameters())


def test_batched_objectives_give_the_images_each_would_get_alone():
    torch.manual_seed(0)
    model = TinyNet().eval()
    settings = VisualizationSettings(steps=12, size=24)
    objectives = [Objective.channel("conv2", c) for c in (1, 4, 6)]
    batched = visualize(model, None, objectives, settings)
    alone = visualize(model, None, [objectives[1]], settings)[0]
    np.testing.assert_allclose(batched[1].image, alone.image, atol=1e-4)
    assert np.abs(batched[0].image - batched[1].image).max() > 1e-2  # and they are not all alike


def test_logits_and_directions_are_objectives_too():
    torch.manual_seed(0)
    model = TinyNet().eval()
    settings = VisualizationSettings(steps=24, size=16, lr=0.1)
    direction = [1.0, 0, 0, 0, 0, 0, 0, -1.0]
    logit, along = visualize(model, None, [Objective.logit(2)], settings) + visualize(
        model, None, [Objective.along("conv2", direction)], settings
    )
    for result in (logit, along):
        assert result.curve[-4:].mean() > result.curve[:2].mean()
    assert along.objective.label == "conv2 direction" and logit.objective.label == "logit #2"


def test_bad_requests_raise_one_sentence(lenet):
    settings = VisualizationSettings(steps=2, size=32)
    with pytest.raises(NeuronError, match="no channel 99"):
        visualize(lenet, lenet.spec, [Objective.channel("features.3", 99)], settings)
    with pytest.raises(UnknownLayerError):
        visualize(lenet, lenet.spec, [Objective.channel("nope", 0)], settings)
    with pytest.raises(NeuronError, match="one layer"):
        visualize(lenet, lenet.spec, [Objective.channel("features.0", 0), Objective.logit(1)], settings)
    with pytest.raises(NeuronError, match="Steps"):
        VisualizationSettings(steps=0).check()


def test_results_are_cached_per_objective_and_only_new_ones_are_optimised(lenet, monkeypatch):
    bench = Workbench()
    settings = VisualizationSettings(steps=3, size=32)
    calls = []
    real = optimize_module.visualize

    def counting(model, spec, objectives, *args, **kwargs):
        calls.append([o.index for o in objectives])
        return real(model, spec, objectives, *args, **kwargs)

    monkeypatch.setattr(optimize_module, "visualize", counting)
    first = visualize_cached(bench, lenet, [Objective.channel("features.3", c) for c in (0, 1)], settings)
    second = visualize_cached(bench, lenet, [Objective.channel("features.3", c) for c in (1, 2)], settings)
    assert calls == [[0, 1], [2]]
    assert second[0] is first[1]
    other = VisualizationSettings(steps=3, size=32, seed=1)
    visualize_cached(bench, lenet, [Objective.channel("features.3", 1)], other)
    assert calls[-1] == [1]  # other settings, another result


def test_visualization_job_reports_progress_and_stops_when_cancelled(lenet):
    settings = VisualizationSettings(steps=4000, size=32)
    job: Job = visualization_job(Workbench(), lenet, [Objective.channel("features.3", 0)], settings).start()
    deadline = threading.Event()
    while job.status().fraction == 0 and not deadline.wait(0.05):
        pass
    job.cancel()
    assert job.wait(timeout=30)
    assert job.status().state == "cancelled"
    with lenet.exclusive() as model:
        assert count_hooks(model) == 0


# --- Dataset examples -------------------------------------------------------------------------------------


def test_top_patches_are_the_strongest_units_cropped_to_their_receptive_field():
    loaded = _loaded("resnet18")
    spec = loaded.spec
    images = from_images([(s.name, Image.open(s.path).convert("RGB")) for s in sample_images()])
    layer = "layer2"
    maxima = layer_maxima(loaded, images, layer)
    field = unit_field(spec, layer)
    assert field is not None and maxima.grid == field.output_size
    channel = 17
    patches = top_patches(maxima, images, spec, channel, k=3, field=field)
    assert [p.activation for p in patches] == sorted(maxima.values[:, channel], reverse=True)[:3]
    best = patches[0]
    x = preprocess(images.images[best.image], spec)
    with loaded.exclusive() as model, torch.no_grad(), capture_outputs(model, [layer]) as captured:
        model(x)
    feature = captured[layer][0, channel]
    assert float(feature.max()) == pytest.approx(best.activation, rel=1e-5)
    assert float(feature[best.unit]) == pytest.approx(best.activation, rel=1e-5)
    box = unit_box(field, *best.unit, spec.input_size)
    assert best.box == box.clipped
    top, left, bottom, right = best.box
    assert best.pixels.shape == (bottom - top + 1, right - left + 1, 3)
    with pytest.raises(NeuronError, match="no channel"):
        top_patches(maxima, images, spec, maxima.channels, k=3, field=field)


def test_from_folder_reads_images_in_sub_folders_and_skips_unreadable_ones(tmp_path):
    (tmp_path / "a").mkdir()
    Image.new("RGB", (40, 30), "red").save(tmp_path / "a" / "red.png")
    Image.new("RGB", (40, 30), "blue").save(tmp_path / "blue.jpg")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    images = from_folder(tmp_path)
    assert images.names == ("a/red.png", "blue.jpg")
    assert images.skipped == ("broken.png",)
    with pytest.raises(NeuronError, match="no readable images"):
        from_folder(tmp_path / "a" / "..", limit=0)


# --- CLI and page -----------------------------------------------------------------------------------------


def test_cli_visualize_writes_the_images_and_reports_the_ratio(tmp_path, capsys):
    out = tmp_path / "unit.png"
    code = main(
        [
            "visualize",
            "--model",
            "lenet5",
            "--untrained",
            "--layer",
            "features.3",
            "--channel",
            "0,1",
            "--steps",
            "32",
            "--lr",
            "0.2",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["objective"] for r in report["results"]] == ["features.3 #0", "features.3 #1"]
    assert all(r["activation"] > r["photo_activation"] for r in report["results"])
    assert Image.open(out).size == (2 * 32 + 4, 32)


def test_cli_top_patches_writes_the_patches_and_refuses_a_bad_channel(tmp_path, capsys):
    for sample in sample_images()[:3]:
        (tmp_path / sample.path.name).write_bytes(sample.path.read_bytes())
    out = tmp_path / "patches.png"
    args = ["top-patches", str(tmp_path), "--model", "lenet5", "--untrained", "--layer", "features.3"]
    assert main([*args, "--channel", "2", "--k", "2", "--device", "cpu", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["patches"]) == 2 and Image.open(out).size == (2 * 96 + 4, 96)
    assert main([*args, "--channel", "16", "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1] == "error: There is no channel 16; choose 0–15."


def test_neurons_page_draws_an_atlas_and_dataset_examples():
    at = AppTest.from_file(str(ROOT / "app_pages" / "neurons.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    at.select_slider(key="neurons.steps").set_value(16)
    at.slider(key="neurons.count").set_value(2)
    at.run()
    at.button(key="neurons.atlas.start").click().run()
    job = at.session_state["neurons.atlas.job"]["job"]
    assert job.wait(timeout=60) and job.status().state == "done", job.status()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert len(job.result) == 2
    assert any("sample photos" in caption.value for caption in at.caption)
    assert any("receptive field" in caption.value for caption in at.caption)


def test_the_same_unit_across_training_lab_networks_differs_only_by_the_weights():
    from cvviz.explain.neurons.optimize import across_models, conv_layers
    from cvviz.training.config import TrainingConfig
    from cvviz.training.loop import build_network

    torch.manual_seed(0)
    early, late = build_network(TrainingConfig(), 10).eval(), build_network(TrainingConfig(), 10).eval()
    assert conv_layers(early) == ["features.0", "features.3", "features.6"]
    settings = VisualizationSettings(steps=6, size=32)
    objective = Objective.channel("features.3", 2)
    results = across_models([("early", early), ("late", late), ("early again", early)], objective, settings)
    assert [label for label, _ in results] == ["early", "late", "early again"]
    images = [result.image for _, result in results]
    assert images[0].shape == (32, 32, 1)
    np.testing.assert_allclose(images[0], images[2], atol=1e-6)  # same weights, same seed: same image
    assert np.abs(images[0] - images[1]).max() > 1e-3
