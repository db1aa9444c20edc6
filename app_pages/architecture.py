"""Architecture: the chosen model's layer table, the shape of the network, its signature block and a block
calculator — every number counted from the real modules."""

import streamlit as st

from cvviz.architecture import (
    BLOCK_INPUTS,
    BLOCK_KINDS,
    INPUT_RANGES,
    PRESETS,
    BlockChoice,
    compare_blocks,
    comparison_sentence,
    group_layers,
    max_depth,
    network_profile,
)
from cvviz.catalog import get_family
from cvviz.formatting import display_value, format_number
from cvviz.i18n import _
from cvviz.layouts import SHAPE_CONVENTION, shape_text
from cvviz.measure.complexity import NOT_COUNTED, complexity_for_spec
from cvviz.plotting.architecture import block_comparison_figure, profile_figure
from ui.messages import untrained_banner
from ui.resources import workbench
from ui.sidebar import current_selection
from ui.tables import table

selection = current_selection()
loaded = selection.model
spec = loaded.spec
family = get_family(spec)
untrained_banner(loaded)


st.title(_("Inside {model}").format(model=spec.title))
st.caption(f"{_(spec.key_idea)} — {spec.paper.authors}, [{spec.paper.title}]({spec.paper.url}), {spec.year}.")
with st.spinner(_("Counting parameters and multiplications layer by layer…")):
    complexity = workbench().remember(spec.name, None, "complexity", (), lambda: complexity_for_spec(spec))

st.subheader(_("Layer table"))
deepest = max_depth(complexity)
depth = st.slider(_("Group rows to depth"), 0, deepest, min(1, deepest), key=f"arch.depth.{spec.name}")
groups = group_layers(complexity, depth)
table(
    [
        {
            _("name"): g.name,
            _("type"): _("{type} (container)").format(type=g.type) if g.container else g.type,
            _("output shape"): shape_text(g.output_shape),
            _("params"): g.total_params,
            "MACs": g.total_macs,
            "FLOPs": g.total_flops,
            _("% params"): round(100 * g.total_param_share, 2),
            _("% MACs"): round(100 * g.total_mac_share, 2),
            _("modules"): g.total_members,
        }
        for g in groups
    ],
    hide_index=True,
    key="arch.table",
    height=360,
)
st.markdown(
    _("**Total:** {params} parameters · {macs} MACs · {flops} FLOPs for one {shape} input.").format(
        params=format_number(complexity.params),
        macs=format_number(complexity.macs),
        flops=format_number(complexity.flops),
        shape="×".join(str(s) for s in complexity.input_shape[1:]),
    )
)
st.caption(
    _(
        "A container's numbers are the totals of everything inside it, the rows that follow it included, so "
        "a column does not add up row by row."
    )
    + " "
    + _(SHAPE_CONVENTION)
)
st.caption(_("Not counted: {what}. 1 MAC = 2 FLOPs.").format(what=_(NOT_COUNTED)))

st.subheader(_("Shape of the network"))
points = network_profile(spec, complexity, family.stage_labels(spec))
st.plotly_chart(
    profile_figure(points, _("{model}: channels and resolution per stage").format(model=spec.title)),
    key="arch.profile",
)
if family.shape_note:
    st.caption(_(family.shape_note))

st.subheader(_("Signature block"))
with st.spinner(_("Reading the block from the model…")), loaded.exclusive() as model:
    block = family.signature(spec, model, complexity)
st.markdown(f"**{_(block.title)}** — `{block.module_name}`")
st.write(_(block.description))
st.dataframe(
    [
        {_("fact"): _(f.label), _("value"): display_value(f.value), _("how it was computed"): f.how}
        for f in block.facts
    ],
    hide_index=True,
    key="arch.facts",
)
if block.table:
    columns = [_(column) for column in block.columns]
    table([dict(zip(columns, row)) for row in block.table], hide_index=True, key="arch.block_table")

st.subheader(_("Block calculator"))
CUSTOM = "(custom)"
preset_titles = [p.title for p in PRESETS] + [CUSTOM]
preset_title = st.selectbox(
    _("Classic example"),
    preset_titles,
    key="arch.preset",
    format_func=lambda t: _("(custom)") if t == CUSTOM else t,
)
kind_labels = {label: kind for kind, label in BLOCK_KINDS.items()}
if preset_title != CUSTOM:
    preset = next(p for p in PRESETS if p.title == preset_title)
    height, c_in, c_out = preset.height, preset.c_in, preset.c_out
    choices = [preset.left, preset.right]
    st.caption(preset.source)
else:
    cols = st.columns(3)
    height = cols[0].number_input("H = W", 1, 512, 56, key="arch.calc.size")
    c_in = cols[1].number_input("C_in", 1, 2048, 64, key="arch.calc.c_in")
    c_out = cols[2].number_input("C_out", 1, 2048, 64, key="arch.calc.c_out")
    choices = []
    for side, first in (("a", "standard"), ("b", "separable")):
        cols = st.columns(3)
        label = cols[0].selectbox(
            _("Block {side}").format(side=side.upper()),
            list(kind_labels),
            index=list(BLOCK_KINDS).index(first),
            key=f"arch.calc.{side}.kind",
        )
        kind = kind_labels[label]
        settings = {}
        # Only the settings this kind of block is built from: the label follows what is set.
        for column, name in zip(cols[1:], BLOCK_INPUTS[kind]):
            asked = INPUT_RANGES[name]
            default = max(1, int(c_out) // 4) if name == "mid" else asked.default
            settings[name] = int(
                column.number_input(
                    asked.label,
                    asked.low,
                    asked.high,
                    default,
                    step=asked.step,
                    key=f"arch.calc.{side}.{name}",
                )
            )
        choices.append(BlockChoice(kind, **settings))
try:
    costs = compare_blocks(choices, int(height), int(height), int(c_in), int(c_out))
except ValueError as exc:
    st.error(str(exc))
else:
    table(
        [
            {
                _("block"): f"{side}: {c.label}",
                _("params"): c.params,
                "MACs": c.macs,
                _("output"): shape_text(c.output_shape),
            }
            for side, c in zip("AB", costs)
        ],
        hide_index=True,
        key="arch.calc.table",
    )
    st.markdown(comparison_sentence(*costs))
    st.plotly_chart(block_comparison_figure(costs), key="arch.calc.figure")
    st.caption(
        _("Each block is built from nn modules and counted: weights by numel, MACs by torch's FLOP counter.")
    )
