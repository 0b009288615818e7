"""``python -m deconflict.cli``."""

import sys

from deconflict.cli import main

sys.exit(main())
