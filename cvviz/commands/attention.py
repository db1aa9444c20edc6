"""``python -m cvviz attention IMAGE --model NAME --out FILE.npz``: a transformer's real attention.

For a ViT the file holds ``attn`` (layers, heads, tokens, tokens; the class token first), ``grid``
(patch rows, cols), ``patch_size`` and ``layer_names``. For a Swin it holds one block's window attention
(``--layer``, default the first): ``attn`` (windows, heads, N, N), ``relative_position_bias``
(heads, N, N), ``mask``, ``window_size``, ``shift_size``, ``feature_size`` and ``layer_name``.
"""

from __future__ import annotations

import argparse

import numpy as np

from cvviz.catalog import get_family, get_spec
from cvviz.commands._models import add_weights_arguments, load_for_command
from cvviz.errors import CvvizError
from cvviz.i18n import N_, _

ORDER = 40


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("attention", help="a ViT's or Swin's attention maps, saved as .npz")
    parser.add_argument("image", help="image file (JPEG, PNG, WebP, BMP, GIF, TIFF)")
    parser.add_argument(
        "--model", required=True, help="a ViT or Swin catalog name, e.g. vit_b_16 or dino_vits16"
    )
    parser.add_argument("--layer", help="Swin only: which attention block (default the first)")
    add_weights_arguments(parser)
    parser.add_argument("--out", required=True, help="the .npz file to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cvviz.data.images import load_image
    from cvviz.explain.attention import NotATransformerError, swin_attention_for, vit_attention_for
    from cvviz.models.inference import preprocess

    # DINO's self-supervised ViTs have attention to show too (every layer, like a classifier's).
    spec = get_spec(args.model, task=("classification", "self_supervised"))
    view = get_family(spec).attention
    if view is None:
        raise NotATransformerError(
            _(
                "{title} is not a ViT or Swin model, so it has no attention maps to save; choose e.g. vit_b_16 or swin_t."
            ).format(title=spec.title)
        )
    if args.layer and view != "windows":
        raise CvvizError(_("--layer applies to Swin models only; a ViT writes every layer."))
    if args.layer and args.layer not in spec.attention_layers:
        raise CvvizError(
            _("{title} has no attention block {layer!r}; its first is {value!r}.").format(
                title=spec.title, layer=args.layer, value=spec.attention_layers[0]
            )
        )
    image = load_image(args.image)
    loaded = load_for_command(spec, args, N_("attention maps"))
    batch = preprocess(image.image, spec).to(loaded.device)
    with loaded.exclusive() as model:
        if view == "global":
            maps = vit_attention_for(spec, model, batch)
            arrays = {
                "attn": maps.attn,
                "grid": np.array(maps.grid),
                "patch_size": np.array(maps.patch_size),
                "layer_names": np.array(maps.layer_names),
            }
            shape = maps.attn.shape
        else:
            window, _layouts = swin_attention_for(spec, model, batch, args.layer)
            layout = window.layout
            arrays = {
                "attn": window.attn,
                "relative_position_bias": window.relative_position_bias,
                "mask": window.mask,
                "window_size": np.array(layout.window_size),
                "shift_size": np.array(layout.shift_size),
                "feature_size": np.array(layout.feature_size),
                "layer_name": np.array(layout.layer_name),
            }
            shape = window.attn.shape
    try:
        np.savez_compressed(args.out, **arrays)
    except OSError as exc:
        raise CvvizError(
            _("Could not write {out}: {value}.").format(out=args.out, value=exc.strerror or exc)
        ) from exc
    print(f"wrote {args.out}: attn {tuple(shape)}")
    return 0
