"""A small ResNet for 32x32 images in the style of torchvision's, written for the static-reach benchmark.

Basic blocks (two 3x3 conv-bn layers and a residual connection, with a 1x1 conv-bn shortcut where the shape
changes), three stages as ``nn.Sequential``, global average pooling, flattening and a linear classifier;
a cross-entropy ``loss`` and a ``predict`` that gives class indices. The module code is as such code is
usually written (untyped ``__init__``s); the neural types sit on the ports.
"""

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from neuraltypes import NT, ImageFeatureValue, LabelsType, LogitsType, LossType, NormalizedImageValue, typecheck

Images = NT[Tensor, "B C:3 H W", NormalizedImageValue, "float"]
Logits = NT[Tensor, "B classes", LogitsType, "float"]


def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution with padding"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    @typecheck
    def forward(
        self, x: NT[Tensor, "B C_in H W", ImageFeatureValue, "float"]
    ) -> NT[Tensor, "B C_out H_out W_out", ImageFeatureValue, "float"]:
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)

        out += identity
        out = self.relu(out)

        return out


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=10, width=16):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, 2 * width, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 4 * width, layers[2], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(4 * width * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )

        layers = []
        layers.append(block(self.inplanes, planes, stride, downsample))
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))

        return nn.Sequential(*layers)

    @typecheck
    def forward(self, x: Images) -> Logits:
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)

        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)

        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)

        return x

    @typecheck
    def loss(self, x: Images, labels: NT[Tensor, "B", LabelsType, "int64"]) -> NT[Tensor, "", LossType, "float"]:
        logits = self(x)
        return F.cross_entropy(logits, labels)

    @typecheck
    def predict(self, x: Images) -> NT[Tensor, "B", LabelsType, "int64"]:
        logits = self(x)
        return logits.argmax(dim=1)


def run() -> object:
    """A tiny ResNet on a batch of random 32x32 images: logits, loss and predicted classes."""
    torch.manual_seed(0)
    model = ResNet(BasicBlock, [1, 1, 1], num_classes=10, width=8)
    images = torch.randn(4, 3, 32, 32)
    labels = torch.randint(0, 10, (4,))
    logits = model(images)
    loss = model.loss(images, labels)
    predicted = model.predict(images)
    return logits, loss, predicted
