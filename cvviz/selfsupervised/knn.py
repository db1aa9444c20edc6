"""k-nearest-neighbour classification on frozen features: DINO's evaluation (Caron et al. 2021, §4.1,
after Wu et al. 2018), used here to compare a self-supervised backbone's features with a supervised one's.

Each feature is L2-normalised; a query's ``k`` most similar labelled images (cosine similarity ``s``) vote
for their class with weight ``exp(s / T)``, and the class with the largest total wins. The paper uses
k = 20 and T = 0.07. On a small labelled set every image is classified by all the others
(leave-one-out), so no image is both asked and answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cvviz.errors import CvvizError
from cvviz.i18n import _
from cvviz.jobs import Job, Reporter
from cvviz.models.workbench import LoadedModel, ResultCache
from cvviz.transfer.data import TransferImages
from cvviz.transfer.features import pooled_features

K = 20
TEMPERATURE = 0.07
FEATURE_LAYER = "heads"
"""A torchvision ViT's classifier (an identity for a backbone without one): its input is the final
normalised [CLS] token, the feature DINO's k-NN reads, for the supervised twin as for DINO."""


def knn_scores(
    memory: np.ndarray,
    memory_labels: np.ndarray,
    queries: np.ndarray,
    num_classes: int,
    k: int = K,
    temperature: float = TEMPERATURE,
    exclude_self: bool = False,
) -> np.ndarray:
    """Each query's weighted votes per class, (Q, num_classes).

    ``memory`` (N, D) and ``queries`` (Q, D) are features (normalised here); ``memory_labels`` (N,).
    With ``exclude_self`` the queries are the memory itself and no image votes for itself.
    """
    if k < 1 or temperature <= 0:
        raise CvvizError(_("k must be at least 1 and the temperature above 0."))
    bank = torch.nn.functional.normalize(torch.as_tensor(memory, dtype=torch.float64), dim=1)
    asked = torch.nn.functional.normalize(torch.as_tensor(queries, dtype=torch.float64), dim=1)
    similarity = asked @ bank.T
    if exclude_self:
        similarity.fill_diagonal_(-float("inf"))
    neighbours = min(k, bank.shape[0] - (1 if exclude_self else 0))
    if neighbours < 1:
        raise CvvizError(_("k-NN needs at least two labelled images."))
    top, index = similarity.topk(neighbours, dim=1)
    weights = (top / temperature).exp()
    labels = torch.as_tensor(memory_labels, dtype=torch.int64)[index]
    scores = torch.zeros(asked.shape[0], num_classes, dtype=torch.float64)
    scores.scatter_add_(1, labels, weights)
    return scores.numpy()


@dataclass(frozen=True)
class KnnResult:
    """One backbone's leave-one-out k-NN on a labelled set: ``predictions`` and ``labels`` are (N,);
    ``pretraining`` is how the backbone learned (the catalog's ``dino``, ``supervised`` …)."""

    model: str
    title: str
    pretraining: str
    predictions: np.ndarray
    labels: np.ndarray
    k: int
    feature_dim: int

    @property
    def accuracy(self) -> float:
        return float((self.predictions == self.labels).mean())


def leave_one_out(
    features: np.ndarray, labels: np.ndarray, num_classes: int, k: int = K, temperature: float = TEMPERATURE
) -> np.ndarray:
    """Every image classified by the k-NN vote of all the others: predicted labels, (N,)."""
    scores = knn_scores(features, labels, features, num_classes, k, temperature, exclude_self=True)
    return scores.argmax(axis=1)


def knn_job(
    backbones: Sequence[LoadedModel],
    data: TransferImages,
    cache: ResultCache | None = None,
    k: int = K,
    temperature: float = TEMPERATURE,
) -> Job[list[KnnResult]]:
    """A job that extracts each backbone's [CLS] features of ``data`` (cached per image) and classifies
    every image by leave-one-out k-NN. ``backbones`` are shared models (a self-supervised one and its
    supervised twin, say)."""

    def work(reporter: Reporter) -> list[KnnResult]:
        results = []
        for index, loaded in enumerate(backbones):
            part = reporter.part(index / len(backbones), (index + 1) / len(backbones))
            features = pooled_features(
                loaded,
                data.images,
                cache=cache,
                fingerprints=data.fingerprints,
                reporter=part,
                layer=FEATURE_LAYER,
            ).features
            predicted = leave_one_out(features, data.labels, len(data.classes), k, temperature)
            results.append(
                KnnResult(
                    loaded.spec.name,
                    loaded.spec.title,
                    loaded.spec.pretraining,
                    predicted,
                    data.labels,
                    min(k, len(data) - 1),
                    features.shape[1],
                )
            )
        return results

    return Job(_("k-NN on {images} images").format(images=len(data)), work)
