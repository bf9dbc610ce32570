"""The einops layers: their pattern is the one they were built with (vocabulary: ``torch.pyi`` here)."""

class Rearrange:
    def __call__(self, input) -> Rearrange: ...

class Reduce:
    def __call__(self, input) -> EinopsReduce: ...
