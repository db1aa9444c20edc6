"""Task models: a backbone under a detection or segmentation head, and the synthetic-scene models trained
here (the grid detector and the U-Net, with the boxes, metrics and data they need)."""
