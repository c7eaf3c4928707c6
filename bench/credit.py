"""Credit model benchmark (not part of the test suite).

    .venv/bin/python bench/credit.py [--rows 1000000] [--features 120] [--score-rows 10000000]

1. Train the champion (LightGBMPD, 2 threads) on a synthetic application matrix.
2. Batch-score `--score-rows` rows (the 1M matrix scored repeatedly, in 1M-row chunks) with LightGBM's
   own predictor and, where it installs, lleaves (LLVM-compiled trees).
3. Model-only single-row latency (p50/p99) for both.
4. Scorecard binning time and AUC on the Taiwan data: optbinning vs toad vs scorecardpy where they
   install (pip install toad scorecardpy; not in requirements.lock). Failures are reported, not hidden.
5. Reasons (`--reasons`, or `--reasons-only`): a champion trained by `credit train` on a simulated
   book; one applicant with reasons from the raw mapping (`smepulse.credit.reasons.explain`, exact
   TreeSHAP and path pushes) p50/p99 against the peer, LightGBM's own `pred_contrib` on a ready float
   row, and batch scoring with reasons (`batch_reasons`, path pushes and TreeSHAP) against the peer
   `Booster.predict(pred_contrib=True)` on the ready matrix (contributions only, no reasons), in the
   same run; plus how often the path's top reasons agree with TreeSHAP's. The path's batch runs with
   its leaf numbers compiled by lleaves (compile time reported), and without (LightGBM's pred_leaf),
   and on one thread.
6. Champion against its peer (`--versus-plain`, or `--versus-plain-only`): on every public credit
   dataset in ../shared/data, `credit train`'s champion (5-fold CV trees, out-of-fold calibration,
   refit on all training rows; and with `--tune-trials 20` on German) against a default
   `lightgbm.LGBMClassifier()` fitted on the same training rows and prepared columns: test AUC of each.
7. Class weighting (`--class-weight-only`): the champion with `class_weight` none, balanced and auto
   (cross-validated choice) against the same default `LGBMClassifier()` in the same run, on German,
   Taiwan and SBA: test AUC, Brier, expected calibration error (ECE) and Hosmer-Lemeshow p of each
   (the peer's PDs are its raw predict_proba).
Timings are medians of repeats: the machine has 2 noisy cores.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # 2 noisy cores: spinning OpenMP threads starve
import numpy as np
import pandas as pd

from smepulse.credit.models import LightGBMPD

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SMEPULSE_SHARED", ROOT.parent / "shared")) / "data"


def synthetic(n: int, k: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """k features, 20 informative (some non-linear), 8% missing in a few, ~10% bad rate."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, k), dtype=np.float32)
    w = np.zeros(k, np.float32)
    w[:20] = rng.uniform(-0.6, 0.6, 20)
    logit = X @ w + 0.5 * np.tanh(X[:, 20] * X[:, 21]) + 0.3 * X[:, 22] ** 2 - 2.6
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    X[:, 30:35][rng.random((n, 5)) < 0.08] = np.nan
    return X, y


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def bench_champion(n: int, k: int, score_rows: int, rounds: int) -> dict:
    res: dict = {"rows": n, "features": k, "rounds": rounds}
    X, y = synthetic(n, k)
    cols = [f"f{i:03d}" for i in range(k)]
    df = pd.DataFrame(X, columns=cols, copy=False)
    mono = {c: 1 for c in cols[:5]}
    est = LightGBMPD(monotone=mono, n_estimators=rounds, n_jobs=2, early_stopping_rounds=None)
    t, c = time.perf_counter(), time.process_time()
    est.fit(df, y)
    res["train_s"] = time.perf_counter() - t
    # CPU seconds of this process: on a shared machine, wall time / (cpu / 2 threads) shows contention
    res["train_cpu_s"] = time.process_time() - c
    booster = est.booster_
    chunk = X  # 1M rows; scored score_rows / n times
    reps = max(1, score_rows // n)

    def native():
        for _ in range(reps):
            booster.predict(chunk, num_threads=2)
    res["native_score_s"], _ = timed(native, 2)
    res["native_rows_per_s"] = reps * n / res["native_score_s"]

    lat = []
    for i in range(3000):
        row = X[i:i + 1]
        t = time.perf_counter_ns()
        booster.predict(row, num_threads=1)
        lat.append((time.perf_counter_ns() - t) / 1e6)
    res["native_latency_ms"] = {"p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99))}

    try:
        import lleaves
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "m.txt"
            booster.save_model(str(path))
            t = time.perf_counter()
            llm = lleaves.Model(model_file=str(path))
            llm.compile(cache=str(Path(d) / "m.so"))
            res["lleaves_compile_s"] = time.perf_counter() - t
            Xd = np.ascontiguousarray(chunk, dtype=np.float64)

            def compiled():
                for _ in range(reps):
                    llm.predict(Xd, n_jobs=2)
            res["lleaves_score_s"], _ = timed(compiled, 2)
            res["lleaves_rows_per_s"] = reps * n / res["lleaves_score_s"]
            p_native = booster.predict(Xd[:100000])
            res["lleaves_max_abs_diff"] = float(np.max(np.abs(llm.predict(Xd[:100000]) - p_native)))
            lat = []
            for i in range(3000):
                row = Xd[i:i + 1]
                t = time.perf_counter_ns()
                llm.predict(row, n_jobs=1)
                lat.append((time.perf_counter_ns() - t) / 1e6)
            res["lleaves_latency_ms"] = {"p50": float(np.percentile(lat, 50)),
                                         "p99": float(np.percentile(lat, 99))}
    except Exception as exc:  # report, do not hide
        res["lleaves_error"] = f"{type(exc).__name__}: {exc}"
    return res


def bench_binning() -> dict:
    """Binning (+ WOE logistic) on Taiwan, same 70/30 split for every library."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from smepulse.credit.data import TAIWAN_TARGET, load_taiwan, split_rows
    df = load_taiwan(DATA)
    y = df.pop(TAIWAN_TARGET)
    sp = split_rows(y)
    Xtr, Xte, ytr, yte = df.iloc[sp.train], df.iloc[sp.test], y.iloc[sp.train], y.iloc[sp.test]
    out: dict = {}

    def lr_auc(Wtr, Wte):
        m = LogisticRegression(max_iter=2000).fit(Wtr, ytr)
        return float(roc_auc_score(yte, m.predict_proba(Wte)[:, 1]))

    def run(name, fn):
        try:
            times = []
            for _ in range(3):
                t = time.perf_counter()
                Wtr, Wte = fn()
                times.append(time.perf_counter() - t)
            out[name] = {"binning_s": statistics.median(times), "auc": lr_auc(Wtr, Wte)}
        except Exception as exc:
            out[name] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}",
                         "where": traceback.format_exc().strip().splitlines()[-3][:200]}

    def optb():
        from optbinning import BinningProcess
        bp = BinningProcess(variable_names=list(Xtr.columns), max_n_bins=8).fit(Xtr, ytr)
        return bp.transform(Xtr, metric="woe"), bp.transform(Xte, metric="woe")
    run("optbinning", optb)

    def toad_():
        import toad
        c = toad.transform.Combiner()
        tr = Xtr.assign(target=ytr.to_numpy())
        c.fit(tr, y="target", method="chi", min_samples=0.05, n_bins=8)
        btr, bte = c.transform(Xtr), c.transform(Xte)
        w = toad.transform.WOETransformer()
        Wtr = w.fit_transform(btr, ytr)
        return Wtr, w.transform(bte)
    run("toad", toad_)

    def toad_missing():  # toad on the same data with 5% missing values injected
        import toad
        rng = np.random.default_rng(0)
        Xm = Xtr.mask(rng.random(Xtr.shape) < 0.05)
        c = toad.transform.Combiner()
        c.fit(Xm.assign(target=ytr.to_numpy()), y="target", method="chi", min_samples=0.05, n_bins=8)
        w = toad.transform.WOETransformer()
        Wtr = w.fit_transform(c.transform(Xm), ytr)
        return Wtr, w.transform(c.transform(Xte))
    run("toad_with_5pct_missing", toad_missing)

    def scpy():
        import scorecardpy as sc
        tr = Xtr.assign(target=ytr.to_numpy())
        bins = sc.woebin(tr, y="target", method="tree", bin_num_limit=8, print_step=0, no_cores=1)
        Wtr = sc.woebin_ply(Xtr, bins, print_step=0)
        Wte = sc.woebin_ply(Xte, bins, print_step=0)
        cols = sorted(Wtr.columns)
        return Wtr[cols], Wte[cols]
    run("scorecardpy", scpy)
    return out


def _latency(fn, items) -> dict:
    lat = []
    for a in items:
        t = time.perf_counter_ns()
        fn(a)
        lat.append((time.perf_counter_ns() - t) / 1e6)
    return {"p50": round(float(np.percentile(lat, 50)), 4), "p99": round(float(np.percentile(lat, 99)), 4)}


def bench_reasons(firms: int, repeats: int = 5, model_dir: Path | None = None) -> dict:
    """Single applicant and batch, with reasons, against LightGBM's own pred_contrib in the same run."""
    from smepulse.credit.features import build_features, feature_specs
    from smepulse.credit.reasons import batch_reasons, explain, fast_path, float_matrix
    from smepulse.credit.train import load_model, train
    from smepulse.sim.credit import SimConfig, simulate
    if model_dir is not None and (model_dir / "model.json").exists():  # reuse a book and model (--reason-cache)
        m, f = load_model(model_dir), pd.read_parquet(model_dir / "features.parquet")
    else:
        with tempfile.TemporaryDirectory() as d:
            simulate(SimConfig(n_firms=firms, seed=1, workers=2), d)
            f = build_features(d)
        lab = f[f.default_12m.notna()]
        m = train(lab, "default_12m", time_column="application_date", exclude=["application_id", "firm_id"],
                  specs=feature_specs())
        if model_dir is not None:
            m.save(model_dir)
            f.to_parquet(model_dir / "features.parquet")
    est = m.estimator
    res: dict = {"firms": firms, "trees": int(est.best_iteration_), "features": len(m.features),
                 "test_auc": round(float(m.metrics["auc"]), 4), "load_avg_start": os.getloadavg()}
    apps = f.iloc[:3000].to_dict("records")
    fast = fast_path(m)
    booster, iters = est.booster_, est.best_iteration_
    vectors = [fast.fast_vector(a) for a in apps]
    explain(m, apps[0]), explain(m, apps[0], method="path")  # build the model's tables once
    # single applicant: the peer is LightGBM's pred_contrib on the ready float vector (no reasons, no PD)
    single = {
        "peer_pred_contrib_1_row": lambda: _latency(
            lambda x: booster.predict(x, pred_contrib=True, num_iteration=iters, num_threads=1), vectors),
        "peer_predict_1_row": lambda: _latency(
            lambda x: booster.predict(x, num_iteration=iters, num_threads=1), vectors),
        "explain_treeshap": lambda: _latency(lambda a: explain(m, a), apps),
        "explain_path": lambda: _latency(lambda a: explain(m, a, method="path"), apps),
    }
    for _round in range(2):  # two rounds, alternating: load bursts hit every variant
        for name, fn in single.items():
            res.setdefault("single_ms", {}).setdefault(name, []).append(fn())
    for runs in res["single_ms"].values():
        runs.append({k: statistics.median(r[k] for r in runs) for k in ("p50", "p99")})
    X = m.schema.transform(f).X[m.features]
    X = pd.concat([X] * max(1, 100_000 // len(X)), ignore_index=True)
    M = float_matrix(m, X)
    n = len(X)
    res["batch_rows"] = n
    batch_reasons(m, X.head(1000)), batch_reasons(m, X.head(1000), method="treeshap")
    # the path's leaf numbers compiled by lleaves, as a batch scorer does once per model (timed here);
    # "batch_reasons_path_pred_leaf" is the same path with LightGBM's pred_leaf instead
    res["compile_leaves_s"] = round(fast.compile_leaves(), 3)
    batch = {
        "peer_pred_contrib": lambda: booster.predict(M, pred_contrib=True, num_iteration=iters, num_threads=2),
        "batch_reasons_path": lambda: batch_reasons(m, X),
        "batch_reasons_path_pred_leaf": lambda: batch_reasons(m, X, compiled=False),
        "batch_reasons_path_1_thread": lambda: batch_reasons(m, X, num_threads=1),
        "batch_reasons_treeshap": lambda: batch_reasons(m, X, method="treeshap"),
        "prepared_to_float_matrix": lambda: float_matrix(m, X),
    }
    for name, fn in batch.items():
        reps = repeats if name != "batch_reasons_treeshap" and name != "peer_pred_contrib" else 2
        cpu0 = time.process_time()
        sec, _ = timed(fn, reps)
        cpu = (time.process_time() - cpu0) / reps
        res.setdefault("batch_rows_per_s", {})[name] = round(n / sec)
        # rows per CPU second of this process: what it did with the CPU it got. On a shared machine this is
        # the load-robust figure; wall time on 2 free cores is at most the CPU time (both threads busy less)
        res.setdefault("batch_rows_per_cpu_s", {})[name] = round(n / cpu)
    b = res["batch_rows_per_s"]
    res["ratio_path_vs_peer"] = round(b["batch_reasons_path"] / b["peer_pred_contrib"], 2)
    res["ratio_treeshap_reasons_vs_peer"] = round(b["batch_reasons_treeshap"] / b["peer_pred_contrib"], 3)
    a, e = batch_reasons(m, X), batch_reasons(m, X, method="treeshap")
    res["top1_agreement_path_vs_treeshap"] = round(float((a.reason_code_1 == e.reason_code_1).mean()), 4)
    sa = a[["reason_code_1", "reason_code_2", "reason_code_3"]].to_numpy()
    sb = e[["reason_code_1", "reason_code_2", "reason_code_3"]].to_numpy()
    res["top3_overlap_path_vs_treeshap"] = round(float(np.mean(
        [len({x for x in u if isinstance(x, str)} & {y for y in v if isinstance(y, str)}) / 3
         for u, v in zip(sa, sb, strict=True)])), 4)
    res["load_avg_end"] = os.getloadavg()
    return res


def bench_versus_plain() -> dict:
    """Test AUC of the champion and of a default LGBMClassifier() on the same split and columns."""
    import lightgbm as lgb  # noqa: PLC0415 (bench only)
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415 (bench only)

    from smepulse.credit import data as D  # noqa: PLC0415 (bench only)
    from smepulse.credit.train import train  # noqa: PLC0415 (bench only)
    sba = D.load_sba_national(DATA)
    cases = {
        "german": (D.load_german(DATA), "bad", None, D.german_specs(), {}),
        "german --tune-trials 20": (D.load_german(DATA), "bad", None, D.german_specs(), {"tune_trials": 20}),
        "taiwan": (D.load_taiwan(DATA), D.TAIWAN_TARGET, None, {}, {}),
        "sba random": (sba[D.SBA_ORIGINATION_FEATURES + ["Default"]], "Default", None, D.sba_specs(), {}),
        "sba out-of-time": (sba[D.SBA_ORIGINATION_FEATURES + ["Default", "ApprovalDate"]], "Default",
                            "ApprovalDate", D.sba_specs(), {}),
    }
    out = {}
    for name, (df, target, tcol, specs, kw) in cases.items():
        t0 = time.perf_counter()
        m = train(df, target, time_column=tcol, specs=specs, **kw)
        secs = time.perf_counter() - t0
        y = D.binary_target(df, target).astype(int)
        split = D.split_rows(y, D.parse_time(df, tcol) if tcol else None)
        X = m.schema.transform(df.drop(columns=[target] + ([tcol] if tcol else []))).X[m.features]
        peer = lgb.LGBMClassifier(verbose=-1, n_jobs=1).fit(X.iloc[split.train], y.iloc[split.train])
        plain = float(roc_auc_score(y.iloc[split.test], peer.predict_proba(X.iloc[split.test])[:, 1]))
        champ = m.metrics["champion"]
        out[name] = {"champion_auc": round(m.metrics["auc"], 4), "plain_auc": round(plain, 4),
                     "difference": round(m.metrics["auc"] - plain, 4), "train_seconds": round(secs, 1),
                     "cv_trees": champ["cv_trees"], "refit_trees": champ["refit_trees"],
                     "calibration": m.metrics["calibration"]["method"], "split": m.metrics["split"]["kind"]}
        print(name, out[name], flush=True)
    return out


def bench_class_weight() -> dict:
    """Champion with class_weight none / balanced / auto against a default LGBMClassifier() on one split."""
    import lightgbm as lgb  # noqa: PLC0415 (bench only)
    from sklearn.metrics import brier_score_loss, roc_auc_score  # noqa: PLC0415 (bench only)

    from smepulse.credit import data as D  # noqa: PLC0415 (bench only)
    from smepulse.credit.metrics import reliability  # noqa: PLC0415 (bench only)
    from smepulse.credit.train import train  # noqa: PLC0415 (bench only)
    sba = D.load_sba_national(DATA)
    cases = {
        "german": (D.load_german(DATA), "bad", None, D.german_specs()),
        "taiwan": (D.load_taiwan(DATA), D.TAIWAN_TARGET, None, {}),
        "sba random": (sba[D.SBA_ORIGINATION_FEATURES + ["Default"]], "Default", None, D.sba_specs()),
        "sba out-of-time": (sba[D.SBA_ORIGINATION_FEATURES + ["Default", "ApprovalDate"]], "Default",
                            "ApprovalDate", D.sba_specs()),
    }
    out = {}
    for name, (df, target, tcol, specs) in cases.items():
        rows = {}
        for how in ("none", "balanced", "auto"):
            t0 = time.perf_counter()
            m = train(df, target, time_column=tcol, specs=specs, class_weight=how)
            rel = m.metrics["reliability"]
            rows[how] = {"auc": round(m.metrics["auc"], 4), "brier": round(m.metrics["brier"], 5),
                         "ece": round(rel["ece"], 4), "hl_p": round(rel["hl_p"], 4),
                         "chosen": m.metrics["champion"]["class_weight"],
                         "cv_auc": m.metrics["champion"].get("class_weight_cv_auc"),
                         "calibration": m.metrics["calibration"]["method"],
                         "train_seconds": round(time.perf_counter() - t0, 1)}
            print(name, how, rows[how], flush=True)
        y = D.binary_target(df, target).astype(int)
        split = D.split_rows(y, D.parse_time(df, tcol) if tcol else None)
        X = m.schema.transform(df.drop(columns=[target] + ([tcol] if tcol else []))).X[m.features]
        peer = lgb.LGBMClassifier(verbose=-1, n_jobs=1).fit(X.iloc[split.train], y.iloc[split.train])
        p = peer.predict_proba(X.iloc[split.test])[:, 1]
        yt = y.iloc[split.test].to_numpy()
        rel = reliability(yt, p)
        rows["plain LGBMClassifier()"] = {"auc": round(float(roc_auc_score(yt, p)), 4),
                                          "brier": round(float(brier_score_loss(yt, p)), 5),
                                          "ece": round(rel["ece"], 4), "hl_p": round(rel["hl_p"], 4)}
        print(name, "plain", rows["plain LGBMClassifier()"], flush=True)
        out[name] = rows
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=120)
    ap.add_argument("--score-rows", type=int, default=10_000_000)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--reasons", action="store_true", help="also benchmark reasons (section 5)")
    ap.add_argument("--reasons-only", action="store_true", help="only section 5")
    ap.add_argument("--reason-firms", type=int, default=20_000)
    ap.add_argument("--reason-cache", type=Path, default=None,
                    help="directory to keep (and reuse) the simulated book's model and features between runs")
    ap.add_argument("--versus-plain", action="store_true", help="also the champion vs LGBMClassifier() (section 6)")
    ap.add_argument("--versus-plain-only", action="store_true", help="only section 6")
    ap.add_argument("--class-weight-only", action="store_true", help="only section 7")
    a = ap.parse_args()
    res = {"command": " ".join([".venv/bin/python", "bench/credit.py", *sys.argv[1:]]),
           "machine": f"{platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}"}
    if a.class_weight_only:
        res["class_weight"] = bench_class_weight()
        if a.json:
            a.json.write_text(json.dumps(res, indent=2))
        return
    if a.versus_plain or a.versus_plain_only:
        res["versus_plain"] = bench_versus_plain()
        if a.versus_plain_only:
            if a.json:
                a.json.write_text(json.dumps(res, indent=2))
            return
    if a.reasons or a.reasons_only:
        res["reasons"] = bench_reasons(a.reason_firms, model_dir=a.reason_cache)
        res["load_avg_after_reasons"] = os.getloadavg()
        print(json.dumps(res["reasons"], indent=2), flush=True)
        if a.reasons_only:
            if a.json:
                a.json.write_text(json.dumps(res, indent=2))
            return
    res["load_avg_before"] = os.getloadavg()
    res["champion"] = bench_champion(a.rows, a.features, a.score_rows, a.rounds)
    res["load_avg_after"] = os.getloadavg()
    print(json.dumps(res, indent=2), flush=True)
    res["binning"] = bench_binning()
    print(json.dumps(res["binning"], indent=2))
    if a.json:
        a.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
