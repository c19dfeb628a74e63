"""Command line: thin layer from options to the API, a renderer and an exit code.

Exit codes: 0 analysed (whether or not anything was found), 1 an input could not be read
(the others were still analysed), 2 usage error.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Explain Linux out-of-memory incidents from kernel logs.",
)


class OutputFormat(StrEnum):
    JSON = "json"
    MD = "md"
    HTML = "html"


_SUFFIXES = {
    ".json": OutputFormat.JSON,
    ".md": OutputFormat.MD,
    ".markdown": OutputFormat.MD,
    ".html": OutputFormat.HTML,
    ".htm": OutputFormat.HTML,
}


@app.callback()
def _root() -> None:
    """Explain Linux out-of-memory incidents from kernel logs."""


@app.command()
def analyze(
    paths: Annotated[
        list[str], typer.Argument(help="Log files, directories (recursive) or - for stdin.")
    ],
    output_format: Annotated[
        OutputFormat | None,
        typer.Option("--format", "-f", help="Output format (default: from -o, else md)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Processes for one large file (default: CPUs)."),
    ] = None,
    max_bytes: Annotated[
        int | None,
        typer.Option(
            "--max-bytes",
            min=1024,
            help="Markdown: cut raw lines, then tables, to stay under N bytes (for tickets).",
        ),
    ] = None,
) -> None:
    """Find and parse every OOM report in kernel logs."""
    from .api import analyze_paths
    from .serialize import analysis_to_json

    fmt = output_format
    if fmt is None and output is not None:
        fmt = _SUFFIXES.get(output.suffix.lower())
    fmt = fmt or OutputFormat.MD
    analysis = analyze_paths(paths, jobs=jobs)
    if fmt is OutputFormat.JSON:
        text = json.dumps(analysis_to_json(analysis), indent=1, ensure_ascii=False) + "\n"
    elif fmt is OutputFormat.HTML:
        from .render import analysis_to_html

        text = analysis_to_html(analysis)
    else:
        from .render import analysis_to_markdown

        text = analysis_to_markdown(analysis, max_bytes=max_bytes)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            typer.echo(f"oomlens: cannot write {output}: {exc.strerror}", err=True)
            raise typer.Exit(EXIT_INPUT) from exc
    for failed in analysis.failed_inputs:
        reason = next((d.message for d in analysis.diagnostics if d.path == failed), "")
        typer.echo(f"oomlens: {failed}: {reason}", err=True)
    typer.echo(
        f"oomlens: {len(analysis.events)} OOM-related event(s) in "
        f"{len(analysis.sources)} input(s)"
        + (f", {len(analysis.diagnostics)} diagnostic(s)" if analysis.diagnostics else ""),
        err=True,
    )
    if analysis.failed_inputs:
        raise typer.Exit(EXIT_INPUT)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
