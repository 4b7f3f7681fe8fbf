"""``python -m avatarlab``: the same as the ``avatarlab`` command (when its script is not on PATH)."""

import sys

from .cli import main

sys.exit(main())
