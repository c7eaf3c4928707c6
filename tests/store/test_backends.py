"""The store on both backends, with the same assertions: a DuckDB file (embedded default) and a real
PostgreSQL server (tests/pgcluster.py). Every test here runs twice via the `store_target` fixture."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from smepulse.errors import StoreError
from smepulse.index import compute
from smepulse.index.engine import COLUMNS, IndexResult
from smepulse.methodology import load_methodology
from smepulse.pipeline.publish import publish
from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store
from smepulse.survey.responses import from_frame

SMEI = load_methodology("smei")
KEY = ["period", "series", "group", "adjustment"]


@pytest.fixture(scope="module")
def sample():
    return simulate_survey(n_firms=60, n_months=4, start="2025-01", seed=11)


def _rows(values: dict[str, float], series: str = "headline") -> pd.DataFrame:
    """Hand-made tidy series rows: one value per period, n = 100."""
    df = pd.DataFrame({"period": list(values), "series": series, "group": "all", "adjustment": "nsa",
                       "value": list(values.values()), "n": 100})
    for c in COLUMNS:
        if c not in df:
            df[c] = "" if c == "flag" else float("nan")
    return df[COLUMNS]


def test_stored_responses_are_the_imported_ones(store_target, sample):
    resp = from_frame(sample.responses, SMEI, source="sim 100% ok?.csv")
    want = resp.to_pandas()
    answers = int(want[[q.id for q in SMEI.questions if q.id in want]].notna().sum().sum())
    with open_store(store_target) as st:
        import_id = st.import_responses(resp)
        log = st.con.execute("SELECT survey, source, rows, answers FROM import_log WHERE import_id = ?",
                             [import_id]).fetchall()
        got = st.responses(SMEI).to_pandas()
    assert log == [("smei", "sim 100% ok?.csv", len(want), answers)]
    cols = [c for c in want.columns if c != "response_date"]
    a = want[cols].sort_values(["period", "firm_id"]).reset_index(drop=True)
    b = got[cols].sort_values(["period", "firm_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a.astype(str), b.astype(str))
    assert (a["weight"] == b["weight"]).all()  # doubles stored exactly


def test_indices_from_the_store_equal_indices_from_the_file(store_target, sample):
    resp = from_frame(sample.responses, SMEI)
    direct = compute(resp).series
    with open_store(store_target) as st:
        st.import_responses(resp)
        stored = compute(st.responses(SMEI)).series
    a, b = direct.set_index(KEY).sort_index(), stored.set_index(KEY).sort_index()
    pd.testing.assert_series_equal(a["value"], b["value"], rtol=1e-12)
    assert (a["n"] == b["n"]).all()


def test_import_is_all_or_nothing(store_target, sample):
    r = sample.responses
    first = from_frame(r[r["period"] <= "2025-02"], SMEI)
    overlap = r[r["period"] >= "2025-02"]
    with open_store(store_target) as st:
        st.import_responses(first)
        before = st.con.execute("SELECT count(*) FROM response").fetchall()[0][0]
        n_answers = st.con.execute("SELECT count(*) FROM answer").fetchall()[0][0]
        with pytest.raises(StoreError, match=r"responses already in the store \(row \d+: firm '.+' 2025-02.*"
                                             "nothing was imported"):
            st.import_responses(from_frame(overlap, SMEI))
        assert st.con.execute("SELECT count(*) FROM response").fetchall()[0][0] == before
        assert st.con.execute("SELECT count(*) FROM answer").fetchall()[0][0] == n_answers
        assert st.con.execute("SELECT count(*) FROM import_log").fetchall()[0][0] == 1
        # --replace: February is overwritten, not doubled; March is added
        changed = overlap.copy()
        changed["weight"] = 7.5
        st.import_responses(from_frame(changed, SMEI), replace=True)
        per = dict(st.con.execute("SELECT period, count(*) FROM response GROUP BY period").fetchall())
        assert per == r.groupby("period").size().to_dict()
        w = st.con.execute("SELECT DISTINCT weight FROM response WHERE period = ?", ["2025-02"]).fetchall()
        assert w == [(7.5,)]


def test_a_failed_vintage_leaves_nothing_behind(store_target):
    bad = pd.concat([_rows({"2025-01": 50.0}), _rows({"2025-01": 51.0})])  # the same key twice
    with open_store(store_target) as st:
        with pytest.raises(Exception, match="(?i)duplicate|constraint|unique"):
            st.save_series(IndexResult(bad, SMEI, "h"))
        assert st.con.execute("SELECT count(*) FROM vintage").fetchall() == [(0,)]
        assert st.con.execute("SELECT count(*) FROM series").fetchall() == [(0,)]
        st.save_series(IndexResult(_rows({"2025-01": 50.0}), SMEI, "h"))  # the store still works
        assert st.con.execute("SELECT count(*) FROM vintage").fetchall() == [(1,)]


def test_vintages_as_of_and_revisions_by_hand(store_target):
    with open_store(store_target) as st:
        v1 = st.save_series(IndexResult(_rows({"2025-01": 50.0, "2025-02": 51.0}), SMEI, "h1"),
                            as_of=datetime(2025, 3, 1), note="first 'release' 100% ?")
        fl = st.save_series(IndexResult(_rows({"2025-03": 49.0}), SMEI, "h2"), kind="flash",
                            as_of=datetime(2025, 3, 20))
        v2 = st.save_series(IndexResult(_rows({"2025-01": 50.5, "2025-02": 51.0, "2025-03": 48.2}), SMEI, "h3"),
                            as_of=datetime(2025, 4, 1))
        assert list(st.vintages("smei")["vintage_id"]) == [v1, fl, v2]
        assert st.vintages("smei")["note"].iloc[0] == "first 'release' 100% ?"
        early = st.series("smei", as_of="2025-03-10")
        assert early.set_index("period")["value"].to_dict() == {"2025-01": 50.0, "2025-02": 51.0}
        mid = st.series("smei", as_of="2025-03-25").set_index("period")
        assert mid["value"].to_dict() == {"2025-01": 50.0, "2025-02": 51.0, "2025-03": 49.0}
        assert mid.loc["2025-03", "kind"] == "flash" and mid.loc["2025-03", "vintage_id"] == fl
        now = st.series("smei").set_index("period")
        assert now["value"].to_dict() == {"2025-01": 50.5, "2025-02": 51.0, "2025-03": 48.2}
        assert set(now["vintage_id"]) == {v2} and now["n"].tolist() == [100, 100, 100]
        assert st.series("smei", vintage_id=fl)["value"].tolist() == [49.0]
        assert st.last_final_month("smei") == "2025-03"
        assert st.last_final_month("smei", as_of="2025-03-25") == "2025-02"
        hist = st.history("smei", "headline")
        assert len(hist) == 6 and list(hist.columns) == ["period", "adjustment", "as_of", "kind", "vintage_id",
                                                         "value"]
        assert hist["as_of"].iloc[0] == pd.Timestamp("2025-03-01")
        rev = st.revisions("smei", "headline", "all", "nsa").set_index("period")
        assert rev.loc["2025-01", "revision"] == pytest.approx(0.5)
        assert rev.loc["2025-02", "revision"] == 0.0
        assert rev.loc["2025-03", "flash"] == 49.0 and rev.loc["2025-03", "flash_vintage"] == fl
        assert rev.loc["2025-03", "flash_revision"] == pytest.approx(48.2 - 49.0)
        assert rev["vintages"].tolist() == [2, 2, 1]
        with pytest.raises(StoreError, match="nothing of 'smei' was published as of 2025-01-01"):
            st.series("smei", as_of="2025-01-01")
        with pytest.raises(StoreError, match="no vintage 'nope'"):
            st.series("smei", vintage_id="nope")


def test_flash_cutoff_and_publish_on_the_store(store_target, sample):
    r = sample.responses.copy()
    r["response_date"] = (pd.to_datetime(r["period"] + "-01") + pd.Timedelta(days=14)).dt.strftime("%Y-%m-%d")
    late = (r["period"] == "2025-04") & r["firm_id"].str[-1].isin(list("02468"))
    r.loc[late, "response_date"] = "2025-04-28"
    with open_store(store_target) as st:
        st.save_methodology(SMEI)
        st.save_methodology(SMEI)  # the same version again is fine
        st.import_responses(from_frame(r, SMEI))
        early = st.responses(SMEI, cutoff="2025-04-20").to_pandas()
        assert len(early) == len(r) - int(late.sum())
        opts = {"seasonal": False, "replicates": 0, "frame": "design"}  # 60 firms: too few to rake
        final = publish(st, SMEI, kind="final", as_of=datetime(2025, 3, 30), **opts)
        flash = publish(st, SMEI, kind="flash", cutoff="2025-04-20", as_of=datetime(2025, 4, 20), **opts)
        stored = st.series("smei", vintage_id=flash.vintage_id)
        assert set(stored["period"]) == {"2025-04"}
        n = stored.query("series == 'headline' and group == 'all'")["n"].iloc[0]
        assert n == int(((r["period"] == "2025-04") & ~late).sum())
        back = st.series("smei", vintage_id=final.vintage_id).set_index(KEY).sort_index()
        mine = final.result.series.set_index(KEY).sort_index()
        pd.testing.assert_series_equal(back["value"], mine["value"].astype(float), check_dtype=False)


def test_sa_specs_and_factors_round_trip(store_target):
    specs = pd.DataFrame([{"series": "headline", "group": "all", "status": "adjusted", "method": "x13",
                           "mode": "add", "model": "(0 1 1)(0 1 1)", "outliers": "LS2024.Feb", "holiday": "cny",
                           "identification": "qs p=0.001", "reviewed": True, "spec": "series{...}\n"}])
    factors = pd.DataFrame({"period": ["2025-01", "2025-02"], "series": "headline", "group": "all",
                            "factor": [1.25, -0.5], "seasonal": [1.0, None]})
    with open_store(store_target) as st:
        vid = st.save_series(IndexResult(_rows({"2025-01": 50.0}), SMEI, "h"), as_of=datetime(2025, 3, 1))
        assert st.sa_specs("smei").empty
        st.save_sa_specs(vid, specs, factors)
        got = st.sa_specs("smei")
        assert got["vintage_id"].tolist() == [vid] and bool(got["reviewed"].iloc[0]) is True
        assert got["spec"].iloc[0] == "series{...}\n" and got["outliers"].iloc[0] == "LS2024.Feb"
        f = st.sa_factors(vid)
        assert f["factor"].tolist() == [1.25, -0.5] and f["seasonal"].isna().tolist() == [False, True]


def test_methodology_versions_are_immutable(store_target):
    changed = SMEI.model_copy(update={"sha256": "0" * 64})
    with open_store(store_target) as st:
        st.save_methodology(SMEI)
        with pytest.raises(StoreError, match="already stored with different content"):
            st.save_methodology(changed)
        assert st.con.execute("SELECT count(*) FROM methodology").fetchall() == [(1,)]


def test_a_store_of_another_schema_version_is_refused(store_target):
    with open_store(store_target) as st:
        st.con.execute("UPDATE meta SET value = ? WHERE key = ?", ["99", "schema_version"])
    with pytest.raises(StoreError, match="has schema version 99"):
        open_store(store_target)
