"""The `sleuth` command line. Front ends only wire layers together."""

from __future__ import annotations

import logging
import sys

import typer

from sleuth import __version__
from sleuth.cli import corpus, eval as evals, label, llm, memory, models, sae, tools
from sleuth.cli.ask import ask as ask_command
from sleuth.cli.audit import audit as audit_command
from sleuth.cli.chat import chat as chat_command
from sleuth.cli.output import fail

app = typer.Typer(
    name="sleuth",
    help="sleuth: an automated interpretability agent.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(models.app, name="models")
app.add_typer(corpus.app, name="corpus")
app.add_typer(tools.app, name="tools")
app.add_typer(memory.app, name="memory")
app.add_typer(llm.app, name="llm")
app.add_typer(sae.app, name="sae")
app.add_typer(evals.app, name="eval")
app.add_typer(label.app, name="label")
app.command("ask")(ask_command)
app.command("chat")(chat_command)
app.command("audit")(audit_command)


def _version(value: bool):
    if value:
        print(f"sleuth {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
):
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _quiet_libraries() -> None:
    import os
    import warnings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore")


def main() -> None:
    from sleuth.errors import SleuthError

    _quiet_libraries()
    try:
        code = app(standalone_mode=False)  # without standalone mode, click returns typer.Exit's code
        if isinstance(code, int) and code:
            sys.exit(code)
    except SleuthError as exc:
        fail(str(exc), exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        fail("aborted", 130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        from pydantic import ValidationError

        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()  # a usage error (click's own, or the copy typer vendors as typer._click): usage + one line
            sys.exit(exc.exit_code)
        if isinstance(exc, ValidationError):  # an option value a model refuses (e.g. --width 0)
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or exc.title
            fail(f"invalid {where}: {first['msg']}", 2)
        raise


if __name__ == "__main__":
    main()
