# Two commands from a fresh clone: `make demo` and `make test`. Each bootstraps itself:
# uv (installed with pip if missing), the locked environment (`uv sync --frozen`), a Java check.
SHELL := /bin/bash
export UV_CACHE_DIR ?= $(CURDIR)/.uv-cache
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export SPARK_LOCAL_IP := 127.0.0.1
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
RUN := $(UV) run --frozen --no-sync
DEMO_DIR ?= demo

.PHONY: setup demo test check lint types unit bench clean

setup: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@command -v java >/dev/null 2>&1 || { echo "Java is missing: promise needs a Java 11 or 17 runtime for Hail (Debian: apt-get install openjdk-17-jre-headless)." >&2; exit 1; }
	# bytecode compiled once here: uv installs without it, and where PYTHONDONTWRITEBYTECODE
	# is set Python would compile matplotlib, SciPy, ... again in every process (0.5 s each)
	$(UV) sync --frozen --compile-bytecode
	$(RUN) python -m compileall -q src
	@touch $@

demo: setup
	$(RUN) promise demo --dir $(DEMO_DIR)

check: setup
	$(RUN) ruff check src tests benchmarks
	$(RUN) ruff format --check src tests benchmarks
	$(RUN) mypy src/promise

test: check
	bash scripts/ensure-plink2.sh
	bash scripts/ensure-readstat.sh
	bash scripts/ensure-chromium.sh
	$(RUN) pytest

bench: setup
	for b in benchmarks/*.py; do $(RUN) python $$b || exit 1; done

clean:
	rm -rf .venv .uv-cache .pytest_cache .mypy_cache .ruff_cache target logs dbt_packages
