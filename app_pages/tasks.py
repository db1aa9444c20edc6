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
    detection_cam_figure,
    feature_levels_figure,
    instance_masks_figure,
    keypoints_figure,
    parts_figure,
    pipeline_counts_figure,
    semantic_figure,
)
from cvviz.tasks.cam import CAM_METHODS, cam_levels, detection_cam, pooled_level
from cvviz.tasks.contrast import detection_counts, instance_counts, semantic_counts
from cvviz.tasks.parts import PART_LABELS, task_cost
from cvviz.tasks.pipeline import run_task
from cvviz.tasks.postprocess import SCORE_FLOOR, has_second_stage, ranked_detections, second_stage
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
SHOWN = 20  # detections given masks, joints or a CAM: the first 20
SIDE_BY_SIDE = {
    "detection": (
        N_("one-stage and two-stage detection"),
        ("ssdlite320_mobilenet_v3_large", "fasterrcnn_mobilenet_v3_large_320_fpn"),
    ),
    "segmentation": (
        N_("semantic and instance segmentation"),
        ("deeplabv3_mobilenet_v3_large", "maskrcnn_resnet50_fpn"),
    ),
}

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


def side_run(other: str):
    """``other``'s run on this image (its own weights, or random ones), and whether it is trained."""
    other_loaded, _fallback = load_model(other, "pretrained")

    def compute_other():
        with other_loaded.exclusive() as model:
            return run_task(get_spec(other), model, image.image)

    return other_loaded.trained, workbench().remember(
        other_loaded.key, image.fingerprint, "task_side_run", (), compute_other
    )


def side_by_side() -> None:
    """Two models of contrasting kinds on this image, each with its counts."""
    st.header(_("Side by side"))
    kind = st.radio(
        _("Compare"),
        list(SIDE_BY_SIDE),
        format_func=lambda k: _(SIDE_BY_SIDE[k][0]),
        horizontal=True,
        key="tasks.side.kind",
    )
    detection = kind == "detection"
    if detection:
        lists = (
            [n for n, s in specs.items() if s.task == "detection" and not family.two_stage(s)],
            [n for n, s in specs.items() if s.task == "detection" and family.two_stage(s)],
        )
    else:
        lists = (
            [n for n, s in specs.items() if s.task == "semantic_segmentation"],
            [n for n, s in specs.items() if s.task == "instance_segmentation"],
        )
    columns = st.columns(2)
    chosen = [
        column.selectbox(
            (_("One-stage detector"), _("Two-stage detector"))[i]
            if detection
            else (_("Semantic segmenter"), _("Instance segmenter"))[i],
            options,
            index=options.index(SIDE_BY_SIDE[kind][1][i]),
            format_func=lambda n: specs[n].title,
            key=f"tasks.side.{kind}.{i}",
        )
        for i, (column, options) in enumerate(zip(columns, lists, strict=True))
    ]
    if not st.toggle(_("Run both on this image"), key="tasks.side.run"):
        st.caption(_("Each model runs once on this image; the result is kept."))
        return
    columns = st.columns(2)
    with st.spinner(_("Running both models…")):
        try:
            runs = [side_run(n) for n in chosen]
        except CvvizError as exc:
            st.error(str(exc))
            return
    for column, other, (trained, other_run) in zip(columns, chosen, runs, strict=True):
        with column:
            other_spec = specs[other]
            if not trained:
                st.caption(
                    _("Structure only: {model} runs with random weights.").format(model=other_spec.title)
                )
            if other_run.semantic is not None:
                counts = semantic_counts(other_run.semantic)
                st.plotly_chart(
                    semantic_figure(pixels, other_run.semantic.labels, other_spec.categories),
                    key=f"tasks.side.figure.{other}",
                )
            elif not detection:
                counts = instance_counts(
                    other_run.detections.subset(np.arange(min(SHOWN, len(other_run.detections))))
                )
                names_ = [other_spec.categories[int(i)] for i in other_run.detections.labels[:SHOWN]]
                st.plotly_chart(
                    instance_masks_figure(pixels, other_run.detections.masks[:SHOWN], names_),
                    key=f"tasks.side.figure.{other}",
                )
            else:
                found_ = other_run.detections
                st.plotly_chart(
                    boxes_figure(
                        pixels,
                        found_.boxes,
                        [other_spec.categories[int(i)] for i in found_.labels],
                        found_.scores,
                        colour_index=found_.labels,
                    ),
                    key=f"tasks.side.figure.{other}",
                )
                steps = detection_counts(other_run, found_)
                st.markdown(
                    _("**{stages}** scoring stage(s); **{count}** final boxes at its own thresholds.").format(
                        stages=steps.stages, count=len(found_)
                    )
                )
                continue
            left_, middle_, right_ = st.columns(3)
            left_.metric(_("classes"), counts.classes)
            middle_.metric(_("objects told apart"), counts.objects)
            right_.metric(_("object pixels"), format_percent(counts.pixels / pixels[..., 0].size, 1))
    if detection:
        st.plotly_chart(
            pipeline_counts_figure(
                [
                    (
                        specs[n].title,
                        [(_(label), count) for label, count in detection_counts(r, r.detections).steps],
                    )
                    for n, (_t, r) in zip(chosen, runs, strict=True)
                ]
            ),
            key="tasks.side.counts",
        )
        st.caption(
            _(
                "Boxes kept at each step, at each model's own thresholds. The one-stage detector scores every "
                "anchor for every class once; the two-stage one first keeps about a thousand proposals, then "
                "scores each of them for every class."
            )
        )
    else:
        st.caption(
            _(
                "A semantic segmenter gives every pixel a class, so touching objects of one class merge into "
                "one region (objects told apart: connected regions); an instance segmenter gives each object "
                "its own mask (objects told apart: masks, the first 20 at its own thresholds). The two are "
                "trained on different label sets (Pascal VOC's 21 classes, COCO's 91)."
            )
        )


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
    side_by_side()
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

if has_second_stage(run.head):
    st.header(_("6 · Masks and keypoints"))

    def extras():
        with loaded.exclusive() as model:
            return second_stage(run.head, found, model.roi_heads, SHOWN)

    shown = workbench().remember(loaded.key, image.fingerprint, "task_extras", (iou, score), extras)
    st.caption(
        _(
            "For the detections above (the first 20). The sliders re-run the mask or keypoint head only for "
            "boxes it has not seen yet, on the pyramid levels kept from the first run: the backbone and the "
            "FPN do not run again."
        )
    )
    if not len(shown):
        st.info(_("No detection reaches this score."))
    elif shown.masks is not None:
        names_ = [spec.categories[int(i)] for i in shown.labels]
        st.plotly_chart(instance_masks_figure(pixels, shown.masks, names_), key="tasks.masks")
    if len(shown) and shown.keypoints is not None:
        st.plotly_chart(
            keypoints_figure(
                pixels,
                shown.keypoints,
                shown.keypoint_scores,
                family.keypoint_names(spec),
                family.skeleton(spec),
            ),
            key="tasks.keypoints",
        )

levels_ = cam_levels(run)
if levels_ and len(found):
    st.header(_("7 · Grad-CAM on one detection"))
    st.markdown(
        _(
            "Which places of one FPN level the chosen detection's score depends on. **Grad-CAM** weighs the "
            "level's channels by the gradient of the model's matching box (its IoU plus its class score); "
            "**EigenCAM** is the level's first principal component, the same for every detection. A "
            "two-stage detector reads each box from one level only (by the box's size): elsewhere Grad-CAM "
            "is empty."
        )
    )
    picks = list(range(min(len(found), SHOWN)))
    c1, c2, c3 = st.columns(3)
    pick = c1.selectbox(
        _("Detection"),
        picks,
        format_func=lambda i: f"#{i + 1} {labels[i]} · {format_decimal(float(found.scores[i]), 2)}",
        key="tasks.cam.detection",
    )
    method = c2.radio(
        _("Method"),
        list(CAM_METHODS),
        format_func=lambda m: _(CAM_METHODS[m]),
        horizontal=True,
        key="tasks.cam.method",
    )
    source = pooled_level(run, found.boxes[pick])
    level_index = c3.selectbox(
        _("FPN level"),
        list(range(len(levels_))),
        index=source if source is not None else len(levels_) - 1,
        format_func=lambda i: levels_[i].name + (_(" (the box's own)") if i == source else ""),
        key=f"tasks.cam.level.{pick}",
    )
    if st.toggle(_("Compute the map"), key="tasks.cam.on"):
        box = found.boxes[pick]

        def compute_cam():
            with loaded.exclusive() as model:
                return detection_cam(
                    model,
                    image.image,
                    box,
                    int(found.labels[pick]),
                    level_index,
                    method,
                    score=score,
                    iou=iou,
                )

        with st.spinner(_("Running {model} forward and backward…").format(model=spec.title)):
            try:
                cam = workbench().remember(
                    loaded.key,
                    image.fingerprint,
                    "task_cam",
                    (tuple(float(v) for v in box), int(found.labels[pick]), level_index, method, score, iou),
                    compute_cam,
                )
            except CvvizError as exc:
                st.error(str(exc))
                cam = None
        if cam is not None:
            if cam.empty:
                st.info(
                    _(
                        "This detection's score has no gradient at {level}; its box is read from {source}."
                    ).format(
                        level=levels_[level_index].name,
                        source=levels_[source].name if source is not None else "—",
                    )
                )
            st.plotly_chart(
                detection_cam_figure(pixels, cam.heatmap, box, labels[pick]), key="tasks.cam.figure"
            )

side_by_side()
