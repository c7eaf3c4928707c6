"""Credit data in: public datasets (SBA, Taiwan, German) and bring-your-own tables, validated at the boundary."""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.model_selection import train_test_split

from smepulse.credit.metadata import FeatureSpec
from smepulse.credit.notes import Note
from smepulse.errors import CreditError, InputError

SEED = 20180101  # fixed so a random split is reproducible run to run


# ---------------------------------------------------------------- reading files
def read_table(path: str | Path) -> pd.DataFrame:
    """Read CSV, Parquet, Excel or ARFF by extension; errors name the file. The frame's attrs keep
    the file and its row count so later checks can name the line of a bad value (`check_numbers`)."""
    path = Path(path)
    df = _read_table(path)
    # lines before the first data row: a header in CSV text, none in german.data; None: not text lines
    lines = 1 if path.suffix.lower() in (".csv", ".txt", ".gz") else 0 if path.name == "german.data" else None
    df.attrs.update(source=str(path), source_rows=len(df), lines_before=lines)
    return df


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError("file not found; check the path", file=str(path))
    ext = path.suffix.lower()
    try:
        if ext in (".csv", ".txt", ".gz"):
            return pd.read_csv(path, encoding="utf-8-sig", low_memory=False)
        if ext in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if ext in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(path)
        if ext == ".arff":
            return _read_arff(path)
        if path.name == "german.data":  # the Statlog file as published: no header, codebook names
            return read_german(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"could not be read as {ext[1:]}: {exc}", file=str(path)) from exc
    raise InputError(f"unsupported extension '{ext}'; use .csv, .parquet, .xlsx or .arff (or the Statlog "
                     "german.data)", file=str(path))


def _read_arff(path: Path) -> pd.DataFrame:
    from scipy.io import arff  # noqa: PLC0415 (ARFF files are rare)
    data, _meta = arff.loadarff(str(path))
    df = pd.DataFrame(data)
    for col in df.columns:  # nominal attributes come back as bytes
        if df[col].dtype == object:
            df[col] = df[col].map(lambda v: v.decode() if isinstance(v, bytes) else v).replace("?", np.nan)
    return df


MONEY_TEXT = r"\s*-?\$?\s*[\d,]+(\.\d+)?\s*"  # '$60,000.00 ', '-1,234': what parse_money reads


def parse_money(s: pd.Series) -> pd.Series:
    """'$60,000.00 ' -> 60000.0; blanks -> NaN. Already-numeric series pass through."""
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float)
    cleaned = s.astype("string").str.replace(r"[\$,\s]", "", regex=True).replace("", pd.NA)
    return pd.to_numeric(cleaned, errors="coerce").astype(float)


def data_hash(df: pd.DataFrame) -> str:
    """Stable content hash of a table (values and column names), for the model's provenance."""
    h = hashlib.sha256(",".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).values.tobytes())
    return "sha256:" + h.hexdigest()  # all 256 bits: a provenance hash cut short invites collisions


# ---------------------------------------------------------------- validation
def binary_target(df: pd.DataFrame, target: str, *, allow_missing: bool = False) -> pd.Series:
    """Map a target column to 0/1 (1 = bad). Accepts 0/1, booleans, and two-level labels."""
    if target not in df.columns:
        cols = [str(c) for c in df.columns]  # the target is often the last column: never cut it off
        shown = ", ".join(cols if len(cols) <= 60 else cols[:30] + [f"... ({len(cols) - 40} more)"] + cols[-10:])
        raise InputError(f"target column not found; columns are: {shown}", column=target)
    y = df[target]
    known = y.dropna()
    if known.empty:
        raise InputError("target has no values", column=target)
    if y.isna().any() and not allow_missing:
        raise InputError(f"target has {int(y.isna().sum())} missing values; drop them, or use "
                         "--reject-inference to treat them as rejected applications", column=target)
    levels = sorted(known.unique().tolist(), key=str)
    if len(levels) != 2 and not (len(levels) == 1 and levels[0] in (0, 1)):
        raise InputError(f"target must be binary (two values), found {len(levels)}: {levels[:6]}",
                         column=target)
    if set(levels) <= {0, 1}:
        return y.astype("Float64").astype(float)
    bad_words = ("1", "bad", "default", "chgoff", "yes", "y", "true", "2")
    bad = [lv for lv in levels if str(lv).strip().lower() in bad_words]
    if len(bad) != 1:
        raise InputError(f"cannot tell which of {levels} is the bad outcome; recode it as 0/1 "
                         "(1 = default)", column=target)
    return y.map(lambda v: np.nan if pd.isna(v) else float(v == bad[0]))


NUMBER_SHARE = 0.95  # a text column at least this numeric is a number column with bad values in it


def check_numbers(X: pd.DataFrame, categorical=()) -> None:
    """Refuse a column of numbers with a few values that are not numbers ('abc' in LIMIT_BAL): read
    as text it would silently become a category of every distinct amount. Missing values are fine;
    a code column with a non-numeric level as common as 5% stays a category, and so does a column
    the metadata declares `categorical`."""
    for col in X.columns:
        s = X[col]
        if col in categorical:
            continue
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) \
                or pd.api.types.is_datetime64_any_dtype(s):
            continue
        head = s.dropna().head(2000).astype("string").str.strip()  # names, cities: skip at a glance
        if len(head) and pd.to_numeric(head, errors="coerce").notna().mean() < 0.5 \
                and head.str.fullmatch(MONEY_TEXT).fillna(False).mean() < 0.5:
            continue
        txt = s.astype("string").str.strip().replace("", pd.NA)
        known = txt.dropna()
        if len(known) < 20:  # too few values to tell a number column from a code
            continue
        ok = pd.to_numeric(known, errors="coerce").notna() | known.str.fullmatch(MONEY_TEXT).fillna(False)
        if ok.all() or ok.mean() < NUMBER_SHARE:
            continue
        bad = known[~ok]
        pos = int(X.index.get_loc(bad.index[0]))
        raise InputError(f"{_where(X, pos)}, column '{col}': {bad.iloc[0]!r} is not a number, in a column of "
                         f"numbers ({int(ok.sum())} of {len(known)} values are, {len(bad)} not); fix or blank it",
                         file=X.attrs.get("source"))


def _where(X: pd.DataFrame, pos: int) -> str:
    """'line 1001' of the file when the frame still holds every row of it in order, else the data row."""
    whole = X.attrs.get("source_rows") == len(X) and X.index.equals(pd.RangeIndex(len(X)))
    if whole and X.attrs.get("lines_before") is not None:
        return f"line {pos + 1 + X.attrs['lines_before']}"
    return f"data row {pos + 1}"


def check_features(X: pd.DataFrame, categorical=()) -> list[str]:
    """Drop, in place, all-missing and constant columns (warnings name them). Returns the warnings.
    A number column with a stray text value is an input error (`check_numbers`) unless `categorical`
    (the metadata's `kind: categorical` columns) names it."""
    check_numbers(X, categorical)
    notes = []
    for col in list(X.columns):
        s = X[col]
        if s.isna().all():
            notes.append(Note("all_missing", column=col))
        elif s.nunique(dropna=True) <= 1 and not s.isna().any():
            first = s.dropna().iloc[0]
            notes.append(Note("constant", column=col, value=repr(first.item() if hasattr(first, "item") else first)))
        else:
            continue
        del X[col]
    if X.shape[1] == 0:
        raise CreditError("no usable feature columns left after dropping constant and empty ones")
    for n in notes:
        warnings.warn(n, stacklevel=2)
    return notes


def parse_time(df: pd.DataFrame, column: str) -> pd.Series:
    """Dates for an out-of-time split. Unparseable values raise, naming the column and first bad rows."""
    if column not in df.columns:
        raise InputError("time column not found", column=column)
    s = df[column]
    if pd.api.types.is_datetime64_any_dtype(s):
        t = s
    elif pd.api.types.is_numeric_dtype(s):
        t = s.astype(float)  # e.g. fiscal years or days since epoch: order is all we need
    else:
        t = pd.to_datetime(s, errors="coerce", format="mixed")
    bad = t.isna() & s.notna()
    if bad.any() or t.isna().all():
        rows = [int(i) for i in np.flatnonzero(bad.to_numpy())[:5]]
        raise InputError(f"{int(bad.sum())} values are not dates (first rows {rows}, e.g. "
                         f"{s[bad].iloc[0] if bad.any() else None!r}); fix them or drop the rows",
                         column=column)
    if t.isna().any():
        raise InputError(f"{int(t.isna().sum())} rows have no date; an out-of-time split needs every date",
                         column=column)
    return t


# ---------------------------------------------------------------- splitting
@dataclass
class Split:
    train: np.ndarray  # positional indices
    test: np.ndarray
    kind: str          # "out-of-time" or "random-stratified"
    detail: dict = field(default_factory=dict)


def split_rows(y: pd.Series, time: pd.Series | None = None, test_size: float = 0.3,
               seed: int = SEED) -> Split:
    """Out-of-time when dates exist (train earlier, test later); else stratified random 70/30."""
    idx = np.arange(len(y))
    if time is not None:
        order = np.argsort(time.to_numpy(), kind="stable")
        cut = int(round(len(y) * (1 - test_size)))
        tr, te = np.sort(order[:cut]), np.sort(order[cut:])
        tv = time.to_numpy()
        detail = {"train_from": str(tv[order[0]]), "train_until": str(tv[order[cut - 1]]),
                  "test_from": str(tv[order[cut]]), "test_until": str(tv[order[-1]])}
        for part, name in ((tr, "train"), (te, "test")):
            if len(np.unique(y.iloc[part])) < 2:
                raise CreditError(f"the out-of-time {name} period has only one outcome class; "
                                  "use a longer history or no --time-column")
        return Split(tr, te, "out-of-time", detail)
    tr, te = train_test_split(idx, test_size=test_size, stratify=y.to_numpy(), random_state=seed)
    return Split(np.sort(tr), np.sort(te), "random-stratified", {"seed": seed, "test_size": test_size})


# ---------------------------------------------------------------- public datasets
SBA_MONEY = ["DisbursementGross", "BalanceGross", "ChgOffPrinGr", "GrAppv", "SBA_Appv"]


def sba_specs() -> dict[str, FeatureSpec]:
    """Metadata for SBA 7(a) fields, incl. post-origination ones marked unavailable at decision,
    from sba_meta.yaml (data, not code)."""
    return _specs_file(SBA_META)


def load_sba_case(root: str | Path) -> pd.DataFrame:
    """The paper's teaching subset (Li, Mickel & Taylor 2018): 2,101 loans, `Default`, `Selected`."""
    return pd.read_csv(Path(root) / "credit" / "sba" / "SBAcase.11.13.17.csv", encoding="utf-8-sig")


def load_sba_national(root: str | Path) -> pd.DataFrame:
    """SBA 7(a) national partial file, cleaned: money parsed, dates parsed, `Default` = CHGOFF (1) / P I F (0).

    Adds origination-time features: `Sector`, `IsFranchise`, `Portion`. Rows without a status are dropped.
    """
    df = pd.read_csv(Path(root) / "credit" / "sba" / "SBAnational_partial_22427rows.csv",
                     low_memory=False)
    for col in SBA_MONEY:
        if col in df:
            df[col] = parse_money(df[col])
    for col in ("ApprovalDate", "DisbursementDate", "ChgOffDate"):
        df[col] = pd.to_datetime(df[col], format="%d-%b-%y" if "-" in str(df[col].dropna().iloc[0])
                                 else "%m/%d/%Y", errors="coerce")
    # two-digit years: pandas maps 69-99 to 19xx and 00-68 to 20xx, right for this 1980s-2010s book
    df["ApprovalFY"] = pd.to_numeric(df["ApprovalFY"].astype(str).str.extract(r"(\d{4})")[0],
                                     errors="coerce")
    df = df[df["MIS_Status"].isin(["CHGOFF", "P I F"])].copy()
    df["Default"] = (df["MIS_Status"] == "CHGOFF").astype(int)
    df["Sector"] = df["NAICS"].astype(str).str[:2].replace("0", "unknown")
    df["IsFranchise"] = (~df["FranchiseCode"].isin([0, 1])).astype(int)
    df["Portion"] = df["SBA_Appv"] / df["GrAppv"]
    for col in ("RevLineCr", "LowDoc"):
        df[col] = df[col].where(df[col].isin(["Y", "N"]))  # other codes are data-entry noise
    return df.reset_index(drop=True)


SBA_ORIGINATION_FEATURES = ["Portion", "GrAppv", "SBA_Appv", "NoEmp", "NewExist", "CreateJob",
                            "RetainedJob", "IsFranchise", "UrbanRural", "RevLineCr", "LowDoc",
                            "Sector", "State", "BankState", "Bank"]

TAIWAN_TARGET = "default.payment.next.month"


def load_taiwan(root: str | Path) -> pd.DataFrame:
    """Yeh & Lien (2009) credit-card default, 30,000 rows; `ID` dropped."""
    df = pd.read_csv(Path(root) / "credit" / "taiwan_default" / "UCI_Credit_Card.csv")
    return df.drop(columns=["ID"])


GERMAN_COLUMNS = [
    "checking_status", "duration_months", "credit_history", "purpose", "credit_amount",
    "savings_status", "employment_since", "installment_rate", "personal_status_sex",
    "other_debtors", "residence_since", "property", "age_years", "other_installment_plans",
    "housing", "existing_credits", "job", "num_dependents", "telephone", "foreign_worker",
]


def load_german(root: str | Path) -> pd.DataFrame:
    """Statlog German credit with the codebook's attribute names; `bad` = 1 when the class is 2."""
    return read_german(Path(root) / "credit" / "german_credit" / "german.data")


def read_german(path: str | Path) -> pd.DataFrame:
    df = pd.read_csv(path, sep=r"\s+", header=None)
    if df.shape[1] != len(GERMAN_COLUMNS) + 1:
        raise InputError(f"not the Statlog german.data layout: {df.shape[1]} columns, expected "
                         f"{len(GERMAN_COLUMNS) + 1}", file=str(path))
    df.columns = GERMAN_COLUMNS + ["class"]
    df["bad"] = (df.pop("class") == 2).astype(int)
    return df


def shipped_specs(columns) -> tuple[str, dict[str, FeatureSpec]]:
    """(name, metadata) of a public dataset smepulse ships metadata for, recognised by its columns:
    German credit, Taiwan credit card, SBA 7(a); ("", {}) for anything else."""
    cols = set(map(str, columns))
    if set(GERMAN_COLUMNS) <= cols:
        return "german", german_specs()
    if TAIWAN_COLUMNS <= cols:
        return "taiwan", taiwan_specs()
    if {"MIS_Status", "GrAppv", "SBA_Appv"} <= cols or {"Default", "Portion", "RealEstate"} <= cols:
        return "sba", sba_specs()
    return "", {}


GERMAN_META = Path(__file__).with_name("german_meta.yaml")
TAIWAN_META = Path(__file__).with_name("taiwan_meta.yaml")
SBA_META = Path(__file__).with_name("sba_meta.yaml")
TAIWAN_COLUMNS = {"LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "PAY_0", "BILL_AMT1", "PAY_AMT1"}


def _specs_file(path: Path) -> dict[str, FeatureSpec]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {name: FeatureSpec(name, **row) for name, row in rows.items()}


def german_specs() -> dict[str, FeatureSpec]:
    """Descriptions (en, zh), directions and the codebook's category labels (A11 ...) in both languages,
    from german_meta.yaml (data, not code)."""
    return _specs_file(GERMAN_META)


def taiwan_specs() -> dict[str, FeatureSpec]:
    """Descriptions (en, zh) and the codebook's labels of SEX, EDUCATION and MARRIAGE in both languages,
    from taiwan_meta.yaml; no directions imposed (the champion's measured figures use none)."""
    return _specs_file(TAIWAN_META)
