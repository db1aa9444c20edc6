"""Detection lab: a one-stage grid detector and a small U-Net trained live on synthetic digit scenes, then
taken apart on a held-out scene: the grid, each cell's boxes, NMS step by step, the final boxes with mAP,
and the U-Net's masks and skip connections."""

import streamlit as st

from cvviz.errors import CvvizError
from cvviz.i18n import _
from cvviz.plotting.task_lab import mask_figure, nms_figure, scene_figure, task_curves_figure, unet_figure
from cvviz.tasks.grid_detector import DEFAULT_IOU, DEFAULT_SCORE
from cvviz.tasks.lab import DEFAULT_EPOCHS, METRIC, TASKS, TaskConfig, task_job
from cvviz.tasks.synthetic import CLASSES, HELD_OUT_SCENES, SEGMENT_CLASSES
from cvviz.tasks.views import (
    boxes_above,
    cell_prediction,
    class_nms,
    detector_view,
    final_boxes,
    held_out_map,
    segmenter_view,
)
from ui.jobs import live_run
from ui.tables import table

RUNS = "tasklab.runs"
VIEWS = "tasklab.views"
MAPS = "tasklab.maps"
METRIC_NAMES = {"map50": "mAP@0.5", "miou": "mIoU"}

st.title(_("Detection lab"))
st.caption(
    _(
        "A one-stage grid detector (the idea of YOLO) and a small U-Net, each trained here on the CPU in "
        "under a minute on scenes of handwritten digits whose boxes and masks are known; then every step from "
        "the network's grid to the final boxes, on scenes it has never seen."
    )
)
st.session_state.setdefault(RUNS, {})
st.session_state.setdefault(VIEWS, {})

left, middle, right = st.columns(3)
task = left.radio(_("Task"), tuple(TASKS), format_func=lambda name: _(TASKS[name]), key="tasklab.task")
epochs = middle.slider(_("Epochs"), 1, 30, DEFAULT_EPOCHS[task], key=f"tasklab.epochs.{task}")
seed = right.number_input(_("Seed"), 0, 10**6, 0, key="tasklab.seed")
try:
    config = TaskConfig(task=task, epochs=int(epochs), seed=int(seed))
except CvvizError as exc:
    st.error(str(exc))
    st.stop()


def start_training():
    live = task_job(config)
    st.session_state["tasklab.live_log"] = live.log
    return live.job


def draw_live() -> None:
    log = st.session_state.get("tasklab.live_log")
    progress = log.snapshot() if log is not None else None
    if progress is None or not progress.epochs:
        return
    cached = st.session_state.get("tasklab.live_figure")
    if cached is None or cached[0] is not log or cached[1] != len(progress.epochs):
        run = (_("this run"), progress.config.metric, progress.epochs)
        cached = (log, len(progress.epochs), task_curves_figure([run]))
        st.session_state["tasklab.live_figure"] = cached
    st.plotly_chart(cached[2], key="tasklab.live.curves")


finished = live_run("tasklab", _("Train"), start_training, draw_live)
if finished is not None:
    status = finished.status()
    if status.state == "done":
        result = finished.result
        st.session_state[RUNS][result.config.task] = result
        st.session_state[VIEWS].pop(result.config.task, None)
        st.session_state[MAPS] = {}
    elif status.state == "failed":
        st.error(status.error)
    else:
        st.info(_("Training was stopped; nothing was kept."))

result = st.session_state[RUNS].get(task)
if result is None:
    live = st.session_state.get("tasklab.live")
    if live is None or live["job"].status().finished:
        st.info(_("Train the model to look inside it."))
    st.stop()

metric = METRIC[task]
st.plotly_chart(task_curves_figure([(_("last run"), metric, result.epochs)]), key="tasklab.curves")
st.caption(
    _(
        "{metric} on {count} held-out scenes (digits never seen in training): {value:.3f}, after {seconds:.0f} s."
    ).format(metric=METRIC_NAMES[metric], count=HELD_OUT_SCENES, value=result.score, seconds=result.seconds)
)
st.download_button(
    _("Download the model (.pt)"),
    result.checkpoint_bytes(),
    file_name=f"cvviz-{task}.pt",
    key="tasklab.download",
)


def view_of(kind: str):
    """The trained model run once over the held-out scenes (kept until the next run)."""
    views = st.session_state[VIEWS]
    if kind not in views:
        with st.spinner(_("Running the model over the held-out scenes…")):
            views[kind] = detector_view(result) if kind == "detect" else segmenter_view(result)
    return views[kind]


index = st.slider(_("Held-out scene"), 1, HELD_OUT_SCENES, 1, key="tasklab.scene") - 1


def show_detector() -> None:
    view = view_of("detect")
    scene = view.scenes[index]
    s, b = view.grid, view.boxes_per_cell
    score_col, iou_col = st.columns(2)
    score = score_col.slider(_("Score threshold"), 0.0, 1.0, DEFAULT_SCORE, 0.01, key="tasklab.score")
    iou = iou_col.slider(_("NMS IoU threshold"), 0.05, 1.0, DEFAULT_IOU, 0.05, key="tasklab.iou")
    st.caption(
        _(
            "Moving a slider re-runs only the post-processing (threshold and NMS) on the stored grid, not the network."
        )
    )
    grid_tab, nms_tab, final_tab = st.tabs([_("The grid"), _("NMS step by step"), _("Final boxes")])
    with grid_tab:
        above = boxes_above(view, index, score)
        first, second = st.columns(2)
        first.plotly_chart(
            scene_figure(
                scene.image, above.boxes, above.labels, above.scores, classes=CLASSES, grid=s, dashed=True,
                title=_("{s}×{s} grid, {b} boxes per cell: {count} of {total} boxes reach the threshold").format(
                    s=s, b=b, count=len(above.boxes), total=s * s * b
                ),
            ),
            key="tasklab.grid",
        )  # fmt: skip
        with second:
            cell_row = st.slider(_("Cell row"), 0, s - 1, s // 2, key="tasklab.row")
            cell_col = st.slider(_("Cell column"), 0, s - 1, s // 2, key="tasklab.col")
            cell = cell_prediction(view, index, cell_row, cell_col)
            best = int(cell.class_probs.argmax())
            st.plotly_chart(
                scene_figure(
                    scene.image, cell.boxes, [best] * b, cell.confidences, classes=CLASSES, grid=s,
                    cell=(cell_row, cell_col), dashed=True, height=300,
                    title=_("Cell ({row}, {col}): its {b} boxes").format(row=cell_row, col=cell_col, b=b),
                ),
                key="tasklab.cell",
            )  # fmt: skip
            table(
                [
                    {
                        _("box"): k + 1,
                        _("objectness"): f"{cell.objectness[k]:.3f}",
                        _("class"): CLASSES[best],
                        _("P(class)"): f"{cell.class_probs[best]:.3f}",
                        _("confidence"): f"{cell.confidences[k]:.3f}",
                    }
                    for k in range(b)
                ]
            )
    with nms_tab:
        above = boxes_above(view, index, score)
        present = sorted({int(label) for label in above.labels})
        if not present:
            st.info(_("No box reaches the score threshold: lower it to see NMS at work."))
        else:
            label = st.selectbox(
                _("Class"), present, format_func=lambda k: CLASSES[k], key="tasklab.nms_class"
            )
            stepped = class_nms(view, index, label, score, iou)
            shown = st.slider(
                _("Step"), 1, len(stepped.steps), 1, key=f"tasklab.nms_step.{index}.{label}"
            ) if len(stepped.steps) > 1 else 1  # fmt: skip
            step = stepped.steps[shown - 1]
            st.plotly_chart(
                nms_figure(
                    scene.image, stepped.boxes, stepped.scores, stepped.steps, shown,
                    title=_("Step {n} of {total}: keep the best box left, drop those overlapping it by more than {iou:.2f}").format(
                        n=shown, total=len(stepped.steps), iou=iou
                    ),
                ),
                key="tasklab.nms",
            )  # fmt: skip
            st.caption(
                _("{boxes} boxes of class {name} reach the threshold; NMS keeps {kept}. This step suppresses {suppressed}.").format(
                    boxes=len(stepped.boxes), name=CLASSES[label], kept=len(stepped.steps), suppressed=len(step.suppressed)
                )
            )  # fmt: skip
    with final_tab:
        final = final_boxes(view, index, score, iou)
        first, second = st.columns(2)
        first.plotly_chart(
            scene_figure(scene.image, final.boxes, final.labels, final.scores, classes=CLASSES,
                         title=_("Detections")),
            key="tasklab.final",
        )  # fmt: skip
        second.plotly_chart(
            scene_figure(scene.image, scene.boxes, scene.labels, classes=CLASSES, title=_("Ground truth")),
            key="tasklab.truth",
        )  # fmt: skip
        counts = st.columns(4)
        counts[0].metric(_("Grid boxes"), final.grid_boxes)
        counts[1].metric(_("Above the threshold"), final.above_threshold)
        counts[2].metric(_("After NMS"), len(final.boxes))
        # Measured once per pair of thresholds (the scene slider does not change it); cleared by a new run.
        maps = st.session_state.setdefault(MAPS, {})
        if (task, score, iou) not in maps:
            maps[(task, score, iou)] = held_out_map(view, score, iou)
        counts[3].metric(_("mAP@0.5, all held-out scenes"), f"{maps[(task, score, iou)]:.3f}")
        st.caption(
            _("AP@0.5 of this scene: {ap:.3f}. mAP ranks every detection above the threshold, so a lower threshold rarely lowers it.").format(
                ap=final.scene_ap.map50
            )
        )  # fmt: skip


def show_segmenter() -> None:
    view = view_of("segment")
    scene = view.scenes[index]
    first, second = st.columns(2)
    first.plotly_chart(
        mask_figure(scene.image, view.predicted[index], SEGMENT_CLASSES, title=_("U-Net's prediction")),
        key="tasklab.mask",
    )
    second.plotly_chart(
        mask_figure(scene.image, scene.semantic, SEGMENT_CLASSES, title=_("Ground truth")),
        key="tasklab.mask_truth",
    )
    scene_score = view.scene_score(index)
    columns = st.columns(3)
    columns[0].metric(_("mIoU, this scene"), f"{scene_score.miou:.3f}")
    columns[1].metric(_("mIoU, all held-out scenes"), f"{view.score.miou:.3f}")
    columns[2].metric(_("Pixel accuracy, all held-out scenes"), f"{view.score.pixel_accuracy:.3f}")
    stride = view.scenes[index].image.shape[0] // (view.levels[0].encoder[1] or 1)
    st.plotly_chart(unet_figure(view.levels, len(SEGMENT_CLASSES), stride=stride), key="tasklab.unet")
    st.caption(
        _(
            "Each skip connection hands the contracting path's fine feature map to the expanding path at the same "
            "size, where it is concatenated with the upsampled coarse one: the coarse map knows which digit, the "
            "fine one where its strokes are."
        )
    )
    if stride > 1:
        st.caption(
            _(
                "The U runs on the scene averaged over {n}×{n} pixels and its class scores are upsampled back: "
                "the digits are enlarged 8×8 bitmaps, so little of their shape is lost, and every convolution "
                "costs 1/{cost} of what it would at full size."
            ).format(n=stride, cost=stride * stride)
        )
    with st.expander(_("IoU of each class over the held-out scenes")):
        table(
            [
                {_("class"): name, _("IoU"): "—" if value != value else f"{value:.3f}"}
                for name, value in zip(SEGMENT_CLASSES, view.score.ious)
            ]
        )


if task == "detect":
    show_detector()
else:
    show_segmenter()
