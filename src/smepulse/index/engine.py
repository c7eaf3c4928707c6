"""The index engine: weighted answer shares for every question and group in one DuckDB pass.

One GROUPING SETS query computes, for each period and each group (all, each classification value, derived
groups such as non-manufacturing), the weighted total of each answer code of each question. Everything after
that works on the aggregated table, which is small (periods x groups rows).
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from smepulse.errors import InputError
from smepulse.index.compose import SUPPRESSED, compose, quarterly
from smepulse.index.diffusion import FORMULAS
from smepulse.index.disclosure import complementary_suppression
from smepulse.index.weighting import rake, targets_by_period
from smepulse.methodology import Methodology
from smepulse.survey.responses import Responses
from smepulse.survey.sql import in_list, quote_ident

COLUMNS = ["period", "series", "group", "adjustment", "value", "n", "n_eff", "up", "same", "down", "se",
           "se_change", "ci_low", "ci_high", "flag"]


@dataclass
class IndexResult:
    """Indices with their provenance. `series` is the tidy table `compute` writes."""
    series: pd.DataFrame
    methodology: Methodology
    input_hash: str
    notes: list[str] = field(default_factory=list)

    def latest_period(self) -> str:
        months = self.series.loc[self.series["period"].str.len() == 7, "period"]
        return str(months.max())

    def summary(self) -> str:
        m = self.methodology
        s = self.series
        months = s[s["period"].str.len() == 7]
        lines = [f"{m.title.en} ({m.name} {m.version}), inputs sha256 {self.input_hash[:12]}",
                 f"{months['period'].nunique()} months, {s['series'].nunique()} series, "
                 f"{s['group'].nunique()} groups, {int((s['flag'] == SUPPRESSED).sum())} cells suppressed"]
        return "\n".join(lines + self.notes)


def _group_label_sql(dims: list[str], derived: list[tuple[str, str, str]]) -> str:
    cases = [f"WHEN GROUPING({quote_ident(d)}) = 0 THEN '{d}=' || {quote_ident(d)}" for d in dims]
    cases += [f"WHEN GROUPING({quote_ident(col)}) = 0 THEN '{dim}=' || {quote_ident(col)}" for col, dim, _ in derived]
    return "CASE " + " ".join(cases) + " ELSE 'all' END" if cases else "'all'"


def _cells(resp: Responses) -> pd.DataFrame:
    """Design-weighted answer tallies per finest cell (period x every classification): the one pass over
    the data. CASE sums, not FILTER clauses: DuckDB runs them several times faster."""
    m = resp.methodology
    keys = ", ".join(["period", *(quote_ident(d) for d in resp.dimensions)])
    aggs = ["count(*) AS respondents", "sum(weight) AS sw", "sum(weight * weight) AS sw2"]
    for i, qid in enumerate(resp.questions):
        col = quote_ident(qid)
        aggs += [f"count({col}) AS n_{i}",
                 *[f"sum(CASE WHEN {col} = '{code}' THEN weight ELSE 0 END) AS c{k}_{i}"
                   for k, code in enumerate(m.question(qid).codes)],
                 f"sum(CASE WHEN {col} IS NOT NULL THEN weight * weight ELSE 0 END) AS s2_{i}"]
    return resp.con.execute(f"SELECT {keys}, {', '.join(aggs)} FROM {quote_ident(resp.table)} GROUP BY {keys}").df()


def _reweight(cells: pd.DataFrame, resp: Responses, frame: pd.DataFrame | None, notes: list[str]) -> str:
    """Scale each cell's weighted tallies by its raking factor (weights are constant multiples within a cell,
    so sums of w scale by the factor and sums of w squared by its square)."""
    if frame is None:
        return "design weights"
    dims = [d for d in frame["dimension"].unique() if d in resp.dimensions]
    missing = sorted(set(frame["dimension"]) - set(dims))
    if missing:
        notes.append(f"frame margins {missing} are not in the responses and were ignored")
    if not dims:
        return "design weights"
    margin_cells = cells.groupby(["period", *dims], as_index=False, observed=True)["sw"].sum() \
        .rename(columns={"sw": "w"})
    targets = targets_by_period(frame[frame["dimension"].isin(dims)], sorted(margin_cells["period"].unique()))
    factor, rake_notes = rake(margin_cells, targets, dims)
    notes.extend(rake_notes)
    margin_cells["factor"] = factor
    f = cells[["period", *dims]].merge(margin_cells, on=["period", *dims], how="left")["factor"].to_numpy()
    m = resp.methodology
    linear = ["sw"] + [f"c{k}_{i}" for i, q in enumerate(resp.questions) for k in range(len(m.question(q).codes))]
    square = ["sw2"] + [f"s2_{i}" for i in range(len(resp.questions))]
    cells[linear] = cells[linear].to_numpy() * f[:, None]
    cells[square] = cells[square].to_numpy() * (f * f)[:, None]
    method = "post-stratified" if len(dims) == 1 else "raked"
    return f"{method} to {', '.join(dims)}"


def _aggregate(resp: Responses, cells: pd.DataFrame) -> pd.DataFrame:
    """Roll the (small) cell table up to every group with GROUPING SETS."""
    m = resp.methodology
    dims = resp.dimensions
    derived = [(f"{d}__{name}", d, name) for d in dims for name in m.classifications[d].derived]
    derived_sql = "".join(
        f", CASE WHEN {quote_ident(d)} IN {in_list(m.classifications[d].derived[name])} THEN '{name}' END "
        f"AS {quote_ident(col)}" for col, d, name in derived)
    sums = [c for c in cells.columns if c not in ("period", *dims)]
    sets = (["(period)"] + [f"(period, {quote_ident(d)})" for d in dims]
            + [f"(period, {quote_ident(c)})" for c, _, _ in derived])
    having = " AND ".join(f"NOT (GROUPING({quote_ident(c)}) = 0 AND {quote_ident(c)} IS NULL)" for c, _, _ in derived)
    name = f"_cells_{uuid.uuid4().hex[:12]}"  # own name: two computes on one connection never share it
    resp.con.register(name, cells)
    sql = (f"WITH base AS (SELECT *{derived_sql} FROM {quote_ident(name)}) "
           f"SELECT period, {_group_label_sql(dims, derived)} AS \"group\", "
           + ", ".join(f"sum({c}) AS {c}" for c in sums)
           + f" FROM base GROUP BY GROUPING SETS ({', '.join(sets)})"
           + (f" HAVING {having}" if having else ""))
    out = resp.con.execute(sql).df()
    resp.con.unregister(name)
    return out


def _group_order(m: Methodology, dims: list[str]) -> list[str]:
    order = ["all"]
    for d in dims:
        order += [f"{d}={v}" for v in m.classifications[d].values]
        order += [f"{d}={name}" for name in m.classifications[d].derived]
    return order


def _question_rows(agg: pd.DataFrame, resp: Responses) -> pd.DataFrame:
    m = resp.methodology
    formula = FORMULAS[m.formula]
    frames = []
    for i, qid in enumerate(resp.questions):
        q = m.question(qid)
        c = np.stack([agg[f"c{k}_{i}"].to_numpy(dtype=float) for k in range(3)])
        total = c.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(total > 0, 100.0 * c / np.where(total > 0, total, 1), np.nan)
            n_eff = np.where(agg[f"s2_{i}"] > 0, total ** 2 / agg[f"s2_{i}"].to_numpy(dtype=float), 0.0)
        value = np.full(len(agg), np.nan) if q.shares_only else formula(*shares, inverted=q.inverted)
        frames.append(pd.DataFrame({
            "period": agg["period"], "series": qid, "group": agg["group"], "value": value,
            "n": agg[f"n_{i}"].astype("int64"), "n_eff": n_eff,
            "up": shares[0], "same": shares[1], "down": shares[2]}))
    return pd.concat(frames, ignore_index=True)


def _composites(questions: pd.DataFrame, agg: pd.DataFrame, m: Methodology, dims: list[str],
                minimum: float) -> tuple[pd.DataFrame, int]:
    """Composite cells from the published question cells, suppressed below the minimum and as complements
    across groups; a withheld composite is recomposed out of the composites above it (the headline). Returns
    the rows and the number of complementary suppressions."""
    sizes = agg[["period", "group", "respondents", "sw", "sw2"]]
    withheld = pd.DataFrame(columns=["period", "group", "series"])
    while True:  # each round withholds more cells, so this ends
        forced = withheld.assign(value=np.nan, flag=SUPPRESSED)
        comp = compose(pd.concat([questions, forced], ignore_index=True), m)
        comp = comp.merge(sizes, on=["period", "group"], how="left")
        comp["n"] = comp.pop("respondents").astype("int64")
        comp["n_eff"] = comp.pop("sw") ** 2 / comp.pop("sw2")
        c_low = (comp["n_eff"].fillna(0) < minimum) | comp["value"].isna()
        comp["flag"] = np.where(c_low, SUPPRESSED, "")
        extra = complementary_suppression(comp, m, dims, minimum)
        if not extra.any():
            break
        withheld = pd.concat([withheld, comp.loc[extra, ["period", "group", "series"]]], ignore_index=True)
    comp.loc[comp["flag"] == SUPPRESSED, "value"] = np.nan
    return comp, len(withheld)


def input_hash(resp: Responses) -> str:
    """A hash of the inputs: the source file's bytes when there is one, else the rows' content (any order)."""
    if resp.file_sha256:
        return hashlib.sha256(f"{resp.methodology.sha256}:{resp.file_sha256}".encode()).hexdigest()
    cols = [c for c in resp.columns if c != "_row"]
    h = resp.con.execute(f"SELECT bit_xor(hash({', '.join(quote_ident(c) for c in cols)})), count(*) "
                         f"FROM {quote_ident(resp.table)}").fetchall()[0]
    return hashlib.sha256(f"{resp.methodology.sha256}:{h[0]}:{h[1]}".encode()).hexdigest()


def compute(resp: Responses, frame: pd.DataFrame | None = None, min_n: int | None = None,
            quarters: bool = True) -> IndexResult:
    """Every question index, composite and headline, for every period and group, plus quarterly averages."""
    m = resp.methodology
    notes: list[str] = []
    cells = _cells(resp)
    weighting = _reweight(cells, resp, frame, notes)
    notes.insert(0, f"weights: {weighting}")
    agg = _aggregate(resp, cells)
    questions = _question_rows(agg, resp)
    minimum = m.publication_minimum if min_n is None else min_n
    if not minimum >= 0:
        raise InputError(f"the publication minimum is an effective sample, 0 or more; got {minimum!r}")
    # Disclosure control: suppress question cells first (below the minimum, then complementary cells across
    # groups), then compose only from the published ones (disclosure.py, docs/precision.md).
    q_low = questions["n_eff"].fillna(0) < minimum
    questions["flag"] = np.where(q_low, SUPPRESSED, "")
    q_low |= complementary_suppression(questions, m, resp.dimensions, minimum)
    questions["flag"] = np.where(q_low, SUPPRESSED, "")
    questions.loc[q_low, ["value", "up", "same", "down"]] = np.nan
    secondary = int(q_low.sum()) - int((questions["n_eff"].fillna(0) < minimum).sum())
    comp, extra = _composites(questions[questions["value"].notna() | q_low], agg, m, resp.dimensions, minimum)
    secondary += extra
    if secondary:
        notes.append(f"{secondary} more cells flagged '{SUPPRESSED}' as complements, so that no suppressed cell "
                     "can be computed from published groups (docs/precision.md)")
    out = pd.concat([questions, comp], ignore_index=True)
    low = out["flag"] == SUPPRESSED
    out["adjustment"] = "nsa"
    for c in ("se", "se_change", "ci_low", "ci_high"):  # filled by precision.attach when requested
        out[c] = np.nan
    series_order = {s: i for i, s in enumerate([q.id for q in m.questions] + [c.id for c in m.composites])}
    group_order = {g: i for i, g in enumerate(_group_order(m, resp.dimensions))}
    if quarters:
        q = quarterly(out[out["flag"] != SUPPRESSED])
        q["flag"] = ""
        for c in ("se", "se_change", "ci_low", "ci_high"):
            q[c] = np.nan
        out = pd.concat([out, q], ignore_index=True)
    out = out.assign(_s=out["series"].map(series_order), _g=out["group"].map(group_order))
    out = out.sort_values(["period", "_s", "_g"], kind="stable").drop(columns=["_s", "_g"])
    if int(low.sum()):
        primary = int(low.sum()) - secondary
        notes.append(f"{primary} cells with an effective sample below {minimum} (or too few published components)"
                     f" are flagged '{SUPPRESSED}' and have no value")
    return IndexResult(out[COLUMNS].reset_index(drop=True), m, input_hash(resp), notes)
