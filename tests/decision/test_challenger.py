"""Champion/challenger as data (challenger.json in the policy directory): a deterministic split by firm,
and a shadow mode whose challenger decision is recorded but never used; both replay exactly."""
from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime

import pytest

from smepulse.decision.application import parse_application
from smepulse.decision.book import DecisionBook
from smepulse.decision.engine import decide
from smepulse.decision.errors import DecisionError
from smepulse.decision.experiment import bucket
from smepulse.decision.policy import DEFAULT_DIR, load_policy
from smepulse.decision.service import DecisionService, replay
from smepulse.decision.uscc import firm_code

from .conftest import AS_OF


def body(fid, amount=60_000):
    return {"uscc": firm_code(fid), "amount": amount, "term_months": 12, "application_date": AS_OF.isoformat(),
            "consent": {"given": True, "text_version": "consent-2026-12", "given_at": "2024-12-01T08:00:00Z"}}


def policies(tmp_path, experiment: dict):
    """A champion policy (the shipped one + challenger.json) and a challenger policy: margins +1 point."""
    champ, chall = tmp_path / "champion-policy", tmp_path / "challenger-policy"
    shutil.copytree(DEFAULT_DIR, champ)
    shutil.copytree(DEFAULT_DIR, chall)
    bands = json.loads((chall / "bands.json").read_text(encoding="utf-8"))
    for r in next(n for n in bands["nodes"] if n["type"] == "decisionTableNode")["content"]["rules"]:
        r["o_margin"] = str(round(float(r["o_margin"]) + 0.01, 4))
    (chall / "bands.json").write_text(json.dumps(bands, ensure_ascii=False), encoding="utf-8")
    (champ / "challenger.json").write_text(json.dumps({"policy": "../challenger-policy", **experiment}))
    return champ, chall


@pytest.fixture
def store(sim_book, tmp_path):
    path = tmp_path / "store.duckdb"
    shutil.copy(sim_book["store"], path)
    return path


def service(store, sim_book, champ):
    return DecisionService(DecisionBook(store), sim_book["model_dir"], champ,
                           clock=lambda: datetime(2024, 12, 1, 9, tzinfo=UTC))


def test_bucket_is_sha256_of_salt_and_code():
    code = firm_code(3)
    assert bucket("s1", code) == int(hashlib.sha256(f"s1:{code}".encode()).hexdigest()[:8], 16) / 2**32
    assert bucket("s1", code) != bucket("s2", code) and 0 <= bucket("s1", code) < 1


def test_split_by_firm_uses_the_challenger_for_its_share(store, sim_book, tmp_path):
    champ, chall = policies(tmp_path, {"name": "margin test", "mode": "split", "share": 0.5, "salt": "cc-1"})
    svc = service(store, sim_book, champ)
    firms = sim_book["firms"][:80]
    recs = [svc.submit(body(f))[0] for f in firms]
    expect = ["challenger" if bucket("cc-1", firm_code(f)) < 0.5 else "champion" for f in firms]
    assert [r["arm"] for r in recs] == expect
    assert 24 <= expect.count("challenger") <= 56  # Binomial(80, 0.5): outside this with p < 0.0005
    champion_policy, challenger_policy = load_policy(champ), load_policy(chall)
    for f, r in zip(firms, recs, strict=True):
        used = challenger_policy if r["arm"] == "challenger" else champion_policy
        snap = svc.book.latest_snapshot(firm_code(f), AS_OF)
        d = decide(parse_application(body(f)), snap, sim_book["model"], used, today=AS_OF, programmes=svc.programmes)
        assert (r["decision"], r["annual_rate"], r["policy_sha256"]) == (d.decision, d.annual_rate, used.sha256)
        assert r["experiment"]["name"] == "margin test" and r["shadow"] is None
        assert r["policy_dir"] == str(used.directory)
    # the same firm stays in its arm on its next application; the order of applications does not matter
    again = [svc.submit(body(f, 50_000))[0]["arm"] for f in reversed(firms)]
    assert again[::-1] == expect
    for r in recs[:6]:
        stored, replayed = replay(svc.book, r["decision_id"])
        assert stored == replayed
    svc.book.close()


def test_shadow_records_the_challenger_but_never_uses_it(store, sim_book, tmp_path):
    champ, chall = policies(tmp_path, {"name": "shadow", "mode": "shadow", "share": 1.0, "salt": "cc-2"})
    svc = service(store, sim_book, champ)
    plain_store = tmp_path / "plain.duckdb"
    shutil.copy(sim_book["store"], plain_store)
    plain = DecisionService(DecisionBook(plain_store), sim_book["model_dir"],
                            clock=lambda: datetime(2024, 12, 1, 9, tzinfo=UTC))
    firms = sim_book["firms"][:25]
    for f in firms:
        rec, _ = svc.submit(body(f))
        base, _ = plain.submit(body(f))
        assert rec["arm"] == "champion" and rec["shadow"] is not None
        for k in ("decision", "pd", "limit", "annual_rate", "reasons", "rules_fired"):
            assert rec[k] == base[k], k  # the answer is the champion's
        sh = rec["shadow"]
        assert sh["policy_sha256"] == load_policy(chall).sha256 and sh["pd"] == rec["pd"]
        if rec["annual_rate"] is not None and "PRICE_CAPPED" not in rec["rules_fired"]:
            cap = rec["price_components"]["max_annual_rate"]  # one margin point more, up to the cap
            assert sh["annual_rate"] == pytest.approx(min(cap, rec["annual_rate"] + 0.01), abs=1e-9)
        if rec["decision"] == "approve":
            assert svc.accept(rec["decision_id"])["annual_rate"] == rec["annual_rate"]  # booked at the champion's
    stored, replayed = replay(svc.book, rec["decision_id"])
    assert stored == replayed and "shadow" in stored
    svc.book.close()
    plain.book.close()


def test_bad_experiment_files_are_refused_naming_the_field(store, sim_book, tmp_path):
    for bad, field in ([{"name": "x", "mode": "ab", "share": 0.5, "salt": "s"}, "mode"],
                       [{"name": "x", "mode": "split", "share": 1.5, "salt": "s"}, "share"],
                       [{"name": "x", "mode": "split", "share": 0.5}, "salt"],
                       [{"name": "x", "mode": "split", "share": 0.5, "salt": "s", "modle": "m"}, "modle"]):
        champ, _ = policies(tmp_path / field, bad)
        with pytest.raises(DecisionError, match=f"challenger.json: .*'{field}'"):
            service(store, sim_book, champ)
