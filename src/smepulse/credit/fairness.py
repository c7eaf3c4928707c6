"""Fairness checks by protected group: approval, PD, calibration and AUC per group, and the
adverse-impact ratio. Protected columns are used to *check* the model, never as its features.

- Which columns: those named by the user (`protected=`, the CLI's `--protected`), else every
  column whose name matches the protected-attribute policy (credit/protected.yaml: gender, sex,
  marital status, race...) and that holds few distinct values; an age column is checked only when
  named, in bands (under 25, 25-34, ..., 65 and over). Whatever is checked is dropped from the features.
- Approval: a PD at or below the cut-off. The cut-off is the PD that approves `APPROVE_SHARE` (80%)
  of the training rows unless given, so it is fixed before the test rows are seen.
- Adverse-impact ratio (AIR): a group's approval rate over the approval rate of the most approved
  group (groups of at least `MIN_GROUP` rows). Below 0.8 (the four-fifths rule of the US EEOC
  Uniform Guidelines, 29 CFR 1607.4(D), used by fair-lending reviews as a screen) it is flagged.
- Calibration by group: mean PD against the observed bad rate, with an exact binomial test: a model
  can approve groups equally and still under-state one group's risk.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score

from smepulse.credit.notes import Note
from smepulse.errors import CreditError

APPROVE_SHARE = 0.8
AIR_FLAG = 0.8
MIN_GROUP = 30
MAX_LEVELS = 10
AGE_BANDS = [0, 25, 35, 45, 55, 65, np.inf]
AGE_LABELS = ["<25", "25-34", "35-44", "45-54", "55-64", "65+"]
_AGE = re.compile(r"(.*_)?age(_years?)?", re.IGNORECASE)


def protected_columns(df: pd.DataFrame, patterns: list[str], named=None, exclude=()) -> list[str]:
    """The columns to check: `named` when given (each must exist), else policy-pattern matches with
    at most MAX_LEVELS distinct values that are not ages."""
    if named:
        missing = [c for c in named if c not in df.columns]
        if missing:
            raise CreditError(f"--protected names a column that is not in the data: '{missing[0]}'")
        return list(dict.fromkeys(named))
    pats = [re.compile(p, re.IGNORECASE) for p in patterns]
    return [c for c in df.columns if c not in exclude and any(p.fullmatch(str(c)) for p in pats)
            and not _AGE.fullmatch(str(c)) and df[c].nunique(dropna=True) <= MAX_LEVELS]


def groups_of(s: pd.Series) -> pd.Series:
    """Group labels: age-like numbers in bands, everything else as text (missing = 'missing')."""
    if _AGE.fullmatch(str(s.name)) and pd.api.types.is_numeric_dtype(s) and s.nunique() > MAX_LEVELS:
        return pd.cut(s, AGE_BANDS, right=False, labels=AGE_LABELS).astype("string").fillna("missing")
    return s.astype("string").str.strip().fillna("missing")


def _binom_p(bads: int, n: int, p: float) -> float:
    return float(stats.binomtest(bads, n, min(max(p, 1e-12), 1 - 1e-12)).pvalue) if n else float("nan")


def fairness_table(groups: pd.Series, y, pd_, cutoff: float, spec=None) -> dict:
    """One attribute: a row per group and the adverse-impact ratios. With the attribute's FeatureSpec,
    each group also carries its readable label in en and zh (`label_en`, `label_zh`; the code itself
    where the metadata has no label), e.g. German credit's A92 -> "female, divorced/separated/married"."""
    g = groups_of(pd.Series(groups).reset_index(drop=True))
    y, p = np.asarray(y, int), np.asarray(pd_, float)
    rows = []
    # age bands youngest first ("<25" sorts after "65+" as text); other groups alphabetically
    for level in sorted(g.unique(), key=lambda v: (AGE_LABELS.index(v) if v in AGE_LABELS else len(AGE_LABELS),
                                                   str(v))):
        m = (g == level).to_numpy()
        n, bads = int(m.sum()), int(y[m].sum())
        auc = float(roc_auc_score(y[m], p[m])) if 0 < bads < n and n >= MIN_GROUP else None
        rows.append({"group": str(level), **group_labels(spec, str(level)), "n": n, "share": n / len(y), "bads": bads,
                     "observed": bads / n, "mean_pd": float(p[m].mean()),
                     "approval_rate": float((p[m] <= cutoff).mean()), "auc": auc,
                     "binomial_p": _binom_p(bads, n, float(p[m].mean()))})
    big = [r for r in rows if r["n"] >= MIN_GROUP]
    ref = max(big, key=lambda r: r["approval_rate"]) if big else None
    for r in rows:
        r["air"] = (r["approval_rate"] / ref["approval_rate"]) if ref and ref["approval_rate"] > 0 \
            and r["n"] >= MIN_GROUP else None
        r["flag"] = bool(r["air"] is not None and r["air"] < AIR_FLAG)
    return {"reference": ref["group"] if ref else None, "groups": rows,
            "min_air": min((r["air"] for r in rows if r["air"] is not None), default=None)}


def group_labels(spec, code: str) -> dict:
    en = (spec.labels_en if spec else {}) or {}
    zh = (spec.labels_zh if spec else {}) or {}
    return {"label_en": str(en.get(code, code)), "label_zh": str(zh.get(code, en.get(code, code)))}


def fairness_report(frame: pd.DataFrame, y, pd_, cutoff: float, specs: dict | None = None) -> dict:
    """Every protected column of `frame` (the test rows), with the approval cut-off used; `specs`
    (feature metadata) gives the attributes' descriptions and the groups' labels in en and zh."""
    specs = specs or {}
    out = {}
    for c in frame.columns:
        spec = specs.get(c)
        out[c] = {**fairness_table(frame[c], y, pd_, cutoff, spec),
                  "description_en": spec.description if spec else c,
                  "description_zh": (spec.description_zh or spec.description) if spec else c}
    return {"cutoff": float(cutoff), "air_flag": AIR_FLAG, "min_group": MIN_GROUP, "attributes": out}


def attribute_shown(name: str, table: dict, lang: str = "en") -> str:
    """A protected attribute as people read it: its description, with the column name in brackets."""
    desc = table.get(f"description_{lang}") or name
    return desc if desc == name else f"{desc} ({name})"


def shown(row: dict, lang: str = "en") -> str:
    """A group as people read it: its label, with the data's code in brackets when they differ."""
    label = row.get(f"label_{lang}") or row["group"]
    return label if label == row["group"] else f"{label} ({row['group']})"


def both(row: dict) -> dict:
    """A group's label in both languages, for a warning rendered later in either (credit/notes.py)."""
    return {"en": shown(row, "en"), "zh": shown(row, "zh")}


def fairness_notes(rep: dict) -> list[str]:
    notes = []
    for attr, t in rep["attributes"].items():
        ref = next((g for g in t["groups"] if g["group"] == t["reference"]), {"group": t["reference"]})
        for r in t["groups"]:
            if r["flag"]:
                notes.append(Note("fairness_air", attribute=attr, group=both(r), rate=float(r["approval_rate"]),
                                  reference=both(ref), air=float(r["air"]), flag=AIR_FLAG))
            if r["n"] >= MIN_GROUP and r["binomial_p"] < 0.01:
                notes.append(Note("fairness_calibration", attribute=attr, group=both(r), mean_pd=float(r["mean_pd"]),
                                  observed=float(r["observed"]), p=float(r["binomial_p"])))
    return notes
