"""`smepulse credit ...`: train, score, report and print scorecards from the command line."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from smepulse.credit import cli_data
from smepulse.credit.data import german_specs, read_table, sba_specs, shipped_specs, taiwan_specs
from smepulse.credit.fairness import shown
from smepulse.credit.features import feature_specs, group_specs
from smepulse.credit.metadata import FeatureSpec
from smepulse.credit.report import write_report
from smepulse.credit.train import Scaling, load_model
from smepulse.credit.train import train as fit
from smepulse.errors import CreditError, InputError, SmepulseError

app = typer.Typer(help="SME credit: train, score and report PD models.", no_args_is_help=True)
console = Console()


def _specs(path: str | None, columns) -> tuple[str, dict]:
    """(where from, feature metadata): a JSON list of FeatureSpec fields (name, description,
    monotone, ...), or a shipped set by name (german, taiwan, sba, smepulse); by default the shipped set of
    a public dataset recognised by its columns, else smepulse's own alternative-data features."""
    if path is None:
        name, specs = shipped_specs(columns)
        if name:
            return f"shipped {name} metadata", specs
        try:
            return "smepulse feature metadata", smepulse_specs()
        except (ImportError, AttributeError):
            return "", {}
    if path in SHIPPED:
        return f"shipped {path} metadata", SHIPPED[path]()
    try:
        rows = json.loads(Path(path).read_text())
        return str(path), {r["name"]: FeatureSpec(**r) for r in rows}
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise InputError(f"not a JSON list of feature specs (nor one of {', '.join(SHIPPED)}): {exc}",
                         file=str(path)) from exc


def smepulse_specs() -> dict:
    """smepulse's own features and the protected group columns `credit features` writes beside them."""
    return {**feature_specs(), **group_specs()}


SHIPPED = {"german": german_specs, "taiwan": taiwan_specs, "sba": sba_specs, "smepulse": smepulse_specs}


def _write_table(df, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".parquet", ".pq"):
        df.to_parquet(out, index=False)
    else:
        df.to_csv(out, index=False)


def _positive(value: float | None) -> float | None:
    if value is not None and not value > 0:  # also NaN
        raise typer.BadParameter(f"must be a number of minutes above 0, not {value:g}")
    return value


@contextmanager
def _naming(data: Path):
    """An error raised inside names the data file it is about (once: errors that already name it pass)."""
    try:
        yield
    except SmepulseError as exc:
        if str(data) in str(exc):
            raise
        raise CreditError(f"file {data}: {exc}") from None


TEST_SIZE = (0.05, 0.5)  # a test share outside this leaves too few rows to train on or to validate with


def _test_share(value: float) -> float:
    lo, hi = TEST_SIZE
    if not lo <= value <= hi:  # also NaN
        raise typer.BadParameter(f"must be a share of the rows from {lo:g} to {hi:g} (0.2 = 80/20), not {value:g}")
    return value


@app.command()
def train(
    data: Path = typer.Option(..., "--data", help="CSV, Parquet, Excel or ARFF file, one row per application."),
    target: str = typer.Option(..., "--target", help="Outcome column: 1/0, or two labels such as CHGOFF / P I F."),
    out: Path = typer.Option(..., "--out", help="Directory for the versioned model and metrics.json."),
    time_column: str = typer.Option(None, "--time-column", help="Application date: enables an out-of-time split."),
    exclude: str = typer.Option("", "--exclude", help="Comma-separated columns not to use (IDs, post-outcome fields)."),
    model: str = typer.Option("lightgbm", "--model", help="lightgbm (champion), scorecard or logistic."),
    reject_inference: str = typer.Option(None, "--reject-inference",
                                         help="fuzzy or parcelling; rows with a missing target are the rejects."),
    bad_factor: float = typer.Option(1.0, "--bad-factor", help="Scale the inferred PD of rejects (reject inference)."),
    metadata: str = typer.Option(None, "--metadata", help="JSON list of feature specs (name, description, "
                                 "monotone, reason_en, reason_zh) or a shipped set: german, taiwan, sba, smepulse; "
                                 "default: the shipped set of a recognised public dataset, else smepulse's own."),
    n_estimators: int = typer.Option(400, "--n-estimators", help="Maximum boosting rounds (5-fold cross-validated "
                                     "early stopping picks the number; the champion is then refitted on all "
                                     "training rows)."),
    tune: float = typer.Option(None, "--tune", callback=_positive, metavar="MINUTES",
                               help="Search the champion's hyperparameters with Optuna for at most this many "
                               "minutes (seeded, cross-validated on the training rows only; at most 1,000 "
                               "trials). A timed search is not repeatable: add --tune-trials N for that."),
    tune_trials: int = typer.Option(None, "--tune-trials", min=1, help="Cap the search at this many trials; "
                                    "alone, a repeatable search of N trials with no time box; with --tune, "
                                    "whichever comes first."),
    old_tune_minutes: str = typer.Option(None, "--tune-minutes", hidden=True),  # renamed: a clear error
    class_weight: str = typer.Option("none", "--class-weight", help="Champion: none, balanced (bads and goods "
                                     "weigh the same in the trees' loss) or auto (both cross-validated, the "
                                     "higher out-of-fold AUC wins). PDs are calibrated on the out-of-fold "
                                     "PDs at the true bad rate either way."),
    pdo: float = typer.Option(20.0, "--pdo", help="Points to double the odds."),
    odds: float = typer.Option(50.0, "--odds", help="Good:bad odds at the base score."),
    points: float = typer.Option(600.0, "--points", help="Base score at those odds."),
    min_iv: float = typer.Option(0.02, "--min-iv", help="Scorecard: smallest information value a "
                                 "characteristic needs to be considered."),
    max_characteristics: int = typer.Option(15, "--max-characteristics", min=1,
                                            help="Scorecard: at most this many characteristics."),
    selection: str = typer.Option("stepwise", "--selection", help="Scorecard: stepwise (forward by AIC among "
                                  "the IV-screened, decorrelated characteristics) or iv (strongest IV first)."),
    protected: list[str] = typer.Option([], "--protected", help="Column to check fairness on (approval, PD, "
                                        "AUC by group, adverse-impact ratio), never a feature; repeat for "
                                        "several. Default: columns the protected-attribute policy names "
                                        "(gender, sex, marital status...)."),
    approve_below: float = typer.Option(None, "--approve-below", min=0.0, max=1.0, help="Fairness checks: "
                                        "approve at or below this PD (default: the PD approving 80% of the "
                                        "training rows)."),
    segment: list[str] = typer.Option([], "--segment", help="Column to break performance down by in the "
                                      "model card and report; repeat for several. Default: columns named like "
                                      "sector, industry, size, region, product or purpose (2-12 levels)."),
    policy: Path = typer.Option(None, "--policy", help="The lender's protected-attribute policy (YAML): "
                                "`patterns:` regexes of columns never given as reasons (and checked for "
                                "fairness), `exclude:` regexes of columns never used as features; added to "
                                "the shipped credit/protected.yaml."),
    horizon_months: int = typer.Option(None, "--horizon-months", min=1, help="Months over which the target "
                                       "counts a default, when its name (default_12m) or metadata does not say; "
                                       "recorded in the manifest and the model card."),
    test_size: float = typer.Option(0.3, "--test-size", callback=_test_share, metavar="FRACTION",
                                    help="Share of the rows held out as the test set (0.05-0.5): the latest "
                                    "rows with --time-column, else a stratified random draw; 0.2 reproduces "
                                    "the 80/20 split of the published gradient-boosting figures."),
    intended_use: str = typer.Option(None, "--intended-use", metavar="TEXT", help="The model's intended use, "
                                     "shown on the model card (default: PD of a small-business credit "
                                     "application, marked on the card as the default statement)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing model directory at --out."),
    allow_leaky: list[str] = typer.Option([], "--allow-leaky", help="Keep a column the leakage gate flags "
                                          "(it is known at decision time); repeat for several."),
    censor_column: str = typer.Option(None, "--censor-column", help="Column that is true where the outcome "
                                      "is not yet observable (unmatured loans); such rows are dropped. "
                                      "Default: a 'censored' or open-'outcome' column, else undated outcomes "
                                      "after the last observed one."),
) -> None:
    """Train a PD model, validate it (out-of-time when --time-column is given, else a stratified 70/30
    split, seed fixed; --test-size changes the 30%) and write it to --out.

    Example: smepulse credit train --data loans.csv --target default --time-column applied_on --out models/v1
    """
    if old_tune_minutes is not None:
        raise CreditError(f"--tune-minutes is gone: the time box is now --tune MINUTES (--tune "
                          f"{old_tune_minutes}); --tune-trials N caps the number of trials")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise CreditError(f"--out {out} already exists; choose a new directory or pass --force to overwrite it")
    df = read_table(data)
    if df.empty:
        raise InputError(f"no data rows (columns: {', '.join(map(str, df.columns[:10])) or 'none'}); a model "
                         "needs labelled applications", file=str(data))
    excl = [c.strip() for c in exclude.split(",") if c.strip()]
    spec_source, specs = _specs(metadata, df.columns)
    described = [c for c in df.columns if c in specs]
    if spec_source and described:
        console.print(f"feature metadata: {spec_source} describes {len(described)} columns "
                      f"({sum(1 for c in described if specs[c].monotone)} monotone)", highlight=False)
    with _naming(data), console.status("training..."):  # every training error names the data file
        m = fit(df, target, time_column=time_column, exclude=excl, model=model, specs=specs,
                reject_inference=reject_inference, bad_factor=bad_factor, n_estimators=n_estimators,
                scaling=Scaling(pdo, odds, points), source=str(data),
                allow_leaky=tuple(c.strip() for a in allow_leaky for c in a.split(",") if c.strip()),
                censor_column=censor_column, tune_trials=tune_trials or 0, tune_minutes=tune,
                class_weight=class_weight,
                scorecard={"min_iv": min_iv, "max_features": max_characteristics, "selection": selection},
                protected=[c.strip() for a in protected for c in a.split(",") if c.strip()] or None,
                approve_below=approve_below, horizon_months=horizon_months, policy=policy, test_size=test_size,
                intended_use=(intended_use or "").strip() or None,
                segments=[c.strip() for a in segment for c in a.split(",") if c.strip()] or None)
    m.save(out, overwrite=force)
    met = m.metrics
    for w in met["warnings"]:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    t = Table(title=f"{m.manifest['model_version']} ({met['split']['kind']} validation)")
    for col in ("AUC", "Gini", "KS", "Brier", "PSI", "n_train", "n_test", "calibration"):
        t.add_column(col, justify="right")
    cal_name = "platt, in the points" if m.kind == "scorecard" else met["calibration"]["method"]
    t.add_row(*(f"{met[k]:.4f}" for k in ("auc", "gini", "ks", "brier", "psi_score")),
              str(met["n_train"]), str(met["n_test"]), cal_name)
    console.print(t)
    lo, hi = met["auc_ci95"]
    console.print(f"AUC 95% interval {lo:.3f}-{hi:.3f} (Hanley-McNeil) on {met['n_bads']} defaults among "
                  f"{met['n_test']} test rows", highlight=False)
    sel = met.get("scorecard_selection")
    if sel:
        chosen = [c for c, f in sel.items() if f["status"] == "selected"]
        console.print(f"scorecard: {len(chosen)} of {len(sel)} characteristics selected ({selection}, IV >= "
                      f"{min_iv}, at most {max_characteristics}): {', '.join(chosen)}", highlight=False)
    champ = met.get("champion")
    if champ:
        console.print(f"champion: {champ['cv_trees']} trees by {champ['cv_folds']}-fold cross-validation, "
                      f"refitted with {champ['refit_trees']} trees on all {champ['refit_rows']} training rows; "
                      f"class weight {champ['class_weight']}", highlight=False)
        tun = champ.get("tuning")
        if tun:
            box = f", time box {tun['time_box_minutes']:g} min" if tun.get("time_box_minutes") else ""
            console.print(f"tuning: {tun['n_trials']} trials in {tun['seconds']:.0f} s{box}", highlight=False)
    _print_reliability(met)
    _print_fairness(met)
    console.print(f"model written to {out}; model card in {out / 'model_card.md'} and "
                  f"{out / 'model_card.zh.md'}")


def _print_fairness(met: dict) -> None:
    fair = met.get("fairness")
    if not fair:
        return
    t = Table(title=f"Fairness ({met['split']['kind']} test rows): approve at PD <= {fair['cutoff']:.4f}; "
                    f"adverse-impact ratio flagged below {fair['air_flag']}")
    for col in ("attribute", "group", "n", "approval", "AIR", "mean PD", "observed", "AUC"):
        t.add_column(col, justify="left" if col in ("attribute", "group") else "right")
    for attr, tab in fair["attributes"].items():
        for r in tab["groups"]:
            air = "-" if r["air"] is None else f"{r['air']:.2f}" + (" !" if r["flag"] else "")
            t.add_row(attr, shown(r, "en"), str(r["n"]), f"{r['approval_rate']:.1%}", air, f"{r['mean_pd']:.4f}",
                      f"{r['observed']:.4f}", "-" if r["auc"] is None else f"{r['auc']:.3f}")
    console.print(t)


def _print_reliability(met: dict) -> None:
    rel = met.get("reliability")
    if not rel:
        return
    t = Table(title=f"Reliability ({met['split']['kind']} test rows): Hosmer-Lemeshow {rel['hosmer_lemeshow']:.1f} "
                    f"on {rel['hl_dof']} df, p = {rel['hl_p']:.3g}; binomial p = {rel['binomial_p']:.3g}")
    for col in ("group", "n", "bads", "mean PD", "observed", "binomial p"):
        t.add_column(col, justify="left" if col == "group" else "right")
    for key, rows in (("decile", rel["deciles"]), ("grade", rel["grades"])):
        for r in rows:
            t.add_row(f"{key} {r.get('bin', r.get('grade'))}", str(r["n"]), str(int(r["bads"])),
                      f"{r['mean_pd']:.4f}", f"{r['observed']:.4f}", f"{r['binomial_p']:.3g}")
    console.print(t)
    if not rel["passed"]:
        console.print(f"[bold red]CALIBRATION FAILS on the {met['split']['kind']} test rows[/] "
                      f"(see the warning above)", highlight=False)


@app.command()
def score(
    model: Path = typer.Option(..., "--model", help="Model directory written by `credit train`."),
    data: Path = typer.Option(..., "--data", help="Applications to score (CSV, Parquet, Excel, ARFF)."),
    out: Path = typer.Option(..., "--out", help="Output file (.csv or .parquet)."),
    top: int = typer.Option(3, "--top", min=0, help="Number of adverse reasons per row (0: none)."),
    reasons: str = typer.Option("treeshap", "--reasons",
                                help="Attribution behind the reasons of a LightGBM model: treeshap (exact) or "
                                     "path (precomputed path pushes, several times faster; docs/credit.md)."),
) -> None:
    """Score a file: PD, score and top reasons (English and Chinese) per row. Rows that cannot be
    scored get a `score_error` saying why; the rest are scored.

    Example: smepulse credit score --model models/v1 --data new_applications.csv --out scored.csv
    """
    if reasons not in ("treeshap", "path"):
        raise typer.BadParameter(f"must be treeshap or path, not {reasons!r}", param_hint="--reasons")
    m = load_model(model)
    df = read_table(data)
    if df.empty:  # a header and nothing under it: nothing to score is a mistake, not "mean PD nan"
        raise InputError("no rows to score", file=str(data))
    with _naming(data):  # like train's errors, a scoring error names the data file
        res, notes = m.score_frame(df, top_n=top, method=reasons)
    keep = [c for c in df.columns if c not in m.features]
    _write_table(df[keep].join(res), out)
    drift = res.attrs.get("drift")
    if drift is not None:  # PSI of the batch against the development sample, next to the scores
        side = out.with_name(out.name + ".drift.json")
        side.write_text(json.dumps(drift, indent=1))
        worst = max(drift["psi_features"].items(), key=lambda kv: kv[1], default=("-", 0.0))
        console.print(f"drift: PSI of PD {drift['psi_pd']:.3f}, largest feature PSI {worst[1]:.3f} ({worst[0]}); "
                      f"written to {side}", highlight=False)
    for n in notes:
        console.print(f"[yellow]warning:[/] {n}", highlight=False)
    bad = res["score_error"].notna()
    for i in list(res.index[bad])[:10]:
        console.print(f"  data row {i + 1}: {res.at[i, 'score_error']}", highlight=False)
    console.print(f"scored {int((~bad).sum())} of {len(res)} rows, mean PD {res['pd'].mean():.4f}; "
                  f"written to {out}")


@app.command()
def report(
    model_dir: Path = typer.Argument(..., help="Model directory written by `credit train`."),
    out: Path = typer.Option(..., "--out", help="HTML file to write (self-contained)."),
    lang: str = typer.Option("en", "--lang", help="Language of the report: en or zh."),
) -> None:
    """Write a self-contained HTML model report: ROC, calibration, score distribution, PSI,
    feature importance, fairness by protected group, (for scorecards) the score table and the model card.

    Example: smepulse credit report models/v1 --out models/v1/report.zh.html --lang zh
    """
    path = write_report(load_model(model_dir), out, lang=lang)
    console.print(f"report written to {path}")


@app.command()
def scorecard(
    model_dir: Path = typer.Argument(..., help="Directory of a model trained with --model scorecard."),
) -> None:
    """Print the scorecard's points table (variable, bin, points).

    Example: smepulse credit scorecard models/card
    """
    m = load_model(model_dir)
    if m.kind != "scorecard":
        raise CreditError(f"{model_dir} holds a {m.kind} model; train with --model scorecard for a points table")
    s = m.scaling
    t = Table(title=f"{m.manifest['model_version']}: {s.points:g} points at {s.odds:g}:1, PDO {s.pdo:g}")
    for col in ("variable", "bin", "points"):
        t.add_column(col, justify="right" if col == "points" else "left")
    for r in m.estimator.table().itertuples():
        t.add_row(str(r.Variable), str(r.Bin), f"{r.Points:.1f}")
    console.print(t)


cli_data.register(app)  # simulate and features: the data half of the pillar
