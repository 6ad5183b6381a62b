"""A throw-away Spark standalone cluster on 127.0.0.1, started from the classes in pyspark.

pyspark's wheel ships ``bin/spark-class`` and the Master and Worker classes but not the
``sbin/start-*.sh`` scripts, so the test starts the two JVMs itself and stops them (by their
process ids) when the block ends. Every file they write goes under ``work``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyspark


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _wait_for_worker(log: Path, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and "Successfully registered with master" in log.read_text(
            errors="replace"
        ):
            return
        time.sleep(0.5)
    raise TimeoutError(f"the Spark worker did not register within {timeout} s; see {log}")


@contextmanager
def standalone_cluster(work: Path, *, cores: int = 2, memory: str = "3g") -> Iterator[str]:
    """Start a master and one worker on 127.0.0.1; yield ``spark://127.0.0.1:PORT``."""
    spark_home = Path(pyspark.__file__).parent
    spark_class = spark_home / "bin" / "spark-class"
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(work / "logs"),
        "SPARK_LOCAL_DIRS": str(work / "local"),
        "SPARK_WORKER_DIR": str(work / "worker"),
        "TMPDIR": str(work / "tmp"),
        "SPARK_NO_DAEMONIZE": "1",
    }
    for sub in ("logs", "local", "worker", "tmp"):
        (work / sub).mkdir(exist_ok=True)
    port, ui, worker_ui = free_port(), free_port(), free_port()
    master_url = f"spark://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with (work / "logs" / "master.log").open("wb") as log:
            procs.append(
                subprocess.Popen(
                    [
                        str(spark_class),
                        "org.apache.spark.deploy.master.Master",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--webui-port",
                        str(ui),
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=work,
                )  # fmt: skip
            )
        _wait_for_port(port, timeout=60)
        worker_log = work / "logs" / "worker.log"
        with worker_log.open("wb") as log:
            procs.append(
                subprocess.Popen(
                    [
                        str(spark_class),
                        "org.apache.spark.deploy.worker.Worker",
                        master_url,
                        "--host",
                        "127.0.0.1",
                        "--cores",
                        str(cores),
                        "--memory",
                        memory,
                        "--webui-port",
                        str(worker_ui),
                        "--work-dir",
                        str(work / "worker"),
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=work,
                )  # fmt: skip
            )
        _wait_for_worker(worker_log, timeout=60)
        yield master_url
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
