"""Command line: thin layer from options to the API, a renderer and an exit code.

Exit codes: 0 analysed (whether or not anything was found), 1 an input could not be read
(the others were still analysed), 2 usage error (bad options, problems in rule files).
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from .engine import RuleSet
    from .model import Diagnostic

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


RulesDirs = Annotated[
    list[Path] | None,
    typer.Option(
        "--rules", help="Extra rule directory (repeatable); may override with override = true."
    ),
]


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
    rules: RulesDirs = None,
) -> None:
    """Find every OOM report in kernel logs, replay it and explain its cause."""
    from . import hits

    _EXIT_WITHOUT_TEARDOWN.append(True)
    hits.prestart(paths)  # rg reads a large log while the rest of oomlens is imported
    try:
        _analyze(paths, output_format, output, jobs, max_bytes, rules)
    finally:
        hits.stop_prestarted()


def _analyze(
    paths: list[str],
    output_format: OutputFormat | None,
    output: Path | None,
    jobs: int | None,
    max_bytes: int | None,
    rules: list[Path] | None,
) -> None:
    from .api import analyze_paths, explained_json_chunks, usable_cpus

    if rules:
        _ruleset(rules)  # every problem in the user's rules, reported before any work

    fmt = output_format
    if fmt is None and output is not None:
        fmt = _SUFFIXES.get(output.suffix.lower())
    fmt = fmt or OutputFormat.MD
    rule_dirs = tuple(str(d) for d in rules or ())
    later: list[Diagnostic] = []  # diagnostics found while the JSON is written
    chunks: Iterable[str]
    if fmt is OutputFormat.JSON:
        # explained and written a slice of events at a time, in processes when many
        # the built-in rules load while the workers start on a large file
        analysis = analyze_paths(paths, jobs=jobs, explain=False, alongside=_builtin_rules)
        json_text, later = explained_json_chunks(
            analysis, rule_dirs=rule_dirs, jobs=jobs or usable_cpus()
        )
        chunks = itertools.chain(json_text, ["\n"])
    elif fmt is OutputFormat.HTML:
        from .render import analysis_to_html

        analysis = analyze_paths(paths, jobs=jobs, rule_dirs=rule_dirs)
        chunks = [analysis_to_html(analysis)]
    else:
        from .render import analysis_to_markdown

        analysis = analyze_paths(paths, jobs=jobs, rule_dirs=rule_dirs)
        chunks = [analysis_to_markdown(analysis, max_bytes=max_bytes)]
    if output is None:
        sys.stdout.writelines(chunks)
    else:
        try:
            with output.open("w", encoding="utf-8") as out:
                out.writelines(chunks)
        except OSError as exc:
            typer.echo(f"oomlens: cannot write {output}: {exc.strerror}", err=True)
            raise typer.Exit(EXIT_INPUT) from exc
    for failed in analysis.failed_inputs:
        reason = next((d.message for d in analysis.diagnostics if d.path == failed), "")
        typer.echo(f"oomlens: {failed}: {reason}", err=True)
    diagnostics = len(analysis.diagnostics) + len(later)
    typer.echo(
        f"oomlens: {len(analysis.events)} OOM-related event(s) in "
        f"{len(analysis.sources)} input(s)"
        + (f", {diagnostics} diagnostic(s)" if diagnostics else ""),
        err=True,
    )
    if analysis.failed_inputs:
        raise typer.Exit(EXIT_INPUT)


class TableFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"
    JSONL = "jsonl"


@app.command()
def batch(
    paths: Annotated[
        list[str],
        typer.Argument(help="Directories, log files and archives (tar, tar.gz/xz/zst, zip)."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the table here (.parquet, .csv, .jsonl)."),
    ] = None,
    table_format: Annotated[
        TableFormat | None,
        typer.Option("--format", "-f", help="Table format (default: from --output, else csv)."),
    ] = None,
    summary: Annotated[
        Path | None,
        typer.Option("--summary", help="Write a fleet summary (.html or .md)."),
    ] = None,
    index: Annotated[
        Path | None,
        typer.Option("--index", help="Incremental index file (default: .oomlens-index.sqlite)."),
    ] = None,
    no_index: Annotated[
        bool, typer.Option("--no-index", help="Analyse everything; keep no index.")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Worker processes (default: CPUs)."),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option("--dask", help="Run on this Dask scheduler (e.g. tcp://host:8786)."),
    ] = None,
    glob: Annotated[
        list[str] | None,
        typer.Option("--glob", help="Only logs whose path inside the archive/tree matches."),
    ] = None,
    max_member_bytes: Annotated[
        int | None,
        typer.Option("--max-member-bytes", min=1, help="Decompressed bytes allowed per member."),
    ] = None,
) -> None:
    """Analyse whole log archives from a fleet into one de-duplicated table."""
    try:
        import importlib

        from . import batch as batch_mod
        from .archives import DEFAULT_MAX_MEMBER_BYTES, BadInput
        from .errors import InputError

        importlib.import_module("pandas")  # fail here, before any work, when it is missing
    except ImportError as exc:  # depends on the installed extras
        typer.echo(
            f"oomlens: batch needs the batch extra (pip install 'oomlens[batch]'): {exc}", err=True
        )
        raise typer.Exit(EXIT_USAGE) from exc

    fmt = table_format.value if table_format is not None else None
    if fmt is None and output is not None:
        fmt = batch_mod.format_for(output)
        if fmt is None:
            typer.echo(f"oomlens: cannot tell the table format of {output}; use --format", err=True)
            raise typer.Exit(EXIT_USAGE)
    fmt = fmt or "csv"
    if output is None and fmt == "parquet":
        typer.echo("oomlens: Parquet needs --output FILE", err=True)
        raise typer.Exit(EXIT_USAGE)
    summary_fmt = None
    if summary is not None:
        summary_fmt = batch_mod.summary_format_for(summary)
        if summary_fmt is None:
            typer.echo(f"oomlens: --summary must end in .html or .md: {summary}", err=True)
            raise typer.Exit(EXIT_USAGE)
    if no_index and index is not None:
        typer.echo("oomlens: --index and --no-index exclude each other", err=True)
        raise typer.Exit(EXIT_USAGE)
    index_path = None if no_index else (index or Path(batch_mod.DEFAULT_INDEX))

    def report_bad(item: BadInput) -> None:
        typer.echo(f"oomlens: {item.path}: {item.message}", err=True)

    try:
        result = batch_mod.run_batch(
            paths,
            jobs=jobs,
            dask=dask,
            globs=glob or (),
            max_member_bytes=max_member_bytes or DEFAULT_MAX_MEMBER_BYTES,
            index=index_path,
            progress=True,
            on_bad=report_bad,
        )
        frame = result.frame()
        batch_mod.write_table(frame, output if output is not None else sys.stdout, fmt)
        if summary is not None and summary_fmt is not None:
            summary.write_text(batch_mod.render_summary(result, summary_fmt), encoding="utf-8")
    except InputError as exc:  # an unusable index
        typer.echo(f"oomlens: {exc}", err=True)
        raise typer.Exit(EXIT_INPUT) from exc
    except OSError as exc:
        typer.echo(f"oomlens: {exc}", err=True)
        raise typer.Exit(EXIT_INPUT) from exc
    typer.echo(
        f"oomlens: {len(result.rows)} event(s) from {result.members} log(s) "
        f"({result.analysed} analysed, {result.cached} from the index), "
        f"{len(result.bad)} bad input(s)",
        err=True,
    )
    if result.bad:
        raise typer.Exit(EXIT_INPUT)


# --------------------------------------------------------------------------- rules

rules_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Check and inspect the rule catalogue.",
)
app.add_typer(rules_app, name="rules")


def _builtin_rules() -> None:
    from .engine import prepare_texts

    prepare_texts(_ruleset(None))  # cached for the explaining processes to inherit


def _ruleset(dirs: list[Path] | None) -> RuleSet:
    from .engine import RuleSetError, load_rules

    try:
        return load_rules(tuple(dirs or ()))
    except RuleSetError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        count = len(exc.problems)
        typer.echo(f"oomlens: {count} problem{'s' if count != 1 else ''} in rules", err=True)
        raise typer.Exit(EXIT_USAGE) from exc


@rules_app.command("check")
def rules_check(rules: RulesDirs = None) -> None:
    """Validate every rule file; print all problems (exit 2 when there are any)."""
    ruleset = _ruleset(rules)
    typer.echo(f"oomlens: {len(ruleset.rules)} rules OK")


@rules_app.command("list")
def rules_list(rules: RulesDirs = None) -> None:
    """List the rules: id, cause (primary candidates first, by priority), name, title."""
    ruleset = _ruleset(rules)
    for rule in ruleset.rules:
        role = f"primary p={rule.priority}" if rule.primary else "contributing"
        if rule.fallback:
            role = "fallback"
        typer.echo(f"{rule.id}  {rule.cause.value:<26} {role:<16} {rule.name}")


@rules_app.command("explain")
def rules_explain(
    rule_id: Annotated[str, typer.Argument(metavar="ID", help="Rule id, e.g. CG001.")],
    rules: RulesDirs = None,
) -> None:
    """Show one rule: its condition, the facts it reads, its texts and references."""
    from .facts import FACTS

    ruleset = _ruleset(rules)
    rule = ruleset.get(rule_id.upper())
    if rule is None:
        typer.echo(f"oomlens: no rule {rule_id}", err=True)
        raise typer.Exit(EXIT_USAGE)
    role = (
        "fallback" if rule.fallback else ("primary candidate" if rule.primary else "contributing")
    )
    typer.echo(f"{rule.id} {rule.name}  ({rule.path})")
    typer.echo(
        f"cause: {rule.cause.value} ({role}), severity: {rule.severity.value}, "
        f"priority: {rule.priority}"
    )
    when = rule.condition.text if rule.condition else "(when no primary rule fires)"
    typer.echo(f"when: {when}")
    typer.echo("facts:")
    for name in rule.facts:
        typer.echo(f"  {name} [{FACTS[name].unit}]: {FACTS[name].doc}")
    typer.echo(f"title: {rule.title}")
    typer.echo(f"explanation:\n{rule.explanation}")
    typer.echo(f"remedy:\n{rule.remedy}")
    for reference in rule.references:
        typer.echo(f"see: {reference}")


@rules_app.command("facts")
def rules_facts(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the Markdown table of docs/rules.md.")
    ] = False,
) -> None:
    """List the facts rules may use: name, unit and what it means."""
    from .facts import FACTS

    specs = sorted(FACTS.values(), key=lambda s: s.name)
    if markdown:
        typer.echo("| fact | unit | meaning |")
        typer.echo("|---|---|---|")
        for spec in specs:
            doc = spec.doc.replace("|", "\\|")
            typer.echo(f"| `{spec.name}` | {spec.unit} | {doc} |")
        return
    for spec in specs:
        typer.echo(f"{spec.name}  [{spec.unit}]  {spec.doc}")


# set by commands that leave nothing for the interpreter's exit to do (see main)
_EXIT_WITHOUT_TEARDOWN: list[bool] = []


def main() -> None:
    _EXIT_WITHOUT_TEARDOWN.clear()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit as exc:
        if not _EXIT_WITHOUT_TEARDOWN:
            raise
        # `analyze` closed its files and process pools itself; the interpreter's teardown
        # would only free the analysis object by object (~0.15 s for a large log)
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:  # a closed pipe: nothing more can be said
            pass
        os._exit(code)


if __name__ == "__main__":
    main()
