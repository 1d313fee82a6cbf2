"""Printing for the CLI: JSON to stdout, human text through rich, errors to stderr."""

from __future__ import annotations

import json
import sys

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)


def emit_json(data) -> None:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise SystemExit(code)
