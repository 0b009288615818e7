"""``python -m deconflict``."""

import sys

from deconflict.cli import main

sys.exit(main())
