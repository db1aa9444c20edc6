"""Architecture: the chosen model's layer table, the shape of the network, its signature block and a block
calculator — every number counted from the real modules."""

import streamlit as st

from cvviz.architecture import (
    BLOCK_KINDS,
    PRESETS,
    BlockChoice,
    compare_blocks,
    group_layers,
    max_depth,
    network_profile,
)
from cvviz.catalog import get_family
from cvviz.measure.complexity import NOT_COUNTED, complexity_for_spec
from cvviz.plotting.architecture import block_comparison_figure, profile_figure
from ui.messages import untrained_banner
from ui.resources import workbench
from ui.sidebar import current_selection

selection = current_selection()
loaded = selection.model
spec = loaded.spec
family = get_family(spec)
untrained_banner(loaded)


st.title(f"Inside {spec.title}")
st.caption(f"{spec.key_idea} — {spec.paper.authors}, [{spec.paper.title}]({spec.paper.url}), {spec.year}.")
with st.spinner("Counting parameters and multiplications layer by layer…"):
    complexity = workbench().remember(spec.name, None, "complexity", (), lambda: complexity_for_spec(spec))

st.subheader("Layer table")
deepest = max_depth(complexity)
depth = st.slider("Group rows to depth", 0, deepest, min(1, deepest), key=f"arch.depth.{spec.name}")
groups = group_layers(complexity, depth)
st.dataframe(
    [
        {
            "name": g.name,
            "type": g.type,
            "output shape": "×".join(str(s) for s in g.output_shape) if g.output_shape else "—",
            "params": g.params,
            "MACs": g.macs,
            "FLOPs": g.flops,
            "% params": round(100 * g.param_share, 2),
            "% MACs": round(100 * g.mac_share, 2),
            "modules": g.members,
        }
        for g in groups
    ],
    hide_index=True,
    key="arch.table",
    height=360,
)
total_params, total_macs = sum(g.params for g in groups), sum(g.macs for g in groups)
st.markdown(
    f"**Total:** {total_params:,} parameters · {total_macs:,} MACs · {2 * total_macs:,} FLOPs "
    f"for one {'×'.join(str(s) for s in complexity.input_shape[1:])} input."
)
st.caption(f"Not counted: {NOT_COUNTED}. 1 MAC = 2 FLOPs.")

st.subheader("Shape of the network")
points = network_profile(spec, complexity)
st.plotly_chart(
    profile_figure(points, f"{spec.title}: channels and resolution per stage"), key="arch.profile"
)
if family.shape_note:
    st.caption(family.shape_note)

st.subheader("Signature block")
with st.spinner("Reading the block from the model…"), loaded.exclusive() as model:
    block = family.signature(spec, model, complexity)
st.markdown(f"**{block.title}** — `{block.module_name}`")
st.write(block.description)
st.dataframe(
    [{"fact": f.label, "value": str(f.value), "how it was computed": f.how} for f in block.facts],
    hide_index=True,
    key="arch.facts",
)
if block.table:
    st.dataframe(
        [dict(zip(block.columns, row)) for row in block.table], hide_index=True, key="arch.block_table"
    )

st.subheader("Block calculator")
preset_titles = ["(custom)"] + [p.title for p in PRESETS]
preset_title = st.selectbox("Classic example", preset_titles, key="arch.preset")
kind_labels = {label: kind for kind, label in BLOCK_KINDS.items()}
if preset_title != "(custom)":
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
    for side in ("a", "b"):
        cols = st.columns(5)
        label = cols[0].selectbox(f"Block {side.upper()}", list(kind_labels), key=f"arch.calc.{side}.kind")
        k = cols[1].number_input("k", 1, 11, 3, step=2, key=f"arch.calc.{side}.k")
        n = cols[2].number_input("n (stack)", 1, 8, 2, key=f"arch.calc.{side}.n")
        mid = cols[3].number_input(
            "mid channels", 1, 2048, max(1, int(c_out) // 4), key=f"arch.calc.{side}.mid"
        )
        groups_n = cols[4].number_input("groups", 1, 64, 2, key=f"arch.calc.{side}.groups")
        choices.append(
            BlockChoice(kind_labels[label], k=int(k), n=int(n), mid=int(mid), groups=int(groups_n))
        )
try:
    costs = compare_blocks(choices, int(height), int(height), int(c_in), int(c_out))
except ValueError as exc:
    st.error(str(exc))
else:
    st.dataframe(
        [
            {
                "block": c.label,
                "params": c.params,
                "MACs": c.macs,
                "output": "×".join(map(str, c.output_shape[1:])),
            }
            for c in costs
        ],
        hide_index=True,
        key="arch.calc.table",
    )
    if costs[1].params:
        st.markdown(
            f"Block A needs **{costs[0].params / costs[1].params:.3f}×** the weights and "
            f"**{costs[0].macs / max(costs[1].macs, 1):.3f}×** the multiplications of block B."
        )
    st.plotly_chart(block_comparison_figure(costs), key="arch.calc.figure")
    st.caption(
        "Each block is built from nn modules and counted: weights by numel, MACs by torch's FLOP counter."
    )
