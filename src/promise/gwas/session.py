"""The one place that starts Hail, with the settings this machine needs.

Everything Hail and Spark write (logs, temporary files, spill) goes under ``work_dir``,
never into the current directory or ``/tmp`` unasked. Local Spark by default;
``spark_master`` (``spark://host:7077``) runs the same code on a cluster.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psutil

DEFAULT_MEMORY_FRACTION = 0.4


def default_driver_memory(fraction: float = DEFAULT_MEMORY_FRACTION) -> str:
    """A safe share of this machine's RAM for the Spark driver, e.g. ``"9g"``."""
    gib = max(1, int(psutil.virtual_memory().total * fraction / 2**30))
    return f"{gib}g"


def spark_conf(*, work_dir: Path, driver_memory: str) -> dict[str, str]:
    """Spark settings that keep every file under ``work_dir`` and the console quiet."""
    tmp = work_dir / "tmp"
    return {
        "spark.driver.memory": driver_memory,
        "spark.local.dir": str(tmp / "spark"),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={tmp}",
        "spark.executor.extraJavaOptions": f"-Djava.io.tmpdir={tmp}",
        "spark.sql.warehouse.dir": str(tmp / "spark-warehouse"),
    }


def prepare_environment(work_dir: Path) -> None:
    """Point TMPDIR and the Spark/JVM environment at ``work_dir`` before the JVM starts."""
    tmp = work_dir / "tmp"
    for sub in ("", "spark", "hail-local", "hail-tmp"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    (work_dir / "logs").mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(tmp)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["SPARK_LOCAL_DIRS"] = str(tmp / "spark")
    os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON", "python3"))


def init_hail(
    *,
    work_dir: Path,
    spark_master: str | None = None,
    driver_memory: str | None = None,
    seed: int = 0,
    quiet: bool = True,
) -> Any:
    """Start (or reuse) the Hail session; return the ``hail`` module.

    Parameters
    ----------
    work_dir:
        Folder for ``logs/hail.log`` and ``tmp/`` (Hail tmp, local tmp, Spark local dir).
    spark_master:
        ``None`` or ``local[*]`` for a local Spark; ``spark://host:port`` for a cluster.
    driver_memory:
        JVM heap of the driver, default :func:`default_driver_memory`.
    seed:
        Hail's global seed (replaces per-call seeds), so PCA and sampling repeat.
    """
    work_dir = Path(work_dir).resolve()
    prepare_environment(work_dir)
    import hail as hl

    if _current_backend_running(hl):
        return hl
    memory = driver_memory or default_driver_memory()
    master = spark_master or "local[*]"
    hl.init(
        master=master,
        app_name="promise",
        log=str(work_dir / "logs" / "hail.log"),
        quiet=quiet,
        tmp_dir=str(work_dir / "tmp" / "hail-tmp"),
        local_tmpdir=str(work_dir / "tmp" / "hail-local"),
        spark_conf=spark_conf(work_dir=work_dir, driver_memory=memory),
        global_seed=seed,
        default_reference="GRCh38",
        idempotent=False,
    )
    _quiet_spark(hl)
    return hl


def stop_hail() -> None:
    """Stop the Hail session if one is running."""
    import hail as hl

    if _current_backend_running(hl):
        hl.stop()


def _current_backend_running(hl: Any) -> bool:
    from hail.utils.java import Env

    return Env._hc is not None


def _quiet_spark(hl: Any) -> None:
    try:
        hl.spark_context().setLogLevel("ERROR")
    except Exception:  # the cluster backend may not expose a SparkContext
        return
