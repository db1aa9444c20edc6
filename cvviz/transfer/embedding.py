"""Pooled features seen in 2-D: PCA (linear, fast) or t-SNE (neighbourhoods kept), both scikit-learn's."""

from __future__ import annotations

from typing import Literal

import numpy as np

from cvviz.i18n import _
from cvviz.transfer.heads import TransferSettingsError

Projection = Literal["pca", "tsne"]
PROJECTIONS: tuple[str, ...] = ("pca", "tsne")


def project(features: np.ndarray, method: Projection = "pca", seed: int = 0) -> np.ndarray:
    """``features`` (N, D) as points (N, 2), after standardising each dimension.

    PCA keeps the two directions of largest variance; t-SNE (van der Maaten & Hinton, 2008) keeps who is
    near whom, with a perplexity under a third of the points (it needs at least 4 points).
    """
    if method not in PROJECTIONS:
        raise TransferSettingsError(
            _("Unknown projection {method!r}; expected one of {methods}.").format(
                method=method, methods=", ".join(PROJECTIONS)
            )
        )
    points = np.asarray(features, dtype=np.float64)
    std = points.std(axis=0)
    points = (points - points.mean(axis=0)) / np.where(std > 1e-6, std, 1.0)
    if len(points) < 3:
        return np.pad(points[:, :2], ((0, 0), (0, max(0, 2 - points.shape[1]))))
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(points).astype(np.float32)
    from sklearn.manifold import TSNE

    if len(points) < 4:
        raise TransferSettingsError(_("t-SNE needs at least 4 images."))
    perplexity = float(min(30.0, (len(points) - 1) / 3))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(points).astype(np.float32)
