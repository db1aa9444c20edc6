"""The papers that introduced each architecture, and the idea each is remembered for: prose kept as data.

Family modules cite these by key; the app, CLI and docs show them with every model of the family. The key
ideas are marked for translation (``N_``): show them as ``_(spec.key_idea)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cvviz.catalog.schema import Paper
from cvviz.i18n import N_

PAPERS: Mapping[str, Paper] = MappingProxyType(
    {
        "lenet": Paper(
            "Gradient-Based Learning Applied to Document Recognition",
            "LeCun, Bottou, Bengio, Haffner",
            1998,
            "http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf",
            N_("Convolutions with shared weights and subsampling learn features from raw pixels end to end."),
        ),
        "alexnet": Paper(
            "ImageNet Classification with Deep Convolutional Neural Networks",
            "Krizhevsky, Sutskever, Hinton",
            2012,
            "https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html",
            N_(
                "A deep CNN with ReLU, dropout and large 11×11 first filters, trained on GPUs, wins ImageNet.",
            ),
        ),
        "vgg": Paper(
            "Very Deep Convolutional Networks for Large-Scale Image Recognition",
            "Simonyan, Zisserman",
            2014,
            "https://arxiv.org/abs/1409.1556",
            N_(
                "Stacks of 3×3 convolutions: two 3×3s see as far as one 5×5 with fewer weights and more ReLUs.",
            ),
        ),
        "googlenet": Paper(
            "Going Deeper with Convolutions",
            "Szegedy et al.",
            2014,
            "https://arxiv.org/abs/1409.4842",
            N_(
                "Inception modules run 1×1, 3×3, 5×5 and pooling branches in parallel, with 1×1 convs to cut "
                "channels first."
            ),
        ),
        "inception_v3": Paper(
            "Rethinking the Inception Architecture for Computer Vision",
            "Szegedy et al.",
            2015,
            "https://arxiv.org/abs/1512.00567",
            N_(
                "Factorised convolutions (n×1 then 1×n) and efficient grid reduction make Inception deeper "
                "for the same cost."
            ),
        ),
        "resnet": Paper(
            "Deep Residual Learning for Image Recognition",
            "He, Zhang, Ren, Sun",
            2015,
            "https://arxiv.org/abs/1512.03385",
            N_(
                "Skip connections let each block learn a residual, so 100+ layer networks train; 1×1→3×3→1×1 "
                "bottlenecks keep them cheap."
            ),
        ),
        "resnext": Paper(
            "Aggregated Residual Transformations for Deep Neural Networks",
            "Xie, Girshick, Dollár, Tu, He",
            2016,
            "https://arxiv.org/abs/1611.05431",
            N_("Grouped convolutions add cardinality: many thin parallel paths inside each bottleneck."),
        ),
        "wide_resnet": Paper(
            "Wide Residual Networks",
            "Zagoruyko, Komodakis",
            2016,
            "https://arxiv.org/abs/1605.07146",
            N_(
                "Wider residual blocks instead of ever more depth: fewer layers, more channels, faster to train."
            ),
        ),
        "densenet": Paper(
            "Densely Connected Convolutional Networks",
            "Huang, Liu, van der Maaten, Weinberger",
            2016,
            "https://arxiv.org/abs/1608.06993",
            N_(
                "Each layer receives the concatenated maps of all earlier layers in its block; transition "
                "layers compress between blocks."
            ),
        ),
        "squeezenet": Paper(
            "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size",
            "Iandola et al.",
            2016,
            "https://arxiv.org/abs/1602.07360",
            N_(
                "Fire modules squeeze channels with 1×1 convs, then expand with parallel 1×1 and 3×3 convs.",
            ),
        ),
        "mobilenet_v1": Paper(
            "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
            "Howard et al.",
            2017,
            "https://arxiv.org/abs/1704.04861",
            N_(
                "Depthwise-separable convolutions: a per-channel 3×3 then a 1×1 mix, about 8–9× fewer "
                "multiplications than a full 3×3.",
            ),
        ),
        "mobilenet_v2": Paper(
            "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
            "Sandler, Howard, Zhu, Zhmoginov, Chen",
            2018,
            "https://arxiv.org/abs/1801.04381",
            N_(
                "Inverted residuals: expand with a 1×1, filter depthwise, project back to a thin linear "
                "bottleneck joined by a skip connection."
            ),
        ),
        "mobilenet_v3": Paper(
            "Searching for MobileNetV3",
            "Howard et al.",
            2019,
            "https://arxiv.org/abs/1905.02244",
            N_(
                "Architecture search plus squeeze-and-excitation and hard-swish on top of inverted residuals."
            ),
        ),
        "shufflenet_v2": Paper(
            "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
            "Ma, Zhang, Zheng, Sun",
            2018,
            "https://arxiv.org/abs/1807.11164",
            N_("Channel split and channel shuffle let cheap branches exchange information between groups."),
        ),
        "mnasnet": Paper(
            "MnasNet: Platform-Aware Neural Architecture Search for Mobile",
            "Tan et al.",
            2018,
            "https://arxiv.org/abs/1807.11626",
            N_("Architecture search that optimises accuracy and measured phone latency together."),
        ),
        "efficientnet": Paper(
            "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
            "Tan, Le",
            2019,
            "https://arxiv.org/abs/1905.11946",
            N_(
                "Compound scaling: grow depth, width and input resolution together by fixed ratios from a "
                "searched MBConv baseline (B0 → B7).",
            ),
        ),
        "efficientnet_lite": Paper(
            "EfficientNet-Lite (TensorFlow TPU models)",
            "Google (Tan, Le et al.)",
            2020,
            "https://github.com/tensorflow/tpu/tree/master/models/official/efficientnet/lite",
            N_(
                "EfficientNet without squeeze-and-excitation and with ReLU6, so it quantises and runs well on "
                "mobile accelerators."
            ),
        ),
        "efficientnet_v2": Paper(
            "EfficientNetV2: Smaller Models and Faster Training",
            "Tan, Le",
            2021,
            "https://arxiv.org/abs/2104.00298",
            N_(
                "Fused-MBConv blocks in the early stages and training-aware search make training much faster."
            ),
        ),
        "regnet": Paper(
            "Designing Network Design Spaces",
            "Radosavovic, Kosaraju, Girshick, He, Dollár",
            2020,
            "https://arxiv.org/abs/2003.13678",
            N_(
                "Stage widths and depths follow a simple quantised linear rule found by studying whole design "
                "spaces of networks."
            ),
        ),
        "vit": Paper(
            "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
            "Dosovitskiy et al.",
            2020,
            "https://arxiv.org/abs/2010.11929",
            N_(
                "Patch embedding turns an image into a sequence of tokens plus a class token, processed by a "
                "plain Transformer with global self-attention."
            ),
        ),
        "swin": Paper(
            "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows",
            "Liu et al.",
            2021,
            "https://arxiv.org/abs/2103.14030",
            N_(
                "Self-attention inside local windows that shift between layers, with patch merging building a "
                "CNN-like pyramid."
            ),
        ),
        "swin_v2": Paper(
            "Swin Transformer V2: Scaling Up Capacity and Resolution",
            "Liu et al.",
            2021,
            "https://arxiv.org/abs/2111.09883",
            N_(
                "Scaled cosine attention, a log-spaced continuous position bias and post-norm stabilise larger "
                "Swins."
            ),
        ),
        "convnext": Paper(
            "A ConvNet for the 2020s",
            "Liu, Mao, Wu, Feichtenhofer, Darrell, Xie",
            2022,
            "https://arxiv.org/abs/2201.03545",
            N_(
                "A ResNet modernised step by step with Transformer design choices (7×7 depthwise convs, "
                "LayerNorm, inverted bottlenecks) matches Swin."
            ),
        ),
        "faster_rcnn": Paper(
            "Faster R-CNN: Towards Real-Time Object Detection with Region Proposal Networks",
            "Ren, He, Girshick, Sun",
            2015,
            "https://arxiv.org/abs/1506.01497",
            N_(
                "A region proposal network shares the backbone's features, proposes boxes from anchors, and a "
                "second stage classifies and refines each proposal."
            ),
        ),
        "fpn": Paper(
            "Feature Pyramid Networks for Object Detection",
            "Lin, Dollár, Girshick, He, Hariharan, Belongie",
            2017,
            "https://arxiv.org/abs/1612.03144",
            N_(
                "A top-down path with lateral connections gives every level of the pyramid strong semantics, "
                "so small objects are found on fine levels."
            ),
        ),
        "vitdet_transfer": Paper(
            "Benchmarking Detection Transfer Learning with Vision Transformers",
            "Li, Xie, Lin, Cubuk, Zoph, Girshick, He",
            2021,
            "https://arxiv.org/abs/2111.11429",
            N_(
                "An improved Faster/Mask R-CNN recipe: normalisation in the FPN and heads, more convs, longer "
                "training with large-scale jitter."
            ),
        ),
        "retinanet": Paper(
            "Focal Loss for Dense Object Detection",
            "Lin, Goyal, Girshick, He, Dollár",
            2017,
            "https://arxiv.org/abs/1708.02002",
            N_(
                "One stage scores every anchor on every FPN level; the focal loss down-weights the flood of "
                "easy background anchors."
            ),
        ),
        "fcos": Paper(
            "FCOS: Fully Convolutional One-Stage Object Detection",
            "Tian, Shen, Chen, He",
            2019,
            "https://arxiv.org/abs/1904.01355",
            N_(
                "Anchor-free: every location inside an object predicts its distances to the box's four sides, "
                "with a centre-ness score."
            ),
        ),
        "ssd": Paper(
            "SSD: Single Shot MultiBox Detector",
            "Liu, Anguelov, Erhan, Szegedy, Reed, Fu, Berg",
            2016,
            "https://arxiv.org/abs/1512.02325",
            N_(
                "Default boxes of several scales on feature maps of decreasing size, scored and regressed in "
                "a single pass."
            ),
        ),
        "mask_rcnn": Paper(
            "Mask R-CNN",
            "He, Gkioxari, Dollár, Girshick",
            2017,
            "https://arxiv.org/abs/1703.06870",
            N_(
                "A small FCN beside Faster R-CNN's box head predicts a mask (or keypoint heatmaps) for every "
                "detected box, on RoIAlign features."
            ),
        ),
        "fcn": Paper(
            "Fully Convolutional Networks for Semantic Segmentation",
            "Long, Shelhamer, Darrell",
            2015,
            "https://arxiv.org/abs/1411.4038",
            N_(
                "A classifier made fully convolutional scores every location; upsampling its coarse map gives "
                "a class for every pixel."
            ),
        ),
        "deeplabv3": Paper(
            "Rethinking Atrous Convolution for Semantic Image Segmentation",
            "Chen, Papandreou, Schroff, Adam",
            2017,
            "https://arxiv.org/abs/1706.05587",
            N_(
                "Dilated convolutions keep the feature map at 1/8 of the image, and atrous spatial pyramid "
                "pooling sees it at several rates."
            ),
        ),
        "maxvit": Paper(
            "MaxViT: Multi-Axis Vision Transformer",
            "Tu et al.",
            2022,
            "https://arxiv.org/abs/2204.01697",
            N_(
                "Local block attention plus dilated grid attention give global interaction at linear cost, "
                "interleaved with MBConv."
            ),
        ),
        "dino": Paper(
            "Emerging Properties in Self-Supervised Vision Transformers",
            "Caron, Touvron, Misra, Jégou, Mairal, Bojanowski, Joulin",
            2021,
            "https://arxiv.org/abs/2104.14294",
            N_(
                "A student ViT learns to match a momentum teacher's output on other crops of the same image, "
                "the teacher centred and sharpened so it cannot collapse; no labels are used."
            ),
        ),
        "dinov2": Paper(
            "DINOv2: Learning Robust Visual Features without Supervision",
            "Oquab, Darcet, Moutakanni, et al.",
            2023,
            "https://arxiv.org/abs/2304.07193",
            N_(
                "DINO's self-distillation plus masked-token prediction, trained on 142 million curated images, "
                "gives features that work frozen, without fine-tuning."
            ),
        ),
        "mae": Paper(
            "Masked Autoencoders Are Scalable Vision Learners",
            "He, Chen, Xie, Li, Dollár, Girshick",
            2022,
            "https://arxiv.org/abs/2111.06377",
            N_(
                "Hide three patches in four (75%), encode only the visible ones, and regress the hidden patches' "
                "pixels with a light decoder."
            ),
        ),
        "deit": Paper(
            "Training data-efficient image transformers & distillation through attention",
            "Touvron, Cord, Douze, Massa, Sablayrolles, Jégou",
            2021,
            "https://arxiv.org/abs/2012.12877",
            N_("A ViT trained on ImageNet-1k alone with strong augmentation, supervised by the labels."),
        ),
    }
)
