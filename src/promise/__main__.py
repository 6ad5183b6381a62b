"""``python -m promise`` runs the CLI."""

from promise.cli import entrypoint

entrypoint()
