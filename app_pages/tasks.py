"""Task heads: the same kind of backbone under a detection or segmentation head, backbone → neck → head."""

import time

import numpy as np
import streamlit as st

from cvviz.catalog import get_family, get_spec, list_task_models
from cvviz.catalog.schema import TASK_LABELS
from cvviz.errors import CvvizError
from cvviz.formatting import format_decimal, format_number, format_percent
from cvviz.i18n import N_, _
from cvviz.plotting.tasks import (
    anchors_figure,
    boxes_figure,
    feature_levels_figure,
    instance_masks_figure,
    keypoints_figure,
    parts_figure,
    semantic_figure,
)
from cvviz.tasks.parts import PART_LABELS, task_cost
from cvviz.tasks.pipeline import run_task
from cvviz.tasks.postprocess import SCORE_FLOOR, ranked_detections
from ui.messages import CHOOSE_IMAGE, require
from ui.resources import load_model, workbench
from ui.sidebar import current_selection
from ui.tables import table

METRIC_LABELS = {
    "box_map": N_("box AP"),
    "mask_map": N_("mask AP"),
    "kp_map": N_("keypoint AP"),
    "miou": N_("mIoU"),
    "pixel_acc": N_("pixel accuracy"),
}
DEFAULT_MODEL = "fasterrcnn_mobilenet_v3_large_320_fpn"

selection = current_selection()
st.title(_("Task heads: backbone → neck → head"))
st.markdown(
    _(
        "A backbone exists to feed a task. Detectors and segmenters put a **neck** on it (a feature pyramid "
        "that mixes its stages) and a **head** that turns every level into boxes, masks or a class per "
        "pixel. Follow one image through every step, with every count read from the model in hand."
    )
)

specs = {spec.name: spec for spec in list_task_models()}
names = list(specs)
name = st.selectbox(
    _("Task model"),
    names,
    index=names.index(DEFAULT_MODEL),
    format_func=lambda n: f"{specs[n].title} · {_(TASK_LABELS[specs[n].task])}",
    key="tasks.model",
)
spec = get_spec(name)
family = get_family(spec)
loaded, fallback = load_model(name, "pretrained")
if not loaded.trained:
    st.warning(
        _(
            "**Structure only:** the trained weights of {model} are not on this machine, so it runs with "
            "random weights. The shapes, strides, anchors and counts below are the model's own; its boxes, "
            "masks and classes mean nothing until the weights are fetched: `python -m cvviz weights fetch "
            "{name}`."
        ).format(model=spec.title, name=name),
        icon=":material/warning:",
    )

# --- The model: paper, published figures, parts ------------------------------------------------------------
left, right = st.columns([3, 2])
with left:
    st.markdown(
        f"**{spec.title}** — [{spec.paper.title}]({spec.paper.url}) ({spec.paper.authors}, {spec.year})"
    )
    st.caption(_(spec.key_idea))
    table(
        [
            {
                _("metric"): _(METRIC_LABELS.get(m.name, m.name)),
                _("value"): m.value,
                _("dataset"): m.dataset,
                _("source"): m.source,
            }
            for m in spec.published_metrics
        ],
        hide_index=True,
    )
cost = workbench().remember(name, None, "task_cost", (), lambda: task_cost(spec))
meta = spec.torchvision_weights.meta
with right:
    st.plotly_chart(parts_figure(cost, meta.get("num_params"), meta.get("_ops")), key="tasks.parts")
table(
    [
        {
            _("part"): _(PART_LABELS[p.part]),
            _("modules"): ", ".join(p.modules) or "—",
            _("parameters"): p.params,
            _("MACs"): p.macs,
        }
        for p in cost.parts
    ],
    hide_index=True,
)
note = _(
    "Counted at {size}×{size} on the meta device: {params} parameters (published: {published_params}), "
    "{macs} GMACs (published: {published_macs})."
).format(
    size=cost.input_shape[-1],
    params=format_number(cost.params),
    published_params=format_number(meta["num_params"]),
    macs=format_decimal(cost.macs / 1e9, 2),
    published_macs=format_decimal(meta["_ops"], 2),
)
if cost.proposals:
    note += " " + _(
        "The second stage is counted for the RPN's {proposals} proposals (its test-time maximum); it runs "
        "once per proposal, so an image with fewer costs less."
    ).format(proposals=cost.proposals)
st.caption(note)

# --- One image through the pipeline -----------------------------------------------------------------------
image = require(selection.image, CHOOSE_IMAGE)
pixels = np.asarray(image.image)


def compute():
    start = time.perf_counter()
    with loaded.exclusive() as model:
        result = run_task(spec, model, image.image)
    return result, time.perf_counter() - start


with st.spinner(_("Running {model} step by step…").format(model=spec.title)):
    try:
        run, forward_s = workbench().remember(loaded.key, image.fingerprint, "task_run", (), compute)
    except CvvizError as exc:
        st.error(str(exc))
        st.stop()

st.header(_("1 · Backbone stages"))
st.markdown(
    _(
        "The image enters at {h}×{w}. Each stage halves the map and widens the channels; the stride is how "
        "many input pixels one cell spans."
    ).format(h=run.input_size[0], w=run.input_size[1])
)
st.plotly_chart(feature_levels_figure(run.stages), key="tasks.stages")

st.header(_("2 · Neck"))
if run.levels:
    neck_text = {
        "two_stage": N_("The FPN adds a top-down path to the stages: every level gets 256 channels and strong semantics."),
        "dense": N_("The FPN builds P3–P5 from the stages and P6–P7 by striding further, for large objects."),
        "ssd": N_("SSD has no FPN: extra layers keep shrinking the last map, and each map is a prediction level."),
        "semantic": N_("DeepLabV3's ASPP looks at the last map through dilated convolutions at several rates."),
    }  # fmt: skip
    st.markdown(_(neck_text[run.architecture]))
    st.plotly_chart(feature_levels_figure(run.levels), key="tasks.levels")
else:
    st.markdown(
        _("{model} has no neck: its head reads the backbone's maps directly.").format(model=spec.title)
    )

if run.architecture == "semantic":
    st.header(_("3 · Head and upsampling"))
    sem = run.semantic
    st.markdown(
        _(
            "The head scores {k} classes on a {h}×{w} map (stride {stride}); the scores are upsampled "
            "({how}) to the image's {H}×{W} pixels and each pixel takes its best class."
        ).format(
            k=sem.output_shape[0],
            h=sem.output_shape[1],
            w=sem.output_shape[2],
            stride=sem.output_stride,
            how=sem.upsampling,
            H=sem.labels.shape[0],
            W=sem.labels.shape[1],
        )
    )
    st.plotly_chart(semantic_figure(pixels, sem.labels, spec.categories), key="tasks.semantic")
    table(
        [
            {
                _("class"): spec.categories[i],
                _("pixels"): n,
                _("share"): format_percent(n / sem.labels.size, 1),
            }
            for i, n in sem.class_pixels()
        ],
        hide_index=True,
    )
    st.stop()

st.header(_("3 · Anchors"))
level_names = [level.name for level in run.levels]
st.markdown(
    _(
        "Every location of every level carries the same few anchors (sizes × aspect ratios): the head "
        "scores each one and regresses it into a box. Drawn: the anchors of each level's centre location; "
        "{total} anchors in all."
    ).format(total=format_number(sum(a.count for a in run.anchors)))
)
table(
    [
        {
            _("level"): name_,
            _("grid"): f"{a.grid[0]}×{a.grid[1]}",
            _("stride"): a.stride,
            _("per location"): a.per_location,
            _("anchors"): a.count,
            _("sizes (px)"): ", ".join(f"{s:.0f}" for s in sorted({round(float(s)) for s in a.sizes})),
            _("aspect ratios"): ", ".join(
                f"{r:.1f}" for r in sorted({round(float(r), 1) for r in a.aspect_ratios})
            ),
        }
        for name_, a in zip(level_names, run.anchors, strict=False)
    ],
    hide_index=True,
)
st.plotly_chart(anchors_figure(pixels, run.anchors, level_names), key="tasks.anchors")

if run.proposals is not None:
    st.header(_("4 · Region proposals"))
    st.markdown(
        _(
            "The RPN keeps the best-scoring anchors of each level ({before} boxes), then its NMS removes "
            "overlapping ones: {after} proposals go on to the second stage."
        ).format(before=format_number(len(run.proposals_before_nms)), after=format_number(len(run.proposals)))
    )
    shown = st.radio(
        _("Show"), (N_("before NMS"), N_("after NMS")), format_func=_, horizontal=True, key="tasks.proposals"
    )
    boxes = run.proposals_before_nms if shown == "before NMS" else run.proposals
    st.plotly_chart(
        boxes_figure(pixels, boxes[:150], [_("proposal")] * min(len(boxes), 150)), key="tasks.proposal_boxes"
    )
    st.caption(_("The first 150 are drawn."))

st.header(_("5 · Final detections"))
defaults = run.head.settings
col1, col2 = st.columns(2)
score = col1.slider(
    _("Score threshold"), SCORE_FLOOR, 1.0, float(defaults.get("score_thresh", 0.05)), 0.01, key="tasks.score"
)
iou = col2.slider(
    _("NMS IoU threshold"), 0.05, 1.0, float(defaults.get("nms_thresh", 0.5)), 0.05, key="tasks.iou"
)
start = time.perf_counter()
ranked = workbench().remember(
    loaded.key, image.fingerprint, "task_nms", (iou, SCORE_FLOOR), lambda: ranked_detections(run.head, iou)
)
found = ranked.above(score)
post_s = time.perf_counter() - start
st.markdown(
    _(
        "**{count}** boxes scoring above {score} after NMS at IoU {iou}. A slider re-runs only the "
        "post-processing, on the head's cached outputs (NMS once per IoU; a score only filters its ranked "
        "result): {post} ms, against {forward} ms for the whole forward pass."
    ).format(
        count=len(found),
        score=format_decimal(score, 2),
        iou=format_decimal(iou, 2),
        post=format_decimal(post_s * 1000, 1),
        forward=format_decimal(forward_s * 1000, 0),
    )
)
labels = [spec.categories[int(i)] for i in found.labels]
if not loaded.trained:
    st.caption(_("Random weights: these boxes show the mechanism, not what is in the image."))
st.plotly_chart(
    boxes_figure(pixels, found.boxes, labels, found.scores, colour_index=found.labels), key="tasks.final"
)

final = run.detections
if final.masks is not None or final.keypoints is not None:
    st.header(_("6 · Masks and keypoints"))
    keep = np.flatnonzero(final.scores >= max(score, 0.0))[:20]
    st.caption(
        _("For the model's own detections at score ≥ {score} (the first 20).").format(
            score=format_decimal(score, 2)
        )
    )
    if final.masks is not None and len(keep):
        names_ = [spec.categories[int(i)] for i in final.labels[keep]]
        st.plotly_chart(instance_masks_figure(pixels, final.masks[keep], names_), key="tasks.masks")
    if final.keypoints is not None and len(keep):
        st.plotly_chart(
            keypoints_figure(
                pixels,
                final.keypoints[keep],
                final.keypoint_scores[keep],
                family.keypoint_names(spec),
                family.skeleton(spec),
            ),
            key="tasks.keypoints",
        )
    if not len(keep):
        st.info(_("No detection reaches this score."))
