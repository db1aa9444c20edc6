"""Benchmark: one image through each task model (the page's full step-by-step run) against moving its
sliders, on the CPU unless ``--device`` says otherwise: an IoU move runs NMS once at the lowest score
(:func:`cvviz.tasks.postprocess.ranked_detections`), a score move filters that ranked list. Neither runs
the backbone; the goal is a slider move of at most 0.1× the run.

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
from cvviz.tasks.postprocess import ranked_detections


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
        iou_s = median_seconds(lambda r=result: ranked_detections(r.head, 0.45), args.repeats)
        ranked = ranked_detections(result.head, 0.45)
        score_s = median_seconds(lambda r=ranked: r.above(0.3), args.repeats)
        print(
            f"| {spec.name} | {model_s * 1000:.0f} | {run_s * 1000:.0f} | {iou_s * 1000:.1f} | "
            f"{iou_s / run_s:.3f} | {score_s * 1000:.2f} | {score_s / run_s:.5f} |",
            flush=True,
        )
        del model


if __name__ == "__main__":
    main()
