"""Reading a study definition file with the line of every key and list item.

A definition is YAML; every mistake in it is reported with the line it is on, so the loader
keeps, beside each mapping and list, the 1-based line of each key and item
(:class:`LineDict`, :class:`LineList`). Duplicate keys, which plain YAML silently collapses,
are mistakes too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from promise.errors import PromiseError


class StudyDefinitionError(PromiseError):
    """A study definition file has mistakes; the message names each one with its line."""


@dataclass(frozen=True)
class Problem:
    """One mistake: the line it is on and a sentence saying what is wrong and what to do."""

    line: int
    message: str


@dataclass
class Problems:
    """Mistakes found in one definition file, raised together as one error."""

    path: Path
    found: list[Problem] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        """Record a mistake at ``line``."""
        self.found.append(Problem(line, message))

    def raise_if_any(self) -> None:
        """Raise :class:`StudyDefinitionError` naming every mistake, first line first."""
        if not self.found:
            return
        ordered = sorted(self.found, key=lambda p: p.line)
        if len(ordered) == 1:
            raise StudyDefinitionError(f"{self.path} line {ordered[0].line}: {ordered[0].message}")
        lines = "\n".join(f"  line {p.line}: {p.message}" for p in ordered)
        raise StudyDefinitionError(f"{self.path} has {len(ordered)} mistakes:\n{lines}")


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int = 1
    lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """The line of ``key``, or of the mapping itself when the key is absent."""
        return self.lines.get(key, self.line)


class LineList(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    line: int = 1
    lines: list[int]

    def line_of(self, index: int) -> int:
        """The line of item ``index``."""
        return self.lines[index] if index < len(self.lines) else self.line


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry line numbers."""

    duplicate: list[tuple[int, str]]


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        name = str(key)
        if name in out:
            loader.duplicate.append((line, name))
        out[name] = loader.construct_object(value_node, deep=True)
        out.lines[name] = line
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> object:
    """A date, or its text when it is no date (2010-13-01), so the check can name the line."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def read_definition_file(path: Path) -> LineDict:
    """The top-level mapping of a definition file, with lines; YAML errors become one sentence."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StudyDefinitionError(
            f"study definition {path} does not exist; write it (see docs/studies.md) or name another."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StudyDefinitionError(
            f"study definition {path} cannot be read as UTF-8 text ({exc})."
        ) from None
    loader = _Loader(text)
    loader.duplicate = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise StudyDefinitionError(
            f"{path} line {line}: this is not valid YAML ({exc.problem}); fix the syntax."
        ) from None
    finally:
        loader.dispose()
    if not isinstance(data, LineDict):
        raise StudyDefinitionError(
            f"{path} line 1: a study definition is a YAML mapping (population:, index:, outcomes:, ...)."
        )
    problems = Problems(path)
    for line, key in loader.duplicate:
        problems.add(line, f"key '{key}' appears twice in the same mapping; keep one.")
    problems.raise_if_any()
    return data
