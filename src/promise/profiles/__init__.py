"""Endpoint profiles: a static site with one page per endpoint, in the manner of FinnGen's
Risteys, for Swedish registers (docs/profiles.md).

:func:`write_profiles` reads the marts once (:mod:`promise.profiles.cohort`), computes each
endpoint's counts, rates and hazard ratios (:mod:`~promise.profiles.measures`,
:mod:`~promise.profiles.hazards`), releases them under the warehouse's disclosure rules
(:mod:`~promise.profiles.release`) and writes pages and figures from the released values only
(:mod:`~promise.profiles.render`), recorded in the export audit (:mod:`~promise.profiles.site`).
"""

from __future__ import annotations

from promise.profiles.cohort import ProfilesError
from promise.profiles.site import SiteResult, write_profiles

__all__ = ["ProfilesError", "SiteResult", "write_profiles"]
