"""Data sets for the training lab: scikit-learn's bundled digits (offline), MNIST and Fashion-MNIST.

Every image becomes a (1, 32, 32) float tensor in LeNet-5's convention: ink bright on black, scaled to
[0, 1], then normalised with mean 0.5 and standard deviation 0.5 (the catalog's LeNet-5 preprocessing),
so a state_dict trained here reads digits through ``python -m cvviz predict`` unchanged.
"""

from __future__ import annotations

import functools
import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from cvviz.data.digits import centre_digit
from cvviz.errors import CvvizError
from cvviz.i18n import N_, _
from cvviz.models.weights import OFFLINE_ENV, downloads_disabled

MEAN, STD = 0.5, 0.5
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
"""Train, validation and test shares of the digits; MNIST keeps its own test set and takes the validation
share from its training set."""
DATASETS = ("digits", "mnist", "fashion_mnist")
DIGIT_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

DIGITS_PREPROCESSING = N_(
    "8×8 images with 17 grey levels, enlarged 4× to 32×32 (bilinear), then prepared like MNIST: cropped "
    "to the ink, fitted in 20×20 keeping the aspect ratio, centred by centre of mass in 28×28 and padded "
    "to 32×32; pixels scaled to [0, 1] and normalised with mean 0.5, std 0.5."
)
MNIST_PREPROCESSING = N_(
    "28×28 images (already fitted in 20×20 and centred by centre of mass), padded by 2 pixels to "
    "32×32; pixels scaled to [0, 1] and normalised with mean 0.5, std 0.5."
)


class DatasetError(CvvizError, ValueError):
    """A data set that cannot be had (unknown, offline, corrupt)."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a data set is, said the same way by the page and the CLI."""

    name: str
    title: str
    classes: tuple[str, ...]
    train_images: int
    val_images: int
    test_images: int
    preprocessing: str
    source: str

    @property
    def summary(self) -> str:
        """One sentence: the data set and how many images each split holds."""
        return _(
            "{title}: {train} training, {val} validation and {test} test images ({classes} classes)."
        ).format(
            title=_(self.title),
            train=f"{self.train_images:,}",
            val=f"{self.val_images:,}",
            test=f"{self.test_images:,}",
            classes=len(self.classes),
        )


@dataclass(frozen=True)
class Split:
    """Images (N, 1, 32, 32), normalised, and their integer labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, indices: np.ndarray | torch.Tensor) -> Split:
        index = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return Split(self.images[index], self.labels[index])


@dataclass(frozen=True)
class Dataset:
    """A data set with its fixed train / validation / test splits."""

    info: DatasetInfo
    train: Split
    val: Split
    test: Split


def normalise(pixels: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 1] → the network's input scale (mean 0.5, std 0.5)."""
    return (pixels - MEAN) / STD


def stratified_split(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of train, validation and test: each class in the same proportions in every split."""
    from sklearn.model_selection import train_test_split

    everything = np.arange(len(labels))
    train_share, val_share, test_share = SPLIT_FRACTIONS
    rest, test = train_test_split(everything, test_size=test_share, stratify=labels, random_state=seed)
    train, val = train_test_split(
        rest, test_size=val_share / (train_share + val_share), stratify=labels[rest], random_state=seed
    )
    return np.sort(train), np.sort(val), np.sort(test)


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """K-fold (train, held-out) index pairs: the held-out folds are disjoint, cover every index, and keep
    each class's proportion (scikit-learn's ``StratifiedKFold``, shuffled with ``seed``)."""
    from sklearn.model_selection import StratifiedKFold

    if folds < 2:
        raise DatasetError(_("Cross-validation needs at least 2 folds, not {folds}.").format(folds=folds))
    counts = np.bincount(labels)
    if folds > counts[counts > 0].min():
        raise DatasetError(
            _("{folds} folds is more than the rarest class has images ({images}).").format(
                folds=folds, images=counts.min()
            )
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), labels))


@functools.lru_cache(maxsize=2)
def _prepared_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as (N, 1, 32, 32) pixels in [0, 1] and their labels (prepared once per process)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    small = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    enlarged = F.interpolate(small, scale_factor=4, mode="bilinear", align_corners=False).clamp(0, 1)
    prepared = np.stack([centre_digit(image[0].numpy()) for image in enlarged])
    pixels = torch.as_tensor(prepared, dtype=torch.float32).unsqueeze(1)
    return pixels, torch.as_tensor(bunch.target, dtype=torch.long)


def load_digits_dataset(seed: int = 0) -> Dataset:
    """scikit-learn's bundled handwritten digits (no download), split 60/20/20 by class with ``seed``."""
    pixels, labels = _prepared_digits()
    train, val, test = stratified_split(labels.numpy(), seed)
    everything = Split(normalise(pixels), labels)
    info = DatasetInfo(
        name="digits",
        title=N_("scikit-learn digits"),
        classes=DIGIT_CLASSES,
        train_images=len(train),
        val_images=len(val),
        test_images=len(test),
        preprocessing=DIGITS_PREPROCESSING,
        source="sklearn.datasets.load_digits (bundled with scikit-learn; UCI optical digits)",
    )
    return Dataset(info, everything.subset(train), everything.subset(val), everything.subset(test))


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (MNIST's format, optionally gzipped) as a numpy array of unsigned bytes.

    The header is two zero bytes, a type code (0x08 for unsigned bytes), the number of dimensions, then
    each dimension as a big-endian 32-bit integer; the data follow.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise DatasetError(_("{file} is not an IDX file of unsigned bytes.").format(file=path.name))
    dims = data[3]
    shape = struct.unpack(f">{dims}I", data[4 : 4 + 4 * dims])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise DatasetError(
            _("{file} holds {count} values where its header promises {shape}.").format(
                file=path.name, count=body.size, shape=shape
            )
        )
    return body.reshape(shape)


_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find_idx(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _mnist_split(folder: Path, part: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    images_path, labels_path = (_find_idx(folder, stem) for stem in _IDX_FILES[part])
    if images_path is None or labels_path is None:
        return None
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(
            _("The {part} images and labels in {folder} do not match.").format(part=part, folder=folder)
        )
    pixels = torch.as_tensor(images.astype(np.float32) / 255.0).unsqueeze(1)
    padded = F.pad(pixels, (2, 2, 2, 2))  # 28×28 → 32×32, as LeNet-5 reads MNIST
    return normalise(padded), torch.as_tensor(labels.astype(np.int64))


def _raw_folder(root: Path, name: str) -> Path:
    """Where torchvision keeps a data set's IDX files: ``root/MNIST/raw``, ``root/FashionMNIST/raw``."""
    return root / ("MNIST" if name == "mnist" else "FashionMNIST") / "raw"


def default_data_root() -> Path:
    """The standard cache for downloaded data sets: ``$TORCH_HOME/datasets``."""
    return Path(torch.hub.get_dir()).parent / "datasets"


def _download(root: Path, name: str) -> None:
    if downloads_disabled():
        raise DatasetError(
            _("{name} is not in {root} and downloads are off ({setting}=1); use the bundled digits.").format(
                name=name, root=root, setting=OFFLINE_ENV
            )
        )
    from torchvision import datasets

    builder = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    try:
        for train in (True, False):
            builder(str(root), train=train, download=True)
    except Exception as exc:
        raise DatasetError(
            _("Could not download {name} ({reason}); is this machine offline?").format(name=name, reason=exc)
        ) from exc


def load_mnist_dataset(name: str = "mnist", root: str | Path | None = None, seed: int = 0) -> Dataset:
    """MNIST or Fashion-MNIST from torchvision's folder layout under ``root``, downloaded there first if
    missing (refused when downloads are off). The validation split is a stratified sixth of the training
    set; the test split is the data set's own."""
    if name not in ("mnist", "fashion_mnist"):
        raise DatasetError(
            _("Unknown data set {name}; choose one of {choices}.").format(
                name=repr(name), choices=", ".join(DATASETS)
            )
        )
    root = Path(root) if root is not None else default_data_root()
    folder = _raw_folder(root, name)
    train_part, test_part = _mnist_split(folder, "train"), _mnist_split(folder, "test")
    if train_part is None or test_part is None:
        _download(root, name)
        train_part, test_part = _mnist_split(folder, "train"), _mnist_split(folder, "test")
        if train_part is None or test_part is None:
            raise DatasetError(
                _("The download of {name} left no IDX files in {folder}.").format(name=name, folder=folder)
            )
    from sklearn.model_selection import train_test_split

    images, labels = train_part
    everything = np.arange(len(labels))
    train, val = train_test_split(everything, test_size=1 / 6, stratify=labels.numpy(), random_state=seed)
    pool = Split(images, labels)
    title = "MNIST" if name == "mnist" else "Fashion-MNIST"
    info = DatasetInfo(
        name=name,
        title=title,
        classes=DIGIT_CLASSES if name == "mnist" else FASHION_CLASSES,
        train_images=len(train),
        val_images=len(val),
        test_images=len(test_part[1]),
        preprocessing=MNIST_PREPROCESSING,
        source=f"torchvision.datasets.{'MNIST' if name == 'mnist' else 'FashionMNIST'} in {root}",
    )
    return Dataset(info, pool.subset(np.sort(train)), pool.subset(np.sort(val)), Split(*test_part))


def load_dataset(name: str = "digits", seed: int = 0, root: str | Path | None = None) -> Dataset:
    """A data set by name (see :data:`DATASETS`)."""
    if name == "digits":
        return load_digits_dataset(seed)
    if name in ("mnist", "fashion_mnist"):
        return load_mnist_dataset(name, root, seed)
    raise DatasetError(
        _("Unknown data set {name}; choose one of {choices}.").format(
            name=repr(name), choices=", ".join(DATASETS)
        )
    )
