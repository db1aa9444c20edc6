"""One row per catalog model for tables and the timeline: identity, story, size and published accuracy."""

from __future__ import annotations

from dataclasses import dataclass

from cvviz.catalog import list_models
from cvviz.models import count_parameters


@dataclass(frozen=True)
class ModelSummary:
    """What the catalog and a meta-device build say about a model; accuracy names its source."""

    name: str
    title: str
    family: str
    year: int
    kind: str
    params: int
    input_size: int
    pretrained_available: bool
    weights: str | None
    acc1: float | None
    acc5: float | None
    accuracy_source: str | None
    paper: str
    paper_url: str
    key_idea: str


def model_summaries() -> list[ModelSummary]:
    """Every catalog model in story order; ``params`` is the inference-time count from the real module."""
    rows = []
    for spec in list_models():
        published = spec.published
        rows.append(
            ModelSummary(
                name=spec.name,
                title=spec.title,
                family=spec.family,
                year=spec.year,
                kind=spec.kind,
                params=count_parameters(spec.name),
                input_size=spec.input_size,
                pretrained_available=spec.pretrained_available,
                weights=spec.weights_name,
                acc1=published.top1 if published else None,
                acc5=published.top5 if published else None,
                accuracy_source=published.source if published else None,
                paper=spec.paper.title,
                paper_url=spec.paper.url,
                key_idea=spec.key_idea,
            )
        )
    return rows
