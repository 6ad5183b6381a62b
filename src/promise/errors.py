"""User-facing errors: each one prints a single sentence that says what to do."""

from __future__ import annotations


class PromiseError(Exception):
    """An error a user can cause and fix; the CLI prints it without a traceback."""

    exit_code: int = 2


class ConfigurationError(PromiseError):
    """Something in the environment or settings is missing or wrong."""


class KeyFileError(ConfigurationError):
    """The pseudonym key file is missing, empty, unreadable or does not match the warehouse."""


class WarehouseLockedError(PromiseError):
    """Another process holds the warehouse write lock."""

    exit_code = 3
