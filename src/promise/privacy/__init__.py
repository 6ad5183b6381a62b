"""The trust boundary: what may reach a person, and how.

- :mod:`promise.privacy.keys`: the pseudonym key file is checked (private, 32 random bytes,
  outside the warehouse) and matched against every fingerprint in the manifest.
- :mod:`promise.privacy.confined`: the SQL connection people get (``promise sql``,
  :func:`promise.connect`): read-only, and DuckDB itself refuses every file outside the
  warehouse's published tables.
- :mod:`promise.privacy.disclosure`: primary and secondary suppression, rounding.
- :mod:`promise.privacy.export`: the one path aggregates leave by (``promise export``), with
  the warehouse's threshold floor, fixed bands and an append-only audit.
"""
