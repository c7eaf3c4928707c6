"""Vintages: what was published when, revisions, flash estimates (ISM real-time data and the simulator)."""
from datetime import datetime

import pandas as pd
import pytest
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.errors import StoreError
from smepulse.index import compose
from smepulse.index.engine import COLUMNS, IndexResult
from smepulse.methodology import load_methodology
from smepulse.pipeline.publish import publish
from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store
from smepulse.survey.responses import from_frame

ISM = load_methodology("ism-pmi")
NAMES = {"new_orders": "neword", "production": "production", "employment": "employment",
         "supplier_deliveries": "supdel", "inventories": "inventories"}
runner = CliRunner()


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    out = df.assign(group="all", adjustment="sa")
    for c in COLUMNS:
        if c not in out:
            out[c] = "" if c == "flag" else float("nan")
    return out[COLUMNS]


@pytest.fixture(scope="module")
def ism_store(shared_data, tmp_path_factory):
    comp = pd.read_csv(shared_data / "ism" / "ism_components_2020_2025.csv")
    comp = comp.assign(period=comp["date"].str.slice(0, 7)).dropna(subset=["neword_in"])
    first = pd.read_csv(shared_data / "ism" / "ism_pmi_first_release_by_release_date.csv")
    # the release on date d reports the month before d
    first["period"] = (pd.to_datetime(first["date"]).dt.to_period("M") - 1).astype(str)
    first = first.drop_duplicates("period", keep="first").set_index("period")
    path = tmp_path_factory.mktemp("ism") / "ism.duckdb"
    with open_store(path) as st:
        # one first-release vintage per month, published on its release date, composed from first-release components
        for _, row in comp.iterrows():
            if row["period"] not in first.index:
                continue
            tidy = pd.DataFrame({"period": row["period"], "series": list(NAMES),
                                 "value": [row[f"{c}_in"] for c in NAMES.values()]})
            rows = pd.concat([tidy, compose(tidy, ISM)], ignore_index=True)
            st.save_series(IndexResult(_tidy(rows), ISM, f"first-release {row['period']}"), survey="ism",
                           as_of=datetime.fromisoformat(first.at[row["period"], "date"]))
        # the headline as the data source holds it today: a later vintage
        later = pd.DataFrame({"period": comp["period"], "series": "pmi", "value": comp["manu_pmi"]})
        st.save_series(IndexResult(_tidy(later), ISM, "revised"), survey="ism", as_of=datetime(2025, 8, 15))
    return path, comp.set_index("period"), first


def test_first_release_pmi_is_reproduced_from_first_release_components(ism_store):
    path, comp, first = ism_store
    with open_store(path) as st:
        checked = 0
        for period in [p for p in comp.index if p.startswith("2025") and p in first.index]:
            as_published = st.series("ism", as_of=first.at[period, "date"])
            got = as_published[(as_published["period"] == period) & (as_published["series"] == "pmi")]
            assert abs(float(got["value"].iloc[0]) - first.at[period, "close"]) <= 0.1
            assert got["kind"].iloc[0] == "final" and got["as_of"].iloc[0] < pd.Timestamp("2025-08-01")
            checked += 1
    assert checked >= 5


def test_vintage_store_keeps_first_release_and_revised_headline_apart(ism_store):
    path, comp, first = ism_store
    with open_store(path) as st:
        rev = st.revisions("ism", "pmi").set_index("period")
        latest = st.series("ism")
    latest_pmi = latest[latest["series"] == "pmi"].set_index("period")["value"]
    assert (latest_pmi - comp["manu_pmi"].reindex(latest_pmi.index)).abs().max() < 1e-9
    both = rev[rev.index.isin(first.index)]
    assert len(both) >= 40
    assert (both["latest"] - comp["manu_pmi"].reindex(both.index)).abs().max() < 1e-9
    recent = both[both.index.str.startswith("2025")]
    assert recent["revision"].abs().max() <= 0.1
    older = both[both.index < "2025-01"]
    # seasonal factors are revised every January: earlier first releases differ from today's numbers
    assert older["revision"].abs().max() > 0.3
    assert (older["vintages"] == 2).all()


def test_as_of_before_anything_was_published_is_an_error(ism_store):
    path, _, _ = ism_store
    with open_store(path) as st, pytest.raises(StoreError, match="nothing of 'ism' was published"):
        st.series("ism", as_of="2019-01-01")


def test_flash_then_final_and_late_responses_make_new_vintages(tmp_path):
    m = load_methodology("smei")
    s = simulate_survey(n_firms=300, n_months=4, start="2026-05", seed=9)
    r = s.responses.copy()
    late = r["firm_id"].str[-1].isin(list("13579"))  # about half the firms answer after the flash cutoff
    r["response_date"] = pd.to_datetime(r["period"] + "-01") + pd.offsets.MonthBegin(1)
    r.loc[late & (r["period"] == "2026-08"), "response_date"] += pd.Timedelta(days=15)
    r["response_date"] = r["response_date"].dt.strftime("%Y-%m-%d")
    with open_store(tmp_path / "s.duckdb") as st:
        # May-July published final in August; August's answers arrive in September
        st.import_responses(from_frame(r[r["period"] < "2026-08"], m))
        v1 = publish(st, m, kind="final", as_of=datetime(2026, 8, 25), seasonal=False, replicates=0)
        st.import_responses(from_frame(r[r["period"] == "2026-08"], m))
        flash = publish(st, m, kind="flash", cutoff="2026-09-05", as_of=datetime(2026, 9, 5), seasonal=False,
                        replicates=50)
        final = publish(st, m, kind="final", as_of=datetime(2026, 9, 25), seasonal=False, replicates=50)
        # the flash vintage holds the flash month only, not republished history
        stored = st.series("smei", vintage_id=flash.vintage_id)
        assert set(stored["period"]) == {"2026-08"}
        rev = st.revisions("smei", "headline", "all", "nsa").set_index("period")
        n_flash = flash.result.series.query("period == '2026-08' and series == 'headline' and group == 'all'")["n"]
        n_final = final.result.series.query("period == '2026-08' and series == 'headline' and group == 'all'")["n"]
        assert int(n_flash.iloc[0]) < int(n_final.iloc[0])
        # the revision table names the vintage of each value; flash only where a month was flashed
        assert rev["flash"].notna().sum() == 1 and rev.loc["2026-08", "flash_vintage"] == flash.vintage_id
        assert rev.loc[["2026-05", "2026-06", "2026-07"], "flash"].isna().all()
        assert (rev.loc[["2026-05", "2026-06", "2026-07"], "first_vintage"] == v1.vintage_id).all()
        assert (rev["latest_vintage"] == final.vintage_id).all()
        assert rev.loc["2026-08", "first_vintage"] == final.vintage_id
        assert rev.loc["2026-07", "revision"] == pytest.approx(0.0, abs=1e-9)  # same answers, same figure
        assert rev.loc["2026-08", "flash_revision"] != 0
        assert rev.loc["2026-08", "flash"] == pytest.approx(
            flash.result.series.query("period == '2026-08' and series == 'headline' and group == 'all' "
                                      "and adjustment == 'nsa'")["value"].iloc[0])
        assert len(st.vintages("smei")) == 3
        # as published between flash and final: history from the first final, August from the flash
        between = st.series("smei", as_of="2026-09-10")
        per_period = between.groupby("period")["vintage_id"].agg(set).to_dict()
        assert per_period == {"2026-05": {v1.vintage_id}, "2026-06": {v1.vintage_id},
                              "2026-07": {v1.vintage_id}, "2026-08": {flash.vintage_id}}
        # exactly one vintage per period: a later vintage with July's headline only is not filled in
        one = final.result.series.query("period == '2026-07' and series == 'headline'")
        partial = st.save_series(IndexResult(one, m, "partial"), as_of=datetime(2026, 9, 30))
        now = st.series("smei")
        july = now[now["period"] == "2026-07"]
        assert set(july["vintage_id"]) == {partial} and len(july) == len(one)
        assert set(now.loc[now["period"] == "2026-08", "vintage_id"]) == {final.vintage_id}
    out = tmp_path / "rev.csv"
    r = runner.invoke(app, ["revisions", "--store", str(tmp_path / "s.duckdb"), "--series", "headline",
                            "--adjustment", "nsa", "--out", str(out)])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out).set_index("period")
    # the CSV keeps six decimals
    assert table.loc["2026-08", "flash_revision"] == pytest.approx(rev.loc["2026-08", "flash_revision"], abs=1e-6)
