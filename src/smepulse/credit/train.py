"""Train a PD model end to end: validate, split (out-of-time when dated), fit, calibrate, validate,
check governance; and the versioned, self-describing model artefact that comes out of it."""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

import smepulse
from smepulse.credit import fairness as F
from smepulse.credit import gates as G
from smepulse.credit import metrics as M
from smepulse.credit.artefact import FORMAT, dumps, library_versions, loads, read_artefact, write_artefact
from smepulse.credit.calibration import Calibrator
from smepulse.credit.data import SEED, binary_target, check_features, data_hash, parse_time, split_rows
from smepulse.credit.governance import leakage_check, unavailable_features
from smepulse.credit.metadata import FeatureSpec
from smepulse.credit.model_card import model_card, trained_by
from smepulse.credit.models import LightGBMPD, LogisticPD
from smepulse.credit.notes import Note, caught_note, stored
from smepulse.credit.reasons import ReasonBook, batch_reasons, model_reason_book, protected_patterns
from smepulse.credit.reject import augment, kgb_model
from smepulse.credit.schema import FeatureSchema
from smepulse.credit.scorecard import WoeScorecard
from smepulse.errors import CreditError, InputError

KINDS = ("lightgbm", "scorecard", "logistic")


@dataclass
class Scaling:
    """Score = points at odds `odds`:1 good:bad, + pdo points per doubling of the odds."""
    pdo: float = 20.0
    odds: float = 50.0
    points: float = 600.0

    def score(self, pd_: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(pd_, float), 1e-9, 1 - 1e-9)
        return self.points + self.pdo / np.log(2) * (np.log((1 - p) / p) - np.log(self.odds))

    def score_one(self, pd_: float) -> float:
        """`score` of one PD in plain floats (one applicant); equal to `score` to a few ulp."""
        p = min(max(pd_, 1e-9), 1 - 1e-9)
        return self.points + self.pdo / math.log(2) * (math.log((1 - p) / p) - math.log(self.odds))


@dataclass
class CreditModel:
    """A fitted PD model: schema -> estimator -> calibrator -> PD, score, reasons. Saved as data files."""
    kind: str
    schema: FeatureSchema
    estimator: object
    calibrator: Calibrator
    specs: dict[str, FeatureSpec]
    medians: dict[str, float]
    scaling: Scaling
    manifest: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    reason_book: ReasonBook | None = None  # reason rules learned at training (credit/reasons.py)
    reference: dict | None = None  # development-sample distributions for the drift check (gates.py)

    @property
    def features(self) -> list[str]:
        """The columns the estimator reads (a scorecard: its selected characteristics)."""
        return used_features(self.estimator)

    def pd_from_prepared(self, X: pd.DataFrame) -> np.ndarray:
        return self.calibrator.transform(self.estimator.predict_proba(X[self.features])[:, 1])

    def score_from_prepared(self, X: pd.DataFrame, pd_: np.ndarray) -> np.ndarray:
        if self.kind == "scorecard":  # the scorecard's own points, which the printed table adds up to
            return self.estimator.points_of(X[self.features])
        return self.scaling.score(pd_)

    def score_frame(self, df: pd.DataFrame, top_n: int = 3, method: str = "treeshap") -> tuple[pd.DataFrame, list[str]]:
        """Score every row it can. Returns (results, notes); rows it cannot score get `score_error`.
        `method`: the reasons' attribution for a LightGBM model, 'treeshap' (exact, LightGBM's
        pred_contrib) or 'path' (precomputed path pushes, several times faster: credit/attribution.py)."""
        prep = self.schema.transform(df)
        notes = list(prep.notes)
        ok = prep.row_errors.isna().to_numpy()
        out = pd.DataFrame(index=df.index)
        out["pd"], out["score"] = np.nan, np.nan
        reasons = pd.DataFrame(index=df.index)
        if ok.any():
            X = prep.X.loc[ok, self.features]
            p = self.pd_from_prepared(X)
            out.loc[ok, "pd"] = p
            out.loc[ok, "score"] = np.round(self.score_from_prepared(X, p), 1)
            reasons = batch_reasons(self, X, top_n, method=method) if self.kind == "lightgbm" else \
                model_reason_book(self).frame(self.estimator.contributions(X), X, top_n)
        out = out.join(reasons)
        out["score_error"] = prep.row_errors
        if self.reference is not None and ok.sum() >= G.DRIFT_MIN_ROWS:
            d = G.drift(self.reference, prep.X.loc[ok, self.features], out.loc[ok, "pd"].to_numpy(float))
            out.attrs["drift"] = d
            notes += G.drift_notes(d)
        if not ok.all():
            notes.append(Note("unscored", bad=int((~ok).sum()), n=len(ok)))
        return out, notes

    # ------------------------------------------------------------ artefact
    def to_state(self) -> dict:
        """Everything but the trees, as plain data (the trees go to lightgbm.txt)."""
        return {"kind": self.kind, "schema": self.schema.to_state(), "estimator": self.estimator.to_state(),
                "calibrator": self.calibrator.to_state(), "specs": [s.to_dict() for s in self.specs.values()],
                "medians": self.medians, "scaling": dict(self.scaling.__dict__),
                "reason_book": None if self.reason_book is None else self.reason_book.to_dict(),
                "reference": self.reference}

    def save(self, directory: str | Path, overwrite: bool = False) -> Path:
        """Write the model as data files pinned by manifest.json (sha256 + library versions).
        Refuses a non-empty directory unless `overwrite` (the CLI's --force)."""
        keys = ("auc", "auc_ci95", "n_bads", "gini", "ks", "brier", "bad_rate", "mean_pd", "psi_score", "n_train",
                "n_test", "split", "calibration", "leakage", "reject_inference", "champion", "fairness", "warnings",
                "warning_codes", "by_period", "by_segment")
        files = {"model.json": dumps(self.to_state()),
                 "metrics.json": dumps({k: self.metrics[k] for k in keys if k in self.metrics}),
                 "validation.json": dumps(self.metrics)}
        if self.kind == "lightgbm":  # LightGBM's own text: loadable by LightGBM or compiled-tree tools
            files["lightgbm.txt"] = self.estimator.model_text().encode("utf-8")
        if self.kind == "scorecard":  # for people; the model reads its tables from model.json
            files["scorecard.csv"] = self.estimator.table().to_csv(index=False).encode("utf-8")
        card = {**self.manifest, "versions": library_versions()}  # the versions write_artefact pins
        files["model_card.md"] = model_card(card, self.metrics, "en").encode("utf-8")
        files["model_card.zh.md"] = model_card(card, self.metrics, "zh").encode("utf-8")
        return write_artefact(directory, files, self.manifest, overwrite=overwrite)


def load_model(directory: str | Path) -> CreditModel:
    """Load a model directory written by `CreditModel.save`: verifies the manifest (format, library
    versions, every file's sha256) first and reads only JSON and LightGBM text; never unpickles."""
    d = Path(directory)
    manifest, files = read_artefact(d)
    if "model.json" not in files:
        raise CreditError(f"{d / 'manifest.json'} does not list model.json; the model is damaged, retrain it")
    st = loads(files["model.json"], str(d / "model.json"))
    try:
        kind = st["kind"]
        if kind == "lightgbm":
            if "lightgbm.txt" not in files:
                raise CreditError(f"{d / 'manifest.json'} does not list lightgbm.txt; retrain the model")
            est = LightGBMPD.from_state(st["estimator"], files["lightgbm.txt"].decode("utf-8"))
        elif kind == "scorecard":
            est = WoeScorecard.from_state(st["estimator"])
        elif kind == "logistic":
            est = LogisticPD.from_state(st["estimator"])
        else:
            raise CreditError(f"{d / 'model.json'}: unknown model kind {kind!r}; retrain the model")
        specs = {r["name"]: FeatureSpec(**r) for r in st["specs"]}
        book = None if st.get("reason_book") is None else ReasonBook.from_dict(st["reason_book"])
        metrics = loads(files["validation.json"], str(d / "validation.json")) if "validation.json" in files else {}
        return CreditModel(kind, FeatureSchema.from_state(st["schema"]), est, Calibrator.from_state(st["calibrator"]),
                           specs, dict(st["medians"]), Scaling(**st["scaling"]), manifest, metrics, reason_book=book,
                           reference=st.get("reference"))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CreditError(f"{d / 'model.json'} is not a valid model state ({type(exc).__name__}: {exc}); "
                          "retrain the model") from None


# ---------------------------------------------------------------- training
def make_estimator(kind: str, monotone: dict, n_estimators: int, scaling: Scaling, scorecard: dict | None = None):
    if kind == "lightgbm":
        return LightGBMPD(monotone=monotone, n_estimators=n_estimators)
    if kind == "scorecard":
        return WoeScorecard(pdo=scaling.pdo, odds=scaling.odds, points=scaling.points, monotone=monotone,
                            **(scorecard or {}))
    if kind == "logistic":
        return LogisticPD(C=1.0)
    raise CreditError(f"model must be one of {', '.join(KINDS)}, not {kind!r}")


def train(df: pd.DataFrame, target: str, *, time_column: str | None = None, exclude=(),
          model: str = "lightgbm", specs: dict[str, FeatureSpec] | None = None,
          reject_inference: str | None = None, bad_factor: float = 1.0, n_estimators: int = 400,
          calibration: str = "auto", scaling: Scaling | None = None, test_size: float = 0.3,
          source: str = "", allow_leaky=(), censor_column: str | None = None,
          min_rows: int = G.MIN_ROWS, min_events: int = G.MIN_EVENTS,
          horizon_months: int | None = None, tune_trials: int = 0,
          tune_minutes: float | None = None, scorecard: dict | None = None, protected=None,
          approve_below: float | None = None, class_weight: str = "none", segments=None,
          policy: str | Path | None = None, intended_use: str | None = None) -> CreditModel:
    """Fit on the earlier/training 70%, report on the held-out 30% (out of time when dated).

    The champion (lightgbm) chooses its number of trees by 5-fold cross-validation on the training
    rows, fits the calibrator on the out-of-fold PDs and is then refitted on every training row
    (`fit_champion`); `tune_trials` > 0 first searches its hyperparameters (credit/tune.py). The
    challengers (scorecard, logistic) fit on the first 80% of the training rows and calibrate on the
    last 20% (by time when dated).

    Gates (credit/gates.py): censored rows dropped with a count, minimum sample and events, two
    classes, probable leakage refused unless known before the decision or in `allow_leaky`."""
    specs, scaling = dict(specs or {}), scaling or Scaling()
    if model not in KINDS:
        raise CreditError(f"model must be one of {', '.join(KINDS)}, not {model!r}")
    if class_weight not in CLASS_WEIGHTS:
        raise CreditError(f"class weight must be one of {', '.join(CLASS_WEIGHTS)}, not {class_weight!r}")
    if model == "scorecard" and (scorecard or {}).get("selection", "stepwise") not in ("stepwise", "iv"):
        raise CreditError(f"scorecard selection must be stepwise or iv, not {scorecard['selection']!r}")
    notes: list[str] = []
    if model != "lightgbm" and (tune_trials or tune_minutes or class_weight != "none"):
        notes.append(Note("not_lightgbm", model=model))
    y_all = binary_target(df, target, allow_missing=True)
    unknown = [c for c in (*exclude, *allow_leaky) if c not in df.columns]
    if unknown:
        raise InputError("--exclude / --allow-leaky names a column that is not in the data", column=unknown[0])
    unknown = [c for c in (segments or ()) if c not in df.columns]
    if unknown:
        raise InputError("--segment names a column that is not in the data", column=unknown[0])
    time_all = parse_time(df, time_column) if time_column else None
    censored, how = G.censored_rows(df, y_all, time_all, censor_column)
    n_censored = int(censored.sum())
    if n_censored:  # outcome window not closed: neither a good, a bad nor a reject
        notes.append(Note("censored", n=n_censored, how=how))
        keep = ~censored
        df, y_all = df[keep].reset_index(drop=True), y_all[keep].reset_index(drop=True)
        time_all = None if time_all is None else time_all[keep].reset_index(drop=True)
    if y_all.isna().any() and reject_inference is None:
        raise InputError(f"target has {int(y_all.isna().sum())} missing values that are not censored; drop them, "
                         "use --censor-column to mark unmatured loans, or --reject-inference to treat them as "
                         "rejected applications", column=target)
    G.check_sample(y_all, target, min_rows, min_events)
    drop = {target, *exclude} | ({time_column} if time_column else set()) \
        | ({censor_column} if censor_column else set())
    # protected attributes check the model (fairness.py) and are never its features
    # a lender's policy file (--policy) adds its own patterns to the shipped ones (credit/protected.yaml)
    lender_protected = protected_patterns(policy) if policy else []  # the policy file, read once
    lender_excluded = protected_patterns(policy, "exclude") if policy else []
    patterns = protected_patterns() + lender_protected
    prot_cols = F.protected_columns(df, patterns, named=protected, exclude=drop)
    if prot_cols:
        notes.append(Note("protected", columns=", ".join(prot_cols)))
    P_all = df[prot_cols].reset_index(drop=True)
    drop |= set(prot_cols)
    barred = [c for c in df.columns if c not in drop and any(
        re.fullmatch(p, str(c), re.IGNORECASE) for p in lender_excluded)]
    if barred:  # the policy's `exclude:`: never a feature (e.g. a lender that does not score on age)
        notes.append(Note("policy_excluded", columns=", ".join(barred), policy=str(policy)))
        drop |= set(barred)
    X_all = df[[c for c in df.columns if c not in drop]].copy()
    for c in unavailable_features(X_all.columns, specs):
        notes.append(Note("unavailable", column=c))
        del X_all[c]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_features(X_all, categorical=[c for c, s in specs.items() if s.kind == "categorical"])
    notes += [caught_note(w) for w in caught]

    accepted = y_all.notna().to_numpy()
    if reject_inference and accepted.all():
        notes.append(Note("no_rejects"))
    y = y_all[accepted].astype(int).reset_index(drop=True)
    P_acc = P_all[accepted].reset_index(drop=True)
    X_acc = X_all[accepted].reset_index(drop=True)
    t_acc = None if time_all is None else time_all[accepted].reset_index(drop=True)
    split = split_rows(y, t_acc, test_size=test_size)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        schema = FeatureSchema().fit(X_acc.iloc[split.train])
    notes += [caught_note(w) for w in caught]
    X = schema.transform(X_acc).X
    X_train, y_train = X.iloc[split.train], y.iloc[split.train]
    X_test, y_test = X.iloc[split.test], y.iloc[split.test]
    if y_train.nunique() < 2:
        raise CreditError(f"the training part of the split has one class of '{target}' only; "
                          "more outcomes (or a different --time-column) are needed")
    leaks = leakage_check(X_train, y_train)
    refused, leak_notes = G.leak_gate(leaks, specs, tuple(allow_leaky))
    G.refuse_leaks(refused)
    notes += leak_notes

    X_rej = None
    if reject_inference and not accepted.all():
        X_rej = schema.transform(X_all[~accepted]).X
        if time_all is not None:  # rejects from the test period would leak the future into training
            cut_time = t_acc.iloc[split.train].max()
            X_rej = X_rej[(time_all[~accepted] <= cut_time).to_numpy()]
    monotone = {c: s.monotone for c, s in specs.items() if s.monotone and c in X.columns}
    champion = None
    if model == "lightgbm":  # cross-validated trees and calibration, then a refit on every training row
        est, cal, champion = fit_champion(X_train, y_train.to_numpy(), monotone=monotone,
                                          n_estimators=n_estimators, calibration=calibration, X_rej=X_rej,
                                          reject_inference=reject_inference, bad_factor=bad_factor,
                                          tune_trials=tune_trials, tune_minutes=tune_minutes,
                                          class_weight=class_weight)
        ri_info = champion.pop("reject_inference")
        if champion.get("tuning"):
            tun = champion["tuning"]
            notes.append(Note("tuned", trials=tun["n_trials"], best=float(tun["best_logloss"]),
                              base=float(tun["base_logloss"])))
    else:
        est, cal, ri_info = fit_challenger(model, X_train, y_train, t_acc.iloc[split.train] if t_acc is not None
                                           else None, monotone=monotone, n_estimators=n_estimators,
                                           scaling=scaling, calibration=calibration, X_rej=X_rej,
                                           reject_inference=reject_inference, bad_factor=bad_factor,
                                           scorecard=scorecard)

    p_test = cal.transform(est.predict_proba(X_test)[:, 1])
    p_train = cal.transform(est.predict_proba(X_train)[:, 1])
    met = M.full_report(y_test, p_test, p_train, X_train, X_test)
    cutoff = approve_below if approve_below is not None else float(np.quantile(p_train, F.APPROVE_SHARE))
    met["fairness"] = F.fairness_report(P_acc.iloc[split.test], y_test, p_test, cutoff, specs) if prot_cols else None
    if met["fairness"]:
        notes += F.fairness_notes(met["fairness"])
    # performance over time (out-of-time test rows by date) and by segment (sector, size, region...)
    met["by_period"] = M.performance_by_period(y_test, p_test, t_acc.iloc[split.test]) \
        if t_acc is not None else None
    seg_cols = M.segment_columns(X_acc.drop(columns=list(schema.dropped_), errors="ignore"), segments)
    met["by_segment"] = M.performance_by_segment(y_test, p_test, X_acc.iloc[split.test], seg_cols) or None
    rel = met["reliability"]
    where = Note("where_oot" if split.kind == "out-of-time" else "where_test")
    if met["n_bads"] < min_events:  # the sample gate counts all rows; the test part can still be thin
        lo, hi = met["auc_ci95"]
        notes.append(Note("few_test_defaults", bads=int(met["n_bads"]), auc=float(met["auc"]), lo=float(lo),
                          hi=float(hi), min_events=min_events))
    if not rel["passed"]:
        notes.append(Note("calibration_fails", where=where, mean_pd=float(rel["mean_pd"]),
                          observed=float(rel["observed"]), binomial_p=float(rel["binomial_p"]),
                          hl=float(rel["hosmer_lemeshow"]), dof=int(rel["hl_dof"]), hl_p=float(rel["hl_p"])))
    stated = pd_horizon(target, specs)
    if horizon_months is not None and stated is not None and horizon_months != stated:
        raise CreditError(f"the horizon given ({horizon_months} months) contradicts the data's own "
                          f"({stated} months, from the target '{target}' or its metadata)")
    horizon = horizon_months or stated
    met.update(n_censored=n_censored, censoring=how, pd_horizon_months=horizon,
               n_train=int(len(split.train)), n_test=int(len(split.test)), n_bads_train=int(y_train.sum()),
               split={"kind": split.kind, "time_column": time_column, **split.detail},
               calibration=cal.to_dict(), leakage=leaks, reject_inference=ri_info,
               warnings=[str(n) for n in notes], warning_codes=stored(notes),
               importance=est.importance(), champion=champion)
    if model == "scorecard":
        met["scorecard_table"] = est.table().to_dict("records")
        met["scorecard_selection"] = est.selection_
    met["score_hist"] = {
        "train": np.round(scaling_or_points(est, model, scaling, X_train, p_train), 1).tolist()[:20000],
        "test": np.round(scaling_or_points(est, model, scaling, X_test, p_test), 1).tolist()[:20000]}

    medians = {c: float(X_train[c].median()) for c in X.columns if not schema.is_categorical(c)}
    cats = [c for c in X.columns if schema.is_categorical(c)]
    used = used_features(est)
    book = ReasonBook(specs, protected=lender_protected).fit(
        X_train[used], categorical=[c for c in cats if c in used])
    reference = G.drift_reference(X_train, p_train, cats)
    created = datetime.now(UTC)
    dhash = data_hash(df)
    manifest = {
        "format": FORMAT, "model_version": f"{model}-{created:%Y%m%dT%H%M%SZ}-{dhash[7:15]}",
        "kind": model, "created_at": created.isoformat(), "smepulse_version": smepulse.__version__,
        "trained_by": trained_by(),
        "target": target, "pd_horizon_months": horizon,
        "target_definition": f"1 = default (bad), PD horizon {horizon} months" if horizon else
        "1 = default (bad); PD horizon not stated in the data (name the target like default_12m or pass "
        "--horizon-months)",
        "time_column": time_column, "excluded": list(exclude), "source": source,
        "training_data_hash": dhash, "n_rows": int(len(df)),
        "features": [{**(specs.get(c) or FeatureSpec(c, c)).to_dict(),
                      "type": "categorical" if schema.is_categorical(c) else "numeric"} for c in X.columns],
        "schema": schema.to_dict(), "calibration": cal.to_dict(), "scaling": scaling.__dict__,
        "reject_inference": ri_info, "n_censored": n_censored, "censoring": how,
        "allowed_leaky": list(allow_leaky), "estimator_params": {k: v for k, v in est.get_params().items()
                                                          if k != "monotone"},
        "metrics": {k: met[k] for k in ("auc", "gini", "ks", "brier", "psi_score", "n_train", "n_test")},
        "split": met["split"], "warnings": met["warnings"],
        # features matching the protected patterns (age...): kept, never reasons; the card says so
        "never_reasons": list(book.protected_), "intended_use": intended_use or None,
    }
    return CreditModel(model, schema, est, cal, specs, medians, scaling, manifest, met, reason_book=book,
                       reference=reference)


def pd_horizon(target: str, specs: dict[str, FeatureSpec]) -> int | None:
    """The PD horizon in months from the data: the target's name (default_12m, bad_24_months) or its
    metadata description ("... within 12 months ..."); None when the data does not say."""
    for text in (target, (specs.get(target) or FeatureSpec(target, "")).description):
        m = re.search(r"(?:^|[_\s])(\d{1,3})\s*[_\s]?(?:m|mo|months?)(?:$|[_\s.,)])", str(text), re.IGNORECASE)
        if m:
            return int(m.group(1))
    return None


def used_features(est) -> list[str]:
    """A scorecard reads only its selected characteristics; the other estimators every fitted column."""
    return list(getattr(est, "characteristics_", est.feature_names_in_))


def scaling_or_points(est, kind: str, scaling: Scaling, X: pd.DataFrame, p: np.ndarray) -> np.ndarray:
    return est.points_of(X) if kind == "scorecard" else scaling.score(p)


CV_FOLDS = 5
CLASS_WEIGHTS = ("none", "balanced", "auto")


def balanced_weights(y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """scikit-learn's "balanced", on weighted rows: each row's class weight makes the weighted totals
    of bads and goods equal (half the total each), so both classes count the same in the loss."""
    bad = np.asarray(y, float) >= 0.5
    w = np.ones(len(bad)) if w is None else np.asarray(w, float)
    total, n_bad = float(w.sum()), float(w[bad].sum())
    return np.where(bad, total / (2 * max(n_bad, 1e-12)), total / (2 * max(total - n_bad, 1e-12)))


def fit_champion(X: pd.DataFrame, y: np.ndarray, *, monotone: dict, n_estimators: int = 400,
                 calibration: str = "auto", X_rej: pd.DataFrame | None = None,
                 reject_inference: str | None = None, bad_factor: float = 1.0, tune_trials: int = 0,
                 tune_minutes: float | None = None, folds: int = CV_FOLDS, params: dict | None = None,
                 class_weight: str = "none") -> tuple[LightGBMPD, Calibrator, dict]:
    """The champion on the training rows only: stratified `folds`-fold CV picks the number of trees
    (early stopping on the mean held-out log loss), the calibrator is fitted on the out-of-fold PDs
    of every training row, and the booster is refitted on all training rows with that many trees
    (nothing is held out for good). Rejects (reject inference) join every fold with inferred outcomes.

    `class_weight`: "none"; "balanced" (bads and goods weigh the same in the trees' loss); "auto"
    (both cross-validated, the higher out-of-fold AUC wins). The weights shape the trees only: the
    calibrator is fitted on the out-of-fold PDs with the rows' true frequencies, so PDs stay honest."""
    if class_weight not in CLASS_WEIGHTS:
        raise CreditError(f"class weight must be one of {', '.join(CLASS_WEIGHTS)}, not {class_weight!r}")
    fold_of = np.empty(len(y), int)
    for k, (_, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=SEED).split(X, y)):
        fold_of[te] = k
    Xa, ya, w, ri_info = X, np.asarray(y, float), None, None
    if reject_inference and X_rej is not None and len(X_rej):
        Xa, ya, w, ri_info = augment(X, y, X_rej, reject_inference, bad_factor, kgb=kgb_model(X, y))
        rej_fold = np.random.default_rng(SEED).integers(0, folds, len(X_rej))
        copies = (len(Xa) - len(X)) // len(X_rej)  # fuzzy: each reject twice, parcelling: once
        fold_of = np.concatenate([fold_of, np.tile(rej_fold, copies)])
    cv = [(np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)) for k in range(folds)]
    est = LightGBMPD(monotone=monotone, n_estimators=n_estimators, **(params or {}))
    info: dict = {"cv_folds": folds, "reject_inference": ri_info}
    w_cal = w  # calibration: reject-inference weights only, never the class weights
    base = np.ones(len(ya)) if w is None else np.asarray(w, float)
    # fuzzy reject inference gives each reject a bad and a good copy with weights: balance on the
    # weighted class totals, so the copies keep their shares
    weighting = {"none": w, "balanced": base * balanced_weights(ya, base)}
    chosen = class_weight
    runs = {}
    if class_weight == "auto":
        for how in ("none", "balanced"):
            runs[how] = est.cross_validate(Xa, ya, cv, sample_weight=weighting[how])
        aucs = {how: float(roc_auc_score(ya.astype(int), r[1], sample_weight=w_cal)) for how, r in runs.items()}
        chosen = max(aucs, key=lambda k: (aucs[k], k == "none"))  # a tie keeps the unweighted model
        info["class_weight_cv_auc"] = aucs
    w_fit = weighting[chosen]
    if tune_trials or tune_minutes:
        from smepulse.credit.tune import tune  # noqa: PLC0415 (optuna only for --tune: 0.7 s import)
        best, info["tuning"] = tune(est, Xa, ya, cv, w_fit, n_trials=tune_trials or 1000, minutes=tune_minutes)
        est.set_params(**best)
        runs = {}
    n_best, oof, loss = runs.get(chosen) or est.cross_validate(Xa, ya, cv, sample_weight=w_fit)
    cal = Calibrator(calibration).fit(oof, ya.astype(int), sample_weight=w_cal)
    # the fold models saw (folds-1)/folds of the rows; the refit on all of them takes proportionally
    # more trees (measured: German 0.7926 -> 0.7935, SBA 0.7964 -> 0.7968 test AUC with 1.25 against 1.0)
    n_final = max(1, int(round(n_best * folds / (folds - 1))))
    est.set_params(n_estimators=n_final)
    est.fit(Xa, ya, sample_weight=w_fit)
    info.update(cv_trees=n_best, refit_trees=n_final, cv_logloss=loss, refit_rows=int(len(Xa)),
                class_weight=chosen, class_weight_asked=class_weight,
                params={k: v for k, v in est.get_params().items() if k != "monotone"})
    return est, cal, info


def fit_challenger(model: str, X_train: pd.DataFrame, y_train: pd.Series, t_train: pd.Series | None, *,
                   monotone: dict, n_estimators: int, scaling: Scaling, calibration: str,
                   X_rej: pd.DataFrame | None, reject_inference: str | None, bad_factor: float,
                   scorecard: dict | None = None):
    """Scorecard or logistic: fit on the first 80% of training rows (by time when dated, else a
    stratified 80%), calibrate on the other 20%. The scorecard is calibrated by Platt only, folded
    into the card (WoeScorecard.recalibrate): its points and its PD are one mapping."""
    if model == "scorecard" and calibration not in ("auto", "platt"):
        raise CreditError(f"a scorecard is calibrated by Platt scaling folded into its points, not "
                          f"{calibration!r}; use calibration auto or platt")
    if t_train is not None:
        order = np.argsort(t_train.to_numpy(), kind="stable")
        cut = int(len(order) * 0.8)
        fit_idx, cal_idx = np.sort(order[:cut]), np.sort(order[cut:])
    else:
        fit_idx, cal_idx = train_test_split(np.arange(len(y_train)), test_size=0.2,
                                            stratify=y_train, random_state=SEED)
    X_fit, y_fit = X_train.iloc[fit_idx], y_train.iloc[fit_idx].to_numpy()
    X_cal, y_cal = X_train.iloc[cal_idx], y_train.iloc[cal_idx].to_numpy()
    weights, ri_info, w_cal = None, None, None
    if reject_inference and X_rej is not None:
        # rejects split 80/20 like the accepts: calibration must see the rejected region too,
        # or an isotonic map fitted on accepts alone would flatten the extrapolation again
        in_cal = np.random.default_rng(SEED).random(len(X_rej)) < 0.2
        kgb = kgb_model(X_fit, y_fit)
        X_cal, y_cal, w_cal, _ = augment(X_cal, y_cal, X_rej[in_cal], reject_inference, bad_factor, kgb=kgb)
        X_fit, y_fit, weights, ri_info = augment(X_fit, y_fit, X_rej[~in_cal], reject_inference,
                                                 bad_factor, kgb=kgb)
    est = make_estimator(model, monotone, n_estimators, scaling, scorecard)
    est.fit(X_fit, y_fit, sample_weight=weights)
    raw_cal = est.predict_proba(X_cal)[:, 1]
    if model == "scorecard":
        platt = Calibrator("platt").fit(raw_cal, y_cal, sample_weight=w_cal)
        est.recalibrate(platt.params_[1], platt.params_[2])
        return est, Calibrator("none").fit(raw_cal, y_cal), ri_info
    cal = Calibrator(calibration).fit(raw_cal, y_cal, sample_weight=w_cal)
    return est, cal, ri_info
