"""Names and values are data, never SQL or key syntax: renaming question ids and classification values to
arbitrary Unicode (apostrophes, quotes, pipes, newlines, NUL, emoji, 100 KB strings) changes no number,
through the point estimates, the stratified bootstrap with raking, and a store round trip."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smepulse.index.engine import compute
from smepulse.index.weighting import frame_from_methodology
from smepulse.methodology import load_methodology
from smepulse.pipeline.publish import with_precision
from smepulse.store import open_store
from smepulse.survey.responses import from_frame

SECTORS = ["manufacturing", "construction", "services"]
SIZES = ["small", "medium"]
QUESTIONS = ["sales", "funding_cost"]


def methodology_yaml(q: list[str], sectors: list[str], sizes: list[str]) -> str:
    data = {
        "name": "t", "version": "1", "title": {"en": "T", "zh": "T"}, "kind": "survey",
        "questions": [{"id": qid, "block": "b", "text": {"en": "Q", "zh": "Q"}} for qid in q],
        "classifications": {"sector": {"values": sectors}, "size": {"values": sizes}},
        "sampling": {"strata": ["size"], "replicates": 40, "confidence": 0.95, "seed": 3},
        "targets": [{"dimension": "sector", "effective": "2024-01",
                     "shares": dict(zip(sectors, [0.5, 0.3, 0.2], strict=True))}],
        "publication_minimum": 0,
    }
    # escaped, not raw: YAML itself reads a raw NEL or U+2028 in a scalar as a line break (a YAML rule, not ours)
    return yaml.safe_dump(data, allow_unicode=False, width=1 << 30)


def responses(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = np.array(["up", "same", "down", None], dtype=object)
    return pd.DataFrame({
        "period": rng.choice(["2024-01", "2024-02"], n),
        "firm_id": [f"f{i:03d}" for i in range(n)],
        "sector": rng.choice(SECTORS, n),
        "size": rng.choice(SIZES, n),
        "weight": rng.integers(1, 4, n).astype(float),
        **{qid: rng.choice(codes, n, p=[0.4, 0.3, 0.25, 0.05]) for qid in QUESTIONS},
    }).drop_duplicates(["period", "firm_id"])


def series_of(path, df: pd.DataFrame, via_store: bool, tmp) -> pd.DataFrame:
    m = load_methodology(path)
    frame = frame_from_methodology(m)
    resp = from_frame(df, m)
    if via_store:
        st_ = open_store(tmp / "s.duckdb")  # (creates the folder)
        st_.import_responses(resp)
        resp = st_.responses(m)
    point = compute(resp, frame, min_n=0)
    out = with_precision(point, resp, frame, 40).series
    return out


_PLAIN: dict[bool, pd.DataFrame] = {}


def renamed_numbers(tmp, q: list[str], sectors: list[str], sizes: list[str], via_store: bool) -> None:
    df = responses()
    (tmp / "plain.yaml").write_text(methodology_yaml(QUESTIONS, SECTORS, SIZES), encoding="utf-8")
    (tmp / "odd.yaml").write_text(methodology_yaml(q, sectors, sizes), encoding="utf-8")
    odd = df.rename(columns=dict(zip(QUESTIONS, q, strict=True))).assign(
        sector=df["sector"].map(dict(zip(SECTORS, sectors, strict=True))),
        size=df["size"].map(dict(zip(SIZES, sizes, strict=True))))
    plain = _PLAIN.get(via_store)
    if plain is None:  # the same for every renaming: computed once per path
        plain = _PLAIN[via_store] = series_of(tmp / "plain.yaml", df, via_store, tmp / "plain")
    got = series_of(tmp / "odd.yaml", odd, via_store, tmp / "odd")
    back = {**dict(zip(q, QUESTIONS, strict=True))}
    groups = {f"sector={o}": f"sector={p}" for o, p in zip(sectors, SECTORS, strict=True)}
    groups |= {f"size={o}": f"size={p}" for o, p in zip(sizes, SIZES, strict=True)}
    got = got.assign(series=got["series"].map(lambda s: back.get(s, s)),
                     group=got["group"].map(lambda g: groups.get(g, g)))
    keys = ["period", "series", "group", "adjustment"]
    a = plain.sort_values(keys).reset_index(drop=True)
    b = got.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[keys].astype(str), b[keys].astype(str))
    for c in ("value", "n", "n_eff", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(b[c].astype(float), a[c].astype(float), rtol=1e-12, equal_nan=True, err_msg=c)


NASTY = ["O'Brien & Sons", 'say "hi"', "a|b", "b|", "新经济 🎉", "x" * 100_000, "'; DROP TABLE response; --",
         "back\\slash", "$1", "?"]


@pytest.mark.parametrize("via_store", [False, True])
def test_nasty_names_change_no_number(tmp_path, via_store):
    renamed_numbers(tmp_path, ["q'1|a", 'q"2 🎉'], ["a|b", "a", "b|c"], ["O'Brien", "x" * 100_000], via_store)


def test_more_nasty_values_change_no_number(tmp_path):
    renamed_numbers(tmp_path, [NASTY[6], NASTY[8]], NASTY[:3], [NASTY[4], NASTY[7]], True)


# Any Unicode but surrogates: newlines, tabs and other control characters, NUL, CJK, emoji, combining marks.
_char = st.characters(codec="utf-8")
_RESERVED = {"period", "firm_id", "weight", "response_date", "sector", "size", "_row"}
# Values as respondents' files carry them: no surrounding spaces (stripped at the edge), distinct without regard
# to case (values are matched case-insensitively at the edge).
_value = st.one_of(st.text(_char, min_size=1, max_size=40), st.text(_char, min_size=1, max_size=3).map(
    lambda s: s * 5_000)).map(lambda s: s.strip(" \t\u00a0\u3000")).filter(
    lambda s: s and s.casefold() not in ("up", "same", "down"))


def _distinct(k: int):
    return st.lists(_value, min_size=k, max_size=k, unique_by=str.casefold)


# Question ids are column names: taken exactly as written (long ones too).
_qid = st.one_of(st.text(_char, min_size=1, max_size=30), st.text(_char, min_size=1, max_size=3).map(
    lambda s: s * 20_000)).filter(lambda s: s not in _RESERVED)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(q=st.lists(_qid, min_size=2, max_size=2, unique=True), sectors=_distinct(3), sizes=_distinct(2))
def test_any_unicode_names_change_no_number(tmp_path_factory, q, sectors, sizes):
    renamed_numbers(tmp_path_factory.mktemp("h"), q, sectors, sizes, True)
