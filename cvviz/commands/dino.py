"""``python -m cvviz dino IMAGE --model dino_vits16 --out attn.npz``: DINO's last-layer [CLS] attention.

The file holds ``attention`` (heads × patches: the class token's attention to each patch in the last
layer; with ``to_class``, its attention to itself, each head's full row sums to 1), ``grid`` (patch
rows, cols), ``patch_size``, ``layer`` and ``mask`` (heads × patches, the patches that keep ``--keep`` of
each head's attention mass, as in the paper's figure).
"""

from __future__ import annotations

import argparse

ORDER = 45


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("dino", help="DINO's last-layer class-token attention per head, as .npz")
    parser.add_argument("image", help="image file (JPEG, PNG, WebP, BMP, GIF, TIFF)")
    parser.add_argument(
        "--model",
        default="dino_vits16",
        help="dino_vits16, dino_vits8, dino_vitb16, dinov2_vits14, or deit_s16 (DINO's supervised twin)",
    )
    parser.add_argument("--keep", type=float, default=0.6, help="share of attention mass kept by the masks")
    parser.add_argument("--weights", help="the checkpoint file (default: the published one, cached)")
    parser.add_argument("--out", required=True, help="the .npz file to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from cvviz.commands._self_supervised import load_model, save_npz
    from cvviz.data.images import load_image
    from cvviz.models.inference import preprocess
    from cvviz.selfsupervised.dino import last_layer_class_attention, mass_mask

    image = load_image(args.image)
    loaded = load_model(args.model, None, args.weights, exclude="mae")
    spec = loaded.spec
    with loaded.exclusive() as model:
        attention = last_layer_class_attention(spec, model, preprocess(image.image, spec).to(loaded.device))
    save_npz(
        args.out,
        attention=attention.attention,
        to_class=attention.to_class,
        grid=np.array(attention.grid),
        patch_size=np.array(attention.patch_size),
        layer=np.array(attention.layer),
        mask=mass_mask(attention.attention, args.keep),
    )
    print(f"wrote {args.out}: attention {attention.attention.shape} ({spec.title}, {attention.layer})")
    return 0
