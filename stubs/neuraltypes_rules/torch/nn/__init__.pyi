"""How ``torch.nn`` modules transform neural types when called (``layer(x)``).

The vocabulary is described in ``stubs/neuraltypes_rules/torch.pyi``.

A rule applies to the module class and to subclasses that do not define their own ``forward``.
"""

from neuraltypes.core import LogprobsType, ProbsType

class Linear:
    def __call__(self, input) -> Resize[-1]: ...

class Conv1d:
    def __call__(self, input) -> Resize[-2, -1]: ...

class Embedding:
    def __call__(self, input) -> Append: ...

class LayerNorm:
    def __call__(self, input) -> Keep: ...

class Dropout:
    def __call__(self, input) -> Keep: ...

class Identity:
    def __call__(self, input) -> Keep: ...

class ReLU:
    def __call__(self, input) -> Keep: ...

class GELU:
    def __call__(self, input) -> Keep: ...

class Tanh:
    def __call__(self, input) -> Keep: ...

class Softmax:
    def __call__(self, input) -> Keep[ProbsType]: ...

class LogSoftmax:
    def __call__(self, input) -> Keep[LogprobsType]: ...
