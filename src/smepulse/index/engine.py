"""The index engine: weighted answer shares for every question and group in one DuckDB pass.

One GROUPING SETS query computes, for each period and each group (all, each classification value, derived
groups such as non-manufacturing), the weighted total of each answer code of each question. Everything after
that works on the aggregated table, which is small (periods x groups rows).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from smepulse.index.compose import compose, quarterly
from smepulse.index.diffusion import FORMULAS
from smepulse.index.weighting import rake, targets_by_period
from smepulse.methodology import Methodology
from smepulse.survey.responses import Responses, _in_list, _q

COLUMNS = ["period", "series", "group", "adjustment", "value", "n", "n_eff", "up", "same", "down", "flag"]
SUPPRESSED = "suppressed"


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
    cases = [f"WHEN GROUPING({_q(d)}) = 0 THEN '{d}=' || {_q(d)}" for d in dims]
    cases += [f"WHEN GROUPING({_q(col)}) = 0 THEN '{dim}=' || {_q(col)}" for col, dim, _ in derived]
    return "CASE " + " ".join(cases) + " ELSE 'all' END" if cases else "'all'"


def _weighted_view(resp: Responses, frame: pd.DataFrame | None, notes: list[str]) -> str:
    con = resp.con
    if frame is None:
        con.execute("CREATE OR REPLACE TEMP VIEW weighted AS SELECT *, weight AS w FROM responses")
        return "design weights"
    dims = [d for d in frame["dimension"].unique() if d in resp.dimensions]
    missing = sorted(set(frame["dimension"]) - set(dims))
    if missing:
        notes.append(f"frame margins {missing} are not in the responses and were ignored")
    if not dims:
        con.execute("CREATE OR REPLACE TEMP VIEW weighted AS SELECT *, weight AS w FROM responses")
        return "design weights"
    dim_sql = ", ".join(_q(d) for d in dims)
    cells = con.execute(f"SELECT period, {dim_sql}, sum(weight) AS w FROM responses "
                        f"GROUP BY period, {dim_sql}").df()
    targets = targets_by_period(frame[frame["dimension"].isin(dims)], sorted(cells["period"].unique()))
    factor, rake_notes = rake(cells, targets, dims)
    notes.extend(rake_notes)
    cells["factor"] = factor
    con.register("weight_factors", cells[["period", *dims, "factor"]])
    con.execute(f"CREATE OR REPLACE TEMP VIEW weighted AS SELECT r.*, r.weight * f.factor AS w "
                f"FROM responses r JOIN weight_factors f USING (period, {dim_sql})")
    method = "post-stratified" if len(dims) == 1 else "raked"
    return f"{method} to {', '.join(dims)}"


def _aggregate(resp: Responses) -> pd.DataFrame:
    m = resp.methodology
    dims = resp.dimensions
    derived = [(f"{d}__{name}", d, name) for d in dims for name in m.classifications[d].derived]
    derived_sql = "".join(
        f", CASE WHEN {_q(d)} IN {_in_list(m.classifications[d].derived[name])} THEN '{name}' END AS {_q(col)}"
        for col, d, name in derived)
    aggs = ["count(*) AS respondents", "sum(w) AS sw", "sum(w * w) AS sw2"]
    for i, qid in enumerate(resp.questions):
        q = m.question(qid)
        col = _q(qid)
        aggs += [f"count({col}) AS n_{i}",
                 *[f"coalesce(sum(w) FILTER (WHERE {col} = '{code}'), 0) AS c{k}_{i}"
                   for k, code in enumerate(q.codes)],
                 f"coalesce(sum(w * w) FILTER (WHERE {col} IS NOT NULL), 0) AS s2_{i}"]
    sets = ["(period)"] + [f"(period, {_q(d)})" for d in dims] + [f"(period, {_q(c)})" for c, _, _ in derived]
    having = " AND ".join(f"NOT (GROUPING({_q(c)}) = 0 AND {_q(c)} IS NULL)" for c, _, _ in derived)
    sql = (f"WITH base AS (SELECT *{derived_sql} FROM weighted) "
           f"SELECT period, {_group_label_sql(dims, derived)} AS \"group\", {', '.join(aggs)} "
           f"FROM base GROUP BY GROUPING SETS ({', '.join(sets)})"
           + (f" HAVING {having}" if having else ""))
    return resp.con.execute(sql).df()


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


def input_hash(resp: Responses) -> str:
    """A content hash of the validated responses, independent of row order."""
    cols = [c for c in resp.columns if c != "_row"]
    row = " || '\x1f' || ".join(f"coalesce(CAST({_q(c)} AS VARCHAR), '')" for c in cols)
    h = resp.con.execute(f"SELECT bit_xor(hash({row})), count(*) FROM responses").fetchall()[0]
    return hashlib.sha256(f"{resp.methodology.sha256}:{h[0]}:{h[1]}".encode()).hexdigest()


def compute(resp: Responses, frame: pd.DataFrame | None = None, min_n: int | None = None,
            quarters: bool = True) -> IndexResult:
    """Every question index, composite and headline, for every period and group, plus quarterly averages."""
    m = resp.methodology
    notes: list[str] = []
    weighting = _weighted_view(resp, frame, notes)
    notes.insert(0, f"weights: {weighting}")
    agg = _aggregate(resp)
    questions = _question_rows(agg, resp)
    # Composites use index questions only; shares-only questions have no value.
    comp = compose(questions[questions["value"].notna()], m)
    sizes = agg[["period", "group", "respondents", "sw", "sw2"]]
    comp = comp.merge(sizes, on=["period", "group"], how="left")
    comp["n"] = comp.pop("respondents").astype("int64")
    comp["n_eff"] = comp.pop("sw") ** 2 / comp.pop("sw2")
    out = pd.concat([questions, comp], ignore_index=True)
    minimum = m.publication_minimum if min_n is None else min_n
    low = out["n"] < minimum
    out["flag"] = np.where(low, SUPPRESSED, "")
    out.loc[low, ["value", "up", "same", "down"]] = np.nan
    out["adjustment"] = "nsa"
    series_order = {s: i for i, s in enumerate([q.id for q in m.questions] + [c.id for c in m.composites])}
    group_order = {g: i for i, g in enumerate(_group_order(m, resp.dimensions))}
    if quarters:
        q = quarterly(out[out["flag"] != SUPPRESSED])
        q["flag"] = ""
        out = pd.concat([out, q], ignore_index=True)
    out = out.assign(_s=out["series"].map(series_order), _g=out["group"].map(group_order))
    out = out.sort_values(["period", "_s", "_g"], kind="stable").drop(columns=["_s", "_g"])
    if int(low.sum()):
        notes.append(f"{int(low.sum())} cells with fewer than {minimum} answers are flagged '{SUPPRESSED}' "
                     "and have no value")
    return IndexResult(out[COLUMNS].reset_index(drop=True), m, input_hash(resp), notes)
