"""Models: building catalog architectures (:mod:`.build`), weights (:mod:`.weights`, :mod:`.loading`),
the shared workbench (:mod:`.workbench`), preprocessing and prediction (:mod:`.inference`), and the
architectures torchvision lacks (:mod:`.architectures`)."""
