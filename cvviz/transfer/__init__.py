"""The transfer-learning lab: teach a pretrained backbone new classes and see what transfers.

* :mod:`.data` — the user's classes (a zip or folder in the ImageFolder layout, uploads, snapshots) and the
  bundled offline set of drawn shapes, with the minimum of 2 classes × 2 images;
* :mod:`.features` — pooled features (the classifier's input), extracted once per image and cached;
* :mod:`.heads` — a linear probe and a small MLP head on those features, scored by stratified K-fold;
* :mod:`.finetune` — fine-tuning the last stages of a private copy of the backbone;
* :mod:`.embedding` — the features in 2-D (PCA, t-SNE);
* :mod:`.lab` — a run as a job, several backbones compared, heads exported and loaded back.
"""

from cvviz.transfer.data import (
    MIN_CLASSES,
    MIN_PER_CLASS,
    TransferDataError,
    TransferImages,
    bundled_shapes,
    check_minimum,
    from_class_images,
    from_folder,
    from_zip,
)
from cvviz.transfer.features import FeatureSet, classifier_layer, pooled_features
from cvviz.transfer.finetune import FinetunedNet, FinetuneSettings, finetune, private_backbone
from cvviz.transfer.heads import Head, TransferResult, TransferSettingsError, cross_validate_head, fit_head
from cvviz.transfer.lab import (
    MODES,
    BackboneRow,
    LoadedHead,
    TransferRun,
    compare_backbones,
    export_head,
    load_head,
    predict_with_head,
    run_transfer,
    transfer_job,
)

__all__ = [
    "MIN_CLASSES",
    "MIN_PER_CLASS",
    "MODES",
    "BackboneRow",
    "FeatureSet",
    "FinetuneSettings",
    "FinetunedNet",
    "Head",
    "LoadedHead",
    "TransferDataError",
    "TransferImages",
    "TransferResult",
    "TransferRun",
    "TransferSettingsError",
    "bundled_shapes",
    "check_minimum",
    "classifier_layer",
    "compare_backbones",
    "cross_validate_head",
    "export_head",
    "finetune",
    "fit_head",
    "from_class_images",
    "from_folder",
    "from_zip",
    "load_head",
    "pooled_features",
    "predict_with_head",
    "private_backbone",
    "run_transfer",
    "transfer_job",
]
