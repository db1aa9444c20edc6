"""``python -m cvviz train``: train a small network on digits on the CPU and save its state_dict."""

from __future__ import annotations

import argparse
import json
import sys

from cvviz.i18n import _

ORDER = 50


def register(commands: argparse._SubParsersAction) -> None:
    from cvviz.models.architectures.options import ACTIVATIONS, NORMS
    from cvviz.training.config import OPTIMIZERS, SCHEDULES, TrainingConfig
    from cvviz.training.data import DATASETS
    from cvviz.training.models import INITS, MODELS

    default = TrainingConfig()
    parser = commands.add_parser("train", help="train a small network on digits (CPU, seconds)")
    add = parser.add_argument
    add("--model", default=default.model, choices=tuple(MODELS), help=f"network (default {default.model})")
    add("--dataset", default=default.dataset, choices=DATASETS, help="data set (default digits, bundled)")
    add("--epochs", type=int, default=default.epochs, help=f"epochs (default {default.epochs})")
    add("--optimizer", default=default.optimizer, choices=OPTIMIZERS, help=f"default {default.optimizer}")
    add("--lr", type=float, default=default.lr, help=f"(peak) learning rate (default {default.lr})")
    add("--schedule", default=default.schedule, choices=SCHEDULES, help=f"default {default.schedule}")
    add("--batch-size", type=int, default=default.batch_size, help=f"default {default.batch_size}")
    add("--activation", choices=ACTIVATIONS, help="activation (default: the model's own)")
    add("--init", default=default.init, choices=INITS, help="weight initialisation (default: PyTorch's)")
    add("--norm", default=default.norm, choices=NORMS, help="normalisation before each activation")
    add("--dropout", type=float, default=default.dropout, help="dropout before fully connected layers")
    add("--weight-decay", type=float, default=default.weight_decay, help="L2 weight decay (default 0)")
    add("--augment", action="store_true", help="random shifts, rotations and scaling while training")
    add("--patience", type=int, help="early stopping: epochs without a better validation loss")
    add("--depth", type=int, default=default.depth, help="blocks of the deep plain/residual CNNs")
    add("--folds", type=int, help="also report K-fold cross-validation on the training and validation images")
    add("--seed", type=int, default=default.seed, help="random seed (same seed, same run)")
    add("--out", required=True, help="where to save the trained state_dict (.pt)")
    add("--json", action="store_true", help="one JSON object per epoch, then one with test_acc")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cvviz.commands._output import save_model
    from cvviz.training.config import TrainingConfig
    from cvviz.training.crossval import cross_validate
    from cvviz.training.data import load_dataset
    from cvviz.training.loop import SPLIT_SEED, train

    config = TrainingConfig(
        model=args.model,
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        schedule=args.schedule,
        weight_decay=args.weight_decay,
        activation=args.activation,
        norm=args.norm,
        dropout=args.dropout,
        init=args.init,
        augment=args.augment,
        patience=args.patience,
        depth=args.depth,
        seed=args.seed,
    )
    dataset = load_dataset(config.dataset, seed=SPLIT_SEED)
    if not args.json:
        print(dataset.info.summary)
        print(f"Preprocessing: {dataset.info.preprocessing}")
    if args.folds is not None:
        folds = cross_validate(config, args.folds, dataset=dataset)
        for fold in folds.folds:
            _say(args, {"fold": fold.fold, "val_acc": fold.val_acc, "val_loss": fold.val_loss},
                 _("fold {fold}: validation accuracy {acc:.2f}%").format(fold=fold.fold, acc=100 * fold.val_acc))  # fmt: skip
        _say(args, {"folds": args.folds, "mean_val_acc": folds.mean_acc, "std_val_acc": folds.std_acc},
             _("{k}-fold cross-validation: {mean:.2f}% ± {std:.2f}%").format(
                 k=args.folds, mean=100 * folds.mean_acc, std=100 * folds.std_acc))  # fmt: skip

    def on_epoch(metrics) -> None:
        _say(args, metrics.as_dict(),
             f"epoch {metrics.epoch:3d}  train loss {metrics.train_loss:.4f}  acc {100 * metrics.train_acc:6.2f}%"
             f"  val loss {metrics.val_loss:.4f}  acc {100 * metrics.val_acc:6.2f}%  {metrics.seconds:.2f} s")  # fmt: skip

    result = train(config, dataset=dataset, on_epoch=on_epoch)
    save_model(result.state_dict, args.out)
    _say(args, result.final_dict(),
         _("test accuracy {acc:.2f}% (best epoch {epoch}); saved {path}").format(
             acc=100 * result.test_acc, epoch=result.best_epoch, path=args.out))  # fmt: skip
    if config.catalog_model is None:
        print(
            _(
                "note: only the paper's LeNet-5 (tanh, no normalisation) loads into "
                "`python -m cvviz predict --model lenet5 --weights`."
            ),
            file=sys.stderr,
        )
    return 0


def _say(args: argparse.Namespace, data: dict, text: str) -> None:
    if args.json:
        print(json.dumps(data), flush=True)
    else:
        print(text, flush=True)
