"""``python -m cvviz generate-train``: train an autoencoder, a VAE or a GAN on the digits and save it."""

from __future__ import annotations

import argparse
import json

ORDER = 55


def register(commands: argparse._SubParsersAction) -> None:
    from cvviz.generative.config import GenerativeConfig
    from cvviz.generative.models import GAN_LOSSES, MODELS

    default = GenerativeConfig()
    parser = commands.add_parser(
        "generate-train", help="train an autoencoder, VAE or GAN on the digits (CPU, seconds)"
    )
    add = parser.add_argument
    add("--model", default=default.model, choices=tuple(MODELS),
        help="ae, dae (denoising), sae (sparse), vae or gan (default vae)")  # fmt: skip
    add("--latent", type=int, help="code size (noise size for the GAN); default 2, or 32 for the GAN")
    add("--epochs", type=int, default=default.epochs, help=f"epochs (default {default.epochs})")
    add("--batch-size", type=int, help="images per step (default 32, or 64 for the GAN)")
    add("--lr", type=float, help="Adam's learning rate (the discriminator's for the GAN); default per model")
    add("--g-lr", type=float, help="the GAN generator's learning rate (default: --lr)")
    add("--loss", default=default.gan_loss, choices=tuple(GAN_LOSSES),
        help="the GAN's objective: dcgan, or wgan-gp (Wasserstein critic with a gradient penalty)")  # fmt: skip
    add("--critic-steps", type=int, default=default.critic_steps,
        help=f"WGAN-GP: critic steps per generator step (default {default.critic_steps})")  # fmt: skip
    add("--gp-weight", type=float, default=default.gp_weight,
        help=f"WGAN-GP: weight λ of the gradient penalty (default {default.gp_weight:g})")  # fmt: skip
    add("--beta", type=float, default=default.beta, help="weight of the VAE's KL term (default 1)")
    add("--noise", type=float, default=default.noise, help="the denoising AE's noise level (default 0.5)")
    add("--sparsity", type=float, default=default.sparsity, help="the sparse AE's L1 weight (default 0.01)")
    add("--seed", type=int, default=default.seed, help="random seed (same seed, same losses)")
    add("--out", required=True, help="where to save the model (.pt; read it with `generate --model`)")
    add("--json", action="store_true", help="one JSON object per epoch with each loss, then a summary")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cvviz.commands._output import save_model
    from cvviz.generative.config import GenerativeConfig
    from cvviz.generative.loop import train
    from cvviz.i18n import _

    config = GenerativeConfig(
        model=args.model,
        latent=args.latent,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        g_lr=args.g_lr,
        beta=args.beta,
        noise=args.noise,
        sparsity=args.sparsity,
        seed=args.seed,
        gan_loss=args.loss,
        critic_steps=args.critic_steps,
        gp_weight=args.gp_weight,
    )

    def on_epoch(metrics) -> None:
        if args.json:
            print(json.dumps(metrics.as_dict()), flush=True)
            return
        values = metrics.as_dict()
        shown = "  ".join(
            f"{key} {values[key]:.4f}"
            for key in (
                "recon_loss",
                "kl_loss",
                "sparsity_loss",
                "val_mse",
                "g_loss",
                "d_loss",
                "wasserstein",
                "entropy",
            )
            if key in values
        )
        print(f"epoch {metrics.epoch:3d}  {shown}  {metrics.seconds:.2f} s", flush=True)

    result = train(config, on_epoch=on_epoch)
    save_model(result.checkpoint(), args.out)
    if args.json:
        print(json.dumps(result.final_dict()), flush=True)
    else:
        summary = ", ".join(f"{key} {value:.4g}" for key, value in result.final_dict().items())
        print(_("{summary}; saved {path}").format(summary=summary, path=args.out))
    return 0
