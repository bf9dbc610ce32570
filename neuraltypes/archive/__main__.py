"""Entry point of ``python -m neuraltypes.archive``."""

import sys

from ._cli import main

sys.exit(main())
