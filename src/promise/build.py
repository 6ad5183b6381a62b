"""``promise build``: run the dbt project against a warehouse and publish the marts atomically.

dbt builds into a fresh DuckDB file under ``WAREHOUSE/.build/``; only when every model,
contract, unit test and data test passed is that file renamed over ``WAREHOUSE/promise.duckdb``
(``os.replace``, atomic on one filesystem). An analyst holding the old file open keeps reading
the old snapshot; a failed build publishes nothing and removes its half-built file. dbt's
compiled SQL and logs go under ``WAREHOUSE/.dbt/``, beside the data they describe, never into
the repository.

A build holds the warehouse's write lock from start to end, so it never reads a delivery that
a running ``promise ingest`` has half published, and cleans what a killed build left in
``.build/``. It builds the dbt project of the checkout it is run from (the nearest folder
above the working directory whose ``dbt_project.yml`` names project ``promise``), else the
one shipped with the package, and says which.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from promise.endpoints import check_endpoint_file
from promise.errors import ConfigurationError, PromiseError
from promise.privacy.keys import check_build_key
from promise.settings import project_root
from promise.warehouse import (
    WarehouseLock,
    disk_full,
    disk_full_error,
    free_bytes,
    umask,
    warehouse_modes,
)

DATABASE_FILE = "promise.duckdb"
BUILD_DIR = ".build"
DBT_DIR = ".dbt"
PROJECT_NAME = "promise"
#: free bytes under which a failed build is put down to a full disk
FULL_BELOW = 4 << 20
_FULL_TEXT = ("No space left on device", "Disk quota exceeded", "disk is full")


class BuildFailedError(PromiseError):
    """dbt reported an error or a failing test; nothing was published."""

    exit_code = 1


@dataclass(frozen=True, kw_only=True)
class NodeResult:
    """One dbt node's outcome (model, seed, test or unit test)."""

    name: str
    resource_type: str
    status: str
    seconds: float
    message: str | None = None


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    """What a build did: where it published, how long it took, every node's status."""

    database: Path
    published: bool
    seconds: float
    nodes: list[NodeResult] = field(default_factory=list)
    project: Path = field(default_factory=project_root)

    @property
    def failures(self) -> list[NodeResult]:
        """Nodes that errored or failed."""
        return [n for n in self.nodes if n.status in {"error", "fail", "runtime error"}]

    def count(self, resource_type: str) -> int:
        """How many nodes of one type ran (``model``, ``test``, ``unit_test``, ``seed``)."""
        return sum(1 for n in self.nodes if n.resource_type == resource_type)


def build(
    *,
    warehouse: Path,
    endpoints_file: Path | None = None,
    data_end: str | None = None,
    select: str | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    quiet: bool = False,
    project_dir: Path | None = None,
    key_file: Path | None = None,
) -> BuildResult:
    """Build the marts into a new DuckDB file and publish it if every test passed.

    Parameters
    ----------
    warehouse
        The warehouse folder (its ``raw/`` layer is read; ``promise.duckdb`` is replaced).
    endpoints_file
        A FinnGen-format endpoint TSV to evaluate instead of the shipped Swedish seed.
    data_end
        Last day the registers cover (``YYYY-MM-DD``); defaults to ``dbt_project.yml``'s var.
    select
        A dbt selection (``--select``), for partial builds during development.
    memory_limit, threads
        DuckDB resource limits (default ``$PROMISE_DUCKDB_MEMORY_LIMIT`` or 6GB, 2 threads).
    quiet
        Keep dbt's progress lines out of the terminal (they still go to its log file).
    project_dir
        The dbt project to build; default :func:`find_project` of the working directory.
    key_file
        The pseudonym key in use (``promise build`` passes ``$PROMISE_PSEUDONYM_KEY_FILE``):
        refused if others can read it, it is short, inside the warehouse, or not the
        warehouse's key. A warehouse whose manifest holds two keys is refused either way.

    Raises
    ------
    BuildFailedError
        dbt reported an error or a failing test; the published database is untouched.
    DiskFullError
        The warehouse's disk filled up; the published database is untouched.
    WarehouseLockedError
        An ingest (or another build) is writing to the warehouse; nothing was built.
    """
    warehouse = Path(warehouse).resolve()
    if not (warehouse / "raw").is_dir():
        raise ConfigurationError(
            f"{warehouse} has no raw/ layer; run `promise ingest --warehouse {warehouse}` first."
        )
    check_build_key(warehouse, key_file)
    if endpoints_file is not None:
        if not Path(endpoints_file).is_file():
            raise ConfigurationError(
                f"endpoint file {endpoints_file} does not exist; give a FinnGen-format TSV."
            )
        check_endpoint_file(Path(endpoints_file))
    project = find_project(project_dir)
    modes = warehouse_modes()
    with umask(modes.umask), WarehouseLock(warehouse, command="promise build"):
        build_dir = clean_build_dir(warehouse)
        # The file's stem names its DuckDB catalog, which views refer to: build as
        # promise.duckdb in a folder of its own so the published file's catalog is "promise" too.
        candidate = (
            build_dir / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}" / DATABASE_FILE
        )
        candidate.parent.mkdir()
        env = _environment(warehouse, candidate, memory_limit=memory_limit, threads=threads)
        args = _dbt_args(warehouse, project, _vars(endpoints_file, data_end), select)
        if quiet:  # dbt's progress lines go to its log file only; errors still print
            args.append("--quiet")
        started = time.monotonic()
        try:
            with _environ(env):
                nodes, success = _run_dbt(args)
            if not success:
                if _ran_out_of_disk(nodes, warehouse):
                    raise disk_full_error(warehouse, "the build")
                raise BuildFailedError(_failure_sentence(nodes, warehouse))
            _checkpoint(candidate)
            candidate.chmod(modes.file)
            target = warehouse / DATABASE_FILE
            candidate.replace(target)  # os.replace: atomic on one filesystem
        except (OSError, duckdb.Error, BuildFailedError) as exc:
            if disk_full(exc) or free_bytes(warehouse) < FULL_BELOW:
                raise disk_full_error(warehouse, "the build") from None
            raise
        finally:
            _discard(candidate)
    return BuildResult(
        database=target,
        published=True,
        seconds=time.monotonic() - started,
        nodes=nodes,
        project=project,
    )


def find_project(project_dir: Path | None = None, *, cwd: Path | None = None) -> Path:
    """The dbt project to build: ``project_dir`` if given, else the nearest folder at or above
    the working directory whose ``dbt_project.yml`` names project ``promise`` (a user's
    checkout, with the marts they added), else the project shipped with the package."""
    if project_dir is not None:
        folder = Path(project_dir).resolve()
        if not (folder / "dbt_project.yml").is_file():
            raise ConfigurationError(
                f"{folder} holds no dbt_project.yml; give the folder of a promise checkout."
            )
        return folder
    here = Path.cwd() if cwd is None else Path(cwd)
    for folder in (here.resolve(), *here.resolve().parents):
        if _is_promise_project(folder / "dbt_project.yml"):
            return folder
    return project_root()


def _is_promise_project(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(doc, dict) and doc.get("name") == PROJECT_NAME


def clean_build_dir(warehouse: Path) -> Path:
    """``WAREHOUSE/.build`` emptied of what killed builds left (called under the lock, so no
    other build is using it)."""
    build_dir = warehouse / BUILD_DIR
    if build_dir.is_dir():
        for stale in build_dir.iterdir():
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
    build_dir.mkdir(exist_ok=True)
    return build_dir


def _ran_out_of_disk(nodes: list[NodeResult], warehouse: Path) -> bool:
    messages = " ".join(n.message or "" for n in nodes)
    return any(t in messages for t in _FULL_TEXT) or free_bytes(warehouse) < FULL_BELOW


def _vars(endpoints_file: Path | None, data_end: str | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if endpoints_file is not None:
        values["endpoints_file"] = str(Path(endpoints_file).resolve())
    if data_end is not None:
        values["data_end"] = data_end
    return values


def _environment(
    warehouse: Path, candidate: Path, *, memory_limit: str | None, threads: int | None
) -> dict[str, str]:
    env = {
        "PROMISE_WAREHOUSE": str(warehouse),
        "PROMISE_DUCKDB_PATH": str(candidate),
        "PROMISE_DBT_TARGET_PATH": str(warehouse / DBT_DIR / "target"),
        "DBT_LOG_PATH": str(warehouse / DBT_DIR / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if memory_limit is not None:
        env["PROMISE_DUCKDB_MEMORY_LIMIT"] = memory_limit
    if threads is not None:
        env["PROMISE_DUCKDB_THREADS"] = str(threads)
    return env


def _dbt_args(
    warehouse: Path, project: Path, variables: Mapping[str, str], select: str | None
) -> list[str]:
    profiles = project if (project / "profiles.yml").is_file() else project_root()
    args = [
        "build",
        "--project-dir", str(project),
        "--profiles-dir", str(profiles),
        "--target-path", str(warehouse / DBT_DIR / "target"),
        "--log-path", str(warehouse / DBT_DIR / "logs"),
        "--no-use-colors",
        "--no-partial-parse",
    ]  # fmt: skip
    if variables:
        args += ["--vars", json.dumps(dict(variables))]
    if select:
        args += ["--select", select]
    return args


def _run_dbt(args: list[str]) -> tuple[list[NodeResult], bool]:
    from dbt.cli.main import dbtRunner

    # a log file that cannot be written (a full disk) must not print a traceback per line
    raising, logging.raiseExceptions = logging.raiseExceptions, False
    try:
        outcome = dbtRunner().invoke(args)
    finally:
        logging.raiseExceptions = raising
    nodes = [_node(r) for r in (getattr(outcome.result, "results", None) or [])]
    if outcome.exception is not None and not nodes:
        raise BuildFailedError(f"dbt could not start: {outcome.exception}")
    return nodes, bool(outcome.success)


def _node(result: Any) -> NodeResult:
    node = result.node
    return NodeResult(
        name=str(node.name),
        resource_type=str(getattr(node.resource_type, "value", node.resource_type)),
        status=str(getattr(result.status, "value", result.status)),
        seconds=float(result.execution_time or 0.0),
        message=None if result.message is None else str(result.message),
    )


def _failure_sentence(nodes: list[NodeResult], warehouse: Path) -> str:
    failed = [n for n in nodes if n.status in {"error", "fail", "runtime error"}]
    names = ", ".join(f"{n.resource_type} {n.name}" for n in failed[:5]) or "dbt itself"
    more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
    return (
        f"the build failed ({names}{more}); nothing was published. Read "
        f"{warehouse / DBT_DIR / 'logs' / 'dbt.log'} for details, fix the cause and run again."
    )


def _checkpoint(database: Path) -> None:
    """Fold any write-ahead log into the file so the rename publishes one complete file."""
    con = duckdb.connect(str(database))
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _discard(candidate: Path) -> None:
    for path in (candidate, candidate.with_name(candidate.name + ".wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(candidate.parent, ignore_errors=True)


@contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
