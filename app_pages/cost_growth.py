"""How cost grows: MACs (attention apart), activation memory and latency against input size; MobileNet's
width and resolution multipliers beside the paper; EfficientNet's compound scaling."""

import streamlit as st

from cvviz.catalog import get_spec, list_models
from cvviz.device import default_device, describe_device
from cvviz.errors import CvvizError
from cvviz.i18n import N_, _
from cvviz.measure import paper_scaling, scaling
from cvviz.plotting.scaling import (
    breakdown_figure,
    compound_dimensions_figure,
    compound_figure,
    latency_figure,
    macs_scaling_figure,
    memory_figure,
    mobilenet_grid_figure,
)
from ui.jobs import long_run
from ui.tables import table

SECTIONS = {
    "size": N_("Input size"),
    "mobilenet": N_("Width × resolution (MobileNet V1)"),
    "compound": N_("Compound scaling (EfficientNet)"),
}
TIMED_KEY = "cost.timed"

st.title(_("How cost grows"))
st.markdown(
    _(
        "ViT's global attention grows with the square of the number of patches, Swin's windowed attention "
        "linearly; MobileNet trades accuracy for cost with width and resolution multipliers; EfficientNet "
        "scales depth, width and resolution together. Every number here is counted on the model itself, "
        "rebuilt for each setting on the meta device (no weights, no memory), or timed on this machine when "
        "you ask."
    )
)
section = (
    st.segmented_control(
        _("Knob"),
        list(SECTIONS),
        format_func=lambda key: _(SECTIONS[key]),
        default="size",
        key="cost.section",
    )
    or "size"
)


def _mb(value):
    return None if value is None else round(value / 2**20, 1)


def input_size_section() -> None:
    by_label = {f"{spec.title} ({spec.name})": spec.name for spec in list_models()}
    label_of = {name: label for label, name in by_label.items()}
    chosen = st.multiselect(
        _("Models"),
        list(by_label),
        default=[label_of[n] for n in scaling.INPUT_SWEEP_MODELS],
        key="cost.models",
        placeholder=_("Choose options"),
    )
    left, right = st.columns([2, 1])
    typed = left.text_input(
        _("Input sizes (pixels per side)"),
        ", ".join(str(s) for s in scaling.DEFAULT_SIZES),
        key="cost.sizes",
        help=_("Any sizes from {low} to {high}; a ViT needs multiples of its patch size.").format(
            low=scaling.MIN_SIZE, high=scaling.MAX_SIZE
        ),
    )
    typed_widths = right.text_input(_("Width multipliers α (MobileNets only)"), "1.0", key="cost.widths")
    names = [by_label[label] for label in chosen]
    if not names:
        st.info(_("Choose at least one model."))
        return
    try:
        sizes = scaling.parse_sizes(typed)
        widths = scaling.parse_widths(typed_widths)
        bar = st.progress(0.0, text=_("Counting…"))

        def progress(done: int, total: int, name: str) -> None:
            text = _("Counting {title} ({done}/{total})").format(
                title=get_spec(name).title if name else "", done=done + 1, total=total
            )
            bar.progress(done / total, text=text if name else _("Done"))

        rows = scaling.sweep(names, sizes, widths, progress=progress)
        bar.empty()
    except CvvizError as exc:
        st.error(str(exc))
        return
    timed = st.session_state.get(TIMED_KEY, {})
    rows = [timed.get((r.model, r.size, r.width), r) for r in rows]
    slopes = scaling.fitted_slopes(rows)

    st.plotly_chart(macs_scaling_figure(rows, slopes), key="cost.macs_figure")
    if slopes:
        st.caption(
            _(
                "Slopes are least-squares fits on log–log axes: cost ∝ xᵇ. Against the token count for "
                "transformers (ViT: patches + the class token; Swin: the first stage's 4×4 patches), against "
                "pixels for CNNs. Global attention's b is 2, windowed attention's 1."
            )
        )
    noted = {}
    for row in rows:
        if row.note:
            noted.setdefault(row.title, []).append(row)
    for title, members in noted.items():
        first, *others = members
        also = (
            _(" Likewise at {sizes}.").format(sizes=", ".join(str(r.size) for r in others)) if others else ""
        )
        st.caption(
            _("{title} at {size}: {note}.").format(title=title, size=first.size, note=first.note) + also
        )
    st.plotly_chart(breakdown_figure(rows), key="cost.breakdown_figure")
    st.caption(" ".join((_(scaling.MACS_HOW), _(scaling.ATTENTION_HOW))))
    st.subheader(_("Latency on this machine"))
    device = default_device()
    left, right = st.columns(2)
    runs = left.number_input(_("Timed runs per point (at most)"), 1, 50, 5, key="cost.runs")
    budget = right.number_input(
        _("Seconds per point (at most, after 3 runs)"), 0.1, 30.0, 1.0, key="cost.budget"
    )

    def make_job():
        return scaling.latency_job(rows, device, runs=int(runs), budget_s=float(budget))

    estimate = scaling.estimate_latency_seconds(rows, device, runs=int(runs), budget_s=float(budget))
    inputs = (tuple((r.model, r.size, r.width) for r in rows), str(device), int(runs), float(budget))
    fresh = long_run(
        "cost.latency",
        _("Time every point on {device}").format(device=describe_device(device)),
        inputs,
        make_job,
        estimate_s=estimate,
    )
    if fresh:
        timed = st.session_state.setdefault(TIMED_KEY, {})
        timed.update({(r.model, r.size, r.width): r for r in fresh})
        rows = [timed.get((r.model, r.size, r.width), r) for r in rows]
    if any(r.latency_ms is not None for r in rows):
        st.plotly_chart(latency_figure(rows), key="cost.latency_figure")
        st.caption(_(scaling.LATENCY_HOW).format(device=next(r.device for r in rows if r.device)))
    for row in rows:
        if row.error:
            st.warning(row.error)
    st.plotly_chart(memory_figure(rows), key="cost.memory_figure")
    st.caption(_(scaling.MEMORY_HOW))

    table(
        [
            {
                _("model"): r.title,
                _("size"): r.size,
                "α": r.width,
                _("tokens"): r.tokens,
                _("params (M)"): round(r.params / 1e6, 2),
                "GMACs": round(r.macs / 1e9, 3),
                _("attention GMACs"): round(r.attention_macs / 1e9, 3),
                _("convolution GMACs"): round(r.conv_macs / 1e9, 3),
                _("linear GMACs"): round(r.linear_macs / 1e9, 3),
                _("element-wise Mops"): round(r.elementwise_ops / 1e6, 1),
                _("peak activations (MB)"): _mb(r.activation_bytes),
                _("measured peak (MB)"): _mb(r.measured_activation_bytes),
                _("latency ms (median)"): None if r.latency_ms is None else round(r.latency_ms, 2),
                _("measured on"): r.device,
                _("note"): r.note,
                _("how"): r.how,
            }
            for r in rows
        ],
        plain=(_("size"),),
        hide_index=True,
        key="cost.table",
    )
    st.caption(_(scaling.ELEMENTWISE_HOW))


def mobilenet_section() -> None:
    with st.spinner(_("Counting MobileNet V1 at every width and size…")):
        cells = paper_scaling.mobilenet_grid()
    st.plotly_chart(mobilenet_grid_figure(cells), key="cost.mobilenet_figure")
    table(
        [
            {
                "α": c.width,
                _("size"): c.size,
                _("mult-adds (M), counted"): round(c.macs / 1e6, 1),
                _("mult-adds (M), paper"): None if c.published is None else c.published.macs / 1e6,
                _("difference %"): None if c.macs_error is None else round(100 * c.macs_error, 2),
                _("params (M), counted"): round(c.params / 1e6, 3),
                _("params (M), paper"): None if c.published is None else c.published.params / 1e6,
                _("top-1 %, paper"): None if c.published is None else c.published.top1,
            }
            for c in cells
        ],
        plain=(_("size"),),
        hide_index=True,
        key="cost.mobilenet_table",
    )
    st.caption(
        _(
            "Counted on MobileNet V1 built with each width multiplier α and run at each input size (meta device; "
            "channels below 8 are kept at 8, as the reference implementation does). Paper figures: {source}; "
            "the paper rounds its parameter counts to 0.1M. α thins every layer, so MACs and parameters fall "
            "by about α²; ρ shrinks every feature map, so MACs fall by ρ² and parameters stay."
        ).format(source=paper_scaling.MOBILENET_SOURCE)
    )


def compound_section() -> None:
    with st.spinner(_("Reading EfficientNet B0–B7 and Lite0–Lite2…")):
        base = paper_scaling.compound_scaling(paper_scaling.EFFICIENTNET_B)
        lite = paper_scaling.compound_scaling(paper_scaling.EFFICIENTNET_LITE)
    st.plotly_chart(
        compound_figure([("EfficientNet B0–B7", base), ("EfficientNet-Lite0–2", lite)]),
        key="cost.compound_figure",
    )
    left, right = st.columns(2)
    with left:
        st.plotly_chart(compound_dimensions_figure(base), key="cost.compound_b")
    with right:
        st.plotly_chart(compound_dimensions_figure(lite), key="cost.compound_lite")
    table(
        [
            {
                _("model"): r.title,
                _("MBConv blocks"): r.blocks,
                _("× depth"): round(r.depth_ratio, 2),
                _("channels of the last block"): r.channels,
                _("× width"): round(r.width_ratio, 2),
                _("input size"): r.size,
                _("× resolution"): round(r.resolution_ratio, 2),
                _("params (M)"): round(r.params / 1e6, 2),
                "GMACs": round(r.macs / 1e9, 3),
                _("top-1 % (published)"): r.acc1,
                _("accuracy source"): r.accuracy_source,
            }
            for r in base + lite
        ],
        plain=(_("input size"),),
        hide_index=True,
        key="cost.compound_table",
    )
    st.caption(
        _(
            "Depth, width and resolution are read from each model built on the meta device; MACs are counted "
            "at its native input size. The paper (Tan & Le 2019, §3.3) scales depth by α^φ, width by β^φ and "
            "resolution by γ^φ so that FLOPs grow by about 2^φ, FLOPs being ∝ depth · width² · resolution²: "
            "fitted over B0–B7 here, MACs grow as (depth · width² · resolution²)^{exponent:.2f}. The Lite "
            "variants keep their stem and head fixed."
        ).format(exponent=paper_scaling.compound_exponent(base))
    )


if section == "size":
    input_size_section()
elif section == "mobilenet":
    mobilenet_section()
else:
    compound_section()
