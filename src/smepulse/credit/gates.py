"""Gates, not warnings: what stops `train` from writing a model, and the drift check at scoring.

- sample: at least `MIN_ROWS` labelled rows and `MIN_EVENTS` of each class (bads and goods);
- target: two classes;
- leakage: a column that alone separates bads from goods (governance.leakage_check: the lower bound of
  its single-feature AUC above 0.8, so a small book's chance highs are not refused) is refused unless
  its timing metadata says it is known before the decision (a strong predictor, not a leak) or the
  user names it with `--allow-leaky COLUMN`; a column above 0.8 whose bound is not is named in one
  warning (too few bads to tell) and kept;
- censoring: rows whose outcome was not yet observable (the outcome window had not closed) are
  dropped with a count; they are never treated as rejects by reject inference;
- drift: the scored batch's distribution of every feature and of the PD is compared with the
  development sample stored in the model (PSI); above `DRIFT_WARN` the scorer warns.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from smepulse.credit.metadata import FeatureSpec
from smepulse.credit.notes import Note
from smepulse.errors import CreditError

MIN_ROWS = 100
MIN_EVENTS = 20
DRIFT_WARN = 0.25
DRIFT_MIN_ROWS = 100  # PSI on fewer rows is noise: not computed
BEFORE_DECISION = "before_decision"
CENSOR_NAMES = ("censored", "is_censored")
OPEN_WORDS = ("open", "current", "active", "outstanding", "not matured", "unmatured")


def check_sample(y: pd.Series, target: str, min_rows: int = MIN_ROWS, min_events: int = MIN_EVENTS) -> None:
    y = pd.Series(y).dropna()
    n, bads = len(y), int((y == 1).sum())
    goods = n - bads
    if bads == 0 or goods == 0:
        only = "bad (1)" if goods == 0 else "good (0)"
        raise CreditError(f"target '{target}' has one class only: all {n} labelled rows are {only}; "
                          "a PD model needs both defaults and non-defaults")
    if n < min_rows:
        raise CreditError(f"only {n} labelled rows for target '{target}' (minimum {min_rows}); "
                          "collect more outcomes before training")
    if min(bads, goods) < min_events:
        which = "bads (1)" if bads < goods else "goods (0)"
        raise CreditError(f"only {min(bads, goods)} {which} among {n} labelled rows for target '{target}' "
                          f"(minimum {min_events} of each class); collect more outcomes before training")


def censored_rows(df: pd.DataFrame, y: pd.Series, time: pd.Series | None, censor_column: str | None = None
                  ) -> tuple[np.ndarray, str]:
    """Rows with no outcome because its window had not closed: (mask, how it was decided).

    In order: an explicit `censor_column` (true = censored) or a column named `censored`; else an
    `outcome`/`status` column saying the loan is still open; else, when dated, rows without an
    outcome dated after the last row that has one (their window cannot have closed yet)."""
    missing = y.isna().to_numpy()
    if not missing.any():
        return np.zeros(len(y), bool), "none"
    col = censor_column or next((c for c in CENSOR_NAMES if c in df.columns), None)
    if censor_column and censor_column not in df.columns:
        raise CreditError(f"--censor-column '{censor_column}' is not a column of the data")
    if col:
        flag = df[col]
        truthy = flag.astype("string").str.strip().str.lower().isin(["1", "true", "yes", "y", "1.0"])
        return (truthy.fillna(False).to_numpy(bool) & missing), Note("censor_column", column=col)
    for c in ("outcome", "status", "loan_status"):
        if c in df.columns and not pd.api.types.is_numeric_dtype(df[c]):
            is_open = df[c].astype("string").str.strip().str.lower().isin(OPEN_WORDS).fillna(False).to_numpy(bool)
            if (is_open & missing).any():
                return is_open & missing, Note("censor_open", column=c)
    if time is not None:
        known = time[~missing]
        if known.notna().any():
            last = known.max()
            return (missing & (time > last).fillna(False).to_numpy(bool)), \
                Note("censor_dated", last=f"{last:%Y-%m-%d}")
    return np.zeros(len(y), bool), "none"


def leak_gate(leaks: list[dict], specs: dict[str, FeatureSpec], allow: tuple[str, ...] = ()) -> tuple[list, list]:
    """(refused, notes). A flagged column is fine when its metadata says it is known before the decision
    or when the user allowed it; every other flagged column is refused. Columns above the threshold but
    not flagged (their lower bound is not) are kept: one note names those without timing metadata."""
    refused, notes, unproven = [], [], []
    for lk in leaks:
        c, spec = lk["feature"], specs.get(lk["feature"])
        known = spec is not None and spec.timing == BEFORE_DECISION
        if not lk.get("flagged", True):
            lk["verdict"] = "kept: too few bads to tell from a strong predictor"
            if not known and c not in allow:
                unproven.append(lk)
        elif known:
            lk["verdict"] = "strong predictor (known before the decision by its metadata)"
            notes.append(Note("leak_known", column=c, auc=float(lk["auc"])))
        elif c in allow:
            lk["verdict"] = "allowed by --allow-leaky"
            notes.append(Note("leak_allowed", column=c, auc=float(lk["auc"])))
        else:
            lk["verdict"] = "refused"
            refused.append(lk)
    known = [n for n in notes if n.code == "leak_known"]
    if len(known) > MAX_KNOWN_NOTES:  # one line, not one per column (a large book of strong features)
        cols = ", ".join(f"{n.params['column']} ({n.params['auc']:.2f})" for n in known)
        notes = [Note("leak_known_many", n=len(known), columns=cols)] + [n for n in notes if n.code != "leak_known"]
    if unproven:
        cols = {"en": ", ".join(f"{lk['feature']} ({lk['auc']:.2f}, bound {lk['auc_low']:.2f})" for lk in unproven),
                "zh": "、".join(f"{lk['feature']}（{lk['auc']:.2f}，下限 {lk['auc_low']:.2f}）" for lk in unproven)}
        notes.append(Note("leak_unproven", n=len(unproven), bads=unproven[0]["n_bads"], columns=cols))
    return refused, notes


MAX_KNOWN_NOTES = 3


def refuse_leaks(refused: list[dict]) -> None:
    if refused:
        names = ", ".join(f"'{lk['feature']}' (AUC {lk['auc']:.3f}, lower bound {lk['auc_low']:.3f})"
                          for lk in refused[:5])
        first = refused[0]["feature"]
        verb = "separates" if len(refused) == 1 else "each separate"
        raise CreditError(f"probable leakage, model not written: {names} alone {verb} bads from goods; "
                          f"--exclude {first} if it is recorded after the outcome, or --allow-leaky {first} "
                          "if it is known at decision time (or set timing: before_decision in its metadata)")


# ------------------------------------------------------------------ drift
def _bins(s: pd.Series, categorical: bool, n: int = 10) -> dict:
    if categorical:
        share = s.astype("string").fillna("<NA>").value_counts(normalize=True)
        return {"kind": "categorical", "levels": share.index.tolist(), "share": share.to_numpy().tolist()}
    v = pd.to_numeric(s, errors="coerce").to_numpy(float)
    ok = ~np.isnan(v)
    edges = np.unique(np.quantile(v[ok], np.linspace(0, 1, n + 1)[1:-1])) if ok.any() else np.array([])
    counts = np.bincount(np.searchsorted(edges, v[ok], side="right"), minlength=len(edges) + 1)
    share = np.append(counts, (~ok).sum()) / max(1, len(v))
    return {"kind": "numeric", "edges": edges.tolist(), "share": share.tolist()}


def _shares(ref: dict, s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    if ref["kind"] == "categorical":
        txt = s.astype("string").fillna("<NA>")
        idx = {lv: i for i, lv in enumerate(ref["levels"])}
        codes = txt.map(lambda v: idx.get(v, len(idx))).to_numpy(int)  # unseen levels: one extra bin
        act = np.bincount(codes, minlength=len(idx) + 1) / max(1, len(s))
        return np.append(ref["share"], 0.0), act
    v = pd.to_numeric(s, errors="coerce").to_numpy(float)
    ok = ~np.isnan(v)
    counts = np.bincount(np.searchsorted(ref["edges"], v[ok], side="right"), minlength=len(ref["edges"]) + 1)
    return np.asarray(ref["share"], float), np.append(counts, (~ok).sum()) / max(1, len(v))


def psi_from(exp: np.ndarray, act: np.ndarray) -> float:
    e, a = np.clip(exp, 1e-4, None), np.clip(act, 1e-4, None)
    return float(np.sum((a - e) * np.log(a / e)))


def drift_reference(X: pd.DataFrame, pd_: np.ndarray, categorical) -> dict:
    """The development sample's distribution of each feature and of the PD (plain data, in model.json)."""
    cats = set(categorical)
    return {"n": int(len(X)), "features": {c: _bins(X[c], c in cats) for c in X.columns},
            "pd": _bins(pd.Series(pd_), False)}


def drift(reference: dict, X: pd.DataFrame, pd_: np.ndarray, warn: float = DRIFT_WARN) -> dict:
    """PSI of the batch against the development sample: per feature and of the PD."""
    feats = {c: round(psi_from(*_shares(ref, X[c])), 6) for c, ref in reference["features"].items() if c in X}
    out = {"n": int(len(X)), "reference_n": reference["n"], "threshold": warn,
           "psi_pd": round(psi_from(*_shares(reference["pd"], pd.Series(pd_))), 6), "psi_features": feats}
    out["drifted"] = sorted((c for c, v in feats.items() if v > warn), key=lambda c: -feats[c])
    return out


def drift_notes(d: dict) -> list[str]:
    notes = []
    if d["psi_pd"] > d["threshold"]:
        notes.append(Note("drift_pd", psi=float(d["psi_pd"]), threshold=d["threshold"]))
    if d["drifted"]:
        top = ", ".join(f"{c} {d['psi_features'][c]:.2f}" for c in d["drifted"][:5])
        notes.append(Note("drift_features", n=len(d["drifted"]), threshold=d["threshold"], top=top))
    return notes
