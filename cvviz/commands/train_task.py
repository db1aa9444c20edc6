"""``python -m cvviz train-task``: train the grid detector or the U-Net on synthetic digit scenes and save it."""

from __future__ import annotations

import argparse
import json

ORDER = 57


def register(commands: argparse._SubParsersAction) -> None:
    from cvviz.tasks.lab import DEFAULT_EPOCHS, TASKS, TaskConfig

    default = TaskConfig()
    parser = commands.add_parser(
        "train-task",
        help="train a grid detector or a U-Net on synthetic digit scenes (CPU, under a minute each)",
    )
    add = parser.add_argument
    add("--task", default=default.task, choices=tuple(TASKS),
        help="detect (grid detector, reports map50) or segment (U-Net, reports miou)")  # fmt: skip
    add("--epochs", type=int, help=f"epochs (default {DEFAULT_EPOCHS['detect']} to detect, "
        f"{DEFAULT_EPOCHS['segment']} to segment)")  # fmt: skip
    add("--scenes", type=int, default=default.scenes, help=f"training scenes (default {default.scenes})")
    add("--batch-size", type=int, help="scenes per step (default 32 to detect, 16 to segment)")
    add(
        "--lr",
        type=float,
        help="peak learning rate of Adam's one-cycle schedule (default 0.004 to detect, 0.005 to segment)",
    )
    add("--seed", type=int, default=default.seed, help="random seed (same seed, same metrics)")
    add("--out", required=True, help="where to save the model (.pt)")
    add("--json", action="store_true", help="one JSON object per epoch, the last with map50 or miou")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cvviz.commands._output import save_model
    from cvviz.i18n import _
    from cvviz.tasks.lab import TaskConfig, train
    from cvviz.tasks.synthetic import HELD_OUT_SCENES

    config = TaskConfig(
        task=args.task,
        epochs=args.epochs,
        scenes=args.scenes,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
    )
    names = {"map50": "mAP@0.5", "miou": "mIoU"}

    def on_epoch(metrics) -> None:
        if args.json:
            print(json.dumps(metrics.as_dict()), flush=True)
            return
        print(
            f"epoch {metrics.epoch:3d}  loss {metrics.loss:.4f}  "
            f"{names[config.metric]} {metrics.score:.4f}  {metrics.seconds:.2f} s",
            flush=True,
        )

    result = train(config, on_epoch=on_epoch)
    save_model(result.checkpoint(), args.out)
    if args.json:
        print(json.dumps(result.final_dict()), flush=True)
    else:
        print(
            _("{metric} {value:.4f} on {count} held-out scenes after {seconds:.1f} s; saved {path}").format(
                metric=names[config.metric],
                value=result.score,
                count=HELD_OUT_SCENES,
                seconds=result.seconds,
                path=args.out,
            )
        )
    return 0
