"""Finding the warehouse and the key a user means when they name neither.

An explicit ``--warehouse`` (or ``$PROMISE_WAREHOUSE``) always wins. Without one, the
commands that read a warehouse (``promise sql``, ``export``, ``doctor``) look for
``./warehouse`` and then for the demo's (``./demo/warehouse`` as ``make demo`` writes it,
in the working folder or the checkout), and say in one sentence when there is none.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from promise.errors import ConfigurationError
from promise.settings import project_root

DEFAULT_WAREHOUSE = Path("warehouse")
DEMO_DIR = Path("demo")
DEMO_KEY = Path("keys") / "pseudonym.key"


class NoWarehouseError(ConfigurationError):
    """No warehouse was named and none was found."""


def _places(cwd: Path) -> list[Path]:
    """Folders a demo may live in: the working folder, then the checkout."""
    places = [cwd.resolve()]
    root = project_root().resolve()
    if root not in places:
        places.append(root)
    return places


def demo_warehouse(cwd: Path | None = None) -> Path | None:
    """``demo/warehouse`` of the working folder or the checkout, if ``make demo`` made one."""
    for place in _places(cwd or Path.cwd()):
        candidate = place / DEMO_DIR / "warehouse"
        if candidate.is_dir():
            return candidate
    return None


def demo_key(cwd: Path | None = None) -> Path | None:
    """The demo's own pseudonym key (``demo/keys/pseudonym.key``), if there is one."""
    for place in _places(cwd or Path.cwd()):
        candidate = place / DEMO_DIR / DEMO_KEY
        if candidate.is_file():
            return candidate
    return None


def find_warehouse(given: Path | None, cwd: Path | None = None) -> tuple[Path, str]:
    """The warehouse to read and how it was chosen (``given``, ``default`` or ``demo``)."""
    if given is not None:
        return Path(given), "given"
    here = cwd or Path.cwd()
    if (here / DEFAULT_WAREHOUSE).is_dir():
        return here / DEFAULT_WAREHOUSE, "default"
    demo = demo_warehouse(here)
    if demo is not None:
        return demo, "demo"
    raise NoWarehouseError(
        f"no warehouse found: {here / DEFAULT_WAREHOUSE} does not exist and there is no "
        "demo/warehouse; pass --warehouse DIR or set PROMISE_WAREHOUSE (run `make demo` "
        "for a synthetic one)."
    )


def key_path(
    environ: Mapping[str, str], env_name: str, cwd: Path | None = None
) -> tuple[Path | None, str]:
    """The key file a check should look at and where it came from (``env`` or ``demo``)."""
    name = environ.get(env_name, "")
    if name:
        return Path(name), "env"
    demo = demo_key(cwd)
    return (demo, "demo") if demo is not None else (None, "none")
