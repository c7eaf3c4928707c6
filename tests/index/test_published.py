"""Presets against published figures in ../shared/data (ISM, European Commission)."""
import pandas as pd
import pytest
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.index import compose
from smepulse.index.series_io import read_series
from smepulse.methodology import load_methodology

runner = CliRunner()

# ISM components whose published index is the unadjusted diffusion index (ISM adjusts the others).
ISM_UNADJUSTED = {"supdel": ("sl", "sa", "fa"), "prices": ("hi", "sa", "lo"), "bacord": ("hi", "sa", "lo"),
                  "newexpord": ("hi", "sa", "lo"), "imports": ("hi", "sa", "lo")}


@pytest.fixture(scope="module")
def ism(shared_data):
    df = pd.read_csv(shared_data / "ism" / "ism_components_2020_2025.csv")
    return df.assign(period=df["date"].str.slice(0, 7))


def test_ism_unadjusted_components_from_shares_via_cli(ism, tmp_path):
    rows = []
    for comp, (u, s, d) in ISM_UNADJUSTED.items():
        sub = ism.dropna(subset=[f"{comp}_{u}", f"{comp}_in"])
        rows.append(pd.DataFrame({"period": sub["period"], "series": comp, "up": sub[f"{comp}_{u}"],
                                  "same": sub[f"{comp}_{s}"], "down": sub[f"{comp}_{d}"]}))
    src = tmp_path / "ism_shares.csv"
    pd.concat(rows).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["compose", "--methodology", "ism-pmi", "--series", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out, dtype={"period": str})
    checked = 0
    for comp in ISM_UNADJUSTED:
        g = got[got["series"] == comp].set_index("period")["value"]
        pub = ism.set_index("period")[f"{comp}_in"].dropna()
        diff = (g.reindex(pub.index) - pub).abs()
        assert diff.notna().all()
        assert diff.max() <= 0.1 + 1e-9, f"{comp}: worst month {diff.idxmax()} off by {diff.max():.3f}"
        checked += len(diff)
    assert checked >= 5 * 50


def test_ism_2025_pmi_from_published_components(ism):
    m = load_methodology("ism-pmi")
    names = {"new_orders": "neword", "production": "production", "employment": "employment",
             "supplier_deliveries": "supdel", "inventories": "inventories"}
    y = ism[ism["period"].str.startswith("2025")].dropna(subset=["neword_in"])
    tidy = pd.concat([pd.DataFrame({"period": y["period"], "series": s, "value": y[f"{c}_in"]})
                      for s, c in names.items()])
    pmi = compose(tidy, m).set_index("period")["value"]
    pub = y.set_index("period")["manu_pmi"]
    assert len(pub) >= 6
    assert (pmi.reindex(pub.index) - pub).abs().max() <= 0.1


@pytest.mark.parametrize("geo", ["EU", "EA"])
def test_ec_consumer_confidence_from_balances(shared_data, geo):
    raw = pd.read_excel(shared_data / "ec_consumer" / "consumer_total_sa_nace2.xlsx", "CONSUMER MONTHLY")
    raw = raw.assign(period=pd.to_datetime(raw.iloc[:, 0]).dt.strftime("%Y-%m"))
    tidy = pd.concat([pd.DataFrame({"period": raw["period"], "series": f"q{k}", "group": geo,
                                    "value": raw[f"CONS.{geo}.TOT.{k}.BS.M"]}) for k in range(1, 13)])
    tidy = tidy.dropna(subset=["value"])
    got = compose(tidy, load_methodology("ec-consumer"))
    got = got[got["series"] == "consumer_confidence"].set_index("period")["value"].dropna()
    pub = raw.set_index("period")[f"CONS.{geo}.TOT.COF.BS.M"].dropna()
    both = pub.index.intersection(got.index)
    assert len(both) > 300
    assert (got[both] - pub[both]).abs().max() <= 0.1


def test_nbs_pmi_weights_and_inverted_supplier_delivery_time():
    # Worked by hand: 0.30*51 + 0.25*52 + 0.20*48 + 0.15*(100 - 49) + 0.10*47 = 50.25
    tidy = pd.DataFrame({"period": "2024-12", "series": ["new_orders", "production", "employment",
                                                        "supplier_delivery_time", "raw_materials_inventory"],
                         "value": [51.0, 52.0, 48.0, 49.0, 47.0]})
    pmi = compose(tidy, load_methodology("nbs-pmi"))["value"].iloc[0]
    assert pmi == pytest.approx(50.25)
    # a missing component leaves the published PMI missing, as the producer would
    assert compose(tidy.iloc[:4], load_methodology("nbs-pmi"))["value"].isna().all()


def test_ec_industry_subtracts_stocks(tmp_path):
    src = tmp_path / "ind.csv"
    pd.DataFrame({"period": "2020-01", "series": ["order_books", "production_expectations", "stocks"],
                  "value": [-20.0, 5.0, 10.0]}).to_csv(src, index=False)
    df = read_series(src, load_methodology("ec-industry"))
    got = compose(df, load_methodology("ec-industry"))["value"].iloc[0]
    assert got == pytest.approx((-20 + 5 - 10) / 3)


def test_compose_keeps_adjusted_and_unadjusted_apart():
    tidy = pd.DataFrame({"period": "2025-01", "series": ["q1", "q2", "q4", "q9"] * 2,
                         "adjustment": ["nsa"] * 4 + ["sa"] * 4, "value": [1.0, 2, 3, 4, 10, 20, 30, 40]})
    got = compose(tidy, load_methodology("ec-consumer")).set_index("adjustment")["value"]
    assert got["nsa"] == pytest.approx(2.5) and got["sa"] == pytest.approx(25.0)
