"""Feature metadata, bad input, portable SQL and the CLI commands."""
from __future__ import annotations

import re
import shutil
import string

import pandas as pd
import pytest
import typer
from test_features_hand import write_hand_dataset  # sibling module: pytest puts this folder on sys.path
from typer.testing import CliRunner

from smepulse.credit import cli_data
from smepulse.credit.features import RATIO_FEATURES, TARGET, build_features, feature_specs, feature_sql, outcome_specs
from smepulse.credit.metadata import FeatureSpec
from smepulse.errors import CreditError, InputError


@pytest.fixture()
def hand(tmp_path):
    return write_hand_dataset(tmp_path)


def test_every_feature_has_metadata_with_renderable_reasons(hand):
    specs = feature_specs()
    assert len(specs) >= 100
    table = build_features(hand)
    assert list(table.columns) == ["application_id", "firm_id", "application_date", *specs, TARGET]
    for name, s in specs.items():
        assert isinstance(s, FeatureSpec) and s.name == name and s.description
        assert s.available_at_decision and s.monotone in (-1, 0, 1)
        for tpl in (s.reason_en, s.reason_zh, s.reason_rise_en, s.reason_rise_zh):
            fields = {f for _, f, _, _ in string.Formatter().parse(tpl) if f is not None}
            assert fields <= {"value", "pct", "abs"}, (name, tpl)
            assert ("pct" in fields) <= (name in RATIO_FEATURES), f"{name}: {{pct}} only for ratio features"
            tpl.format(value=0.25, pct=25.0, abs=0.25)  # renders as the model side will render it
        # a template that says the value fell has a rising twin, so a rise is never told as a fall
        if re.search(r"\b(fell|down|below)\b", s.reason_en) or re.search("下降|减少|低于|比.*低", s.reason_zh):
            assert s.reason_rise_en and s.reason_rise_zh, f"{name}: a 'fell' template needs reason_rise_*"
        assert re.search(r"[\u4e00-\u9fff]", s.reason_zh), f"{name}: reason_zh is not Chinese"
    assert {n for n, s in specs.items() if s.monotone == 1} >= {"refund_rate_90d", "prior_defaults",
                                                                  "utility_overdue_bills", "days_since_last_sale"}
    assert specs["revenue_90d"].monotone == -1 and specs["growth_90d_vs_prev_90d"].monotone == -1


def test_outcome_is_not_a_feature():
    assert TARGET not in feature_specs()
    assert outcome_specs()[TARGET].available_at_decision is False


def test_sql_is_portable_text():
    duck, spark = feature_sql("duckdb"), feature_sql("spark")
    assert "datediff(" in spark and "date_diff(" not in spark
    for sql in (duck, spark):
        # No DuckDB-only syntax in the query itself: casts, EXCLUDE, table functions, FILTER clauses.
        assert "::" not in sql and "EXCLUDE" not in sql and "read_parquet" not in sql
        assert "FILTER (" not in sql.upper()
    with pytest.raises(CreditError, match="dialect"):
        feature_sql("oracle")


def test_missing_table_is_named(hand):
    (hand / "tax.parquet").unlink()
    with pytest.raises(CreditError, match=r"no 'tax' table.*tax\.parquet"):
        build_features(hand)


def test_missing_column_is_named(hand):
    tx = pd.read_parquet(hand / "transactions.parquet").drop(columns=["amount"])
    tx.to_parquet(hand / "transactions.parquet", index=False)
    with pytest.raises(InputError, match=r"transactions\.parquet.*column 'amount'"):
        build_features(hand)


def test_transactions_may_be_a_directory_of_parts(hand):
    tx = pd.read_parquet(hand / "transactions.parquet")
    (hand / "transactions").mkdir()
    tx.iloc[:5].to_parquet(hand / "transactions" / "part-0.parquet", index=False)
    tx.iloc[5:].to_parquet(hand / "transactions" / "part-1.parquet", index=False)
    one = build_features(hand)
    (hand / "transactions.parquet").unlink()
    pd.testing.assert_frame_equal(build_features(hand), one)


def test_applications_outside_the_data_span(hand):
    apps = pd.read_parquet(hand / "applications.parquet")
    late = apps.assign(application_date=pd.Timestamp("2026-01-01").date())
    with pytest.raises(InputError, match="outside the data span.*2023-12-01 to 2024-05-01"):
        build_features(hand, late)
    early = apps.assign(application_date=pd.Timestamp("2023-06-01").date())
    with pytest.raises(InputError, match="outside the data span"):
        build_features(hand, early)
    with pytest.raises(InputError, match="firm_id"):
        build_features(hand, apps.assign(firm_id=99))
    with pytest.raises(InputError, match="application_date"):
        build_features(hand, apps.drop(columns=["application_date"]))
    with pytest.raises(CreditError, match="does not exist"):
        build_features(hand / "nope")


def _app() -> typer.Typer:
    app = typer.Typer()
    cli_data.register(app)
    return app


def test_cli_simulate_then_features(tmp_path):
    runner, app = CliRunner(), _app()
    for cmd in ("simulate", "features"):
        r = runner.invoke(app, [cmd, "--help"])
        assert r.exit_code == 0 and "Example: smepulse credit " + cmd in " ".join(r.output.split())
    out = tmp_path / "sim"
    r = runner.invoke(app, ["simulate", "--firms", "200", "--start", "2023-01-01", "--months", "15",
                            "--default-rate", "0.03", "--seed", "3", "--out", str(out), "--workers", "1"])
    assert r.exit_code == 0, r.output
    for t in ("firms.parquet", "applications.parquet", "loans.parquet"):
        assert (out / t).is_file()
    for t in ("transactions", "tax", "utilities"):
        assert list((out / t).glob("*.parquet"))
    r = runner.invoke(app, ["features", "--data", str(out), "--out", str(tmp_path / "f.csv")])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(tmp_path / "f.csv")
    apps = pd.read_parquet(out / "applications.parquet")
    assert len(table) == len(apps) and set(feature_specs()) <= set(table.columns)


def test_cli_errors_are_smepulse_errors(tmp_path):
    runner, app = CliRunner(), _app()
    r = runner.invoke(app, ["features", "--data", str(tmp_path), "--out", str(tmp_path / "f.parquet")])
    assert isinstance(r.exception, CreditError) and "no 'applications' table" in str(r.exception)
    r = runner.invoke(app, ["features", "--data", str(tmp_path), "--out", str(tmp_path / "f.xlsx")])
    assert isinstance(r.exception, CreditError) and ".parquet or .csv" in str(r.exception)
    r = runner.invoke(app, ["simulate", "--firms", "10", "--start", "2023-02-30", "--out", str(tmp_path / "s")])
    assert isinstance(r.exception, CreditError) and "YYYY-MM-DD" in str(r.exception)
    shutil.rmtree(tmp_path / "s", ignore_errors=True)


def test_batches_give_the_same_table(tmp_path):
    from smepulse.sim.credit import SimConfig, simulate
    simulate(SimConfig(n_firms=120, months=15, seed=6, chunk_firms=60), tmp_path)
    calls = []
    one = build_features(tmp_path)
    many = build_features(tmp_path, batch_size=25, progress=lambda d, t: calls.append((d, t)))
    pd.testing.assert_frame_equal(many, one, check_exact=False, rtol=1e-9)
    assert len(calls) >= 4 and calls[-1][0] == calls[-1][1]
