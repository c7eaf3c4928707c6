"""The credit commands end to end through the real `smepulse` entry point."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from smepulse.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(5)
    n = 1500
    df = pd.DataFrame({"loan_id": np.arange(n), "applied": pd.date_range("2019-01-01", periods=n, freq="D"),
                       "turnover": rng.lognormal(10, 1, n), "arrears": rng.poisson(0.5, n),
                       "sector": rng.choice(["a", "b", "c"], n)})
    logit = -1.5 + 0.9 * df.arrears - 0.3 * (np.log(df.turnover) - 10)
    df["default"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df.to_csv(d / "loans.csv", index=False)
    return d


def test_train_score_report_roundtrip(book):
    out = book / "model"
    r = runner.invoke(app, ["credit", "train", "--data", str(book / "loans.csv"), "--target", "default",
                            "--time-column", "applied", "--exclude", "loan_id", "--out", str(out),
                            "--n-estimators", "80"])
    assert r.exit_code == 0, r.output
    assert "out-of-time" in r.output and "AUC" in r.output
    met = json.loads((out / "metrics.json").read_text())
    assert met["split"]["kind"] == "out-of-time" and met["n_train"] + met["n_test"] == 1500
    assert 0.6 < met["auc"] <= 1 and met["gini"] == pytest.approx(2 * met["auc"] - 1)

    new = pd.read_csv(book / "loans.csv").head(10).astype(object)
    new.loc[4, "arrears"] = "n/a?"
    new.to_csv(book / "new.csv", index=False)
    r = runner.invoke(app, ["credit", "score", "--model", str(out), "--data", str(book / "new.csv"),
                            "--out", str(book / "scored.csv")])
    assert r.exit_code == 0, r.output
    assert "scored 9 of 10 rows" in r.output and "'arrears'" in r.output
    scored = pd.read_csv(book / "scored.csv")
    assert scored["loan_id"].tolist() == list(range(10))
    assert scored["pd"].isna().sum() == 1 and scored.loc[4, "score_error"].startswith("column 'arrears'")
    # the fast attribution: same PDs, reasons from the precomputed path; a wrong name is one line, exit 2
    r = runner.invoke(app, ["credit", "score", "--model", str(out), "--data", str(book / "new.csv"),
                            "--out", str(book / "scored_path.csv"), "--reasons", "path"])
    assert r.exit_code == 0, r.output
    fast = pd.read_csv(book / "scored_path.csv")
    assert np.allclose(fast["pd"], scored["pd"], equal_nan=True) and fast["reason_code_1"].notna().sum() >= 5
    r = runner.invoke(app, ["credit", "score", "--model", str(out), "--data", str(book / "new.csv"),
                            "--out", str(book / "x.csv"), "--reasons", "saabas"])
    assert r.exit_code == 2 and "must be treeshap or path" in r.output and not (book / "x.csv").exists()

    # a file without the model's columns: the error names the file, like train's (one line, exit 2)
    pd.DataFrame({"loan_id": [1, 2]}).to_csv(book / "cols.csv", index=False)
    r = runner.invoke(app, ["credit", "score", "--model", str(out), "--data", str(book / "cols.csv"),
                            "--out", str(book / "cols_scored.csv")])
    assert r.exit_code != 0 and str(r.exception).startswith(f"file {book / 'cols.csv'}: column '"), r.output

    r = runner.invoke(app, ["credit", "report", str(out), "--out", str(book / "report.html")])
    assert r.exit_code == 0, r.output
    html = (book / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "http" not in html.split("<body>")[1]
    assert "Reliability: calibration by decile (1 = lowest PD) and grade" in html and "Hosmer-Lemeshow" in html
    assert "out-of-time" in html

    # the model card, en and zh, written with the model and pinned by the manifest
    man = json.loads((out / "manifest.json").read_text())
    assert {"model_card.md", "model_card.zh.md"} <= set(man["files"])
    en, zh = (out / "model_card.md").read_text(), (out / "model_card.zh.md").read_text()
    for head in ("## Intended use", "## Data", "## Target and horizon", "## Features", "## Performance",
                 "## Calibration", "## Fairness", "## Limitations and warnings", "## Provenance"):
        assert head in en, head
    assert f"| {met['auc']:.4f} |" in en and "out of time" in en and "train until" not in en
    # the data period: first and last application date of each part, not the cut alone
    assert "- window (applied): train 2019-01-01 to " in en and "; test " in en and " to 2023-02-08" in en
    assert "This is the default statement; state the model's own use with `credit train --intended-use TEXT`" in en
    assert f"lightgbm {man['versions']['lightgbm']}" in en
    assert "## 模型表现" in zh and "## 公平性" in zh and f"| {met['auc']:.4f} |" in zh
    r = runner.invoke(app, ["credit", "report", str(out), "--out", str(book / "report.zh.html"), "--lang", "zh"])
    assert r.exit_code == 0, r.output
    zh_html = (book / "report.zh.html").read_text()
    assert '<html lang="zh">' in zh_html and "信用模型报告" in zh_html and "模型卡" in zh_html


def test_scorecard_model_and_table(book):
    out = book / "card"
    r = runner.invoke(app, ["credit", "train", "--data", str(book / "loans.csv"), "--target", "default",
                            "--exclude", "loan_id,applied", "--model", "scorecard", "--pdo", "40",
                            "--out", str(out), "--intended-use", "PD of consumer instalment loans"])
    assert r.exit_code == 0, r.output
    assert "random-stratified" in r.output
    # the stated use replaces the SME default on both cards; no time column: the split's shares instead
    en, zh = (out / "model_card.md").read_text(), (out / "model_card.zh.md").read_text()
    assert "PD of consumer instalment loans" in en and "PD of consumer instalment loans" in zh
    assert "small-business" not in en and "default statement" not in en
    assert "- window: no time column; random stratified split, 70% train / 30% test" in en
    r = runner.invoke(app, ["credit", "scorecard", str(out)])
    assert r.exit_code == 0 and "arrears" in r.output and "PDO 40" in r.output
    assert (out / "scorecard.csv").is_file()


def test_errors_are_clear(book):
    bad = pd.read_csv(book / "loans.csv").assign(default=lambda d: d["sector"])
    bad.to_csv(book / "bad.csv", index=False)
    r = runner.invoke(app, ["credit", "train", "--data", str(book / "bad.csv"), "--target", "default",
                            "--out", str(book / "x")])
    assert r.exit_code != 0 and "'default'" in str(r.exception) and "binary" in str(r.exception)
    r = runner.invoke(app, ["credit", "score", "--model", str(book), "--data", str(book / "loans.csv"),
                            "--out", str(book / "y.csv")])
    assert "not a model directory" in str(r.exception)


def test_help_has_examples():
    for cmd in ("train", "score", "report", "scorecard"):
        r = runner.invoke(app, ["credit", cmd, "--help"])
        assert r.exit_code == 0 and "Example: smepulse credit" in r.output


def test_metadata_file_sets_monotone_and_reasons(book, tmp_path):
    spec = [{"name": "arrears", "description": "payments in arrears", "monotone": 1,
             "reason_en": "{value:.0f} payments in arrears", "reason_zh": "{value:.0f} 笔逾期"}]
    (tmp_path / "specs.json").write_text(json.dumps(spec))
    out = tmp_path / "m"
    r = runner.invoke(app, ["credit", "train", "--data", str(book / "loans.csv"), "--target", "default",
                            "--exclude", "loan_id,applied", "--metadata", str(tmp_path / "specs.json"),
                            "--n-estimators", "60", "--out", str(out)])
    assert r.exit_code == 0, r.output
    man = json.loads((out / "manifest.json").read_text())
    assert {f["name"]: f["monotone"] for f in man["features"]}["arrears"] == 1
    pd.DataFrame({"turnover": [20000.0], "arrears": [4], "sector": ["a"]}).to_csv(tmp_path / "one.csv", index=False)
    r = runner.invoke(app, ["credit", "score", "--model", str(out), "--data", str(tmp_path / "one.csv"),
                            "--out", str(tmp_path / "one_scored.csv")])
    row = pd.read_csv(tmp_path / "one_scored.csv").iloc[0]
    assert row["reason_1"] == "4 payments in arrears" and row["reason_zh_1"] == "4 笔逾期"


def test_tune_by_trials_and_by_time_box(book, tmp_path, capsys):
    """`--tune MINUTES` is the time box (the issue's spelling), `--tune-trials N` caps the trials."""
    from smepulse.cli import run  # noqa: PLC0415 (the front door: one-line errors, exit codes)
    base = ["credit", "train", "--data", str(book / "loans.csv"), "--target", "default",
            "--exclude", "loan_id,applied", "--n-estimators", "30"]
    r = runner.invoke(app, [*base, "--tune-trials", "3", "--out", str(tmp_path / "trials")])
    assert r.exit_code == 0, r.output
    tun = json.loads((tmp_path / "trials" / "metrics.json").read_text())["champion"]["tuning"]
    assert tun["n_trials"] == 3 and tun["time_box_minutes"] is None and "tuning: 3 trials" in r.output
    # a time box alone searches until the time is up (6 s here), then keeps the best trial so far
    r = runner.invoke(app, [*base, "--tune", "0.1", "--out", str(tmp_path / "timed")])
    assert r.exit_code == 0, r.output
    tun = json.loads((tmp_path / "timed" / "metrics.json").read_text())["champion"]["tuning"]
    assert tun["time_box_minutes"] == 0.1 and tun["seconds"] >= 6 and 1 < tun["n_trials"] < 1000
    assert "time box 0.1 min" in r.output
    # both: the trials cap stops a search long before its 5-minute box
    r = runner.invoke(app, [*base, "--tune", "5", "--tune-trials", "2", "--out", str(tmp_path / "both")])
    assert r.exit_code == 0, r.output
    tun = json.loads((tmp_path / "both" / "metrics.json").read_text())["champion"]["tuning"]
    assert tun["n_trials"] == 2 and tun["time_box_minutes"] == 5 and tun["seconds"] < 300
    for bad in (["--tune", "0"], ["--tune", "-1"], ["--tune-trials", "0"]):
        assert run([*base, *bad, "--out", str(tmp_path / "bad")]) == 2, bad
        assert not (tmp_path / "bad").exists()
    capsys.readouterr()
    # the old spelling: one line naming the new flag, exit 2, nothing written
    assert run([*base, "--tune-minutes", "2", "--out", str(tmp_path / "old")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--tune 2" in err and "--tune-trials" in err and "Traceback" not in err
    assert not (tmp_path / "old").exists()


def test_small_models_and_bad_inputs_at_the_front_door(book, tmp_path, capsys):
    """Through `smepulse.cli.run` (what the console script calls): one line, exit 2, no traceback, nothing
    written. A two-feature model scored with the default --top 3 (the audit's IndexError)."""
    from smepulse.cli import run  # noqa: PLC0415 (the front door, as in tests/hardening)
    df = pd.read_csv(book / "loans.csv")[["turnover", "arrears", "default"]]
    df.to_csv(tmp_path / "two.csv", index=False)
    out = tmp_path / "two"
    assert run(["credit", "train", "--data", str(tmp_path / "two.csv"), "--target", "default",
                "--n-estimators", "40", "--out", str(out)]) == 0
    for method in ("treeshap", "path"):
        scored = tmp_path / f"s_{method}.csv"
        assert run(["credit", "score", "--model", str(out), "--data", str(tmp_path / "two.csv"),
                    "--out", str(scored), "--reasons", method]) == 0
        s = pd.read_csv(scored)
        assert {"reason_3", "reason_zh_3", "reason_code_3"} <= set(s.columns) and s["reason_code_3"].isna().all()
        assert s["reason_code_1"].notna().any() and set(s["reason_code_1"].dropna()) <= {"turnover", "arrears"}
    assert run(["credit", "score", "--model", str(out), "--data", str(tmp_path / "two.csv"),
                "--out", str(tmp_path / "none.csv"), "--top", "0"]) == 0
    assert not [c for c in pd.read_csv(tmp_path / "none.csv").columns if c.startswith("reason")]
    capsys.readouterr()
    cases = [
        (["credit", "score", "--model", str(out), "--data", str(tmp_path / "two.csv"), "--out",
          str(tmp_path / "neg.csv"), "--top", "-1"], "--top", tmp_path / "neg.csv"),
        (["credit", "report", str(tmp_path), "--out", str(tmp_path / "r.html")], "not a model directory",
         tmp_path / "r.html"),
        (["credit", "report", str(out), "--out", str(tmp_path / "r2.html"), "--lang", "fr"], "fr",
         tmp_path / "r2.html"),
        (["credit", "report", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r3.html")], "nowhere",
         tmp_path / "r3.html"),
        (["credit", "scorecard", str(out)], "lightgbm model", None),
        (["credit", "scorecard", str(tmp_path / "nowhere")], "nowhere", None),
    ]
    for argv, says, not_written in cases:
        code = run(argv)
        err = capsys.readouterr()
        text = err.out + err.err
        assert code == 2, (argv, code, text)
        assert says in text and "Traceback" not in text, (argv, text)
        assert not_written is None or not not_written.exists(), argv


def test_front_door_names_every_column_and_refuses_an_empty_file(shared_data, tmp_path, capsys):
    """german.data read as published: the target `bad` is its 21st column and must be named when
    the user asks for the codebook's `class`; scoring a file with a header and no rows is an error
    (one line, exit 2, nothing written), not "scored 0 of 0 rows, mean PD nan"."""
    from smepulse.cli import run  # noqa: PLC0415 (the front door)
    german = shared_data / "credit" / "german_credit" / "german.data"
    assert run(["credit", "train", "--data", str(german), "--target", "class", "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "target column not found" in err and "foreign_worker, bad" in err and "Traceback" not in err
    assert run(["credit", "train", "--data", str(german), "--target", "bad", "--n-estimators", "40",
                "--out", str(tmp_path / "m")]) == 0
    pd.DataFrame(columns=["checking_status", "duration_months"]).to_csv(tmp_path / "empty.csv", index=False)
    capsys.readouterr()
    assert run(["credit", "score", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "empty.csv"),
                "--out", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert "no rows to score" in err and "Traceback" not in err and not (tmp_path / "s.csv").exists()


def test_horizon_months_from_the_command_line(shared_data, tmp_path, capsys):
    """German credit's `bad` does not say over how long: the manifest says so until the lender states
    it with --horizon-months; a horizon contradicting the target's own name is refused."""
    from smepulse.cli import run  # noqa: PLC0415 (the front door)
    from smepulse.credit.artefact import read_manifest  # noqa: PLC0415
    german = shared_data / "credit" / "german_credit" / "german.data"
    base = ["credit", "train", "--data", str(german), "--target", "bad", "--n-estimators", "40"]
    assert run([*base, "--out", str(tmp_path / "a")]) == 0
    assert read_manifest(tmp_path / "a")["pd_horizon_months"] is None
    assert run([*base, "--horizon-months", "24", "--out", str(tmp_path / "b")]) == 0
    man = read_manifest(tmp_path / "b")
    assert man["pd_horizon_months"] == 24 and "PD horizon 24 months" in man["target_definition"]
    assert "PD horizon: 24 months" in (tmp_path / "b" / "model_card.md").read_text()
    df = pd.read_csv(shared_data / "credit" / "taiwan_default" / "UCI_Credit_Card.csv").head(3000)
    df.rename(columns={"default.payment.next.month": "default_1m"}).to_csv(tmp_path / "tw.csv", index=False)
    capsys.readouterr()
    assert run(["credit", "train", "--data", str(tmp_path / "tw.csv"), "--target", "default_1m",
                "--horizon-months", "12", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "contradicts the data's own (1 months" in err and not (tmp_path / "c").exists()


def test_lender_policy_file_bars_reasons_and_features(shared_data, tmp_path, capsys):
    """--policy: the lender's own list on top of the shipped one. German credit's credit amount (a
    frequent reason otherwise) is never a reason; age is not even a feature; a bad policy is one line."""
    from smepulse.cli import run  # noqa: PLC0415 (the front door)
    german = shared_data / "credit" / "german_credit" / "german.data"
    base = ["credit", "train", "--data", str(german), "--target", "bad", "--n-estimators", "60"]
    (tmp_path / "policy.yaml").write_text("patterns:\n  - credit_amount\nexclude:\n  - 'age(_years)?'\n")
    assert run([*base, "--out", str(tmp_path / "plain")]) == 0
    assert run([*base, "--policy", str(tmp_path / "policy.yaml"), "--out", str(tmp_path / "pol")]) == 0
    out = capsys.readouterr().out
    assert "age_years excluded from the model by the policy" in out.replace("\n", " ")
    from smepulse.credit.data import read_german  # noqa: PLC0415
    read_german(german).to_csv(tmp_path / "g.csv", index=False)
    codes = {}
    for name in ("plain", "pol"):
        assert run(["credit", "score", "--model", str(tmp_path / name), "--data", str(tmp_path / "g.csv"),
                    "--out", str(tmp_path / f"{name}.csv")]) == 0
        s = pd.read_csv(tmp_path / f"{name}.csv")
        codes[name] = pd.concat([s[f"reason_code_{i}"] for i in (1, 2, 3)]).dropna()
    assert (codes["plain"] == "credit_amount").sum() > 100
    assert not codes["pol"].isin(["credit_amount", "age_years"]).any()
    man = json.loads((tmp_path / "pol" / "model.json").read_text())
    assert "age_years" not in man["schema"]["features"] and "credit_amount" in man["schema"]["features"]
    (tmp_path / "bad.yaml").write_text("patterns: ['(']\n")
    capsys.readouterr()
    assert run([*base, "--policy", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: not a protected-attribute policy" in err and "Traceback" not in err


def test_zh_report_names_features_in_chinese(shared_data, tmp_path):
    """The zh report's stability table and the zh card's most-important list give each German
    feature its Chinese description (column in brackets), never the bare English column name."""
    import re  # noqa: PLC0415

    from smepulse.cli import run  # noqa: PLC0415 (the front door)
    german = shared_data / "credit" / "german_credit" / "german.data"
    assert run(["credit", "train", "--data", str(german), "--target", "bad", "--n-estimators", "40",
                "--out", str(tmp_path / "m")]) == 0
    assert run(["credit", "report", str(tmp_path / "m"), "--out", str(tmp_path / "r.html"), "--lang", "zh"]) == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    psi = html[html.index("PSI（"):]
    psi = psi[:psi.index("</table>")]
    cells = re.findall(r"<tr><td>([^<]*)</td><td>[\d.]+</td></tr>", psi)
    assert len(cells) == 18 and "贷款金额（马克） (credit_amount)" in cells
    assert all(re.fullmatch(r"[^A-Za-z]+ \([a-z_]+\)", c) for c in cells), cells
    top = next(line for line in (tmp_path / "m" / "model_card.zh.md").read_text().splitlines() if "最重要" in line)
    assert "现有支票账户状态 (checking_status)：" in top
    assert not re.search(r"(^|[\s,:：])[a-z_]{4,}", re.sub(r"\([a-z_]+\)", "", top)), top
    # a trained model's whole zh card: no ASCII colon after Chinese text (the card and the report's copy)
    card = (tmp_path / "m" / "model_card.zh.md").read_text()
    assert not re.findall(r".*[\u4e00-\u9fff）)`]: .*", card) and "- 行数：1000（训练 700，测试 300）" in card
