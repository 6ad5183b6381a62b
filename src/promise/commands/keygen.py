"""``promise keygen PATH``: write a new pseudonym key with mode 0600."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from promise.pseudonym import KEY_ENV, key_fingerprint, load_key, write_new_key


def keygen(
    path: Path = typer.Argument(..., help="Where to write the key (outside the warehouse)."),
) -> None:
    """Write a new random pseudonym key (mode 0600). Keep it outside the warehouse."""
    written = write_new_key(path)
    fingerprint = key_fingerprint(load_key(written))
    console = Console()
    console.print(f"wrote pseudonym key {written} (mode 0600, fingerprint {fingerprint})")
    console.print(f"use it with: export {KEY_ENV}={written.resolve()}")


def register(app: typer.Typer) -> None:
    app.command("keygen")(keygen)
