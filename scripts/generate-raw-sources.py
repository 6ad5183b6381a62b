#!/usr/bin/env python3
"""Regenerate the raw layer's dbt sources files and docs/interfaces.md's raw-columns table from
the contracts (``--check``: exit 1 when a committed file is stale). See promise.raw_sources."""

from promise.raw_sources import main

if __name__ == "__main__":
    raise SystemExit(main())
