"""``python -m avatarlab_bridge``: the same as ``avatarlab bridge``."""

import sys

from .cli import main

sys.exit(main())
