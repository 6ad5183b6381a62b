"""Fixtures of the privacy tests: one small real warehouse, ingested with a key and built."""

from __future__ import annotations

import pytest
from privacy_site import Site, make_site


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """One built warehouse for the privacy tests (about 15 s); tests must not change it."""
    return make_site(tmp_path_factory.mktemp("privacy"))
