# ruff: noqa  (mypy test data: lines carry their expected reports; NT axes strings are not Python)
"""A subclass's forward must accept what its parent's accepts, and return no more than it returns."""

from torch import Tensor, nn

from neuraltypes.core import NT, AcousticEncodedRepresentation, ChannelType, EncodedRepresentation, LogitsType


class Encoder(nn.Module):
    def forward(self, x: NT[Tensor, "B T D", EncodedRepresentation]) -> NT[Tensor, "B T D:64", EncodedRepresentation]: ...


class Wider(Encoder):
    """Accepts more (a parent element type), returns less (a subclass): a valid override."""

    def forward(self, x: NT[Tensor, "batch time channel", ChannelType]) -> NT[Tensor, "B T D:64", AcousticEncodedRepresentation]: ...


class NarrowsInput(Encoder):
    def forward(self, x: NT[Tensor, "B T D", AcousticEncodedRepresentation]) -> NT[Tensor, "B T D:64", EncodedRepresentation]: ...  # E: Argument 1 of "forward" is incompatible with supertype "Encoder"; supertype defines the argument type as "Tensor[Literal['B T D'], EncodedRepresentation]"  [override]  # N: This violates the Liskov substitution principle  # N: See https://mypy.readthedocs.io/en/stable/common_issues.html#incompatible-overrides  # E: Argument "x" of "forward" is incompatible with supertype "Encoder": it accepts NT[Tensor, "B T D", AcousticEncodedRepresentation], the supertype accepts NT[Tensor, "B T D", EncodedRepresentation] (elements are EncodedRepresentation, not AcousticEncodedRepresentation)  [neural-type-override]


class NarrowsSize(Encoder):
    def forward(self, x: NT[Tensor, "B T D:80", EncodedRepresentation]) -> NT[Tensor, "B T D:64", EncodedRepresentation]: ...  # E: Argument "x" of "forward" is incompatible with supertype "Encoder": it accepts NT[Tensor, "B T D:80", EncodedRepresentation], the supertype accepts NT[Tensor, "B T D", EncodedRepresentation] (axis sizes differ)  [neural-type-override]


class WidensOutput(Encoder):
    def forward(self, x: NT[Tensor, "B T D", EncodedRepresentation]) -> NT[Tensor, "B T D", EncodedRepresentation]: ...  # E: Return type of "forward" is incompatible with supertype "Encoder": it returns NT[Tensor, "B T D", EncodedRepresentation], the supertype returns NT[Tensor, "B T D:64", EncodedRepresentation] (axis sizes differ)  [neural-type-override]


class ReturnsLogits(Encoder):
    def forward(self, x: NT[Tensor, "B T D", EncodedRepresentation]) -> NT[Tensor, "B T D:64", LogitsType]: ...  # E: Return type "Tensor[Literal['B T D'], LogitsType]" of "forward" incompatible with return type "Tensor[Literal['B T D'], EncodedRepresentation]" in supertype "Encoder"  [override]  # E: Return type of "forward" is incompatible with supertype "Encoder": it returns NT[Tensor, "B T D:64", LogitsType], the supertype returns NT[Tensor, "B T D:64", EncodedRepresentation] (elements are LogitsType, not EncodedRepresentation)  [neural-type-override]


class Untyped(Encoder):
    def forward(self, x: Tensor) -> Tensor: ...


class Silenced(Encoder):
    def forward(self, x: NT[Tensor, "B T D:80", EncodedRepresentation]) -> NT[Tensor, "B T D:64", EncodedRepresentation]: ...  # type: ignore[neural-type-override]
