"""A dbt-duckdb plugin that confines the ``analyses`` target as ``promise sql`` is confined.

dbt-duckdb applies a profile's ``settings`` again on every cursor, which a locked
configuration refuses; this plugin instead starts the database read-only with the options of
:data:`promise.privacy.confined.CONFINEMENT` and, once per connection, switches external
access and the local file system off and locks the configuration
(:data:`promise.privacy.confined.LOCKDOWN`).
Profile: ``plugins: [{module: promise.privacy.dbt_confine}]`` (see ``profiles.yml``).
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin  # type: ignore[import-untyped]

from promise.privacy.confined import CONFINEMENT, LOCKDOWN


class Plugin(BasePlugin):  # type: ignore[misc]
    """Start the database read-only and confined, then lock it."""

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        config.update(CONFINEMENT)
        config["access_mode"] = "READ_ONLY"

    def configure_connection(self, conn: Any) -> None:
        for statement in LOCKDOWN:
            conn.execute(statement)
