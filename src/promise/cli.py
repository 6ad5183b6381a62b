"""The ``promise`` command: a thin typer app over the library.

Each command lives in ``promise.commands.<verb>`` and registers itself with ``register(app)``.
A run imports only the module of the command it names (all of them for ``--help``), so
``promise gwas`` does not pay for the ingestion or demo imports. Commands only parse
arguments and call plain functions. Errors a user can cause
(:class:`promise.errors.PromiseError`) print one sentence and exit non-zero; ``--debug``
shows the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping, Sequence

import click
import typer
from rich.console import Console

from promise.errors import PromiseError

COMMAND_MODULES = (
    "keygen",
    "doctor",
    "synth",
    "ingest",
    "build",
    "sql",
    "export",
    "gwas",
    "endpoints",
    "study",
    "profiles",
    "demo",
)


def build_app(command: str | None = None) -> typer.Typer:
    """The typer app with ``command`` registered, or every command when it is not one."""
    app = typer.Typer(
        name="promise",
        help="Population-omics cohort warehouse: synth, ingest, build, sql, export, endpoints, gwas.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    for name in [command] if command in COMMAND_MODULES else COMMAND_MODULES:
        importlib.import_module(f"promise.commands.{name}").register(app)
    return app


def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    """promise: registers and omics, pseudonymised, in DuckDB, dbt and Hail."""
    os.environ["PROMISE_DEBUG"] = "1" if debug else os.environ.get("PROMISE_DEBUG", "0")


def _command(args: Sequence[str]) -> str | None:
    """The command a list of arguments names: the first one that is not a root option."""
    return next((a for a in args if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the CLI in-process and return its exit code (tests call this directly)."""
    if environ is not None:
        os.environ.update(environ)
    args = list(sys.argv[1:] if argv is None else argv)
    err = Console(stderr=True)
    try:
        rc = build_app(_command(args))(args=args, prog_name="promise", standalone_mode=False)
    except PromiseError as exc:
        if "--debug" in args or os.environ.get("PROMISE_DEBUG") == "1":
            err.print_exception()
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        err.print("aborted")
        return 130
    return rc if isinstance(rc, int) else 0


def entrypoint() -> None:
    """Console-script entry point."""
    sys.exit(main())
