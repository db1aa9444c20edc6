"""Self-supervised backbones: MAE's reconstructions of hidden patches and DINO's attention, on one image."""

import numpy as np
import streamlit as st

from cvviz.catalog import PRETRAINING_LABELS, get_family, get_spec, list_self_supervised
from cvviz.errors import CvvizError
from cvviz.formatting import format_decimal, format_percent
from cvviz.i18n import N_, _
from cvviz.models.inference import preprocess, to_display_image
from cvviz.plotting.picking import add_pick_grid, picked_cell
from cvviz.plotting.self_supervised import (
    head_maps_figure,
    image_panels_figure,
    masked_patches_figure,
    patch_error_figure,
)
from cvviz.selfsupervised.dino import OBJECTIVES, last_layer_class_attention
from cvviz.selfsupervised.knn import TEMPERATURE, K, knn_job
from cvviz.selfsupervised.mae import random_mask, reconstruct, toggle_patch
from ui.jobs import long_run
from ui.messages import CHOOSE_IMAGE, require
from ui.resources import drawn_shapes, session_zip_images, workbench
from ui.self_supervised import self_supervised_model
from ui.sidebar import current_selection

KNN_SOURCES = {"shapes": N_("the transfer lab's drawn shapes"), "zip": N_("a zip of class folders")}
SECONDS_PER_IMAGE = 0.05  # one ViT-S forward pass on 2 CPU cores, for the time said up front
MASK_MODES = {"random": N_("random, with a seed"), "paint": N_("paint: click patches")}
MAE_MODEL = "mae_vitb16"

selection = current_selection()
st.title(_("Self-supervised backbones: MAE and DINO"))
st.markdown(
    _(
        "Both networks below learned from images alone, without a single label. **MAE** hides most of an "
        "image's patches and learns to paint them back; **DINO** learns to give two crops of one image the "
        "same output, and its attention ends up on the objects."
    )
)
image = require(selection.image, CHOOSE_IMAGE)


def remembered(loaded, name: str, tag, compute):
    """``compute()``'s result, reused while the model, the image and ``tag`` are unchanged."""
    return workbench().remember(loaded.key, image.fingerprint, f"self_supervised.{name}", tag, compute)


def mae_result(loaded, mask: np.ndarray):
    spec = loaded.spec
    prep = spec.preprocessing

    def compute():
        with loaded.exclusive() as model:
            batch = preprocess(image.image, spec).to(loaded.device)
            return reconstruct(model, batch, mask, prep.mean, prep.std)

    return remembered(loaded, "mae", mask.tobytes(), compute)


def class_attention(loaded):
    spec = loaded.spec

    def compute():
        with loaded.exclusive() as model:
            return last_layer_class_attention(spec, model, preprocess(image.image, spec).to(loaded.device))

    return remembered(loaded, "cls_attention", "", compute)


def mae_mask(grid: int) -> np.ndarray:
    """The hidden patches the visitor chose: a random mask (ratio and seed) or one painted by clicking."""
    key = "self_supervised.mae"
    left, middle, right = st.columns([2, 2, 1])
    mode = left.radio(
        _("Hidden patches"), list(MASK_MODES), key=f"{key}.mode", format_func=lambda m: _(MASK_MODES[m])
    )
    ratio = middle.slider(_("Mask ratio"), 0.0, 0.95, 0.75, 0.05, key=f"{key}.ratio")
    seed = int(right.number_input(_("Seed"), 0, 10_000, 0, key=f"{key}.seed"))
    mask = random_mask(grid * grid, ratio, seed)
    if mode == "random":
        return mask.reshape(grid, grid)
    painted = st.session_state.get(f"{key}.painted")
    if painted is None or painted.shape != (grid, grid) or st.button(_("Start again from the random mask")):
        painted = mask.reshape(grid, grid).copy()
    clicked = picked_cell(st.session_state.get(f"{key}.pick"))
    if clicked is not None and clicked != st.session_state.get(f"{key}.applied"):
        painted = toggle_patch(painted, clicked)
    st.session_state[f"{key}.applied"] = clicked
    st.session_state[f"{key}.painted"] = painted
    return painted


def mae_section() -> np.ndarray | None:
    """The MAE view; returns the mask the visitor chose (None without weights)."""
    st.markdown(
        _(
            "**Masked autoencoder** (He et al. 2022). The image is cut into 16×16-pixel patches; the hidden "
            "ones never reach the encoder, which sees only the visible quarter. A light decoder then predicts "
            "every hidden patch's pixels from the encodings and the patches' positions."
        )
    )
    loaded = self_supervised_model(MAE_MODEL)
    if loaded is None:
        return None
    shape = get_family(loaded.spec).encoder_shape(loaded.spec)
    grid, cell = shape.grid, shape.patch_size
    mask = mae_mask(grid)
    display = to_display_image(image.image, loaded.spec)
    hidden = int(mask.sum())
    title = _("{hidden} of {patches} patches hidden ({share})").format(
        hidden=hidden, patches=mask.size, share=format_percent(hidden / mask.size, 0)
    )
    with st.spinner(_("Encoding the visible patches and decoding the hidden ones…")):
        result = mae_result(loaded, mask)
    st.plotly_chart(
        image_panels_figure(
            [
                (_("original"), result.original),
                (_("masked: what the encoder sees"), result.masked),
                (_("reconstruction"), result.reconstruction),
                (_("reconstruction + visible patches"), result.pasted),
            ],
            title,
        ),
        key="self_supervised.mae_panels",
    )
    error_figure = patch_error_figure(
        display, result.error, result.mask, cell, _("Reconstruction error per hidden patch")
    )
    left, right = st.columns(2)
    if st.session_state.get("self_supervised.mae.mode") == "paint":
        centres = [(i + 0.5) * cell for i in range(grid)]
        figure = add_pick_grid(
            masked_patches_figure(display, result.mask, cell, _("Hidden patches (shaded)")),
            centres,
            centres,
            marker_px=18,
            hover=_("patch (%{customdata[0]}, %{customdata[1]})"),
        )
        with left:
            st.caption(_("Click a patch to hide it or show it again."))
            st.plotly_chart(
                figure, key="self_supervised.mae.pick", on_select="rerun", selection_mode="points"
            )
        right.plotly_chart(error_figure, key="self_supervised.mae_error")
    else:
        left.plotly_chart(error_figure, key="self_supervised.mae_error")
        right.markdown(
            _(
                "The error is measured where the network had nothing to see. It is largest where a hidden "
                "patch holds detail no visible neighbour predicts (an eye, a letter, an edge) and smallest on "
                "smooth background: MAE must understand the scene to lower it, which is why its encoder "
                "learns useful features."
            )
        )
    st.caption(
        _(
            "Mean squared error over the hidden patches: {loss} (in normalised pixels, the loss MAE minimises). "
            "Fine texture is lost and edges blur, but the layout of the scene comes back from a quarter of it."
        ).format(loss=format_decimal(result.loss, 3))
    )
    return mask


def attention_views(loaded, keep: float, columns: int) -> None:
    """One model's last-layer class-token attention per head, then the masks keeping ``keep`` of it."""
    attention = class_attention(loaded)
    display = to_display_image(image.image, loaded.spec)
    maps = attention.maps()
    cell = attention.patch_size
    st.plotly_chart(
        head_maps_figure(
            display,
            maps,
            cell,
            _("{model}: last layer, [CLS] attention").format(model=loaded.spec.title),
            columns=columns,
        ),
        key=f"self_supervised.heads.{loaded.spec.name}",
    )
    masks = attention.masks(keep)
    st.plotly_chart(
        head_maps_figure(
            display,
            maps,
            cell,
            _("{model}: patches holding {share} of each head's attention").format(
                model=loaded.spec.title, share=format_percent(keep, 0)
            ),
            masks=masks,
            columns=columns,
        ),
        key=f"self_supervised.masks.{loaded.spec.name}",
    )


def supervised_twin(name: str, place: str = ""):
    """The supervised ViT of the same size, with trained weights; None (after saying how to fetch them)
    without them."""
    spec = get_spec(name)
    return self_supervised_model(get_family(spec).supervised_twin(spec), place)


def dino_section() -> str | None:
    st.markdown(
        _(
            "**DINO** (Caron et al. 2021). Below: where the class token of the last layer looks, head by head. "
            "Nobody told the network what an object is, yet several heads outline one. Beside it, a ViT of the "
            "same size trained with labels."
        )
    )
    left, right = st.columns(2)
    titles = {spec.name: spec.title for spec in list_self_supervised("dino")}
    name = left.selectbox(
        _("DINO model"), list(titles), key="self_supervised.dino.model", format_func=titles.__getitem__
    )
    keep = right.slider(
        _("Attention mass kept by the masks"), 0.1, 1.0, 0.6, 0.05, key="self_supervised.keep"
    )
    loaded = self_supervised_model(name)
    if loaded is None:
        return None
    own, twin = st.columns(2)
    with own:
        st.subheader(_("Self-supervised (DINO)"))
        with st.spinner(_("Recomputing the last layer's attention…")):
            attention_views(loaded, keep, 3)
    with twin:
        st.subheader(_("Supervised, same size"))
        twin_model = supervised_twin(name)
        if twin_model is not None:
            with st.spinner(_("Recomputing the last layer's attention…")):
                attention_views(twin_model, keep, 3)
    return name


def knn_data():
    source = st.radio(
        _("Labelled images"),
        list(KNN_SOURCES),
        key="self_supervised.knn.source",
        format_func=lambda s: _(KNN_SOURCES[s]),
        horizontal=True,
    )
    if source == "shapes":
        return drawn_shapes()
    upload = st.file_uploader(
        _("Zip of class folders"),
        type=["zip"],
        key="self_supervised.knn.zip",
        help=_("Laid out as class_name/image.jpg, as for the transfer lab."),
    )
    if upload is None:
        return None
    try:
        with st.spinner(_("Unpacking and reading the zip…")):
            return session_zip_images(upload.file_id, upload.getvalue())
    except CvvizError as exc:
        st.error(str(exc))
        return None


def knn_section(name: str) -> None:
    st.markdown(
        _(
            "**k-NN on frozen features**, DINO's evaluation: every image is classified by the {k} most "
            "similar other images (cosine similarity of the final [CLS] features), each voting for its class "
            "with weight exp(similarity / {temperature}). No layer is trained, so the accuracy measures how "
            "well the features alone group your classes: DINO's, learned without labels, against a ViT of "
            "the same size trained on ImageNet's labels."
        ).format(k=K, temperature=TEMPERATURE)
    )
    data = knn_data()
    if data is None:
        return
    st.caption(data.description)
    dino = self_supervised_model(name, "knn")
    twin = supervised_twin(name, "knn") if dino is not None else None
    if dino is None or twin is None:
        return
    backbones = [dino, twin]
    results = long_run(
        "self_supervised.knn",
        _("Classify every image by its neighbours"),
        (dino.key, twin.key, data.fingerprint),
        lambda: knn_job(backbones, data, workbench().results),
        estimate_s=2 * len(data) * SECONDS_PER_IMAGE,
    )
    if not results:
        return
    chance = max(data.counts.values()) / len(data)
    st.dataframe(
        [
            {
                _("backbone"): result.title,
                _("trained with"): _(PRETRAINING_LABELS[result.pretraining]),
                _("k-NN accuracy"): format_percent(result.accuracy, 1),
                _("neighbours"): result.k,
                _("feature width"): result.feature_dim,
            }
            for result in results
        ],
        hide_index=True,
    )
    st.caption(
        _(
            "{images} images in {classes} classes, each classified by all the others (leave-one-out); always "
            "answering the largest class scores {chance}."
        ).format(images=len(data), classes=len(data.classes), chance=format_percent(chance, 1))
    )


tabs = st.tabs(
    [
        _("MAE: rebuild hidden patches"),
        _("DINO: attention without labels"),
        _("Side by side"),
        _("k-NN on your classes"),
    ]
)
with tabs[0]:
    chosen_mask = mae_section()
with tabs[1]:
    dino_name = dino_section()
with tabs[2]:
    st.markdown(_(OBJECTIVES["dino"]))
    st.markdown(_(OBJECTIVES["mae"]))
    mae_loaded = self_supervised_model(MAE_MODEL, "side")
    dino_loaded = self_supervised_model(dino_name or "dino_vits16", "side")
    if mae_loaded is not None and dino_loaded is not None:
        keep = st.session_state.get("self_supervised.keep", 0.6)
        attention = class_attention(dino_loaded)
        kept = attention.mean_mask(keep)
        shape = get_family(mae_loaded.spec).encoder_shape(mae_loaded.spec)
        mask = chosen_mask
        if mask is None:
            mask = random_mask(shape.num_patches, 0.75).reshape(shape.grid, shape.grid)
        result = mae_result(mae_loaded, mask)
        display = to_display_image(image.image, dino_loaded.spec)
        left, right = st.columns(2)
        left.plotly_chart(
            masked_patches_figure(
                display,
                ~kept,
                attention.patch_size,
                _("{model}: the patches holding {share} of the heads' mean attention").format(
                    model=dino_loaded.spec.title, share=format_percent(keep, 0)
                ),
            ),
            key="self_supervised.side.dino",
        )
        right.plotly_chart(
            patch_error_figure(
                result.original,
                result.error,
                result.mask,
                shape.patch_size,
                _("MAE: error per hidden patch ({share} hidden)").format(
                    share=format_percent(result.hidden_share, 0)
                ),
            ),
            key="self_supervised.side.mae",
        )
        st.caption(
            _(
                "Same image, two objectives: DINO's attention settles on what stays the same across crops "
                "(the object), MAE's error is high where the hidden pixels hold detail the rest of the image "
                "does not give away."
            )
        )
with tabs[3]:
    knn_section(dino_name or "dino_vits16")
