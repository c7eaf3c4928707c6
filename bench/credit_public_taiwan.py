"""Taiwan credit card default: what the champion's knobs, derived features and protocols do to test AUC.

    PYTHONPATH=src .venv/bin/python bench/credit_public_taiwan.py [--part knobs|features|seeds|leak|all]

Every figure is on the split of `tests/credit/test_published.py::taiwan_80_20` (stratified 80/20,
seed 20180101) unless `seeds` varies it, and every champion figure comes with a default
`lightgbm.LGBMClassifier()` fitted in the same run on the same training rows and prepared columns.
1. knobs: `train(...)` as tested (200 trees cap), default cap, class weight balanced / auto, `tune_trials=20`.
2. features: derived columns a lender could declare (utilisation BILL_AMTi/LIMIT_BAL, payment over the
   previous bill PAY_AMTi/BILL_AMT(i+1), counts of delayed and unused months, bill trend and headroom,
   totals, delinquency recency/streak/trend and paid-in-full flags), each group added to the raw
   columns: test AUC of champion and peer, and the champion's 5-fold CV AUC on the 24,000 training rows
   (the figure a decision may use: the test rows are not for tuning); then the champion's test-AUC
   delta against the raw columns over 5 split seeds.
3. seeds: champion and peer over 10 other split seeds (how much one 80/20 split moves the AUC).
4. leak: what published protocols that resample before splitting, or pick a configuration on the test
   rows, report on the same file (random oversampling and SMOTE to 50/50 then split; best of 30 random
   LightGBM configurations by test AUC), with LGBMClassifier() and scikit-learn's GradientBoosting().
Single-threaded LightGBM; CPU seconds per part are printed with the load average (2 shared cores).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neighbors import NearestNeighbors

import smepulse.credit.train as T
from smepulse.credit.data import SEED, TAIWAN_TARGET, binary_target, load_taiwan, split_rows
from smepulse.credit.models import LightGBMPD

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SMEPULSE_SHARED", ROOT.parent / "shared")) / "data"
MONTHS = range(1, 7)
PAY = ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]


def emit(**row) -> None:
    print(json.dumps(row), flush=True)


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ------------------------------------------------------------ derived columns (measured, not shipped)
def ratio(a: pd.Series, b: pd.Series) -> pd.Series:
    b = b.astype(float)
    return a.astype(float) / b.where(b != 0)  # no bill, no ratio: missing, not infinite


def derive(df: pd.DataFrame, group: str) -> pd.DataFrame:
    df = df.copy()
    if group == "util":
        for i in MONTHS:
            df[f"util{i}"] = ratio(df[f"BILL_AMT{i}"], df["LIMIT_BAL"])
    elif group == "payratio":  # the payment in month i settles the statement of month i+1
        for i in range(1, 6):
            df[f"payr{i}"] = ratio(df[f"PAY_AMT{i}"], df[f"BILL_AMT{i + 1}"])
    elif group == "counts":
        df["n_late"] = (df[PAY] >= 1).sum(axis=1)
        df["n_unused"] = (df[PAY] == -2).sum(axis=1)
    elif group == "diff":
        df["bill_trend"] = df["BILL_AMT1"] - df["BILL_AMT6"]
        df["headroom"] = df["LIMIT_BAL"] - df["BILL_AMT1"]
    elif group == "totals":
        df["pay_over_bill"] = ratio(df[[f"PAY_AMT{i}" for i in MONTHS]].sum(axis=1),
                                    df[[f"BILL_AMT{i}" for i in MONTHS]].sum(axis=1))
        df["max_delay"] = df[PAY].max(axis=1)
    elif group == "seq":
        late = (df[PAY] >= 1).to_numpy()
        df["months_since_late"] = np.where(late.any(1), late.argmax(1), 6)
        df["late_streak"] = np.cumprod(late, axis=1).sum(1)
        df["delay_trend"] = df["PAY_0"] - df["PAY_6"]
        for i in range(1, 6):
            df[f"paid_full{i}"] = (df[f"PAY_AMT{i}"] >= df[f"BILL_AMT{i + 1}"]).astype(int)
    elif group == "all":
        for g in GROUPS[:-1]:
            df = derive(df, g)
    return df


GROUPS = ["util", "payratio", "counts", "diff", "totals", "seq", "all"]


# ------------------------------------------------------------ champion and peer on one split
def with_seed(seed: int):
    """`train` splits with this seed (the tests use SEED)."""
    def split(y, time=None, test_size=0.3, **_):
        return split_rows(y, time, test_size=test_size, seed=seed)
    return split


def champion_and_peer(df: pd.DataFrame, seed: int = SEED, cv: bool = False, **kw) -> dict:
    T.split_rows = with_seed(seed)
    try:
        m = T.train(df, TAIWAN_TARGET, model="lightgbm", test_size=0.2, **{"n_estimators": 400, **kw})
    finally:
        T.split_rows = split_rows
    y = binary_target(df, TAIWAN_TARGET).astype(int)
    sp = split_rows(y, test_size=0.2, seed=seed)
    X = m.schema.transform(df.drop(columns=[TAIWAN_TARGET])).X[m.features]
    Xtr, ytr = X.iloc[sp.train], y.iloc[sp.train].to_numpy()
    peer = lgb.LGBMClassifier(verbose=-1, n_jobs=1).fit(Xtr, ytr)
    ch = m.metrics["champion"]
    out = {"champion": round(m.metrics["auc"], 4),
           "plain": round(roc_auc_score(y.iloc[sp.test], peer.predict_proba(X.iloc[sp.test])[:, 1]), 4),
           "features": len(m.features), "cv_trees": ch["cv_trees"], "class_weight": ch["class_weight"]}
    if cv:  # the champion's own parameters, 5-fold on the training rows only
        fold = np.empty(len(ytr), int)
        for k, (_, te) in enumerate(StratifiedKFold(5, shuffle=True, random_state=SEED).split(Xtr, ytr)):
            fold[te] = k
        folds = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(5)]
        params = {k: v for k, v in ch["params"].items() if k != "n_estimators"}
        _, oof, _ = LightGBMPD(n_estimators=2000, **params).cross_validate(Xtr, ytr, folds)
        out["cv_auc_train"] = round(roc_auc_score(ytr, oof), 4)
    return out


def part_knobs(df: pd.DataFrame) -> None:
    emit(part="knobs", run="as tested (n_estimators=200)", **champion_and_peer(df, cv=True, n_estimators=200))
    emit(part="knobs", run="default cap (400)", **champion_and_peer(df, cv=True))
    emit(part="knobs", run="class_weight=balanced", **champion_and_peer(df, class_weight="balanced"))
    emit(part="knobs", run="class_weight=auto", **champion_and_peer(df, class_weight="auto"))
    emit(part="knobs", run="tune_trials=20", **champion_and_peer(df, cv=True, tune_trials=20))


def part_features(df: pd.DataFrame) -> None:
    base = champion_and_peer(df, cv=True)
    emit(part="features", group="raw columns", **base)
    for g in GROUPS:
        r = champion_and_peer(derive(df, g), cv=True)
        emit(part="features", group=g, **r, test_delta=round(r["champion"] - base["champion"], 4),
             cv_delta=round(r["cv_auc_train"] - base["cv_auc_train"], 4))
    for g in ("all", "util", "diff"):
        deltas = []
        for seed in (SEED, 1, 2, 3, 4):
            deltas.append(champion_and_peer(derive(df, g), seed)["champion"] - champion_and_peer(df, seed)["champion"])
        emit(part="features", group=g, seeds=5, mean_test_delta=round(float(np.mean(deltas)), 4),
             min=round(min(deltas), 4), max=round(max(deltas), 4))


def part_seeds(df: pd.DataFrame) -> None:
    rows = [champion_and_peer(df, seed) for seed in range(1, 11)]
    for seed, r in zip(range(1, 11), rows, strict=True):
        emit(part="seeds", seed=seed, champion=r["champion"], plain=r["plain"])
    ch = [r["champion"] for r in rows]
    emit(part="seeds", champion_mean=round(float(np.mean(ch)), 4), champion_sd=round(float(np.std(ch, ddof=1)), 4),
         champion_min=min(ch), champion_max=max(ch),
         champion_ge_plain=sum(r["champion"] >= r["plain"] for r in rows))


def smote(Xb: np.ndarray, n_new: int, rng: np.random.Generator, k: int = 5) -> np.ndarray:
    """SMOTE (Chawla et al. 2002): each new bad on the segment from a bad to one of its k nearest bads."""
    Z = (Xb - Xb.mean(0)) / (Xb.std(0) + 1e-12)
    nn = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z, return_distance=False)[:, 1:]
    i = rng.integers(0, len(Xb), n_new)
    j = nn[i, rng.integers(0, k, n_new)]
    return Xb[i] + rng.random((n_new, 1)) * (Xb[j] - Xb[i])


def part_leak(df: pd.DataFrame) -> None:
    X = df.drop(columns=[TAIWAN_TARGET, "SEX", "MARRIAGE"]).to_numpy(float)  # as the champion: no protected columns
    y = df[TAIWAN_TARGET].to_numpy()
    rng = np.random.default_rng(0)
    n_new = int((y == 0).sum() - (y == 1).sum())

    def score(Xa, ya, protocol):
        tr, te = train_test_split(np.arange(len(ya)), test_size=0.2, stratify=ya, random_state=SEED)
        for name, mdl in (("LGBMClassifier()", lgb.LGBMClassifier(verbose=-1, n_jobs=1)),
                          ("GradientBoostingClassifier()", GradientBoostingClassifier(random_state=0))):
            mdl.fit(Xa[tr], ya[tr])
            emit(part="leak", protocol=protocol, model=name,
                 auc=round(roc_auc_score(ya[te], mdl.predict_proba(Xa[te])[:, 1]), 4))
        return tr, te

    tr, te = score(X, y, "split, no resampling")
    dup = rng.choice(np.flatnonzero(y == 1), n_new)
    score(np.vstack([X, X[dup]]), np.concatenate([y, y[dup]]), "random oversampling to 50/50, then split")
    score(np.vstack([X, smote(X[y == 1], n_new, rng)]), np.concatenate([y, np.ones(n_new, int)]),
          "SMOTE to 50/50, then split")
    aucs = []
    for t in range(30):  # what "tuned" means when the test rows choose the configuration
        p = dict(n_estimators=int(rng.integers(50, 600)), learning_rate=float(10 ** rng.uniform(-2.3, -0.7)),
                 num_leaves=int(rng.integers(4, 64)), min_child_samples=int(rng.integers(10, 200)),
                 subsample=float(rng.uniform(0.5, 1)), subsample_freq=1,
                 colsample_bytree=float(rng.uniform(0.3, 1)), reg_lambda=float(10 ** rng.uniform(-3, 1)))
        m = lgb.LGBMClassifier(verbose=-1, n_jobs=1, random_state=t, **p).fit(X[tr], y[tr])
        aucs.append(roc_auc_score(y[te], m.predict_proba(X[te])[:, 1]))
    emit(part="leak", protocol="30 random LightGBM configurations, best by test AUC", best=round(max(aucs), 4),
         median=round(float(np.median(aucs)), 4), worst=round(min(aucs), 4))


PARTS = {"knobs": part_knobs, "features": part_features, "seeds": part_seeds, "leak": part_leak}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=[*PARTS, "all"], default="all")
    args = p.parse_args()
    df = load_taiwan(DATA)
    for name in PARTS if args.part == "all" else [args.part]:
        c0 = cpu()
        PARTS[name](df)
        emit(part=name, cpu_s=round(cpu() - c0, 1), loadavg=[round(x, 2) for x in os.getloadavg()],
             python=sys.version.split()[0], lightgbm=lgb.__version__)


if __name__ == "__main__":
    main()
