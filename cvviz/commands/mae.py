"""``python -m cvviz mae IMAGE --mask-ratio 0.75 --out mae.npz``: a masked autoencoder rebuilds hidden patches.

The file holds ``mask`` (patch rows × cols, 1 where a patch is hidden), ``reconstruction`` (H × W × 3 in
[0, 1], every patch as predicted), ``pasted`` (the reconstruction with the visible patches pasted back),
``original``, ``error`` (rows × cols: each patch's mean squared error in the model's normalised pixels;
the loss counts the hidden ones), ``loss`` and ``patch_size``.
"""

from __future__ import annotations

import argparse

ORDER = 45


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("mae", help="MAE's reconstruction of an image with patches hidden, as .npz")
    parser.add_argument("image", help="image file (JPEG, PNG, WebP, BMP, GIF, TIFF)")
    parser.add_argument("--model", default="mae_vitb16", help="a MAE model (default mae_vitb16)")
    parser.add_argument(
        "--mask-ratio", type=float, default=0.75, help="share of patches hidden (default 0.75)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random mask (default 0)")
    parser.add_argument("--weights", help="the checkpoint file (default: the published one, cached)")
    parser.add_argument("--out", required=True, help="the .npz file to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from cvviz.commands._self_supervised import load_model, save_npz
    from cvviz.data.images import load_image
    from cvviz.models.inference import preprocess
    from cvviz.selfsupervised.mae import random_mask, reconstruct

    image = load_image(args.image)
    loaded = load_model(args.model, "mae", args.weights)
    spec = loaded.spec
    prep = spec.preprocessing
    with loaded.exclusive() as model:
        mask = random_mask(model.num_patches, args.mask_ratio, args.seed)
        result = reconstruct(
            model, preprocess(image.image, spec).to(loaded.device), mask, prep.mean, prep.std
        )
    save_npz(
        args.out,
        mask=result.mask.astype(np.uint8),
        reconstruction=result.reconstruction,
        pasted=result.pasted,
        original=result.original,
        error=result.error,
        loss=np.array(result.loss),
        patch_size=np.array(result.patch_size),
    )
    hidden = int(result.mask.sum())
    print(
        f"wrote {args.out}: {hidden} of {result.mask.size} patches hidden, "
        f"loss on hidden patches {result.loss:.4f}"
    )
    return 0
