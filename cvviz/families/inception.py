"""GoogLeNet and Inception v3 (Szegedy et al. 2014, 2015): parallel branches with 1×1 reductions."""

from __future__ import annotations

from types import MappingProxyType

from torch import nn

from cvviz.architecture.signature import Fact, SignatureBlock, conv_layers, first_of_type, numel
from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_spec
from cvviz.families.base import Family
from cvviz.i18n import N_
from cvviz.measure.complexity import Complexity

# Built without the auxiliary classifiers, which only help training; inputs transformed as torchvision does.
INCEPTION_KWARGS = MappingProxyType({"aux_logits": False, "transform_input": True, "init_weights": True})


def _branch_costs(prefix: str, module: nn.Module, complexity: Complexity) -> tuple[tuple[object, ...], ...]:
    rows = []
    for child, sub in module.named_children():
        full = f"{prefix}.{child}"
        macs = sum(r.macs for r in complexity.layers if r.name == full or r.name.startswith(full + "."))
        shape = next((r.output_shape for r in complexity.layers if r.name == full), None)
        kernels = " → ".join(
            f"{c.kernel_size[0]}×{c.kernel_size[1]} {c.in_channels}→{c.out_channels}"
            for _, c in conv_layers(sub)
        )
        rows.append((child, kernels, numel(sub), macs, shape[1] if shape else None))
    return tuple(rows)


class Inception(Family):
    name = "Inception"
    signature_needs_complexity = True

    def entries(self) -> list[ModelSpec]:
        return [
            torchvision_spec(
                "googlenet",
                "GoogLeNet (Inception v1)",
                self.name,
                "googlenet",
                ("conv1", "conv3", "inception3b", "inception4e", "inception5b"),
                architecture_kwargs=INCEPTION_KWARGS,
                notes="Built without its two auxiliary classifiers, which only help training.",
            ),
            torchvision_spec(
                "inception_v3",
                "Inception v3",
                self.name,
                "inception_v3",
                ("Conv2d_2b_3x3", "Conv2d_4a_3x3", "Mixed_5d", "Mixed_6e", "Mixed_7c"),
                architecture_kwargs=INCEPTION_KWARGS,
                notes="Built without its auxiliary classifier, which only helps training; torchvision's "
                "published parameter count includes it.",
            ),
        ]

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        name, block = first_of_type(model, ("Inception", "InceptionA"))
        table = _branch_costs(name, block, complexity)
        reductions = [
            (child, convs[0][1])
            for child, sub in block.named_children()
            if len(convs := conv_layers(sub)) > 1 and convs[0][1].kernel_size == (1, 1)
        ]
        facts = [
            Fact(N_("branches"), len(table), "children of the module"),
            Fact(
                N_("output channels"), sum(int(r[4]) for r in table), "sum of the branches' output channels"
            ),
            Fact(N_("params"), numel(block), "sum of numel() over the module"),
            Fact(N_("MACs"), sum(int(r[3]) for r in table), "FLOP counter on the meta device"),
        ]
        for child, conv in reductions:
            facts.append(
                Fact(
                    f"{child}: 1×1 reduction",
                    f"{conv.in_channels}→{conv.out_channels}",
                    "the branch's 1×1 conv",
                )
            )
        return SignatureBlock(
            N_("Inception module: parallel branches with 1×1 reductions"),
            name,
            N_(
                "1×1, 3×3, 5×5 (or factorised) and pooling branches run side by side and are concatenated; 1×1 "
                "convs cut the channels before the expensive kernels."
            ),
            tuple(facts),
            (N_("branch"), N_("convs"), N_("params"), N_("MACs"), N_("out channels")),
            table,
        )


FAMILY = Inception()
