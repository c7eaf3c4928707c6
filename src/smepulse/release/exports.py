"""Exports of every release: CSV, Excel (one sheet per group), JSON and SDMX-CSV (docs/formats.md)."""
from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from smepulse.periods import QUARTER_RE
from smepulse.release.charts import specs
from smepulse.release.facts import build_facts, choose_adjustment, composite_order, is_provisional
from smepulse.release.safe import Outputs
from smepulse.spreadsheet import neutralise_frame

SERIES_COLUMNS = ["period", "series", "group", "adjustment", "value", "n", "n_eff", "up", "same", "down", "se",
                  "se_change", "ci_low", "ci_high", "flag", "vintage_id", "as_of", "kind"]
SDMX_COLUMNS = ["DATAFLOW", "FREQ", "INDICATOR", "BREAKDOWN", "BREAKDOWN_VALUE", "RESPONSE", "ADJUSTMENT",
                "TIME_PERIOD", "OBS_VALUE", "UNIT_MEASURE", "OBS_STATUS", "STD_ERROR", "CI_LOWER", "CI_UPPER",
                "RESPONDENTS", "EFFECTIVE_SAMPLE"]


ONE_DECIMAL = ("value", "ci_low", "ci_high", "up", "same", "down", "n_eff", "OBS_VALUE", "CI_LOWER", "CI_UPPER",
               "EFFECTIVE_SAMPLE")
TWO_DECIMALS = ("se", "se_change", "STD_ERROR")


def _round_half_up(x, places: int):
    if x is None or pd.isna(x) or not math.isfinite(float(x)):
        return x
    q = Decimal(1).scaleb(-places)
    return float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))


def round_as_published(df: pd.DataFrame) -> pd.DataFrame:
    """Values, intervals, shares and effective samples to one decimal, standard errors to two (halves away
    from zero, as the release shows them); every other column unchanged."""
    out = df.copy()
    for cols, places in ((ONE_DECIMAL, 1), (TWO_DECIMALS, 2)):
        for c in cols:
            if c in out.columns and pd.api.types.is_numeric_dtype(out[c]):
                out[c] = out[c].map(lambda x, p=places: _round_half_up(x, p)).astype(float)
    return out


def release_rows(data, period: str) -> pd.DataFrame:
    """The series published up to and including `period` (quarters up to its quarter), standard columns first."""
    df = data.series.copy()
    df["period"] = df["period"].astype(str)
    is_q = df["period"].str.match(QUARTER_RE.pattern)
    q_end = df.loc[is_q, "period"].map(lambda q: f"{q[:4]}-{int(q[-1]) * 3:02d}")
    keep = (~is_q & (df["period"] <= period)) | (is_q & (q_end.reindex(df.index) <= period))
    df = df[keep]
    cols = [c for c in SERIES_COLUMNS if c in df.columns] + [c for c in df.columns if c not in SERIES_COLUMNS]
    return df[cols].sort_values(["group", "series", "adjustment", "period"] if "adjustment" in df else
                                ["group", "series", "period"]).reset_index(drop=True)


def sheet_name(group: str, used: set) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\ ; unique."""
    name = "".join("_" if ch in "[]:*?/\\" else ch for ch in group)[:31]
    base, k = name, 2
    while name in used:
        name = f"{base[:28]}~{k}"
        k += 1
    used.add(name)
    return name


def to_sdmx(df: pd.DataFrame, methodology, dataflow: str | None = None, shares_only: set | None = None) -> pd.DataFrame:
    """SDMX-CSV (version 1 layout: DATAFLOW first, dimensions, TIME_PERIOD, OBS_VALUE, attributes).

    Index values get RESPONSE `_Z`; share-only questions get one row per answer code (RESPONSE = the code in
    capitals, UNIT_MEASURE `PC`). Quarters are written `2026-Q3`."""
    dataflow = dataflow or f"SMEPULSE:{methodology.name.upper().replace('-', '_')}({methodology.version})"
    shares_only = shares_only if shares_only is not None else {q.id for q in methodology.questions if q.shares_only}
    codes = {q.id: q.codes for q in methodology.questions}
    d = df.copy()
    d["period"] = d["period"].astype(str)
    quarter = d["period"].str.match(QUARTER_RE.pattern)
    time_period = d["period"].where(~quarter, d["period"].str.slice(0, 4) + "-Q" + d["period"].str.slice(5, 6))
    dim = d["group"].map(lambda g: "_T" if g == "all" else g.split("=", 1)[0].upper())
    val = d["group"].map(lambda g: "_T" if g == "all" else g.split("=", 1)[1].upper())
    adj = d["adjustment"].map({"sa": "S", "nsa": "N"}) if "adjustment" in d else "N"
    kind = d["kind"] if "kind" in d else pd.Series("final", index=d.index)
    flag = d["flag"] if "flag" in d else pd.Series(None, index=d.index)
    status = (kind.eq("flash").map({True: "P", False: "A"})).where(~flag.eq("suppressed"), "O")
    base = pd.DataFrame({
        "DATAFLOW": dataflow, "FREQ": quarter.map({True: "Q", False: "M"}), "INDICATOR": d["series"].str.upper(),
        "BREAKDOWN": dim, "BREAKDOWN_VALUE": val, "ADJUSTMENT": adj, "TIME_PERIOD": time_period,
        "OBS_STATUS": status,
        "STD_ERROR": d.get("se"), "CI_LOWER": d.get("ci_low"), "CI_UPPER": d.get("ci_high"),
        "RESPONDENTS": d.get("n"), "EFFECTIVE_SAMPLE": d.get("n_eff")})
    is_share = d["series"].isin(shares_only)
    index_rows = base[~is_share].assign(RESPONSE="_Z", OBS_VALUE=d.loc[~is_share, "value"], UNIT_MEASURE="IX")
    parts = [index_rows]
    for k, col in enumerate(("up", "same", "down")):
        if col not in d or not is_share.any():
            continue
        sub = d[is_share]
        parts.append(base[is_share].assign(
            RESPONSE=[codes[s][k].upper() for s in sub["series"]], OBS_VALUE=sub[col], UNIT_MEASURE="PC",
            STD_ERROR=math.nan, CI_LOWER=math.nan, CI_UPPER=math.nan))  # NaN, not None: the columns stay numeric
            # (an object column would escape round_as_published: 16-digit standard errors)
    out = pd.concat(parts, ignore_index=True)[SDMX_COLUMNS]
    return out.sort_values(["INDICATOR", "BREAKDOWN", "BREAKDOWN_VALUE", "RESPONSE", "ADJUSTMENT", "FREQ",
                            "TIME_PERIOD"]).reset_index(drop=True)


def excel_sheets(rows: pd.DataFrame, period: str, methodology, adjustment: str | None = None,
                 full_precision: bool = True) -> dict:
    """One sheet per group: a row per period (months, then quarterly averages), a column per series with the
    published value of `adjustment` (SA where the series has it, else NSA: the sheet says which), then the
    respondents (n) and standard error of the headline; share-only questions as their answer shares.
    A first sheet `release` holds every row of the release month in the tidy format."""
    adjustment = adjustment or choose_adjustment(rows, period)
    codes = {q.id: q.codes for q in methodology.questions if q.shares_only}
    order = {s: i for i, s in enumerate(composite_order(methodology) +
                                        [q.id for q in methodology.questions])}
    month = rows[rows["period"] == period].drop(columns=[c for c in ("vintage_id",) if c in rows])
    sheets = {"release": month if full_precision else round_as_published(month)}
    for g, part in rows.groupby("group", sort=False):
        has = part.groupby("series")["adjustment"].agg(lambda a: adjustment in set(a)) if "adjustment" in part \
            else None
        cols = {}
        for s in sorted(part["series"].unique(), key=lambda s: order.get(s, 999)):
            sub = part[part["series"] == s]
            if s in codes:
                sub = sub[sub["adjustment"] == "nsa"] if "adjustment" in sub else sub
                for code, col in zip(codes[s], ("up", "same", "down"), strict=False):
                    cols[f"{s} {code} %"] = sub.set_index("period")[col]
                continue
            adj = adjustment if has is None or has.get(s, False) else "nsa"
            if "adjustment" in sub:
                sub = sub[sub["adjustment"] == adj]
            name = s if adj == adjustment else f"{s} ({adj})"
            cols[name] = sub.set_index("period")["value"]
            if s == methodology.headline:
                cols[f"{s} n"] = sub.set_index("period")["n"]
                if "se" in sub:
                    cols[f"{s} se"] = sub.set_index("period")["se"]
        wide = pd.DataFrame(cols)
        wide.index.name = "period"
        if "kind" in part and (part["kind"] == "flash").any():  # a flash month says so on its row
            flash = set(part.loc[part["kind"] == "flash", "period"])
            wide.insert(0, "status", ["provisional" if p in flash else "final" for p in wide.index])
        if not full_precision:
            for c in wide.columns:
                if pd.api.types.is_numeric_dtype(wide[c]) and not str(c).endswith(" n"):
                    wide[c] = wide[c].map(lambda x, p=2 if str(c).endswith(" se") else 1: _round_half_up(x, p))
        wide = wide.sort_index(key=lambda i: i.map(lambda p: (len(p) != 7, p))).reset_index()
        sheets[str(g)] = wide
    return sheets


def write_excel(rows: pd.DataFrame, period: str, methodology, path: Path, adjustment: str | None = None,
                full_precision: bool = True) -> Path:
    """One sheet per group; every text cell and header neutralised (no formula from a label, docs/release.md)."""
    used: set = set()
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, frame in excel_sheets(rows, period, methodology, adjustment, full_precision).items():
            frame = neutralise_frame(frame)
            for c in frame.columns:
                if pd.api.types.is_datetime64_any_dtype(frame[c]) and getattr(frame[c].dt, "tz", None) is not None:
                    frame[c] = frame[c].dt.tz_localize(None)
            frame.to_excel(xw, sheet_name=sheet_name(name, used), index=False)
    return path


def _clean(x):
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    if isinstance(x, pd.Timestamp):
        return x.isoformat()
    return x


def release_json(data, period: str, methodology, facts, releases, rows: pd.DataFrame) -> dict:
    month = rows[rows["period"] == period]
    return {
        "survey": methodology.name, "methodology_version": methodology.version, "methodology_sha256":
            getattr(methodology, "sha256", None),
        "period": period, "provisional": is_provisional(data.series, period, methodology),
        "source": data.source, "as_of": data.as_of, "vintage": data.vintage,
        "adjustment": releases[0].adjustment if releases else None,
        "facts": [f.to_dict() for f in facts],
        "narrative": {r.lang: [{"title": p.title, "group": p.group, "sentences": p.sentences}
                               for p in r.narrative.paragraphs] for r in releases},
        "charts": {r.lang: specs(r.charts) for r in releases},
        "series": [{k: _clean(v) for k, v in rec.items()} for rec in month.to_dict(orient="records")],
    }


def write_exports(data, period: str, methodology, out_dir: str | Path, stem: str = "release", facts=None,
                  releases=None, full_precision: bool = False, outputs: Outputs | None = None) -> dict[str, Path]:
    """`{stem}_series.csv`, `{stem}_series.xlsx` (one sheet per group), `{stem}.json`, `{stem}_sdmx.csv`.

    Rounded as published (values one decimal, standard errors two) unless `full_precision`; text cells of the
    spreadsheet-bound files neutralised; the four files appear together or not at all (`outputs`: stage them
    with the other files of the same command)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = release_rows(data, period)
    if facts is None:
        facts = build_facts(data.series, period, methodology)
    shown = rows if full_precision else round_as_published(rows)
    fmt = "%.6f" if full_precision else None
    own = outputs is None
    o = Outputs(out_dir) if own else outputs
    try:
        written = {"csv": out_dir / f"{stem}_series.csv", "xlsx": out_dir / f"{stem}_series.xlsx",
                   "json": out_dir / f"{stem}.json", "sdmx": out_dir / f"{stem}_sdmx.csv"}
        neutralise_frame(shown).to_csv(o.path(written["csv"]), index=False, float_format=fmt)
        write_excel(rows, period, methodology, o.path(written["xlsx"]),
                    releases[0].adjustment if releases else None, full_precision=full_precision)
        o.path(written["json"]).write_text(json.dumps(
            release_json(data, period, methodology, facts, releases or [], shown), ensure_ascii=False, default=str,
            indent=1), encoding="utf-8")
        sdmx = to_sdmx(rows, methodology)
        sdmx = sdmx if full_precision else round_as_published(sdmx)
        neutralise_frame(sdmx).to_csv(o.path(written["sdmx"]), index=False, float_format=fmt)
    except BaseException:
        if own:
            o.discard()
        raise
    if own:
        o.commit()
    return written
