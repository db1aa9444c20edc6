"""Comparing backbones: counts equal torchvision's published figures, live timing is sane, failures stay in
their row, the Pareto front is right, the CLI keeps its JSON contract, and live accuracy counts correctly."""

from __future__ import annotations

import io
import json
import math
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pytest
import torch
from torch import nn

import ui.jobs as ui_jobs
from cvviz.catalog import get_spec, list_models
from cvviz.cli import main
from cvviz.data.images import sample_images
from cvviz.jobs import Job, JobSlots
from cvviz.measure.evaluation import DatasetError, evaluate_accuracy, scan_image_folder
from cvviz.measure.profiling import count_row, pareto_front, profile_models
from cvviz.measure.timing import peak_tflops, time_forward
from cvviz.models.loading import WeightsInfo
from cvviz.models.workbench import LoadedModel, Workbench
from cvviz.plotting.compare import accuracy_flops_figure, latency_accuracy_figure, params_years_figure

PUBLISHED = [spec.name for spec in list_models() if spec.torchvision_weights is not None]
CLI_KEYS = {"model", "params", "macs", "flops", "acc1", "acc5", "latency_ms", "throughput", "device"}


def test_pareto_front_keeps_only_undominated_points():
    points = [(1.0, 50.0), (2.0, 70.0), (3.0, 60.0), (4.0, 80.0), (2.0, 65.0), (5.0, 80.0), (0.5, 40.0)]
    # (3, 60) is beaten by (2, 70); (2, 65) by (2, 70); (5, 80) by (4, 80).
    assert pareto_front(points) == [6, 0, 1, 3]
    assert pareto_front([]) == []
    assert pareto_front([(1.0, 1.0), (1.0, 1.0)]) == [0]


@pytest.mark.slow
@pytest.mark.parametrize("name", PUBLISHED)
def test_count_row_equals_torchvision_published_params_and_macs(name):
    spec = get_spec(name)
    meta = spec.torchvision_weights.meta
    row = count_row(name)
    assert row.macs / 1e9 == pytest.approx(meta["_ops"], abs=5e-4)  # `_ops` is GMACs, labelled GFLOPS
    assert row.flops == 2 * row.macs
    assert row.weight_bytes == int(meta["_file_size"] * 2**20)
    assert row.weight_bytes_source == "published checkpoint"
    if name == "inception_v3":
        # The published count includes the auxiliary classifier, which only helps training.
        assert row.params < meta["num_params"] and "auxiliary" in row.note
    else:
        assert row.params == meta["num_params"] and row.note == ""


def test_count_row_vit_counts_its_attention_matmuls():
    row = count_row("vit_b_16")
    tokens, width, layers = 197, 768, 12
    patch = 196 * width * 3 * 16 * 16
    linear = layers * (tokens * width * 4 * width + 2 * tokens * width * 4 * width) + width * 1000
    attention = layers * 2 * tokens * tokens * width  # QK^T and softmax(QK^T) V
    assert row.macs == patch + linear + attention


def test_count_row_without_published_size_computes_state_dict_bytes():
    row = count_row("lenet5")
    assert row.weight_bytes == 4 * row.params and row.weight_bytes_source.startswith("computed")
    assert row.acc1 is None and row.accuracy_source is None


def test_time_forward_returns_positive_finite_medians_for_the_requested_runs():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    batch = torch.randn(1, 3, 16, 16)
    stats = time_forward(lambda: model(batch), torch.device("cpu"), runs=7, warmup=1)
    assert stats.runs == 7 and len(stats.times_ms) == 7
    assert all(math.isfinite(t) and t > 0 for t in stats.times_ms)
    assert 0 < stats.p10_ms <= stats.median_ms <= stats.p90_ms


def test_profile_models_measures_a_tiny_model_on_the_cpu():
    progress = []
    (row,) = profile_models(
        ["lenet5"], measure=True, device="cpu", batch=2, runs=3, progress=lambda *a: progress.append(a)
    )
    assert progress == [(0, 1, "lenet5"), (1, 1, "")]
    assert row.device == "CPU" and row.runs == 3 and row.batch == 2 and row.weights == "random"
    assert math.isfinite(row.latency_ms) and row.latency_ms > 0
    assert row.latency_p10_ms <= row.latency_ms <= row.latency_p90_ms
    assert row.throughput > 0 and row.tflops > 0
    assert row.peak_memory_bytes is None and "CUDA only" in row.memory_note
    assert row.peak_share is None and row.error is None


def test_profile_models_bf16_channels_last_leaves_the_shared_model_untouched(torch_home):
    cache = Workbench()
    with cache.get("squeezenet1_1", "random", device="cpu").exclusive() as shared:
        pass  # the test only reads it, after the profiling below
    before = {name: p.clone() for name, p in shared.state_dict().items()}
    (row,) = profile_models(
        ["squeezenet1_1"],
        measure=True,
        device="cpu",
        dtype="bf16",
        channels_last=True,
        batch=1,
        runs=2,
        cache=cache,
    )
    assert row.dtype == "bf16" and row.channels_last and row.weights == "random" and row.error is None
    assert row.latency_ms > 0
    after = shared.state_dict()
    assert all(after[name].dtype == torch.float32 and after[name].is_contiguous() for name in before)
    assert all(torch.equal(before[name], after[name]) for name in before)


def test_profile_models_without_measuring_leaves_live_fields_empty():
    (row,) = profile_models(["squeezenet1_1"])
    assert row.latency_ms is None and row.throughput is None and row.device is None
    assert row.acc1 == get_spec("squeezenet1_1").published.top1


class _OutOfMemoryFor(Workbench):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def get(self, name, *args, **kwargs):
        if name == self.name:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return super().get(name, *args, **kwargs)


def test_profile_models_records_out_of_memory_in_the_row_and_goes_on():
    # Lite0 has trained weights on disk, so it is timed as the shared model, which here fails to load.
    rows = profile_models(
        ["efficientnet_lite0", "lenet5"],
        measure=True,
        device="cpu",
        batch=1,
        runs=2,
        cache=_OutOfMemoryFor("efficientnet_lite0"),
    )
    assert rows[0].error == "The GPU ran out of memory profiling EfficientNet-Lite0 at batch 1."
    assert rows[0].latency_ms is None and rows[0].params == 4_652_008
    assert rows[1].error is None and rows[1].latency_ms > 0


class _OutOfMemoryInForward(nn.Module):
    def forward(self, x):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


class _CacheOfFailingModels(Workbench):
    def get(self, name, weights="pretrained", **kwargs):
        spec = get_spec(name)
        return LoadedModel(spec, _OutOfMemoryInForward(), WeightsInfo("random", "x"), torch.device("cpu"), 0)


def test_profile_models_records_out_of_memory_during_the_forward_pass(monkeypatch):
    # Shared models (trained weights on disk) and stand-ins (random weights) alike.
    from cvviz.measure import profiling

    monkeypatch.setattr(profiling, "build_for_timing", lambda spec: _OutOfMemoryInForward())
    rows = profile_models(
        ["efficientnet_lite1", "vgg16"], measure=True, device="cpu", cache=_CacheOfFailingModels()
    )
    assert [r.error for r in rows] == [
        "The GPU ran out of memory profiling EfficientNet-Lite1 at batch 8.",
        "The GPU ran out of memory profiling VGG-16 at batch 8.",
    ]
    assert rows[1].flops == count_row("vgg16").flops and rows[1].throughput is None


def test_peak_tflops_is_unknown_on_the_cpu_and_matched_by_gpu_name(monkeypatch):
    assert peak_tflops(torch.device("cpu"), "bf16") is None
    names = {"NVIDIA H100 80GB HBM3": "NVIDIA H100 SXM", "NVIDIA L40S": None, "NVIDIA L4": "NVIDIA L4"}
    for device_name, label in names.items():
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None, n=device_name: n)
        found = peak_tflops(torch.device("cuda"), "bf16")
        assert (found[0] if found else None) == label


def test_compare_figures_highlight_the_pareto_front():
    rows = profile_models(["alexnet", "squeezenet1_1", "vgg16", "lenet5"])
    figure = accuracy_flops_figure(rows)
    front = next(trace for trace in figure.data if trace.name == "Pareto front")
    # SqueezeNet 1.1 (0.70 GFLOPs, 58.2 %) beats AlexNet (1.43 GFLOPs, 56.5 %); VGG-16 is the most accurate.
    assert list(front.text) == ["SqueezeNet 1.1", "VGG-16"]
    assert all(trace.name != "LeNet" for trace in figure.data)  # no published accuracy, no point
    assert len(latency_accuracy_figure(rows).data) == 0  # nothing timed
    assert params_years_figure(rows).layout.yaxis.type == "log"


def test_cli_profile_json_contract(capsys):
    assert main(["profile", "lenet5", "squeezenet1_1", "--no-latency", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in records] == ["lenet5", "squeezenet1_1"]
    assert all(set(r) >= CLI_KEYS for r in records)
    assert records[1]["params"] == 1235496 and records[1]["flops"] == 2 * records[1]["macs"]
    assert records[0]["acc1"] is None and records[1]["latency_ms"] is None and records[1]["device"] is None


def test_cli_profile_measures_on_the_cpu(capsys):
    assert main(["profile", "lenet5", "--device", "cpu", "--runs", "2", "--batch", "1", "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["device"] == "CPU" and record["latency_ms"] > 0 and record["throughput"] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cli_profile_cuda_without_a_gpu_exits_2_with_one_line(capsys):
    assert main(["profile", "lenet5", "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "GPU" in err


# --- Live accuracy ---------------------------------------------------------------------------------------

SAMPLE = {sample.name: sample.path for sample in sample_images()}
# (class index, sample photo). EfficientNet-Lite0 ranks the cat 282 tiger cat > 285 > 281 tabby, the coffee
# 967 espresso > 968 cup, the rocket 657 missile first, and puts goldfish (1) nowhere near the astronaut.
LABELLED = [(282, "cat"), (281, "cat"), (967, "coffee"), (968, "coffee"), (657, "rocket"), (1, "astronaut")]
MANUAL_TOP1, MANUAL_TOP5 = 3, 5  # tiger cat, espresso, missile; plus tabby and cup in the top 5


def _write_folder(root, categories, name_of) -> None:
    for index, sample in LABELLED:
        folder = root / name_of(index)
        folder.mkdir(exist_ok=True)
        (folder / f"{sample}-{index}.png").write_bytes(SAMPLE[sample].read_bytes())


def test_scan_image_folder_reads_wordnet_ids_with_a_mapping_file(tmp_path):
    categories = get_spec("efficientnet_lite0").categories
    lines = [f"n{9000000 + i:08d} {name}" for i, name in enumerate(categories)]
    (tmp_path / "LOC_synset_mapping.txt").write_text("\n".join(lines) + "\n")
    _write_folder(tmp_path, categories, lambda index: f"n{9000000 + index:08d}")
    dataset = scan_image_folder(tmp_path, categories)
    assert sorted(label for _, label in dataset.items) == sorted(index for index, _ in LABELLED)
    assert dataset.layout == "WordNet ids with a mapping file" and dataset.found == 6


def test_scan_image_folder_reads_indices_and_names_and_chooses_n(tmp_path):
    categories = get_spec("efficientnet_lite0").categories
    _write_folder(tmp_path, categories, lambda index: str(index) if index > 500 else categories[index])
    dataset = scan_image_folder(tmp_path, categories, limit=4, seed=1)
    assert len(dataset.items) == 4 and dataset.found == 6
    assert dataset.layout == "class indices and class names"
    assert scan_image_folder(tmp_path, categories, limit=4, seed=1) == dataset


def test_scan_image_folder_names_a_wordnet_id_without_mapping(tmp_path):
    (tmp_path / "n01440764").mkdir()
    with pytest.raises(DatasetError, match=r"n01440764.*LOC_synset_mapping"):
        scan_image_folder(tmp_path, get_spec("efficientnet_lite0").categories)


@pytest.mark.slow
def test_evaluate_accuracy_matches_a_manual_count_for_lite0(tmp_path):
    categories = get_spec("efficientnet_lite0").categories
    _write_folder(tmp_path, categories, str)
    (tmp_path / "1" / "broken.png").write_bytes(b"not an image")
    dataset = scan_image_folder(tmp_path, categories)
    loaded = Workbench().get("efficientnet_lite0")
    progress = []
    result = evaluate_accuracy(loaded, dataset, batch_size=4, progress=lambda *a: progress.append(a))
    assert (result.images, result.skipped) == (6, 1)
    assert (result.correct1, result.correct5) == (MANUAL_TOP1, MANUAL_TOP5)
    assert result.top1 == pytest.approx(50.0) and result.top5 == pytest.approx(500 / 6)
    assert progress[-1] == (7, 7, "efficientnet_lite0") and result.trained


# --- The page ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_compare_page_counts_measures_and_evaluates_on_request(tmp_path, torch_home, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    page = Path(__file__).resolve().parent.parent / "app_pages" / "compare.py"
    at = AppTest.from_file(str(page), default_timeout=240).run()
    assert not at.exception and not at.error
    at.multiselect(key="compare.models").set_value(
        ["SqueezeNet 1.1 (squeezenet1_1)", "LeNet-5 (lenet5)"]
    ).run()
    table = at.dataframe[0].value
    assert list(table["params (M)"]) == [
        round(count_row(n).params / 1e6, 2) for n in ("squeezenet1_1", "lenet5")
    ]
    assert list(table["GFLOPs"]) == [round(count_row(n).flops / 1e9, 3) for n in ("squeezenet1_1", "lenet5")]
    assert (table["latency ms (median)"] == "—").all()  # not measured, said so
    at.number_input(key="compare.runs").set_value(2)
    assert at.button(key="compare.measure.start").label.startswith("Measure (about")  # said before it starts
    at.button(key="compare.measure.start").click().run()
    assert at.session_state["compare.measure.job"]["job"].wait(timeout=240)
    at.run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert (table["latency ms (median)"] > 0).all() and (table["images/s"] == "—").all()
    assert set(table["measured on"]) == {"CPU, fp32"} and set(table["timed runs"]) == {2}
    at.checkbox(key="compare.throughput").check().run()
    at.number_input(key="compare.batch").set_value(1)
    at.button(key="compare.measure.start").click().run()
    assert at.session_state["compare.measure.job"]["job"].wait(timeout=240)
    at.run()
    table = at.dataframe[0].value
    assert (table["images/s"] > 0).all()
    assert set(table["measured on"]) == {"CPU, fp32, throughput at batch 1"}

    shared = tmp_path / "shared"
    (shared / "val").mkdir(parents=True)
    (tmp_path / "private").mkdir()
    monkeypatch.setenv("CVVIZ_DATA_ROOTS", str(shared))
    categories = get_spec("efficientnet_lite0").categories
    _write_folder(shared / "val", categories, str)
    models = ["SqueezeNet 1.1 (squeezenet1_1)", "LeNet-5 (lenet5)", "EfficientNet-Lite0 (efficientnet_lite0)"]
    at.multiselect(key="compare.models").set_value(models).run()
    assert any("SqueezeNet 1.1, LeNet-5" in caption.value for caption in at.caption)  # no weights on disk
    at.radio(key="compare.eval_source").set_value("a folder on this server").run()
    for outside in (tmp_path / "private", shared / ".." / "private"):
        at.text_input(key="compare.eval_folder").set_value(str(outside)).run()
        assert [e.value for e in at.error] == [
            f"'{outside}' is outside the folders this server shares ({shared})."
        ]
        assert at.button(key="compare.evaluate.start").disabled
    at.text_input(key="compare.eval_folder").set_value("val").run()  # relative to the root
    # Evaluation is a job in the server's shared queue: with every worker busy it waits, and says where.
    busy = JobSlots(1)
    blocker = threading.Event()
    Job("another visitor's job", lambda reporter: blocker.wait(60), slots=busy).start()
    monkeypatch.setattr(ui_jobs, "SHARED_SLOTS", busy)
    at.button(key="compare.evaluate.start").click().run()
    assert any("number 1 in the queue" in bar.proto.text for bar in at.get("progress")), at.get("progress")
    blocker.set()
    assert at.session_state["compare.evaluate.job"]["job"].wait(timeout=240)
    at.run()
    assert not at.exception and not at.error
    accuracy = at.dataframe[1].value
    assert list(accuracy["model"]) == ["EfficientNet-Lite0"]
    assert list(accuracy["top-1 % (measured)"]) == [50.0]
    assert list(accuracy["top-5 % (measured)"]) == [round(100 * MANUAL_TOP5 / 6, 2)]


def test_compare_page_hides_server_folders_in_kiosk_mode(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CVVIZ_KIOSK", "1")
    monkeypatch.setenv("CVVIZ_DATA_ROOTS", str(tmp_path))  # roots or not, a kiosk reads no folder
    at = AppTest.from_file(
        str(Path(__file__).resolve().parent.parent / "app_pages" / "compare.py"), default_timeout=240
    )
    at.run()
    assert not at.exception
    assert any("switched off in kiosk mode" in info.value for info in at.info)
    assert not [w for w in at.text_input if w.key == "compare.eval_folder"]
    assert not [w for w in at.radio if w.key == "compare.eval_source"]
    assert [w.key for w in at.file_uploader] == ["compare.eval_zip"]


def test_compare_page_without_data_roots_says_how_to_open_folders_and_offers_only_the_upload(
    monkeypatch, tmp_path
):
    from streamlit.testing.v1 import AppTest

    from cvviz.measure.evaluation_results import EvaluationRecord, append_result

    monkeypatch.delenv("CVVIZ_DATA_ROOTS", raising=False)
    monkeypatch.delenv("CVVIZ_KIOSK", raising=False)
    # Accuracies measured by `python -m cvviz evaluate` show beside the published ones; only those with
    # the published weights, the latest per model.
    results = tmp_path / "evaluation.csv"
    monkeypatch.setenv("CVVIZ_EVALUATION_RESULTS", str(results))
    row = EvaluationRecord("resnet50", 500, 80.2, 95.0, 401, 475, 0, "pretrained", "/data/val", "500", "CPU", 2,
                           9.5, "2026-01-02T03:04:05+00:00")  # fmt: skip
    append_result(results, EvaluationRecord(**{**row.__dict__, "sample": "all", "measured_at": "2025-01-01"}))
    append_result(results, row)
    append_result(results, EvaluationRecord(**{**row.__dict__, "model": "vgg16", "weights": "user 0123"}))
    at = AppTest.from_file(
        str(Path(__file__).resolve().parent.parent / "app_pages" / "compare.py"), default_timeout=240
    )
    at.run()
    assert not at.exception and not at.error
    assert any(
        "No folder of this server is open" in info.value and "CVVIZ_DATA_ROOTS" in info.value
        for info in at.info
    )
    assert not [w for w in at.text_input if w.key == "compare.eval_folder"]
    assert not [w for w in at.radio if w.key == "compare.eval_source"]
    assert [w.key for w in at.file_uploader] == ["compare.eval_zip"]
    assert at.button(key="compare.evaluate.start").disabled
    table = at.dataframe[0].value.set_index("model")
    assert table.loc["ResNet-50", "top-1 % (measured)"] == "80.2"
    assert table.loc["ResNet-50", "measured on (images)"] == "500"
    assert table.loc["ResNet-50", "measured at (UTC)"] == "Jan 2, 2026 03:04"  # the locale's date, in UTC
    assert table.loc["VGG-16", "top-1 % (measured)"] == "—"  # other weights than the published ones
    assert any("1 of these models evaluated" in caption.value for caption in at.caption)


def _labelled_zip(name_of) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, sample in LABELLED:
            archive.writestr(f"val/{name_of(index)}/{sample}-{index}.png", SAMPLE[sample].read_bytes())
    return buffer.getvalue()


@pytest.mark.slow
def test_compare_page_evaluates_an_uploaded_zip_in_a_session_folder_that_goes_away(
    tmp_path, torch_home, monkeypatch
):
    from streamlit.runtime.caching import clear_session_resource_cache
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("CVVIZ_DATA_ROOTS", raising=False)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the session's folder is made

    def session_folders() -> list[Path]:
        return sorted(scratch.glob("cvviz-zip-*"))

    categories = get_spec("efficientnet_lite0").categories
    at = AppTest.from_file(
        str(Path(__file__).resolve().parent.parent / "app_pages" / "compare.py"), default_timeout=240
    ).run()
    at.multiselect(key="compare.models").set_value(["EfficientNet-Lite0 (efficientnet_lite0)"]).run()
    at.file_uploader(key="compare.eval_zip").set_value(
        ("labelled.zip", _labelled_zip(lambda index: categories[index]), "application/zip")
    ).run()
    assert not at.exception and not at.error
    (first,) = session_folders()
    assert {p.name for p in first.rglob("*.png")} == {f"{s}-{i}.png" for i, s in LABELLED}
    assert any("labelled.zip: 6 files unpacked" in caption.value for caption in at.caption)
    at.button(key="compare.evaluate.start").click().run()
    assert at.session_state["compare.evaluate.job"]["job"].wait(timeout=240)
    at.run()
    assert not at.exception and not at.error
    accuracy = at.dataframe[1].value
    assert list(accuracy["model"]) == ["EfficientNet-Lite0"]
    assert list(accuracy["top-1 % (measured)"]) == [50.0]
    assert list(accuracy["top-5 % (measured)"]) == [round(100 * MANUAL_TOP5 / 6, 2)]
    assert any("6 of 6 images from labelled.zip, folders read as class names" in c.value for c in at.caption)
    assert list(scratch.iterdir()) == [first]  # nothing written beside it

    # A new zip replaces the first, whose folder goes; a hostile one is refused and the page keeps working.
    at.file_uploader(key="compare.eval_zip").set_value(
        ("indices.zip", _labelled_zip(str), "application/zip")
    ).run()
    (second,) = session_folders()
    assert second != first and not first.exists()
    hostile = io.BytesIO()
    with zipfile.ZipFile(hostile, "w") as archive:
        archive.writestr("281/cat.png", SAMPLE["cat"].read_bytes())
        archive.writestr("../../escaped.png", b"evil")
    at.file_uploader(key="compare.eval_zip").set_value(
        ("evil.zip", hostile.getvalue(), "application/zip")
    ).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "The zip entry '../../escaped.png' leads outside the zip's folder, so the zip was refused."
    ]
    assert at.button(key="compare.evaluate.start").disabled
    assert session_folders() == [] and not list(tmp_path.rglob("escaped.png"))
    assert list(at.dataframe[1].value["top-1 % (measured)"]) == [50.0]  # the last results stay

    # The session ends: Streamlit clears its session-scoped resources, and the folder goes with them.
    at.file_uploader(key="compare.eval_zip").set_value(
        ("labelled.zip", _labelled_zip(str), "application/zip")
    ).run()
    assert len(session_folders()) == 1
    clear_session_resource_cache("test session id")  # what the server does when a session disconnects
    assert session_folders() == []


def test_time_forward_stops_at_its_budget_after_three_runs():
    calls = []

    def slow() -> None:
        calls.append(1)
        time.sleep(0.05)

    stats = time_forward(slow, torch.device("cpu"), runs=50, warmup=1, budget_s=0.12)
    assert 3 <= stats.runs < 50 and len(stats.times_ms) == stats.runs == len(calls) - 1


def test_stand_in_for_timing_has_the_model_layout_and_finite_outputs():
    from cvviz.models.build import build_architecture, build_for_timing

    spec = get_spec("swin_t")  # integer index buffers must survive: only random fills are replaced
    stand_in, real = build_for_timing(spec), build_architecture(spec)
    assert {k: v.shape for k, v in stand_in.state_dict().items()} == {
        k: v.shape for k, v in real.state_dict().items()
    }
    for name, buffer in real.named_buffers():
        torch.testing.assert_close(dict(stand_in.named_buffers())[name], buffer)
    with torch.inference_mode():
        out = stand_in(torch.randn(1, *spec.input_shape))
    assert torch.isfinite(out).all() and out.std() > 0
