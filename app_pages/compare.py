"""Compare backbones side by side: parameters, FLOPs and published accuracy; latency, throughput and memory
measured live on demand; live top-1/top-5 on a folder of labelled images."""

import csv
import io
import os

import streamlit as st

from cvviz.catalog import family_names, get_spec, list_models
from cvviz.data.roots import DATA_ROOTS_ENV, data_roots, resolve_in_roots
from cvviz.device import default_device
from cvviz.errors import CvvizError
from cvviz.formatting import format_timestamp
from cvviz.i18n import N_, _
from cvviz.jobs import Job
from cvviz.measure.complexity import NOT_COUNTED
from cvviz.measure.evaluation import ACCEPTED_LAYOUTS, evaluate_models, scan_image_folder
from cvviz.measure.evaluation_results import default_results_path, latest_by_model, read_results
from cvviz.measure.profiling import available_weights, profile_models, translate_row_note
from cvviz.measure.timing import estimate_seconds, seconds_per_mac
from cvviz.plotting.compare import accuracy_flops_figure, latency_accuracy_figure, params_years_figure
from ui.jobs import long_run
from ui.kiosk import kiosk_settings
from ui.messages import untrained_banner
from ui.resources import workbench
from ui.sidebar import current_selection
from ui.tables import table
from ui.uploads import discard_unpacked, unpacked_zip

STORY = (
    "lenet5", "alexnet", "vgg16", "googlenet", "resnet50", "densenet121", "squeezenet1_1", "mobilenet_v2",
    "shufflenet_v2_x1_0", "efficientnet_b0", "vit_b_16", "swin_t", "convnext_tiny",
)  # fmt: skip
MEASURED_KEY = "compare.measured"
ACCURACY_KEY = "compare.accuracy"

selection = current_selection()
untrained_banner(selection.model)

st.title(_("Backbones side by side"))
st.markdown(
    _(
        "Parameters and FLOPs are counted from each model as built here (on the meta device: no weights, no "
        "memory). Accuracy is the **published** ImageNet-1K figure with its source; latency, throughput and "
        "memory are measured live on this machine when you ask."
    )
)

by_label = {f"{spec.title} ({spec.name})": spec.name for spec in list_models()}
label_of = {name: label for label, name in by_label.items()}
chosen = st.multiselect(
    _("Models"),
    list(by_label),
    default=[label_of[n] for n in STORY],
    key="compare.models",
    placeholder=_("Choose options"),
)
names = [by_label[label] for label in chosen]
if not names:
    st.info(_("Choose at least one model."))
    st.stop()

with st.spinner(_("Counting parameters and FLOPs…")):
    rows = profile_models(names)

with st.expander(_("Measure latency, throughput and memory live"), expanded=False):
    devices = ["cuda", "cpu"] if default_device().type == "cuda" else ["cpu"]
    left, middle, right = st.columns(3)
    device = left.radio(_("Device"), devices, key="compare.device", horizontal=True)
    dtype = left.radio(_("Precision"), ["fp32", "bf16"], key="compare.dtype", horizontal=True)
    channels_last = middle.checkbox(_("Channels-last"), key="compare.channels_last")
    throughput = middle.checkbox(_("Also throughput and memory (slower)"), key="compare.throughput")
    batch = middle.number_input(
        _("Throughput batch"), 1, 256, 8, key="compare.batch", disabled=not throughput
    )
    runs = right.number_input(_("Timed runs (batch 1, at most)"), 1, 200, 10, key="compare.runs")
    budget = right.number_input(
        _("Seconds per model (at most, after 3 runs)"), 0.1, 60.0, 0.4, key="compare.budget"
    )
    st.caption(
        _(
            "Models run with the trained weights already on disk, else with random values: a forward pass "
            "takes as long either way. Each model is warmed up once, then timed until it has run the number "
            "of times asked or used its seconds (at least 3 runs). A slow CPU shared with others gives noisy "
            "numbers; the p10–p90 spread shows how noisy."
        )
    )
    settings = (device, dtype, channels_last, throughput, int(batch), int(runs), float(budget))
    bench = workbench()  # taken here: the job's thread does not touch Streamlit

    def measure_job() -> Job:
        def work(reporter):
            def progress(done: int, total: int, name: str) -> None:
                reporter.update(
                    done / total,
                    _("Timing {model} ({done}/{total})").format(
                        model=get_spec(name).title, done=done + 1, total=total
                    )
                    if name
                    else _("Done"),
                )

            return profile_models(
                names, measure=True, device=device, dtype=dtype, channels_last=channels_last, batch=int(batch),
                runs=int(runs), warmup=1, throughput=throughput, budget_s=float(budget), cache=bench,
                progress=progress,
            )  # fmt: skip

        return Job(_("Measuring"), work)

    speed = seconds_per_mac(device)
    estimate = sum(
        0.05
        + estimate_seconds(
            row.macs,
            speed,
            runs=int(runs),
            warmup=1,
            budget_s=float(budget),
            throughput=throughput,
            batch=int(batch),
        )
        for row in rows
    )
    fresh = long_run(
        "compare.measure", _("Measure"), (tuple(names), settings), measure_job, estimate_s=estimate
    )
    if fresh:
        # Measurements are kept per model and per settings, so changing the list keeps what was measured.
        st.session_state.setdefault(MEASURED_KEY, {}).setdefault(settings, {}).update(
            {row.model: row for row in fresh}
        )

measured = st.session_state.get(MEASURED_KEY, {}).get(settings, {})
rows = [measured.get(row.model, row) for row in rows]


try:
    evaluated = latest_by_model(read_results(default_results_path()))
except CvvizError as exc:
    st.warning(str(exc))
    evaluated = {}


def _mb(value):
    return None if value is None else round(value / 2**20, 1)


def _round(value, digits=2):
    return None if value is None else round(value, digits)


table(
    [
        {
            _("model"): r.title,
            _("family"): r.family,
            _("year"): r.year,
            _("params (M)"): round(r.params / 1e6, 2),
            "GFLOPs": round(r.flops / 1e9, 3),
            _("weights (MB)"): _mb(r.weight_bytes),
            _("weights size from"): _(r.weight_bytes_source),
            _("top-1 %"): r.acc1,
            _("top-5 %"): r.acc5,
            _("accuracy source"): r.accuracy_source or "—",
            _("top-1 % (measured)"): round(evaluated[r.model].top1, 2) if r.model in evaluated else None,
            _("top-5 % (measured)"): round(evaluated[r.model].top5, 2) if r.model in evaluated else None,
            _("measured on (images)"): evaluated[r.model].images if r.model in evaluated else None,
            _("measured at (UTC)"): format_timestamp(evaluated[r.model].measured_at)
            if r.model in evaluated
            else None,
            _("latency ms (median)"): _round(r.latency_ms),
            _("latency p10–p90 ms"): None
            if r.latency_ms is None
            else f"{r.latency_p10_ms:.2f}–{r.latency_p90_ms:.2f}",
            _("images/s"): _round(r.throughput, 1),
            _("peak memory (MB)"): _mb(r.peak_memory_bytes),
            "TFLOP/s": _round(r.tflops, 3),
            _("share of peak %"): None if r.peak_share is None else round(100 * r.peak_share, 1),
            _("timed runs"): r.runs,
            _("measured on"): None
            if r.device is None
            else f"{r.device}, {r.dtype}"
            + (", " + _("throughput at batch {batch}").format(batch=r.batch) if r.batch else ""),
            _("error"): r.error,
            _("note"): translate_row_note(r.note),
        }
        for r in rows
    ],
    hide_index=True,
    key="compare.table",
)
flops_note = _("FLOPs = 2 × MACs at the native input size, batch 1; not counted: {what}.").format(
    what=_(NOT_COUNTED)
)
shown_measured = [evaluated[n] for n in names if n in evaluated]
if not shown_measured:
    st.caption(flops_note + " " + _("Top-1/top-5 are published figures, not measured here."))
else:
    st.caption(flops_note + " " + _("Top-1/top-5 are published figures; the measured ones are beside them."))
    st.caption(
        _(
            "Measured top-1/top-5: {count} of these models evaluated with `python -m cvviz evaluate` on "
            "{folders} with their published weights, read from {path}."
        ).format(
            count=len(shown_measured),
            folders=", ".join(sorted({f"`{r.dataset}`" for r in shown_measured})),
            path=f"`{default_results_path()}`",
        )
    )
if measured:
    memory = "; ".join(sorted({_(r.memory_note) for r in rows if r.memory_note}))
    st.caption(
        _(
            "Latency: median of the timed runs at batch 1 after warm-up (p10–p90 beside it); throughput and "
            "TFLOP/s at the chosen batch; the share of peak is against the GPU's peak dense TFLOP/s where the GPU is "
            "known. Memory: {memory}."
        ).format(memory=memory)
    )
for r in rows:
    if r.note:
        st.caption(f"{r.title}: {translate_row_note(r.note)}")

records = [r.to_record() for r in rows]
buffer = io.StringIO()
writer = csv.DictWriter(buffer, fieldnames=list(records[0]))
writer.writeheader()
writer.writerows(records)
st.download_button(
    _("Download the table (CSV)"), buffer.getvalue(), "cvviz-compare.csv", "text/csv", key="compare.download"
)

tabs = st.tabs([_("Accuracy vs FLOPs"), _("Latency vs accuracy"), _("Parameters over the years")])
with tabs[0]:
    st.plotly_chart(accuracy_flops_figure(rows, family_names()), key="compare.acc_flops")
    st.caption(
        _("The dashed line is the Pareto front: no other model here is both cheaper and more accurate.")
    )
with tabs[1]:
    if any(r.latency_ms is not None for r in rows):
        st.plotly_chart(latency_accuracy_figure(rows, family_names()), key="compare.latency")
    else:
        st.info(_("Measure latency above to fill this chart."))
with tabs[2]:
    st.plotly_chart(params_years_figure(rows, family_names()), key="compare.params_years")

st.subheader(_("Live accuracy on your own labelled images"))
roots = data_roots()
folders_open = bool(roots) and not kiosk_settings().enabled
st.markdown(
    (
        _("Upload a zip of labelled images (`class_name/image.jpg`) or give a folder on this server")
        if folders_open
        else _("Upload a zip of labelled images (`class_name/image.jpg`)")
    )
    + ": "
    + _(ACCEPTED_LAYOUTS)
    + ". "
    + _("Images are preprocessed as in the published evaluation.")
)
if kiosk_settings().enabled:
    # A public screen must not let visitors browse the server's folders.
    st.info(_("Reading folders of this server is switched off in kiosk mode; upload a zip instead."))
elif not roots:
    st.info(
        _(
            "No folder of this server is open to this page: to open some, start the app with {variable} "
            "listing them, separated by '{separator}' (e.g. `{variable}=/data/imagenet streamlit run app.py`); "
            "until then, upload a zip."
        ).format(variable=DATA_ROOTS_ENV, separator=os.pathsep)
    )
from_zip = not folders_open or (
    st.radio(
        _("Images from"),
        [N_("a zip"), N_("a folder on this server")],
        key="compare.eval_source",
        horizontal=True,
        format_func=_,
    )
    == "a zip"
)
folder, shown_as, within = None, "", None
if from_zip:
    upload = st.file_uploader(_("Zip of labelled images"), type=["zip"], key="compare.eval_zip")
    try:
        archive = unpacked_zip(upload, "compare.eval_zip_refused")
    except CvvizError as exc:
        st.error(str(exc))
    else:
        if archive is not None:
            folder, shown_as = archive.root, upload.name
            st.caption(
                _("{name}: {files} files unpacked for this session only.").format(
                    name=upload.name, files=archive.files
                )
            )
else:
    discard_unpacked()
    typed = st.text_input(
        _("Folder of labelled images"), key="compare.eval_folder", placeholder=f"{roots[0]}/imagenet/val"
    )
    st.caption(
        _("Folders open to this page: {folders}.").format(folders=", ".join(f"`{root}`" for root in roots))
    )
    if typed.strip():
        try:
            folder, shown_as, within = resolve_in_roots(typed, roots), typed.strip(), roots
        except CvvizError as exc:
            st.error(str(exc))
count = st.number_input(_("Images to use (a seeded random choice)"), 1, 50000, 100, key="compare.eval_count")
imagenet = [n for n in names if get_spec(n).categories == get_spec("efficientnet_lite0").categories]
ready = [n for n in imagenet if available_weights(get_spec(n)) == "pretrained"]
skipped = [get_spec(n).title for n in names if n not in ready]
if skipped:
    st.caption(
        _("Not evaluated (not ImageNet classifiers, or no trained weights on disk): {models}.").format(
            models=", ".join(skipped)
        )
    )
bench = workbench()  # taken here: the job's thread does not touch Streamlit


def evaluate_job() -> Job:
    """Read the folder and evaluate the ready models on it, as a job: it waits its turn for one of the
    server's shared worker slots (the visitor sees their place in the queue), then reports per model."""

    def work(reporter):
        reporter.update(0.0, _("Reading the folder…"))
        dataset = scan_image_folder(folder, get_spec(ready[0]).categories, limit=int(count), within=within)

        def eval_progress(done: int, total: int, name: str) -> None:
            reporter.update(
                done / total,
                _("{model}: {done}/{total} images").format(
                    model=get_spec(name).title, done=done, total=total
                ),
            )

        return dataset, evaluate_models(ready, dataset, bench, progress=eval_progress), shown_as

    return Job(_("Evaluating"), work)


if folder and ready:
    evaluated_now = long_run(
        "compare.evaluate", _("Evaluate"), (tuple(ready), str(folder), int(count), shown_as), evaluate_job
    )
    if evaluated_now is not None:
        st.session_state[ACCURACY_KEY] = evaluated_now
else:
    st.button(_("Evaluate"), key="compare.evaluate.start", disabled=True)
if ACCURACY_KEY in st.session_state:
    dataset, results, shown_as = st.session_state[ACCURACY_KEY]
    st.caption(
        _("{used} of {found} images from {source}, folders read as {layout}.").format(
            used=len(dataset.items), found=dataset.found, source=shown_as, layout=dataset.layout
        )
    )
    table(
        [
            {
                _("model"): r.title,
                _("images"): r.images,
                _("top-1 % (measured)"): None if r.top1 is None else round(r.top1, 2),
                _("top-5 % (measured)"): None if r.top5 is None else round(r.top5, 2),
                _("top-1 % (published)"): get_spec(r.model).published.top1
                if get_spec(r.model).published
                else None,
                _("unreadable images skipped"): r.skipped,
                _("error"): r.error,
            }
            for r in results
        ],
        hide_index=True,
        key="compare.accuracy_table",
    )
