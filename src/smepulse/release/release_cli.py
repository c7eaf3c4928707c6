"""`smepulse release`: write the release of one month (narrative, charts, tables) as HTML, PDF or Markdown."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from smepulse.errors import InputError
from smepulse.methodology import load_methodology
from smepulse.methodology.release_config import load_release_config, merged
from smepulse.periods import parse_date_option
from smepulse.release.exports import write_exports
from smepulse.release.facts import composite_order
from smepulse.release.narrative import LANGS
from smepulse.release.report import FORMATS, build_release, load_from_store, load_series_file, write_release
from smepulse.release.safe import Outputs

console = Console()


def release_cmd(
    period: str = typer.Option(..., "--period", help="Month to write about, YYYY-MM (a closed month in the data)."),
    out: Path = typer.Option(..., "--out", help="Report file to write (.html, .pdf or .md)."),
    lang: str = typer.Option("en", "--lang", help="Language: en or zh (简体中文)."),
    fmt: str | None = typer.Option(None, "--format", help="html, pdf or md (default: from --out's suffix, "
                                                            "else html)."),
    series: Path | None = typer.Option(None, "--series", help="Tidy series file as `compute`, `demo` or "
                                          "`series` write it (instead of a store)."),
    store: str = typer.Option("demo/smepulse.duckdb", "--store", help="Store of published vintages, a file or "
                              "a postgresql:// URL (default: the one `make demo` writes)."),
    as_of: str | None = typer.Option(None, "--as-of", help="With --store: what had been published by this "
                                        "date (YYYY-MM-DD)."),
    methodology: str = typer.Option("smei", "--methodology", help="Methodology (survey) name or YAML file."),
    exports: bool = typer.Option(True, "--exports/--no-exports", help="Also write CSV, Excel, JSON and SDMX-CSV "
                                 "next to --out."),
    config: Path | None = typer.Option(None, "--config", help="Release config YAML (publisher, contact, "
                                        "fieldwork, calendar, embargo, commentary, logo, thresholds: "
                                        "docs/release.md); its keys override the methodology's `release:` block."),
    full_precision: bool = typer.Option(False, "--full-precision", help="Exports with six decimals instead of "
                                        "rounded as published (values one decimal, standard errors two)."),
    interactive: bool = typer.Option(False, "--interactive", help="HTML: inline the Vega bundle (about 0.9 MB, "
                                     "from vl-convert) so charts have tooltips; still one file, no network."),
) -> None:
    """Write the release of one month: headline box, narrative, charts, tables with n, SE and revisions,
    methodology notes. From the store by default, or from a tidy series file (--series).

    Example: smepulse release --period 2026-10 --lang zh --format pdf --out release_zh.pdf
    """
    if lang not in LANGS:
        raise InputError(f"--lang {lang!r} is not supported: use one of {', '.join(LANGS)}")
    fmt = (fmt or out.suffix.lstrip(".") or "html").lower()
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r} is not supported: use one of {', '.join(FORMATS)}")
    m = load_methodology(methodology)
    if config is not None:
        m = m.model_copy(update={"release": merged(m.release, load_release_config(config))})
    if series is not None:
        if as_of:
            raise InputError("--as-of applies to a store; a series file is already one vintage")
        data = load_series_file(series, m)
    else:
        data = load_from_store(store, m.name, as_of=parse_date_option(as_of, "--as-of"), composites=composite_order(m))
    rel = build_release(data, period, m, lang)
    written = {}
    with Outputs(out.parent) as o:  # the report and its exports appear together, or nothing does
        path = write_release(rel, out, fmt, interactive=interactive, outputs=o)
        if exports:
            written = write_exports(data, period, m, out.parent, stem=out.stem, facts=rel.facts, releases=[rel],
                                    full_precision=full_precision, outputs=o)
    console.print(f"wrote the {lang} release of {period} to [bold]{path}[/bold]")
    if written:
        console.print("exports: " + ", ".join(str(p) for p in written.values()), soft_wrap=True)
