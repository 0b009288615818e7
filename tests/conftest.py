"""Hypothesis profiles: random exploration by default, the same examples every run in CI.

``.ci/run`` sets ``HYPOTHESIS_PROFILE=ci``: a CI verdict then depends on the commit
alone, not on which examples a run happened to draw. Run ``make test`` locally
(the ``default`` profile) to keep exploring new examples.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
