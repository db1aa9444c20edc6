"""``python -m cvviz detect IMAGE --model NAME``: boxes, labels and scores of a detection model (masks of an
instance-segmentation model, keypoints of a keypoint model)."""

from __future__ import annotations

import argparse

from cvviz.commands._models import add_weights_arguments, load_for_command
from cvviz.commands._output import print_json, print_table
from cvviz.formatting import format_percent
from cvviz.i18n import N_, _

ORDER = 21
DETECTION_TASKS = ("detection", "instance_segmentation", "keypoints")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("detect", help="boxes (masks, keypoints) of a detection model on an image")
    parser.add_argument("image", help="image file (JPEG, PNG, WebP, BMP, GIF, TIFF)")
    parser.add_argument("--model", default="fasterrcnn_resnet50_fpn", help="a detection model's catalog name")
    parser.add_argument(
        "--score", type=float, default=0.5, help="keep boxes scoring at least this (default 0.5)"
    )
    parser.add_argument("--out", help="also write boxes, scores, labels (and masks, keypoints) to this .npz")
    add_weights_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON (masks as COCO run-length encoding)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from cvviz.catalog import get_spec
    from cvviz.data.images import load_image
    from cvviz.tasks.pipeline import encode_rle, run_task
    from cvviz.tasks.postprocess import check_threshold

    spec = get_spec(args.model, task=DETECTION_TASKS)
    check_threshold(_("score"), args.score)
    image = load_image(args.image).image
    loaded = load_for_command(spec, args, N_("detections"))
    with loaded.exclusive() as model:
        result = run_task(spec, model, image)
    found = result.detections
    keep = np.flatnonzero(found.scores >= args.score)
    boxes = found.subset(keep)
    masks, keypoints = boxes.masks, boxes.keypoints
    if args.out:
        arrays = {"boxes": boxes.boxes, "scores": boxes.scores, "labels": boxes.labels}
        if masks is not None:
            arrays["masks"] = masks
        if keypoints is not None:
            arrays["keypoints"] = keypoints
        np.savez_compressed(args.out, **arrays)
    rows = []
    for i in range(len(boxes)):
        row = {
            "box": [round(float(v), 2) for v in boxes.boxes[i]],
            "label": spec.categories[int(boxes.labels[i])],
            "label_index": int(boxes.labels[i]),
            "score": float(boxes.scores[i]),
        }
        if masks is not None:
            row["mask"] = encode_rle(masks[i] > 0.5)
        if keypoints is not None:
            row["keypoints"] = [[round(float(v), 2) for v in point] for point in keypoints[i]]
        rows.append(row)
    if args.json:
        print_json(rows)
    else:
        print_table(
            [
                (r["label"], format_percent(r["score"], 1), " ".join(f"{v:.0f}" for v in r["box"]))
                for r in rows
            ],
            (_("label"), _("score"), _("box (x1 y1 x2 y2)")),
        )
        print(_("{count} detections at score ≥ {score}").format(count=len(rows), score=args.score))
    return 0
