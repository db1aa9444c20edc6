"""Benchmark: one image through each task model (the page's full step-by-step run) against moving its
sliders, on the CPU unless ``--device`` says otherwise. The run decodes the head's boxes once
(:func:`cvviz.tasks.postprocess.head_candidates`); an IoU move is a score cut and NMS on them at the lowest
score (:func:`cvviz.tasks.postprocess.ranked_detections`), a score move filters that ranked list. For Mask
and Keypoint R-CNN both moves also give the first 20 detections (what the page draws) their masks or
joints (:func:`cvviz.tasks.postprocess.second_stage`): an IoU move is timed with no head output remembered
(every one of the 20 runs the mask or keypoint head, the worst case), a score move with those of the IoU
move remembered, as the page has them. Neither runs the backbone or the FPN; the goal is a slider move of
at most 0.1× the run.

Stand-in random weights (timing does not depend on the values, except how many boxes survive NMS: with
them nearly every candidate box passes the lowest score, a two-stage detector's 1000 proposals × 90
classes, the slowest case). The sample cat photo (451×300), each model at its own test-time size.

    python -m benchmarks.tasks --repeats 3 [--device cuda] [--models NAME …]
"""

from __future__ import annotations

import argparse
import platform

import torch

from benchmarks.timing import median_seconds
from cvviz.catalog import list_task_models
from cvviz.data.images import load_sample
from cvviz.models.build import build_for_timing
from cvviz.tasks.pipeline import image_tensor, run_task
from cvviz.tasks.postprocess import has_second_stage, ranked_detections, second_stage

SHOWN = 20
"""Detections the page gives masks or joints (its first 20)."""


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="*", default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    image = load_sample("cat").image
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine()
    )
    print(f"device: {args.device} ({name}, {torch.get_num_threads()} threads), torch {torch.__version__}")
    print("| model | model forward (ms) | step-by-step run (ms) | IoU move (ms) | IoU move / run "
          "| score move (ms) | score move / run |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for spec in list_task_models():
        if args.models and spec.name not in args.models:
            continue
        model = build_for_timing(spec).eval().to(device)

        def forward(model=model, spec=spec):
            with torch.no_grad():
                if spec.task == "semantic_segmentation":
                    model(torch.zeros(1, 3, 520, 520, device=device))
                else:
                    model([image_tensor(image).to(device)])
            _synchronise(device)

        def step_by_step(model=model, spec=spec):
            result = run_task(spec, model, image)
            _synchronise(device)
            return result

        model_s = median_seconds(forward, args.repeats)
        run_s = median_seconds(step_by_step, args.repeats)
        result = step_by_step()
        if result.head is None:
            print(f"| {spec.name} | {model_s * 1000:.0f} | {run_s * 1000:.0f} | — | — | — | — |", flush=True)
            continue
        head = result.head

        def move_iou(head=head, model=model):
            ranked = ranked_detections(head, 0.45)
            if has_second_stage(head):
                head.extras.clear()
                second_stage(head, ranked, model.roi_heads, SHOWN)
            _synchronise(device)
            return ranked

        def move_score(ranked, head=head, model=model):
            found = ranked.above(0.3)
            if has_second_stage(head):
                second_stage(head, found, model.roi_heads, SHOWN)
            return found

        iou_s = median_seconds(move_iou, args.repeats)
        ranked = move_iou()
        score_s = median_seconds(lambda r=ranked: move_score(r), args.repeats)
        print(
            f"| {spec.name} | {model_s * 1000:.0f} | {run_s * 1000:.0f} | {iou_s * 1000:.1f} | "
            f"{iou_s / run_s:.3f} | {score_s * 1000:.2f} | {score_s / run_s:.5f} |",
            flush=True,
        )
        del model


if __name__ == "__main__":
    main()
