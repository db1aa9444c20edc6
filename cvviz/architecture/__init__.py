"""A backbone's structure, computed from the model in hand: the layer table and the network's shape
(:mod:`.layers`), the block calculator (:mod:`.blocks`) and signature blocks (:mod:`.signature`; each
family's own block is described by its plug-in, ``get_family(spec).signature(spec, model)``)."""

from cvviz.architecture.blocks import (
    BLOCK_INPUTS,
    BLOCK_KINDS,
    INPUT_RANGES,
    PRESETS,
    BlockChoice,
    BlockCost,
    BlockPreset,
    block_cost,
    build_block,
    compare_blocks,
    comparison_sentence,
    ratio_phrase,
)
from cvviz.architecture.layers import LayerGroup, ProfilePoint, group_layers, max_depth, network_profile
from cvviz.architecture.signature import Fact, SignatureBlock, generic_signature

__all__ = [
    "BLOCK_INPUTS",
    "BLOCK_KINDS",
    "INPUT_RANGES",
    "PRESETS",
    "BlockChoice",
    "BlockCost",
    "BlockPreset",
    "Fact",
    "LayerGroup",
    "ProfilePoint",
    "SignatureBlock",
    "block_cost",
    "build_block",
    "compare_blocks",
    "comparison_sentence",
    "generic_signature",
    "group_layers",
    "max_depth",
    "network_profile",
    "ratio_phrase",
]
