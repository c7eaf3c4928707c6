"""Reasons for a credit decision, in English and Chinese, that never contradict the applicant's data.

A feature becomes a reason for an applicant only when all of these hold (docs/credit_data.md):
1. it pushed this applicant's risk up: its contribution (TreeSHAP log-odds, or coef x deviation) is > 0;
2. it is not a protected or prohibited attribute (`protected.yaml`, `FeatureSpec.protected`, or the
   `protected=` names/patterns a lender passes): age, gender, marital status... are never reasons;
3. if the feature has a direction of risk (`FeatureSpec.monotone`), the value lies on the risky side of
   the training reference (median; the mean for 0/1 flags) or is missing: a model's interaction that
   makes a good value look bad is not told to the applicant as if the value were bad.
The words follow the value: a signed feature (growth, trend, change) has a falling template used when
the value is < 0 and a rising one used when it is >= 0; a generic sentence says high/low against the
training reference; a category (declared, text, or detected: codes, low-cardinality integers) is named
with its translated label and never compared. A feature without a Chinese text gets a neutral Chinese
template that quotes the column as data (指标“X”偏高（数值 95）), never English prose in the zh text.

`ReasonBook` is learned at fit time (kinds, references) and is plain data (`to_dict` / `from_dict`).
`explain(model, applicant)` scores one applicant with reasons in well under a millisecond of model time.
"""
from __future__ import annotations

import math
import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

from smepulse.credit.attribution import PathContributions, float_matrix
from smepulse.credit.metadata import FeatureSpec
from smepulse.credit.reason_words import NumericWords, fmt_code, typical
from smepulse.credit.reason_words import fmt_number as _fmt
from smepulse.errors import CreditError

POLICY_FILE = Path(__file__).with_name("protected.yaml")
CODE_NAME = re.compile(r"(?i)((^|_)(code|naics|sic|zip|postcode|type|status|category|class|sector|industry|"
                       r"region|state|education|id)($|_))|(code|naics|zip)$")
MAX_CODE_LEVELS = 12


def protected_patterns(path: str | Path = POLICY_FILE, key: str = "patterns") -> list[str]:
    """Regular expressions of protected attribute names from a policy file: `patterns:` (never a
    reason), or with key="exclude" its `exclude:` list (never a feature of any model)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        pats = [str(p) for p in (data.get(key) or [])]
        for p in pats:
            re.compile(p)
    except (OSError, yaml.YAMLError, re.error, AttributeError, TypeError) as exc:
        raise CreditError(f"{path}: not a protected-attribute policy (a 'patterns:' list of regexes): {exc}") from exc
    return pats


@dataclass(frozen=True)
class Reason:
    code: str            # feature name
    value: object        # the applicant's value (None = missing)
    contribution: float  # log-odds pushed up by this feature (> 0)
    en: str
    zh: str
    claim: str           # what the words assert: fell, rose, high, low, typical, category, missing, template

    def to_dict(self) -> dict:
        return {"code": self.code, "value": self.value, "contribution": self.contribution,
                "en": self.en, "zh": self.zh, "claim": self.claim}


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _template(tpl: str, value) -> str | None:
    if not tpl:
        return None
    try:
        num = isinstance(value, (int, float))
        return tpl.format(value=value, pct=abs(value) * 100 if num else value, abs=abs(value) if num else value)
    except (ValueError, TypeError, KeyError, IndexError):
        return None  # e.g. a numeric format on a category: the generic sentence is used instead


class ReasonBook:
    """Per-feature reason rules learned from the training rows (scikit-learn contract)."""

    def __init__(self, specs: Mapping[str, FeatureSpec] | None = None, protected: Iterable[str] = (),
                 policy: str | Path | None = POLICY_FILE, max_code_levels: int = MAX_CODE_LEVELS):
        self.specs = dict(specs or {})
        self.protected = tuple(protected)
        self.policy = policy
        self.max_code_levels = max_code_levels

    # ------------------------------------------------------------------ fit
    def _is_protected(self, name: str, pats: list[re.Pattern]) -> bool:
        spec = self.specs.get(name)
        if name in self.protected:
            return True
        if spec is not None and spec.protected is not None:
            return bool(spec.protected)  # explicit metadata: "age" meaning years in business is not protected
        return any(p.fullmatch(name) for p in pats)

    def _kind(self, name: str, s: pd.Series, declared: bool) -> str:
        spec = self.specs.get(name)
        if spec and spec.kind in ("categorical", "numeric"):
            return spec.kind
        if declared or isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(s) \
                or not pd.api.types.is_numeric_dtype(s):
            return "categorical"
        if spec and (spec.monotone or spec.reason_en):
            return "numeric"  # a direction of risk or a numeric template: a quantity
        if CODE_NAME.search(name):
            return "categorical"
        v = s.dropna().to_numpy(float)
        if v.size and np.all(v == np.round(v)) and np.unique(v).size <= self.max_code_levels:
            return "categorical"  # low-cardinality integers: codes, not amounts
        return "numeric"

    def fit(self, X: pd.DataFrame, categorical: Iterable[str] = ()) -> ReasonBook:
        pats = [re.compile(p, re.IGNORECASE) for p in self.protected if not str(p).isidentifier()]
        pats += [re.compile(p, re.IGNORECASE) for p in (protected_patterns(self.policy) if self.policy else [])]
        declared = set(categorical)
        self.features_ = list(X.columns)
        self.kind_, self.reference_, self.direction_, self.protected_ = {}, {}, {}, []
        for c in self.features_:
            kind = self._kind(c, X[c], c in declared)
            self.kind_[c] = kind
            spec = self.specs.get(c)
            self.direction_[c] = int(np.sign(spec.monotone)) if spec and kind == "numeric" else 0
            if kind == "numeric":
                v = pd.to_numeric(X[c], errors="coerce").dropna()
                ref = float(v.mean() if v.nunique() <= 2 else v.median()) if len(v) else float("nan")
                self.reference_[c] = ref
            if self._is_protected(c, pats):
                self.protected_.append(c)
        self._prepare()
        return self

    def _prepare(self) -> None:
        f = self.features_
        self._num = np.array([self.kind_[c] == "numeric" for c in f])
        self._dir = np.array([self.direction_[c] for c in f], float)
        self._ref = np.array([self.reference_.get(c, np.nan) for c in f], float)
        self._prot = np.array([c in set(self.protected_) for c in f])
        self._gated = np.flatnonzero(self._num & (self._dir != 0))
        self._plans: dict[int, NumericWords] = {}  # compiled words per numeric feature, made when first needed
        self._gate_cache: dict[bytes, tuple[np.ndarray, np.ndarray, bool]] = {}

    def to_dict(self) -> dict:
        return {"features": [{"name": c, "kind": self.kind_[c], "reference": self.reference_.get(c),
                              "direction": self.direction_[c], "protected": c in self.protected_}
                             for c in self.features_],
                "specs": [s.to_dict() for s in self.specs.values()], "protected": list(self.protected),
                "max_code_levels": self.max_code_levels}

    @classmethod
    def from_dict(cls, d: dict) -> ReasonBook:
        book = cls({s["name"]: FeatureSpec(**s) for s in d.get("specs", [])}, d.get("protected", ()),
                   None, d.get("max_code_levels", MAX_CODE_LEVELS))
        rows = d["features"]
        book.features_ = [r["name"] for r in rows]
        book.kind_ = {r["name"]: r["kind"] for r in rows}
        book.reference_ = {r["name"]: float(r["reference"]) for r in rows if r["reference"] is not None}
        book.direction_ = {r["name"]: int(r["direction"]) for r in rows}
        book.protected_ = [r["name"] for r in rows if r["protected"]]
        book._prepare()
        return book

    # ------------------------------------------------------------------ words
    def sentence(self, name: str, value) -> tuple[str, str, str]:
        """(en, zh, claim) for `name` at `value`; the words never contradict the value."""
        spec = self.specs.get(name) or FeatureSpec(name, name)
        desc = spec.description or name
        zdesc = spec.description_zh or f"指标“{desc}”"  # quoted as data: no English prose in the zh text
        if _missing(value):
            return f"no data on {desc}", f"{zdesc}无数据", "missing"
        if self.kind_.get(name) == "categorical":
            key = fmt_code(value)  # verbatim: a code is never thousands-separated or rounded
            label_en = str(spec.labels_en.get(key, key))
            label_zh = str(spec.labels_zh.get(key, label_en))
            en = _template(spec.reason_en, label_en) or f"{desc} is “{label_en}”"
            zcat = spec.description_zh or f"字段“{desc}”"
            zh = _template(spec.reason_zh, label_zh) or f"{zcat}的取值为“{label_zh}”"
            return en, zh, "category"
        x = float(value) + 0.0  # -0.0 -> 0.0: never "bills of -0 CNY"
        if spec.reason_rise_en or spec.reason_rise_zh:  # signed: the template follows the sign
            rising = x >= 0
            en = _template(spec.reason_rise_en if rising else spec.reason_en, x)
            zh = _template(spec.reason_rise_zh if rising else spec.reason_zh, x)
            claim = "rose" if rising else "fell"
        else:
            en, zh, claim = _template(spec.reason_en, x), _template(spec.reason_zh, x), "template"
        ref = self.reference_.get(name, float("nan"))
        if en is None or zh is None:
            g_en, g_zh, g_claim = self.generic(name, x, desc, zdesc)
            if en is None and zh is None:
                claim = g_claim
            en, zh = en or g_en, zh or g_zh
        elif self.direction_.get(name, 0) == 0 and claim == "template" and not math.isnan(ref) and x != ref:
            # a neutral template ("term 24 months") says which side of the typical value this applicant is on
            hi = x > ref
            typ = typical(ref, spec.reason_en)
            en += f" ({'above' if hi else 'below'} the typical {typ})"
            zh += f"（{'高于' if hi else '低于'}通常水平{typ}）"
            claim = "high" if hi else "low"
        return en, zh, claim

    def generic(self, name: str, x: float, desc: str | None = None, zdesc: str | None = None) -> tuple[str, str, str]:
        """(en, zh, claim) of the generic sentence: high, low or typical against the training reference."""
        if desc is None:
            spec = self.specs.get(name)
            desc = (spec.description if spec else "") or name
            zdesc = (spec.description_zh if spec else "") or f"指标“{desc}”"
        ref = self.reference_.get(name, float("nan"))
        if math.isnan(ref) or x == ref:
            return f"{desc} is {_fmt(x)}", f"{zdesc}为 {_fmt(x)}", "typical"
        if x > ref:
            return f"{desc} is high (value {_fmt(x)})", f"{zdesc}偏高（数值 {_fmt(x)}）", "high"
        return f"{desc} is low (value {_fmt(x)})", f"{zdesc}偏低（数值 {_fmt(x)}）", "low"

    # ------------------------------------------------------------------ selection
    def eligible(self, contrib: np.ndarray, numeric: np.ndarray) -> np.ndarray:
        """Mask of (row, feature) cells that may be given as reasons: rules 1-3 of the module doc."""
        ok = contrib > 0
        ok[:, self._prot] = False
        g = self._gated
        if g.size:  # direction of risk: the value on the risky side of the reference, or missing
            v = numeric[:, g]
            with np.errstate(invalid="ignore"):
                ok[:, g] &= np.isnan(v) | (self._dir[g] * (v - self._ref[g]) > 0)
        return ok

    def _numeric(self, X: pd.DataFrame) -> np.ndarray:
        out = np.zeros((len(X), len(self.features_)))
        for j in np.flatnonzero(self._num):
            s = X.iloc[:, j]
            out[:, j] = s.to_numpy(float, na_value=np.nan) if pd.api.types.is_numeric_dtype(s) and \
                not isinstance(s.dtype, pd.CategoricalDtype) else pd.to_numeric(s, errors="coerce").to_numpy(float)
        return out

    def candidates(self, used: np.ndarray | None = None) -> np.ndarray:
        """Indices of the features that can ever be a reason: not protected (and, given the mask of the
        features a model pushes at all, pushed: the others' contributions are exactly 0)."""
        ok = ~self._prot if used is None else ~self._prot & np.asarray(used, bool)
        return np.flatnonzero(ok)

    def choose(self, pushes: np.ndarray, cols: np.ndarray, numeric: np.ndarray,
               top_n: int) -> tuple[np.ndarray, np.ndarray]:
        """`top` from the contributions of the features `cols` only (ascending, none protected): the
        same choice, since a feature outside `cols` is never eligible. `pushes` (n, len(cols)) is
        overwritten; `numeric` is (n, all features). Ineligible cells become 0 rather than -inf: an
        eligible contribution is > 0, so a row's k-th choice is valid exactly when its value is > 0."""
        s = np.fmax(pushes, 0.0, out=pushes)  # rule 1: pushed risk up (fmax: nan -> 0 too)
        lo, hi, gated = self._choose_gates(cols)
        if gated:  # rule 3, as thresholds: value <= lo (risk rises with it) or >= hi is the safe side
            v = numeric.take(cols, axis=1)
            bad = np.less_equal(v, lo)  # nan (missing value, or no threshold) compares False: not bad
            bad |= np.greater_equal(v, hi)
            np.multiply(s, ~bad, out=s)
        n, k = len(s), min(top_n, s.shape[1])
        idx, valid = np.zeros((n, top_n), np.intp), np.zeros((n, top_n), bool)
        rows = np.arange(n)
        for i in range(k):  # k is small (3-4): k argmax passes beat a partition of every row (ties: lower index)
            j = s.argmax(axis=1)
            idx[:, i], valid[:, i] = cols[j], s[rows, j] > 0
            s[rows, j] = 0.0
        return idx, valid

    def _choose_gates(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Per feature of cols, the thresholds of rule 3: a value v of a feature whose risk rises with it
        is on the safe side when v <= lo (the reference), of one whose risk falls when v >= hi; nan
        where there is no direction. Exactly `eligible`'s test: for a non-missing v, dir * (v - ref) > 0
        iff v > ref (dir +1) or v < ref (dir -1); a nan reference (no training values) makes every
        non-missing value safe-side, as +inf / -inf thresholds do."""
        key = cols.tobytes()
        hit = self._gate_cache.get(key)
        if hit is None:
            d, ref = self._dir[cols], self._ref[cols].copy()
            gated = np.isin(cols, self._gated)
            ref[np.isnan(ref)] = np.where(d > 0, np.inf, -np.inf)[np.isnan(ref)]
            lo = np.where(gated & (d > 0), ref, np.nan)
            hi = np.where(gated & (d < 0), ref, np.nan)
            hit = self._gate_cache[key] = (lo, hi, bool(gated.any()))
        return hit

    def top(self, contrib: np.ndarray, numeric: np.ndarray, top_n: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices, valid) of the top_n eligible features per row by contribution (ties: lower index)."""
        cols = self.candidates()
        idx, valid = self.choose(np.array(contrib[:, cols], dtype=float), cols, numeric, top_n)
        k = min(top_n, contrib.shape[1])
        return idx[:, :k], valid[:, :k]

    def top_row(self, contrib: np.ndarray, numeric: np.ndarray, top_n: int) -> np.ndarray:
        """`top` for one applicant (1-d inputs): the chosen feature indices, best first, at most top_n."""
        ok = (contrib > 0) & ~self._prot
        g = self._gated
        if g.size:
            v = numeric[g]
            with np.errstate(invalid="ignore"):
                ok[g] &= np.isnan(v) | (self._dir[g] * (v - self._ref[g]) > 0)
        cand = np.flatnonzero(ok)
        return cand[np.argsort(-contrib[cand], kind="stable")[:top_n]]

    def explain_row(self, contrib: np.ndarray, values: list, top_n: int = 3,
                    numeric: np.ndarray | None = None) -> list[Reason]:
        """Reasons for one applicant: contributions and values in the order of `features_` (the reference
        the batch `frame` is tested against). `numeric`: the values as floats, if the caller has them."""
        if numeric is None:
            numeric = np.array([float(v) if n and not _missing(v) else np.nan
                                for v, n in zip(values, self._num, strict=True)])
        idx, valid = self.top(np.asarray(contrib, float)[None, :], numeric[None, :], top_n)
        out = []
        for j, ok in zip(idx[0].tolist(), valid[0].tolist(), strict=True):
            if not ok:
                break
            name, v = self.features_[j], values[j]
            en, zh, claim = self.sentence(name, v)
            out.append(Reason(name, None if _missing(v) else v, float(contrib[j]), en, zh, claim))
        return out

    def _words(self, j: int, vals: np.ndarray) -> tuple[np.ndarray, list, list]:
        """(codes, en, zh) for many values of feature j: the words of `sentence`, each distinct value once;
        value i's words are en[codes[i]], zh[codes[i]] (missing: the last entry)."""
        name = self.features_[j]
        if not self._num[j]:  # categories: few distinct values, each through the reference
            codes, uniq = pd.factorize(pd.Series(vals, dtype=object), use_na_sentinel=True)
            words = [self.sentence(name, v)[:2] for v in uniq]
        else:
            codes, uniq = pd.factorize(np.asarray(vals, float), use_na_sentinel=True)
            plan = self._plans.get(j)
            if plan is None:
                plan = self._plans[j] = NumericWords(self, name)
            words = list(zip(*plan.words(np.asarray(uniq, float)), strict=True)) if len(uniq) else []
        words.append(self.sentence(name, None)[:2])  # code -1 (missing) picks the last entry
        en, zh = zip(*words, strict=True)
        return np.where(codes < 0, len(words) - 1, codes), list(en), list(zh)

    def frame(self, contrib: pd.DataFrame | np.ndarray, X: pd.DataFrame, top_n: int = 3,
              numeric: np.ndarray | None = None) -> pd.DataFrame:
        """Columns reason_1..n (English), reason_zh_1..n, reason_code_1..n; None where fewer apply.
        `contrib`: a frame with the features' columns or a matrix in `features_` order; `numeric`: the
        prepared values as floats in that order (a LightGBM float matrix will do: only numeric columns
        are read), computed from X when not given. Vectorised: no Python loop over rows."""
        c = contrib[self.features_].to_numpy(float) if isinstance(contrib, pd.DataFrame) else np.asarray(contrib)
        c = c[:, :len(self.features_)]  # a pred_contrib matrix's bias column is not a feature
        Xf = X[self.features_]
        if numeric is None:
            numeric = self._numeric(Xf)
        idx, valid = self.top(c, numeric, top_n)
        return self.frame_of(idx, valid, Xf, numeric, top_n)

    def frame_of(self, idx: np.ndarray, valid: np.ndarray, Xf: pd.DataFrame, numeric: np.ndarray,
                 top_n: int) -> pd.DataFrame:
        """`frame`'s columns from chosen features (`top`'s idx, valid): each distinct (feature, value)
        worded once into a table, each column a table lookup done by pyarrow (no Python str per row)."""
        n, k = idx.shape
        flat = np.flatnonzero(valid.ravel())  # row-major positions row * k + slot of the given reasons
        js = idx.ravel()[flat]
        order = np.argsort(js.astype(np.int32), kind="stable")
        flat, js = flat[order], js[order]
        word = np.full(n * k, -1, np.int64)
        en_all, zh_all = [], []
        starts = np.flatnonzero(np.r_[True, np.diff(js) != 0]).tolist() if js.size else []
        for a, b in zip(starts, [*starts[1:], js.size][:len(starts)], strict=True):
            j, pos = int(js[a]), flat[a:b]
            r = pos // k
            vals = numeric[r, j] if self._num[j] else Xf.iloc[:, j].to_numpy(object)[r]
            codes, en, zh = self._words(j, vals)
            word[pos] = codes + len(en_all)
            en_all += en
            zh_all += zh
        word = word.reshape(n, k)
        code = np.where(valid, idx, -1)
        tables = {"reason": pa.array(en_all, pa.string()), "reason_zh": pa.array(zh_all, pa.string()),
                  "reason_code": pa.array(list(self.features_), pa.string())}
        out = {}
        for key, cells in (("reason", word), ("reason_zh", word), ("reason_code", code)):
            for i in range(top_n):
                out[f"{key}_{i + 1}"] = _lookup(tables[key], cells[:, i] if i < k else np.full(n, -1), Xf.index)
        return pd.DataFrame(out, index=Xf.index)


_STR = pd.Series(["a"]).dtype  # the dtype pandas gives a column of text (pandas 3: "str", pyarrow-backed)


def _lookup(table: pa.Array, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """table[codes] as a text column of pandas' text dtype; code -1 is missing."""
    cells = table.take(pa.array(codes, pa.int64(), mask=codes < 0))
    if isinstance(_STR, pd.StringDtype):
        return pd.Series(pd.array(cells, dtype=_STR), index=index, copy=False)
    return pd.Series(cells.to_numpy(zero_copy_only=False), index=index, dtype=object, copy=False)


def sentence(spec: FeatureSpec, value, median: float | None, lang: str = "en") -> str:
    """One sentence for `spec` at `value` against a reference `median` (kind detected from the value)."""
    book = ReasonBook({spec.name: spec}, policy=None)
    book.features_ = [spec.name]
    numeric = spec.kind != "categorical" and (_missing(value) or isinstance(value, (int, float, np.number)))
    book.kind_ = {spec.name: "numeric" if numeric else "categorical"}
    book.reference_ = {spec.name: float("nan") if median is None else float(median)}
    book.direction_ = {spec.name: int(np.sign(spec.monotone))}
    book.protected_ = []
    en, zh, _ = book.sentence(spec.name, value)
    return en if lang == "en" else zh


# ---------------------------------------------------------------------- one applicant, fast
@dataclass(frozen=True)
class Explanation:
    pd: float
    score: float
    reasons: list[Reason]

    def to_dict(self) -> dict:
        return {"pd": self.pd, "score": self.score, "reasons": [r.to_dict() for r in self.reasons]}


class _Fast:
    """A model's LightGBM path without pandas: one float vector per applicant (built by compiled
    itemgetter + numpy conversion; the checked per-field loop only for inputs it cannot take as they
    are), one `pred_contrib` (or precomputed path) call, reasons chosen with numpy."""

    def __init__(self, model):
        est = model.estimator
        self.model, self.booster, self.iters = model, est.booster_, est.best_iteration_
        self.features = list(model.features)
        schema = model.schema
        self.levels = {c: {lv: float(i) for i, lv in enumerate(schema.categories_[c])}
                       for c in self.features if schema.is_categorical(c)}
        self.labels = {c: list(schema.categories_[c]) for c in self.levels}
        self.money = set(schema.money_)
        self.book = model_reason_book(model)
        if self.book.features_ != self.features:
            raise CreditError("the model's reason book does not list the model's features in order")
        self.cat = [(j, c) for j, c in enumerate(self.features) if c in self.levels]
        self.num = np.array([j for j, c in enumerate(self.features) if c not in self.levels], np.intp)
        self.get_all = itemgetter(*self.features)
        names = [self.features[j] for j in self.num]
        self.get_num = (lambda a: ()) if not names else itemgetter(*names) if len(names) > 1 else \
            (lambda a, g=itemgetter(names[0]): (g(a),))
        # the reason book reads numeric values; a column the book counts as a quantity but the schema
        # codes as a category (rare: declared kinds) needs its label as a number
        self.odd = [(j, c) for j, c in self.cat if self.book._num[j]]
        self.path: PathContributions | None = None
        self.cols: np.ndarray | None = None  # the features the path can give as reasons (batch_reasons)

    def vector(self, applicant: Mapping) -> tuple[np.ndarray, list]:
        """The checked way: one field at a time, errors naming the field (and the fast path's fallback)."""
        x = np.empty((1, len(self.features)))
        values = []
        for j, c in enumerate(self.features):
            if c not in applicant:
                raise CreditError(f"applicant field '{c}' the model needs is missing")
            v = applicant[c]
            if _missing(v):
                x[0, j] = np.nan
                values.append(None)
            elif c in self.levels:
                v = str(v)
                x[0, j] = self.levels[c].get(v, np.nan)  # unseen category: scored as missing
                values.append(v if v in self.levels[c] else None)
            else:
                try:
                    f = float(str(v).replace(",", "").replace("$", "")) if c in self.money and isinstance(v, str) \
                        else float(v)
                except (TypeError, ValueError):
                    raise CreditError(f"applicant field '{c}': {v!r} is not a number") from None
                if not math.isfinite(f):
                    raise CreditError(f"applicant field '{c}': {v!r} is not a finite number")
                x[0, j] = f
                values.append(f)
        return x, values

    def fast_vector(self, applicant: Mapping) -> np.ndarray | None:
        """The float vector (1, n) when every value can be taken as it is, else None (use `vector`)."""
        try:
            raw = self.get_num(applicant)
            num = np.array(raw, dtype=float)  # None -> nan; numbers, numeric strings, booleans as float()
        except (KeyError, TypeError, ValueError):
            return None
        bad = ~np.isfinite(num)
        if bad.any():  # nan only from a missing value (None / float nan), never from 'nan' or inf
            if np.isinf(num).any() or not all(_missing(raw[k]) for k in np.flatnonzero(bad).tolist()):
                return None
        x = np.empty((1, len(self.features)))
        x[0, self.num] = num
        for j, c in self.cat:
            v = applicant[c]
            x[0, j] = np.nan if _missing(v) else self.levels[c].get(str(v), np.nan)
        return x

    def value(self, j: int, x: np.ndarray):
        """The applicant's value of feature j as a reason quotes it (None = missing or unseen category)."""
        v = x[0, j]
        if v != v:
            return None
        c = self.features[j]
        return self.labels[c][int(v)] if c in self.levels else float(v)

    def path_contributions(self) -> PathContributions:
        if self.path is None:
            self.path = PathContributions(self.booster, self.iters, len(self.features))
        return self.path

    def compile_leaves(self, required: bool = True) -> float | None:
        """Compile the path's leaf numbers with lleaves (once per model object); the seconds it took,
        None if already compiled or (not required) lleaves cannot compile this model."""
        path = self.path_contributions()
        if path.compiled_ is not None:
            return None
        try:
            return path.compile_leaves()
        except Exception as exc:  # lleaves missing or the model text not compilable: pred_leaf does it
            if required:
                raise CreditError(f"compiled leaf numbers: {type(exc).__name__}: {exc}") from exc
            return None

    def contributions(self, x: np.ndarray, method: str) -> np.ndarray:
        if method == "treeshap":
            return self.booster.predict(x, pred_contrib=True, num_iteration=self.iters, num_threads=1)[0]
        if method == "path":
            return self.path_contributions().predict_row(x)
        raise CreditError(f"method must be 'treeshap' or 'path', not {method!r}")

    def feature_vector(self, applicant: Mapping) -> np.ndarray:
        x = self.fast_vector(applicant)
        if x is None:
            x, _ = self.vector(applicant)  # raises the field's error, or converts money text
        return x

    def explain(self, applicant: Mapping, top_n: int, method: str = "treeshap") -> Explanation:
        return self.explain_vector(self.feature_vector(applicant), top_n, method)

    def explain_vector(self, x: np.ndarray, top_n: int, method: str = "treeshap") -> Explanation:
        c = self.contributions(x, method)
        p_raw = 1.0 / (1.0 + math.exp(-float(c.sum())))
        pd_ = self.model.calibrator.transform_one(p_raw)
        score = round(self.model.scaling.score_one(pd_), 1)
        numeric = x[0]
        if self.odd:
            numeric = numeric.copy()
            for j, _c in self.odd:
                v = self.value(j, x)
                try:
                    numeric[j] = np.nan if v is None else float(v)
                except ValueError:
                    numeric[j] = np.nan
        reasons = []
        for j in self.book.top_row(c[:-1], numeric, top_n).tolist():
            v = self.value(j, x)
            en, zh, claim = self.book.sentence(self.features[j], v)
            reasons.append(Reason(self.features[j], v, float(c[j]), en, zh, claim))
        return Explanation(pd_, score, reasons)


_FAST: dict[int, tuple[weakref.ref, _Fast]] = {}


def model_reason_book(model) -> ReasonBook:
    """The model's ReasonBook (learned at training); models saved before it get one from their medians."""
    book = getattr(model, "reason_book", None)
    if book is not None:
        return book
    book = ReasonBook(model.specs)
    book.features_ = list(model.features)
    book.kind_ = {c: "categorical" if model.schema.is_categorical(c) else "numeric" for c in book.features_}
    book.reference_ = {c: v for c, v in model.medians.items() if c in book.kind_}
    book.direction_ = {c: int(np.sign(model.specs[c].monotone)) if c in model.specs and book.kind_[c] == "numeric"
                       else 0 for c in book.features_}
    pats = [re.compile(p, re.IGNORECASE) for p in protected_patterns()]
    book.protected_ = [c for c in book.features_ if book._is_protected(c, pats)]
    book._prepare()
    return book


def fast_path(model) -> _Fast:
    """The model's cached fast path (built once per model object: reason book, levels, path tables)."""
    hit = _FAST.get(id(model))
    if hit is None or hit[0]() is not model:
        fast = _Fast(model)
        _FAST[id(model)] = (weakref.ref(model), fast) if _weakrefable(model) else (lambda: model, fast)
        hit = _FAST[id(model)]
    return hit[1]


def feature_vector(model, applicant: Mapping) -> np.ndarray:
    """A LightGBM model's input for one applicant: (1, n) float64 in `model.features` order, categories
    as their training codes (unseen or missing: nan). A caller may patch numeric entries in place
    (x[0, model.features.index(name)] = value) and pass it to `explain_vector`. CreditError naming the
    field for a missing, non-numeric or infinite value."""
    if model.kind != "lightgbm":
        raise CreditError(f"feature_vector needs a lightgbm model, not {model.kind}")
    return fast_path(model).feature_vector(applicant)


def explain_vector(model, x: np.ndarray, top_n: int = 3, method: str = "treeshap") -> Explanation:
    """`explain` from a `feature_vector`: the same PD, score and reasons (the reasons' values are read
    from x: numbers as floats, categories by their labels)."""
    if model.kind != "lightgbm":
        raise CreditError(f"explain_vector needs a lightgbm model, not {model.kind}")
    x = np.asarray(x, float).reshape(1, -1)
    if x.shape[1] != len(model.features):
        raise CreditError(f"a feature vector of this model has {len(model.features)} values, not {x.shape[1]}")
    return fast_path(model).explain_vector(x, top_n, method)


def explain(model, applicant: Mapping, top_n: int = 3, method: str = "treeshap") -> Explanation:
    """PD, score and up to `top_n` true reasons (en and zh) for one applicant given as a mapping of
    feature name -> value (numbers, category labels, None for missing). LightGBM models take a fast
    path (no pandas, no per-feature Python loop for well-formed input: one `pred_contrib` call on a
    float vector); `method='path'` uses the precomputed path pushes instead (attribution.py: faster,
    not TreeSHAP's numbers). Other kinds go through `score_frame`. Raises CreditError naming the
    field when a value the model needs is missing or not a number."""
    if model.kind == "lightgbm":
        return fast_path(model).explain(applicant, top_n, method)
    missing = [c for c in model.features if c not in applicant]
    if missing:
        raise CreditError(f"applicant field '{missing[0]}' the model needs is missing")
    df = pd.DataFrame([{c: applicant[c] for c in model.features}])
    prep = model.schema.transform(df)
    if prep.row_errors.iat[0]:
        raise CreditError(f"applicant {prep.row_errors.iat[0]}")
    X = prep.X[model.features]
    p = model.pd_from_prepared(X)
    score = float(np.round(model.score_from_prepared(X, p), 1)[0])
    book = model_reason_book(model)
    contrib = model.estimator.contributions(X)[book.features_].to_numpy(float)[0]
    values = [None if _missing(v) else (v.item() if hasattr(v, "item") else v) for v in X.iloc[0].tolist()]
    return Explanation(float(p[0]), score, book.explain_row(contrib, values, top_n))


def _weakrefable(obj) -> bool:
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


# ---------------------------------------------------------------------- batch reasons at speed
COMPILE_ROWS = 500_000  # a path batch this large compiles the leaf numbers first (~1 s, saves ~2 us a row)


def batch_reasons(model, X: pd.DataFrame, top_n: int = 3, method: str = "path",
                  num_threads: int = 2, compiled: bool | None = None) -> pd.DataFrame:
    """Reasons for many prepared rows of a LightGBM model: `method='path'` (precomputed path pushes,
    fast) or 'treeshap' (LightGBM pred_contrib, exact: the words `score_frame` gives). Same columns
    as `ReasonBook.frame`; vectorised end to end (leaves, then blocks of rows in `num_threads`
    threads choosing their reasons with numpy, words per distinct value). `compiled` (path only):
    the leaf numbers from lleaves-compiled trees (`compile_leaves`: the same leaves); None = when
    already compiled for this model object, or the batch has at least COMPILE_ROWS rows."""
    if model.kind != "lightgbm":
        raise CreditError(f"batch_reasons needs a lightgbm model, not {model.kind}")
    fast = fast_path(model)
    M = float_matrix(model, X)
    book = fast.book
    numeric = book._numeric(X[book.features_]) if fast.odd else M
    if method == "path":
        path = fast.path_contributions()
        if compiled or (compiled is None and path.compiled_ is None and len(X) >= COMPILE_ROWS):
            fast.compile_leaves(required=bool(compiled))
        if fast.cols is None:
            fast.cols = book.candidates(path.used())
        cols = fast.cols
        idx, valid = path.choose(M, cols, lambda p, r: book.choose(p, cols, numeric[r], top_n), top_n,
                                 num_threads, compiled=compiled is not False)
    elif method == "treeshap":
        c = fast.booster.predict(M, pred_contrib=True, num_iteration=fast.iters, num_threads=num_threads)
        idx, valid = book.top(c[:, :len(book.features_)], numeric, top_n)
    else:
        raise CreditError(f"method must be 'path' or 'treeshap', not {method!r}")
    return book.frame_of(idx, valid, X[book.features_], numeric, top_n)
