"""Wiring mistakes for resnet.py, each the replacement of one exact piece of its source (see static_reach.py)."""

from static_reach import Bug

BUGS = [
    Bug(
        "predict_over_batch",
        "return logits.argmax(dim=1)",
        "return logits.argmax(dim=0)",
        True,
        "Predicted classes taken over the batch axis: one index per class instead of one per image.",
    ),
    Bug(
        "loss_on_probabilities",
        "return F.cross_entropy(logits, labels)",
        "return F.cross_entropy(logits.softmax(dim=1), labels)",
        True,
        "Probabilities passed to cross_entropy, which expects logits.",
    ),
    Bug(
        "flatten_batch_too",
        "x = torch.flatten(x, 1)",
        "x = torch.flatten(x)",
        False,
        "The pooled features are flattened together with the batch axis.",
    ),
    Bug(
        "avgpool_skipped",
        "        x = self.avgpool(x)\n",
        "",
        False,
        "The global average pooling is left out: the classifier gets C*H*W features.",
    ),
    Bug(
        "shortcut_from_block_output",
        "identity = self.downsample(x)",
        "identity = self.downsample(out)",
        False,
        "The downsampling shortcut is applied to the block's output instead of its input.",
    ),
    Bug(
        "downsample_without_stride",
        "conv1x1(self.inplanes, planes * block.expansion, stride)",
        "conv1x1(self.inplanes, planes * block.expansion)",
        False,
        "The shortcut's 1x1 convolution keeps the resolution the block halves.",
    ),
    Bug(
        "images_channels_last",
        "images = torch.randn(4, 3, 32, 32)",
        "images = torch.randn(4, 32, 32, 3)",
        False,
        "The caller passes channels-last images (B, H, W, C) where (B, C, H, W) is declared.",
    ),
    Bug(
        "one_hot_labels",
        "labels = torch.randint(0, 10, (4,))",
        "labels = F.one_hot(torch.randint(0, 10, (4,)), 10)",
        False,
        "The caller passes one-hot labels (B, classes) where class indices (B,) are declared.",
    ),
]
