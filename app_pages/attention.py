"""Attention: the real attention of a ViT (per layer and head, rollout, attention distance) or a Swin
(windows, shifted windows, window attention and relative position bias)."""

import streamlit as st

from cvviz.catalog import get_family
from cvviz.errors import CvvizError
from cvviz.explain.attention import swin_attention_for, vit_attention_for, vit_attention_gradients
from cvviz.explain.attention.rollout import (
    FUSIONS,
    attention_rollout,
    class_token_grid,
    gradient_rollout,
    mean_attention_distance,
)
from cvviz.formatting import format_decimal, format_percent
from cvviz.i18n import N_, _
from cvviz.models.inference import preprocess, to_display_image
from cvviz.plotting.attention import (
    attention_distance_figure,
    attention_overlay_figure,
    head_grid_figure,
    swin_windows_figure,
    window_attention_figure,
)
from cvviz.plotting.picking import add_pick_grid, picked_cell
from ui.messages import CHOOSE_IMAGE, require, untrained_banner
from ui.resources import predictions, workbench
from ui.self_supervised import attention_model_choice, self_supervised_model
from ui.sidebar import current_selection

FUSION_LABELS = {"mean": N_("mean"), "max": N_("max"), "min": N_("min")}

selection = current_selection()

st.title(_("Attention: where a transformer looks"))
# DINO's self-supervised ViTs are shown here too, in place of the sidebar's model when chosen.
dino = attention_model_choice("attention.source")
if dino is None:
    loaded = selection.model
else:
    loaded = self_supervised_model(dino)
    if loaded is None:  # its weights are not here: how to fetch them is shown instead
        st.stop()
spec = loaded.spec
untrained_banner(loaded)
view = get_family(spec).attention
if view is None:
    st.info(
        _(
            "{model} is a convolutional network: it has no self-attention, so there is nothing to show "
            "here. Choose a ViT or Swin model in the sidebar's model list (or a DINO model above) to see "
            "its attention."
        ).format(model=spec.title)
    )
    st.stop()
image = require(selection.image, CHOOSE_IMAGE)
display = to_display_image(image.image, spec)
batch = preprocess(image.image, spec).to(loaded.device)
st.caption(
    _(
        "torchvision does not return attention weights, so cvviz records each attention layer's input and "
        "recomputes the probabilities from the layer's own weights — the tests check that they rebuild the "
        "layer's real output."
    )
)
# Widget keys carry the model name: ranges (grid, layers, heads) differ between models.
key = f"attention.{spec.name}"


def remembered(name: str, compute, tag: str = ""):
    """``compute()``'s result, reused while the model, the image and ``tag`` are unchanged, so moving a
    slider does not run the model again."""
    return workbench().remember(loaded.key, image.fingerprint, f"attention.{name}", tag, compute)


def head_choice(heads: int, widget_key: str) -> int | None:
    """A head picker: 'mean of heads' or one head (options are display strings, mapped back)."""
    options = [-1, *range(heads)]
    chosen = st.selectbox(
        _("Head"),
        options,
        key=widget_key,
        format_func=lambda h: _("mean of heads") if h < 0 else _("head {head}").format(head=h),
    )
    return None if chosen < 0 else int(chosen)


def show_vit() -> None:
    try:
        with st.spinner(_("Recomputing every layer's attention…")), loaded.exclusive() as model:
            maps = remembered("vit", lambda: vit_attention_for(spec, model, batch))
    except CvvizError as exc:
        st.error(str(exc))
        st.stop()
    cell = maps.patch_size
    st.markdown(
        _(
            "{layers} layers × {heads} heads; {rows}×{cols} patches of {cell}×{cell} pixels plus the class "
            "token ({tokens} tokens)."
        ).format(
            layers=maps.num_layers,
            heads=maps.num_heads,
            rows=maps.grid[0],
            cols=maps.grid[1],
            cell=cell,
            tokens=maps.attn.shape[-1],
        )
    )
    tabs = st.tabs(
        [_("Class token"), _("All layers × heads"), _("Pick a patch"), _("Rollout"), _("Attention distance")]
    )
    with tabs[0]:
        layer = st.slider(_("Layer"), 0, maps.num_layers - 1, maps.num_layers - 1, key=f"{key}.cls_layer")
        head = head_choice(maps.num_heads, f"{key}.cls_head")
        st.plotly_chart(
            attention_overlay_figure(
                display,
                maps.head_map(layer, head),
                cell,
                _("Class token attention, layer {layer}").format(layer=layer),
            ),
            key="attention.cls_figure",
        )
    with tabs[1]:
        st.plotly_chart(
            head_grid_figure(
                maps.class_token_maps(), _("Class token attention: rows are layers, columns heads")
            ),
            key="attention.grid_figure",
        )
    with tabs[2]:
        pick_key = f"{key}.patch_pick"
        clicked = picked_cell(st.session_state.get(pick_key))
        if clicked is not None and clicked != st.session_state.get(f"{pick_key}.applied"):
            st.session_state[f"{pick_key}.applied"] = clicked
            st.session_state[f"{key}.patch_row"], st.session_state[f"{key}.patch_col"] = clicked
        st.caption(_("Click a patch of the image to make it the query, or use the sliders."))
        left, right = st.columns(2)
        row = left.slider(_("Patch row"), 0, maps.grid[0] - 1, maps.grid[0] // 2, key=f"{key}.patch_row")
        col = right.slider(_("Patch column"), 0, maps.grid[1] - 1, maps.grid[1] // 2, key=f"{key}.patch_col")
        layer = st.slider(_("Layer"), 0, maps.num_layers - 1, 0, key=f"{key}.patch_layer")
        head = head_choice(maps.num_heads, f"{key}.patch_head")
        centres_y = [(r + 0.5) * cell for r in range(maps.grid[0])]
        centres_x = [(c + 0.5) * cell for c in range(maps.grid[1])]
        st.plotly_chart(
            add_pick_grid(
                attention_overlay_figure(
                    display,
                    maps.head_map(layer, head, (row, col)),
                    cell,
                    _("Where patch ({row}, {col}) attends, layer {layer}").format(
                        row=row, col=col, layer=layer
                    ),
                    marker=(row, col),
                ),
                centres_y,
                centres_x,
                marker_px=max(8.0, 360 / maps.grid[1]),
                hover=_("patch (%{customdata[0]}, %{customdata[1]})"),
            ),
            key=pick_key,
            on_select="rerun",
            selection_mode="points",
        )
    with tabs[3]:
        st.markdown(
            _(
                "**Attention rollout** (Abnar & Zuidema 2020) follows attention through every layer: each "
                "layer's heads are fused, the residual connection is modelled as ½A + ½I, and the layers "
                "are multiplied. The class token's row shows which patches flow into the prediction."
            )
        )
        left, right = st.columns(2)
        fusion = left.selectbox(
            _("Head fusion"), list(FUSIONS), key="attention.fusion", format_func=lambda f: _(FUSION_LABELS[f])
        )
        discard = right.slider(_("Discard ratio"), 0.0, 0.95, 0.0, 0.05, key="attention.discard")
        joint = attention_rollout(maps.attn, fusion, discard)
        st.plotly_chart(
            attention_overlay_figure(
                display,
                class_token_grid(joint, maps.grid),
                cell,
                _("Rollout ({fusion} of heads, {discarded} discarded)").format(
                    fusion=_(FUSION_LABELS[fusion]), discarded=format_percent(discard, 0)
                ),
            ),
            key="attention.rollout_figure",
        )
        # A backbone without a classifier (DINO) has no class to weight the attention by.
        if spec.categories and st.toggle(
            _("Class-specific (gradient-weighted) rollout"), key="attention.gradient"
        ):
            st.caption(
                _(
                    "Chefer, Gur & Wolf 2021: each layer's attention is weighted by the positive part of the "
                    "gradient of the chosen class's logit with respect to it, averaged over heads, and "
                    "accumulated through the layers. The predicted class comes first in the list."
                )
            )
            top = predictions(loaded, image).top
            options = [f"{p.label} ({format_percent(p.prob, 1)})" for p in top]
            target = top[options.index(st.selectbox(_("Class"), options, key=f"{key}.target"))].index
            with (
                st.spinner(_("Back-propagating the class logit to every attention map…")),
                loaded.exclusive() as model,
            ):
                grads = remembered(
                    "gradients",
                    lambda: vit_attention_gradients(model, batch, spec.attention_layers, target),
                    tag=str(target),
                )
            relevance = gradient_rollout(grads.maps.attn, grads.grad)
            if grads.vanishes:
                st.info(
                    _(
                        "This map is flat: the class logit's gradient with respect to every attention map "
                        "is exactly zero, so there is nothing to weight the attention by."
                    )
                    + (
                        " "
                        + _(
                            "The model has random weights, and a newly built ViT's classification head "
                            "starts at zero (torchvision initialises it so): every class logit is 0 for "
                            "every image and depends on nothing before it. Choose the trained weights to "
                            "see class-specific relevance."
                        )
                        if not loaded.trained
                        else ""
                    )
                )
            st.caption(
                _(
                    "The saliency page offers both maps as methods too (Attention rollout, Transformer "
                    "relevance), beside the CAM family and the gradient methods, with the sanity check and "
                    "the deletion and insertion curves that compare them."
                )
            )
            st.plotly_chart(
                attention_overlay_figure(
                    display,
                    class_token_grid(relevance, maps.grid),
                    cell,
                    _("Relevance for class {index}: {label}").format(
                        index=grads.target, label=spec.categories[grads.target]
                    ),
                ),
                key="attention.gradient_figure",
            )
    with tabs[4]:
        distance = mean_attention_distance(maps.attn, maps.grid, cell)
        st.markdown(
            _(
                "**Mean attention distance** (Dosovitskiy et al. 2020, Fig. 7): for every head, how far in "
                "pixels a patch looks on average, weighting each other patch's distance by its attention. "
                "Trained ViTs mix local and global heads early and become global with depth."
            )
        )
        st.plotly_chart(attention_distance_figure(distance, spec.input_size), key="attention.distance_figure")
        st.caption(
            _("Across all heads: {low} to {high} pixels (the input is {size} pixels wide).").format(
                low=format_decimal(distance.min(), 1),
                high=format_decimal(distance.max(), 1),
                size=spec.input_size,
            )
        )


def show_swin() -> None:
    layer = st.selectbox(_("Attention block"), list(spec.attention_layers), key=f"{key}.block")
    try:
        with st.spinner(_("Recomputing the block's window attention…")), loaded.exclusive() as model:
            window, layouts = remembered(
                "swin", lambda: swin_attention_for(spec, model, batch, layer), tag=layer
            )
    except CvvizError as exc:
        st.error(str(exc))
        st.stop()
    layout = window.layout
    st.subheader(_("Windows, and windows shifted by half a window"))
    st.markdown(
        _(
            "Swin attends only inside fixed windows of tokens; every other block shifts the windows by half "
            "a window so information crosses window borders (the dashed grid wraps around the image edges)."
        )
    )
    stages = sorted({name.split(".")[1] for name in spec.attention_layers}, key=int)
    columns = st.columns(len(stages))
    for column, stage in zip(columns, stages):
        firsts = [item for item in layouts if item.layer_name.split(".")[1] == stage][:2]
        with column:
            for item in firsts:
                kind = _("shifted") if item.shifted else _("regular")
                st.plotly_chart(
                    swin_windows_figure(
                        display,
                        item,
                        _("{layer}: {kind}, {rows}×{cols} tokens").format(
                            layer=item.layer_name,
                            kind=kind,
                            rows=item.feature_size[0],
                            cols=item.feature_size[1],
                        ),
                    ),
                    key=f"attention.layout.{item.layer_name}",
                )
    st.info(
        _(
            "Rollout and class-specific relevance (Chefer et al. 2021) follow a ViT's class token through "
            "global attention. Swin has no class token, attends inside windows that shift from block to "
            "block, and merges 2×2 patches between stages, so there is no one token-by-token matrix to "
            "propagate through: cvviz shows them for ViTs only. For Swin, the saliency page's CAM family "
            "(Grad-CAM, Layer-CAM, Score-CAM, …) explains a class on the last stage's map."
        )
    )
    st.subheader(_("Inside one window of {layer}").format(layer=layer))
    left, right = st.columns(2)
    index = left.slider(_("Window"), 0, layout.num_windows - 1, 0, key=f"{key}.{layer}.window")
    heads = window.attn.shape[1]
    head = int(right.selectbox(_("Head"), [str(h) for h in range(heads)], key=f"{key}.{layer}.head"))
    masked = window.masked_pairs(index)
    st.caption(
        _(
            "{rows}×{cols} tokens per window, shift {shift}, {stride} pixels per token; in this window "
            "{masked} of {pairs} query–key pairs are masked (tokens that only neighbour each other after the "
            "cyclic shift)."
        ).format(
            rows=layout.window_size[0],
            cols=layout.window_size[1],
            shift=layout.shift_size,
            stride=layout.stride,
            masked=masked,
            pairs=window.mask[index].size,
        )
    )
    figure_left, figure_right = st.columns([2, 3])
    figure_left.plotly_chart(
        swin_windows_figure(
            display, layout, _("window {index}").format(index=index), highlight=layout.window_tokens(index)
        ),
        key="attention.window_location",
    )
    figure_right.plotly_chart(
        window_attention_figure(
            window.attn[index, head],
            window.relative_position_bias[head],
            _("window {index}, head {head}").format(index=index, head=head),
        ),
        key="attention.window_figure",
    )


if view == "global":
    show_vit()
else:
    show_swin()
