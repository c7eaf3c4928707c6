"""Partial concurrent adjustment: the model is fixed between annual reviews and stored with each vintage."""
from __future__ import annotations

import numpy as np
from seasonal_helpers import ism_result

from smepulse.index.engine import IndexResult
from smepulse.pipeline.publish import adjust_and_store
from smepulse.store import open_store


def _months(result: IndexResult, n: int) -> IndexResult:
    periods = sorted(result.series["period"].unique())[:n]
    return IndexResult(result.series[result.series["period"].isin(periods)].reset_index(drop=True),
                       result.methodology, result.input_hash)


def test_models_kept_from_36_to_37_months_and_reidentified_on_review(tmp_path):
    full = ism_result(months=37, shift=5.0)
    with open_store(tmp_path / "s.duckdb") as st:
        def save(r):
            return st.save_series(r, survey="ism")

        v36, _ = adjust_and_store(st, _months(full, 36), save, survey="ism", holiday="cny")
        v37, adj37 = adjust_and_store(st, full, save, survey="ism", holiday="cny")
        first, second = st.sa_specs("ism", v36), st.sa_specs("ism", v37)
        assert len(first) == 5 and first["reviewed"].all() and not second["reviewed"].any()
        keep = ["series", "group", "status", "model", "outliers", "holiday"]
        assert first[keep].equals(second[keep])  # every model, outlier and regressor decision unchanged
        prod = first.set_index("series").loc["production"]
        assert prod["status"] == "adjusted" and "LS" in prod["outliers"]  # the planted shift, kept as found
        assert "arima{model=" in second.set_index("series").loc["production", "spec"]  # no automdl
        assert st.sa_specs("ism")["vintage_id"].iloc[0] == v37  # latest vintage's decisions by default
        # The stored factors reproduce every published SA value: sa = nsa - factor (additive).
        factors = st.sa_factors(v37).set_index(["period", "series", "group"])["factor"]
        pub = st.series("ism", vintage_id=v37)
        pub = pub[pub["series"] != "pmi"].set_index(["period", "series", "group", "adjustment"])["value"].unstack()
        pub = pub.dropna()
        np.testing.assert_allclose(pub["sa"], pub["nsa"] - factors.reindex(pub.index), atol=1e-9)
        v_rev, _ = adjust_and_store(st, full, save, survey="ism", holiday="cny", review=True)
        assert st.sa_specs("ism", v_rev)["reviewed"].all()
    assert any("1 missing month" in n for n in adj37.notes)  # employment's suppressed 2016-05 is a gap
