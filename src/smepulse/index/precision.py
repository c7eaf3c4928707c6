"""Sampling error: a stratified Rao-Wu rescaled bootstrap over firms, with the weighting redone per replicate.

Firms are the sampling units: one set of bootstrap multipliers per firm is drawn once and used in every
month, so the standard error of the change on the month reflects the panel's overlap. In stratum h with n_h
firms, each replicate draws n_h - 1 firms with replacement and scales the counts by n_h / (n_h - 1)
(Rao & Wu, 1988); its variance estimates the design variance of a with-replacement design.

All arithmetic is vectorised over replicates: per month, replicate weights (B x N) times a sparse indicator
matrix (N x group-question-answer columns) gives every replicate's tallies in one product.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import norm
from scipy.stats import t as student_t

from smepulse.errors import InputError
from smepulse.index.compose import SUPPRESSED, compose_values
from smepulse.index.weighting import RAKE_MAX_ITER, RAKE_TOLERANCE, targets_by_period
from smepulse.methodology import Methodology
from smepulse.survey.responses import Responses
from smepulse.survey.sql import quote_ident


def _multipliers(strata: np.ndarray, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """B x F Rao-Wu multipliers; strata with a single firm contribute no variance (multiplier 1)."""
    mult = np.ones((replicates, len(strata)), dtype=np.float64)
    for h in np.unique(strata):
        idx = np.flatnonzero(strata == h)
        n = len(idx)
        if n < 2:
            continue
        draws = rng.integers(0, n, size=(replicates, n - 1))
        counts = np.zeros((replicates, n))
        np.add.at(counts, (np.arange(replicates)[:, None], draws), 1.0)
        mult[:, idx] = counts * n / (n - 1)
    return mult


def _rake(totals: np.ndarray, members: list[np.ndarray], shares: list[np.ndarray]) -> np.ndarray:
    """IPF on B x K cell totals: members[d][k] = category of cell k on margin d, shares[d][v] its target.

    Iterates to the estimate's tolerance (`weighting.RAKE_TOLERANCE`, at most `RAKE_MAX_ITER` passes), so
    each replicate is weighted exactly as the estimate is."""
    t = totals.copy()
    grand = totals.sum(axis=1, keepdims=True)
    onehots = [np.eye(len(sh))[mem] for mem, sh in zip(members, shares, strict=True)]  # K x V each
    targets = [grand * sh[None, :] for sh in shares]
    for _ in range(RAKE_MAX_ITER):
        worst = 0.0
        for mem, onehot, target in zip(members, onehots, targets, strict=True):
            cur = t @ onehot                              # B x V
            with np.errstate(invalid="ignore", divide="ignore"):
                off = np.where(grand > 0, np.abs(cur - target) / grand, 0.0)
            worst = max(worst, float(np.max(off[cur > 0], initial=0.0)))
            ratio = np.divide(target, cur, out=np.zeros_like(cur), where=cur > 0)
            t = t * ratio[:, mem]
        if worst < RAKE_TOLERANCE:
            break
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, t / totals, 0.0)


class _Month:
    """One month's respondents in array form."""

    def __init__(self, df: pd.DataFrame, m: Methodology, dims: list[str], questions: list[str]):
        self.firm = df["_firm"].to_numpy()
        self.weight = df["weight"].to_numpy(dtype=float)
        self.codes = df[questions].to_numpy(dtype=float)  # 0, 1, 2 or NaN
        self.labels: list[str] = ["all"]
        member_cols = [np.zeros(len(df), dtype=np.int64)]
        for d in dims:
            vals = list(m.classifications[d].values)
            code = df[d].map({v: i for i, v in enumerate(vals)}).to_numpy()
            member_cols.append(len(self.labels) + code)
            self.labels += [f"{d}={v}" for v in vals]
            for name, members in m.classifications[d].derived.items():
                inside = df[d].isin(members).to_numpy()
                member_cols.append(np.where(inside, len(self.labels), -1))
                self.labels.append(f"{d}={name}")
        self.membership = np.stack(member_cols, axis=1)  # N x (memberships), -1 = not a member

    def indicator(self, n_q: int) -> sparse.csr_matrix:
        """N x (G * Q * 3): firm i answered question q with code c and belongs to group g."""
        n, G = len(self.firm), len(self.labels)
        rows, cols = [], []
        for j in range(self.membership.shape[1]):
            g = self.membership[:, j]
            for q in range(n_q):
                c = self.codes[:, q]
                ok = (g >= 0) & ~np.isnan(c)
                rows.append(np.flatnonzero(ok))
                cols.append((g[ok] * n_q + q) * 3 + c[ok].astype(np.int64))
        r, c = np.concatenate(rows), np.concatenate(cols)
        return sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(n, G * n_q * 3))


def _index_values(tallies: np.ndarray, m: Methodology, qobjs) -> np.ndarray:
    """tallies B x G x Q x 3 -> index values B x G x Q (NaN where nobody answered)."""
    total = tallies.sum(axis=3)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = 100 * tallies / total[..., None]
    inverted = np.array([q.inverted for q in qobjs])
    better = np.where(inverted[None, None, :], share[..., 2], share[..., 0])
    worse = np.where(inverted[None, None, :], share[..., 0], share[..., 2])
    if m.formula == "diffusion":
        return better + 0.5 * share[..., 1]
    return better - worse


def _std(arr: np.ndarray) -> np.ndarray:
    """Standard deviation over replicates (axis 0); NaN where fewer than two replicates have a value."""
    ok = (~np.isnan(arr)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(arr, axis=0) / ok
        sd = np.sqrt(np.nansum((arr - mean) ** 2, axis=0) / (ok - 1))
    return np.where(ok > 1, sd, np.nan)


def _suppressed_cells(published: pd.DataFrame | None) -> dict[str, list[tuple[str, str]]]:
    """period -> (series, group) cells the estimate suppressed."""
    if published is None or "flag" not in published.columns:
        return {}
    sup = published[published["flag"] == SUPPRESSED]
    out: dict[str, list[tuple[str, str]]] = {}
    for period, series, group in zip(sup["period"], sup["series"], sup["group"], strict=True):
        out.setdefault(period, []).append((series, group))
    return out


def bootstrap(resp: Responses, frame: pd.DataFrame | None = None, replicates: int | None = None,
              seed: int | None = None, multipliers: pd.DataFrame | None = None,
              published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Standard errors and the SE of the change on the month for every index, series and group.

    multipliers: a statistics office's own replicate weight factors instead of the bootstrap, as a
    DataFrame indexed by firm_id with one column per replicate. Returns tidy rows: period, series,
    group, se, se_change (monthly and quarterly), and the replicate values in `attrs["replicates"]`.

    published: the estimate's tidy series (from `compute`). Its suppressed question cells are left out of
    every replicate's composites, exactly as the estimate leaves them out (disclosure control), so the
    standard errors are those of the published composites.
    """
    m = resp.methodology
    B = replicates or m.sampling.replicates
    rng = np.random.default_rng(m.sampling.seed if seed is None else seed)
    z = norm.ppf(0.5 + m.sampling.confidence / 2)
    dims = resp.dimensions
    qobjs = [m.question(q) for q in resp.questions if not m.question(q).shares_only]
    qids = [q.id for q in qobjs]
    enc = ", ".join(f"CASE {quote_ident(q.id)} " + " ".join(f"WHEN '{c}' THEN {k}" for k, c in enumerate(q.codes))
                    + f" END::TINYINT AS {quote_ident(q.id)}" for q in qobjs)
    # Ordered by the full key (period, firm): firms are numbered, and their multipliers drawn, in the same order
    # whatever the order of the rows in the file or the store.
    df = resp.con.execute(f"SELECT period, firm_id, {', '.join(quote_ident(d) for d in dims)}{',' if dims else ''} "
                          f"weight, {enc} FROM {quote_ident(resp.table)} ORDER BY period, firm_id").df()
    df["_firm"], firms = pd.factorize(df["firm_id"])
    strata_cols = [d for d in m.sampling.strata if d in dims]
    first = df.drop_duplicates("_firm").sort_values("_firm")
    strata = pd.MultiIndex.from_frame(first[strata_cols].astype(str)).factorize()[0] if strata_cols \
        else np.zeros(len(firms), dtype=np.int64)
    if multipliers is not None:
        missing = set(firms) - set(multipliers.index.astype(str))
        if missing:
            raise InputError(f"replicate weights missing for firms {sorted(missing)[:5]}", column="firm_id")
        mult = multipliers.loc[list(firms)].to_numpy(dtype=float).T
        B = mult.shape[0]
    else:
        mult = _multipliers(np.asarray(strata), B, rng)
    rake_dims = [d for d in (frame["dimension"].unique() if frame is not None else []) if d in dims]
    targets = targets_by_period(frame[frame["dimension"].isin(rake_dims)], sorted(df["period"].unique())) \
        if rake_dims else None

    masked = _suppressed_cells(published)
    composite_ids = {c.id for c in m.composites}
    rows, by_period = [], {}
    for period, g in df.groupby("period", sort=True):
        month = _Month(g, m, dims, qids)
        W = mult[:, month.firm] * month.weight[None, :]                       # B x N
        if rake_dims:
            cell, keys = pd.MultiIndex.from_frame(g[rake_dims]).factorize()  # keys: tuples, one per cell
            onehot = sparse.csr_matrix((np.ones(len(cell)), (np.arange(len(cell)), cell)),
                                       shape=(len(cell), len(keys)))
            totals = np.asarray((onehot.T @ W.T).T)                          # B x K
            members, shares = [], []
            for d in rake_dims:
                vals = list(m.classifications[d].values)
                cell_val = np.array([vals.index(k[rake_dims.index(d)]) for k in keys])
                t = targets[(targets["period"] == period) & (targets["dimension"] == d)]
                sh = np.array([float(t.loc[t["value"] == v, "share"].sum()) for v in vals])
                present = np.zeros(len(vals), dtype=bool)
                present[cell_val] = True
                sh = np.where(present, sh, 0.0)
                members.append(cell_val)
                shares.append(sh / sh.sum())
            W = W * _rake(totals, members, shares)[:, cell]
        tallies = np.asarray((month.indicator(len(qids)).T @ W.T).T)       # B x (G*Q*3)
        tallies = tallies.reshape(B, len(month.labels), len(qids), 3)
        values = _index_values(tallies, m, qobjs)
        vals = {q: values[:, :, i] for i, q in enumerate(qids)}
        hidden = {}
        for series, group in masked.get(period, ()):
            if group not in month.labels:
                continue
            g = month.labels.index(group)
            if series in vals:
                vals[series][:, g] = np.nan
                hidden.setdefault(series, np.zeros(vals[series].shape, dtype=bool))[:, g] = True
            elif series in composite_ids:  # withheld as the estimate withheld it (complementary suppression)
                hidden.setdefault(series, np.zeros((B, len(month.labels)), dtype=bool))[:, g] = True
        compose_values(vals, m, hidden)
        by_period[period] = (month.labels, vals)

    periods = sorted(by_period)
    for i, period in enumerate(periods):
        labels, vals = by_period[period]
        prev = by_period.get(periods[i - 1]) if i > 0 else None
        for name, arr in vals.items():
            se = _std(arr)
            if prev is not None and name in prev[1]:
                # groups are laid out the same way every month (all, then each classification's values)
                se_change = _std(arr - prev[1][name]) if prev[0] == labels else np.full(arr.shape[1], np.nan)
            else:
                se_change = np.full(arr.shape[1], np.nan)
            rows.append(pd.DataFrame({"period": period, "series": name, "group": labels, "se": se,
                                      "se_change": se_change}))
    # quarterly averages: the SE of the mean of the three monthly replicate values
    quarters: dict[str, list[str]] = {}
    for p in periods:
        quarters.setdefault(f"{p[:4]}Q{(int(p[5:7]) - 1) // 3 + 1}", []).append(p)
    for q, ps in quarters.items():
        if len(ps) != 3:
            continue
        labels = by_period[ps[0]][0]
        for name in by_period[ps[0]][1]:
            with np.errstate(invalid="ignore"):
                mean = sum(by_period[p][1][name] for p in ps) / 3
            rows.append(pd.DataFrame({"period": q, "series": name, "group": labels,
                                      "se": _std(mean), "se_change": np.nan}))
    out = pd.concat(rows, ignore_index=True)
    out.attrs["z"] = z
    out.attrs["replicates"] = by_period
    return out


def interval_quantile(n_eff: pd.Series | np.ndarray, confidence: float) -> np.ndarray:
    """The two-sided quantile of Student's t on n_eff - 1 degrees of freedom (at least 1): near the
    publication minimum (n_eff about 30) the normal quantile's intervals cover too little; for large
    samples this is the normal quantile."""
    dof = np.maximum(np.nan_to_num(np.asarray(n_eff, dtype=float), nan=np.inf) - 1.0, 1.0)
    return student_t.ppf(0.5 + confidence / 2, dof)


def attach(series: pd.DataFrame, errors: pd.DataFrame, m: Methodology) -> pd.DataFrame:
    """Join standard errors to the tidy series and add the confidence interval (value +- q SE, q the t
    quantile on the effective sample: `interval_quantile`)."""
    out = series.drop(columns=[c for c in ("se", "se_change", "ci_low", "ci_high") if c in series.columns])
    out = out.merge(errors, on=["period", "series", "group"], how="left")
    if "n_eff" in out.columns:
        q = interval_quantile(out["n_eff"], m.sampling.confidence)
    else:
        q = errors.attrs.get("z", norm.ppf(0.5 + m.sampling.confidence / 2))
    lo, hi = (0.0, 100.0) if m.formula == "diffusion" else (-100.0, 100.0)
    out["ci_low"] = (out["value"] - q * out["se"]).clip(lo, hi)
    out["ci_high"] = (out["value"] + q * out["se"]).clip(lo, hi)
    out.loc[out["value"].isna(), ["se", "se_change", "ci_low", "ci_high"]] = np.nan
    return out
