"""Task models: a backbone under a detection or segmentation head, and the synthetic-scene models trained
here.

Task heads on a backbone (detection, instance segmentation, keypoints and semantic segmentation):

* :mod:`.parts` — parameters and MACs split into backbone / neck / head, from the model in hand;
* :mod:`.pipeline` — one image walked through backbone → neck → head, each step's outputs kept;
* :mod:`.anchors` — the anchors (or default boxes) of every pyramid level, from the model's own generator;
* :mod:`.postprocess` — score and IoU thresholds re-applied to cached head outputs (no backbone run).

What the library knows about each model (its parts, stages, keypoints) is asked of its family
(:mod:`cvviz.families.detection`, :mod:`cvviz.families.segmentation`).

Trained here, on scenes of bundled digits (:mod:`.synthetic`): a one-stage grid detector
(:mod:`.grid_detector`) and a small U-Net (:mod:`.unet`), with box IoU and stepped NMS (:mod:`.boxes`),
mAP@0.5 and mIoU (:mod:`.metrics`), their training jobs (:mod:`.lab`) and views (:mod:`.views`).
"""
