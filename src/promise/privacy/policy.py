"""A warehouse's disclosure rules: ``WAREHOUSE/promise.yml``, section ``disclosure``.

```yaml
disclosure:
  threshold: 5       # the floor: counts from 1 to threshold - 1 never leave
  round_to: 5        # released counts are rounded to a multiple of this (1 = no rounding)
  allow_sql: false   # whether `promise export` takes ad-hoc SQL besides analyses/
```

The file belongs to the data controller; without it the defaults above hold. A request from
the command line (``--threshold``) or a dbt variable (``disclosure_threshold``) can raise the
threshold, never lower it: asking for less is refused in one sentence. The threshold floor
itself cannot be configured below :data:`MIN_THRESHOLD`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from promise.errors import PromiseError

POLICY_FILE = "promise.yml"
DEFAULT_THRESHOLD = 5
DEFAULT_ROUND_TO = 5
#: No configuration may release counts of one or two people.
MIN_THRESHOLD = 3


class DisclosureError(PromiseError):
    """A release the warehouse's disclosure rules do not allow."""


@dataclass(frozen=True)
class Policy:
    """The disclosure rules of one warehouse."""

    threshold: int = DEFAULT_THRESHOLD
    round_to: int = DEFAULT_ROUND_TO
    allow_sql: bool = False
    source: str = "defaults"

    def threshold_for(self, *requests: int | None) -> int:
        """The threshold of one export: the floor, raised by any request above it.

        A request below the floor is refused rather than quietly ignored, so that nobody
        believes a table was released at a threshold it was not.
        """
        for request in requests:
            if request is not None and request < self.threshold:
                raise DisclosureError(
                    f"a disclosure threshold of {request} would lower this warehouse's floor of "
                    f"{self.threshold} ({self.source}); ask for {self.threshold} or more."
                )
        return max([self.threshold, *(r for r in requests if r is not None)])

    def round_to_for(self, request: int | None) -> int:
        """The rounding base of one export: the warehouse's, or a coarser one asked for."""
        if request is not None and request < self.round_to:
            raise DisclosureError(
                f"rounding to {request} would be finer than this warehouse's {self.round_to} "
                f"({self.source}); ask for {self.round_to} or more."
            )
        return self.round_to if request is None else request

    def describe(self) -> str:
        """One line for ``promise doctor``."""
        rounding = f"rounded to {self.round_to}" if self.round_to > 1 else "not rounded"
        sql = "ad-hoc SQL exports allowed" if self.allow_sql else "ad-hoc SQL exports off"
        return (
            f"exports: threshold floor {self.threshold}, counts {rounding}, {sql} ({self.source})"
        )


def load_policy(warehouse: Path) -> Policy:
    """The rules in ``WAREHOUSE/promise.yml`` (defaults where it is silent or absent)."""
    path = Path(warehouse) / POLICY_FILE
    if not path.is_file():
        return Policy()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DisclosureError(f"{path} cannot be read as YAML ({exc}); fix it.") from exc
    section = document.get("disclosure", {}) if isinstance(document, dict) else None
    if not isinstance(section, dict):
        raise DisclosureError(f"{path}: `disclosure` must be a mapping; see docs/privacy.md.")
    threshold = _integer(section, "threshold", DEFAULT_THRESHOLD, path)
    round_to = _integer(section, "round_to", DEFAULT_ROUND_TO, path)
    allow_sql = section.get("allow_sql", False)
    if threshold < MIN_THRESHOLD:
        raise DisclosureError(
            f"{path}: disclosure.threshold is {threshold}, but no warehouse may release counts "
            f"below {MIN_THRESHOLD}; set it to {MIN_THRESHOLD} or more."
        )
    if round_to < 1:
        raise DisclosureError(f"{path}: disclosure.round_to must be 1 (no rounding) or more.")
    if not isinstance(allow_sql, bool):
        raise DisclosureError(f"{path}: disclosure.allow_sql must be true or false.")
    return Policy(threshold=threshold, round_to=round_to, allow_sql=allow_sql, source=str(path))


def _integer(section: dict[str, Any], name: str, default: int, path: Path) -> int:
    value = section.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DisclosureError(f"{path}: disclosure.{name} must be a whole number, not {value!r}.")
    return int(value)
