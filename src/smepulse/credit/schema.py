"""The feature schema a model learns at fit time and enforces at scoring time (types, categories)."""
from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from smepulse.credit.data import MONEY_TEXT, parse_money
from smepulse.credit.notes import Note
from smepulse.errors import CreditError

_MONEY = re.compile(rf"^{MONEY_TEXT}$")
# names of record keys: ID, firm_id, application_id, LoanNr_ChkDgt, Unnamed: 0 (a written index)
_ID_NAME = re.compile(r"(?i)(.*[_. \-])?(id|uuid|guid)([_. \-].*)?|.*[a-z]Nr([_. ].*)?|unnamed: ?\d+|index")


def looks_like_identifier(s: pd.Series) -> bool:
    """A numeric record key, not a feature: a key-like name with more distinct values than a code
    has (a `region_id` of 30 levels stays a feature), or integers all distinct in a dense range (a
    row number under any name)."""
    vals = pd.to_numeric(s, errors="coerce").dropna()
    n, k = len(vals), vals.nunique()
    if n == 0:
        return False
    if _ID_NAME.fullmatch(str(s.name)) and k > max(50, 0.5 * n):
        return True
    integral = bool((vals == np.round(vals)).all())
    return integral and n >= 50 and k == n and float(vals.max() - vals.min()) < 2 * n


def looks_like_money(s: pd.Series) -> bool:
    vals = s.dropna().astype(str).head(500)
    return len(vals) > 0 and vals.str.contains(r"[\$,]").any() and vals.str.match(_MONEY).mean() > 0.95


# Date-shaped text and the formats each shape can be read in. A column is a date when nearly every
# value has one shape and parses in one format: codes ("A12"), zip codes, fractions ("1/2") and
# numbers have no such shape, so they stay features.
_DATE_SHAPES = (
    (r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?", ("ISO8601", "%Y-%m-%d")),
    (r"\d{4}/\d{1,2}/\d{1,2}", ("%Y/%m/%d",)),
    (r"\d{1,2}/\d{1,2}/\d{4}", ("%m/%d/%Y", "%d/%m/%Y")),
    (r"\d{1,2}/\d{1,2}/\d{2}", ("%m/%d/%y", "%d/%m/%y")),
    (r"\d{1,2}-\d{1,2}-\d{4}", ("%m-%d-%Y", "%d-%m-%Y")),
    (r"\d{1,2}\.\d{1,2}\.\d{4}", ("%d.%m.%Y",)),
    (r"\d{1,2}[- ][A-Za-z]{3}[- ]\d{2}(\d{2})?", ("%d-%b-%y", "%d-%b-%Y", "%d %b %Y", "%d %b %y")),
)
DATE_SHARE = 0.95  # of the non-missing values; a few typos do not make a date column a category


def looks_like_date(s: pd.Series) -> bool:
    """Text (or Python date objects, as Parquet can hold) that are dates: never a feature."""
    known = s.dropna()
    if known.empty:
        return False
    step = max(1, len(known) // 2000)  # spread over the file: a sorted file may change format late
    vals = known.iloc[::step]
    if vals.map(lambda v: isinstance(v, dt.date)).all():
        return True
    txt = vals.astype(str).str.strip()
    for shape, formats in _DATE_SHAPES:
        if txt.str.fullmatch(shape).mean() < DATE_SHARE:
            continue
        for fmt in formats:
            if pd.to_datetime(txt, format=fmt, errors="coerce").notna().mean() >= DATE_SHARE:
                return True
    return False


@dataclass
class Prepared:
    X: pd.DataFrame
    row_errors: pd.Series            # None where the row is fine, else why it cannot be scored
    notes: list[str] = field(default_factory=list)


class FeatureSchema:
    """fit(X) learns which columns are numeric / categorical (and their levels); transform enforces it."""

    def fit(self, X: pd.DataFrame) -> FeatureSchema:
        self.numeric_, self.categories_, self.money_, self.dropped_ = [], {}, [], {}
        n, notes, date_text = len(X), [], []
        for col in X.columns:
            s = X[col]
            if pd.api.types.is_datetime64_any_dtype(s):
                self.dropped_[col] = "a date is not a feature; pass it as --time-column or derive features"
                notes.append(Note("schema_date", column=col))
            elif pd.api.types.is_bool_dtype(s):
                self.numeric_.append(col)
            elif pd.api.types.is_numeric_dtype(s):
                if looks_like_identifier(s):
                    self.dropped_[col] = f"a record key, not a feature ({s.nunique()} distinct values in {n} rows)"
                    notes.append(Note("schema_key", column=col, levels=int(s.nunique()), n=n))
                else:
                    self.numeric_.append(col)
            elif looks_like_date(s):  # '2/28/1998' as text: a date all the same (docs/credit.md)
                self.dropped_[col] = "date text is not a feature; pass it as --time-column or derive features"
                date_text.append(col)
            elif looks_like_money(s):
                self.money_.append(col)
                self.numeric_.append(col)
            else:
                levels = s.dropna().astype(str).unique()
                if len(levels) > max(50, 0.5 * n):
                    self.dropped_[col] = f"identifier-like text ({len(levels)} distinct values in {n} rows)"
                    notes.append(Note("schema_identifier", column=col, levels=len(levels), n=n))
                else:
                    self.categories_[col] = sorted(levels.tolist())
        if date_text:  # one line for all of them: a loan file often has several dates
            notes.append(Note("schema_date_text", columns=", ".join(map(str, date_text)),
                              example=str(X[date_text[0]].dropna().iloc[0])))
        for note in notes:
            warnings.warn(note, stacklevel=2)
        self.features_ = [c for c in X.columns if c not in self.dropped_]
        if not self.features_:
            raise CreditError("no usable feature columns")
        return self

    def transform(self, X: pd.DataFrame) -> Prepared:
        missing = [c for c in self.features_ if c not in X.columns]
        if missing:
            raise CreditError(f"column '{missing[0]}' the model needs is missing from the data "
                              f"({len(missing)} missing: {', '.join(missing[:10])})")
        out = {}  # built as a dict: inserting 100+ columns one by one fragments a DataFrame
        errors = pd.Series([None] * len(X), index=X.index, dtype=object)
        notes = []
        for col in self.features_:
            s = X[col]
            if col in self.categories_:
                txt = s.astype("string")
                unseen = txt.notna() & ~txt.isin(self.categories_[col])
                if unseen.any():
                    ex = txt[unseen].iloc[0]
                    notes.append(f"column '{col}': {int(unseen.sum())} rows have categories not seen in "
                                 f"training (e.g. {ex!r}); scored as missing")
                out[col] = pd.Categorical(txt.where(~unseen).astype(object), categories=self.categories_[col])
                continue
            num = parse_money(s) if col in self.money_ else pd.to_numeric(s, errors="coerce")
            num = num.astype(float)
            bad = (num.isna() & s.notna()) | np.isinf(num)
            for i in np.flatnonzero(bad.to_numpy()):
                prev = errors.iat[i]
                msg = f"column '{col}': {s.iat[i]!r} is not a number"
                errors.iat[i] = msg if prev is None else f"{prev}; {msg}"
            out[col] = num.where(~bad)
        return Prepared(pd.DataFrame(out, index=X.index), errors, notes)

    def is_categorical(self, col: str) -> bool:
        return col in self.categories_

    def to_state(self) -> dict:
        return {"numeric": self.numeric_, "categories": self.categories_, "money": self.money_,
                "dropped": self.dropped_, "features": self.features_}

    @classmethod
    def from_state(cls, state: dict) -> FeatureSchema:
        s = cls()
        s.numeric_, s.categories_ = list(state["numeric"]), {k: list(v) for k, v in state["categories"].items()}
        s.money_, s.dropped_, s.features_ = list(state["money"]), dict(state["dropped"]), list(state["features"])
        return s

    def to_dict(self) -> dict:
        return {"numeric": self.numeric_, "money": self.money_, "dropped": self.dropped_,
                "categorical": {k: len(v) for k, v in self.categories_.items()}}
