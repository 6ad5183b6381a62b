"""The one place that starts Hail, with the settings this machine needs.

Everything Hail and Spark write (logs, temporary files, spill) goes under ``work_dir``,
never into the current directory or ``/tmp`` unasked. Local Spark by default;
``spark_master`` (``spark://host:7077``) runs the same code on a cluster.

The console stays quiet: log4j's console output ("Setting default log level ...", WARN lines
from Hadoop and SparkConf) goes to ``work_dir/logs/spark.log`` through a log4j2 configuration
written beside it, and Python warnings raised while the JVM starts (Hail's "built and tested
with Java 11" notice on Java 17) go to ``work_dir/logs/python-warnings.log``.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

DEFAULT_MEMORY_FRACTION = 0.4
DEFAULT_REFERENCE = "GRCh38"

_LOG4J2_TEMPLATE = """\
# Written by promise.gwas.session: Spark and Hadoop log to a file, never to the console.
status = error
appender.file.type = File
appender.file.name = promise_file
appender.file.fileName = {log_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{{yyyy-MM-dd HH:mm:ss.SSS}} %-5p %c{{1}}: %m%n
rootLogger.level = warn
rootLogger.appenderRef.file.ref = promise_file
logger.hail.name = is.hail
logger.hail.level = info
"""


def default_driver_memory(fraction: float = DEFAULT_MEMORY_FRACTION) -> str:
    """A safe share of this machine's RAM for the Spark driver, e.g. ``"9g"``."""
    gib = max(1, int(psutil.virtual_memory().total * fraction / 2**30))
    return f"{gib}g"


def log4j2_config(work_dir: Path) -> Path:
    """Write the log4j2 configuration that sends Spark's console logging to ``logs/spark.log``."""
    path = work_dir / "logs" / "log4j2.properties"
    path.write_text(_LOG4J2_TEMPLATE.format(log_file=work_dir / "logs" / "spark.log"))
    return path


def spark_conf(*, work_dir: Path, driver_memory: str) -> dict[str, str]:
    """Spark settings that keep every file under ``work_dir`` and the console quiet."""
    tmp = work_dir / "tmp"
    log_conf = work_dir / "logs" / "log4j2.properties"
    java_opts = f"-Djava.io.tmpdir={tmp} -Dlog4j2.configurationFile=file:{log_conf}"
    return {
        "spark.driver.memory": driver_memory,
        "spark.local.dir": str(tmp / "spark"),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": java_opts,
        "spark.executor.extraJavaOptions": f"-Djava.io.tmpdir={tmp}",
        "spark.sql.warehouse.dir": str(tmp / "spark-warehouse"),
    }


def prepare_environment(work_dir: Path) -> None:
    """Point TMPDIR and the Spark/JVM environment at ``work_dir`` before the JVM starts."""
    tmp = work_dir / "tmp"
    for sub in ("", "spark", "hail-local", "hail-tmp"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    (work_dir / "logs").mkdir(parents=True, exist_ok=True)
    log4j2_config(work_dir)
    os.environ["TMPDIR"] = str(tmp)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["SPARK_LOCAL_DIRS"] = str(tmp / "spark")
    # Python tasks (the fast kernels as Spark tasks) run where promise is importable: by
    # default this interpreter; on a real cluster set PYSPARK_PYTHON to the workers' Python
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


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
        Folder for ``logs/`` (hail.log, spark.log) and ``tmp/`` (Hail tmp, local tmp,
        Spark local dir).
    spark_master:
        ``None`` or ``local[*]`` for a local Spark; ``spark://host:port`` for a cluster.
    driver_memory:
        JVM heap of the driver, default :func:`default_driver_memory`.
    seed:
        Hail's global seed (replaces per-call seeds), so PCA and sampling repeat.
    quiet:
        Keep the terminal free of Hail's banner, log4j output and start-up warnings.
    """
    work_dir = Path(work_dir).resolve()
    prepare_environment(work_dir)
    import hail as hl

    if _current_backend_running(hl):
        return hl
    memory = driver_memory or default_driver_memory()
    with _warnings_to_file(work_dir / "logs" / "python-warnings.log", enabled=quiet):
        hl.init(
            master=spark_master or "local[*]",
            app_name="promise",
            log=str(work_dir / "logs" / "hail.log"),
            quiet=quiet,
            tmp_dir=str(work_dir / "tmp" / "hail-tmp"),
            local_tmpdir=str(work_dir / "tmp" / "hail-local"),
            spark_conf=spark_conf(work_dir=work_dir, driver_memory=memory),
            global_seed=seed,
            idempotent=False,
        )
    hl.default_reference(DEFAULT_REFERENCE)
    _quiet_spark(hl)
    return hl


def hail_running() -> bool:
    """Whether a Hail session is running in this process."""
    import hail as hl

    return _current_backend_running(hl)


def stop_hail() -> None:
    """Stop the Hail session if one is running."""
    import hail as hl

    if _current_backend_running(hl):
        hl.stop()


@contextmanager
def _warnings_to_file(path: Path, *, enabled: bool) -> Iterator[None]:
    """Python warnings raised inside the block go to ``path``, not the terminal."""
    if not enabled:
        yield
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    with path.open("a", encoding="utf-8") as out:
        for w in caught:
            out.write(f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})\n")


def _current_backend_running(hl: Any) -> bool:
    from hail.utils.java import Env

    return Env._hc is not None


def _quiet_spark(hl: Any) -> None:
    try:
        hl.spark_context().setLogLevel("ERROR")
    except Exception:  # the cluster backend may not expose a SparkContext
        logging.getLogger(__name__).debug("no SparkContext to quiet")
