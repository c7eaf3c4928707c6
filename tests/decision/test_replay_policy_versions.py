"""Policy versions archived in the decision book: a policy directory edited in place (the analyst's normal
workflow) leaves every earlier decision replayable; an altered archive row is refused and reported by
audit verify; a record from before the archive existed says to pass --policy. Both backends."""
from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from smepulse.cli import app
from smepulse.decision.book import DecisionBook, build_snapshots
from smepulse.decision.errors import DecisionError
from smepulse.decision.policy import DEFAULT_DIR, load_policy
from smepulse.decision.service import DecisionService, replay

from .conftest import AS_OF
from .test_audit import body
from .test_challenger import policies

CLOCK = lambda: datetime(2024, 12, 1, 9, tzinfo=UTC)  # noqa: E731


def cli(*args):
    return CliRunner().invoke(app, ["credit", *args])


def widen_band_a(policy_dir) -> None:
    """Edit the policy in place: band A's PD cut-off 0.02 -> 0.99 (first hit: nearly everyone is band A)."""
    f = policy_dir / "bands.json"
    text = f.read_text(encoding="utf-8")
    assert '"i_pd": "< 0.02"' in text
    f.write_text(text.replace('"i_pd": "< 0.02"', '"i_pd": "< 0.99"'), encoding="utf-8")


def decide_before_and_after_an_edit(book, sim_book, pol):
    """(record under the first version, record of the same firm under the edited one)."""
    first = DecisionService(book, sim_book["model_dir"], pol, clock=CLOCK)
    before = next(r for f in sim_book["firms"][:12] for r in [first.submit(body(f))[0]]
                  if r["band"] not in (None, "A") and r["pd"] < 0.99)
    widen_band_a(pol)
    after = DecisionService(book, sim_book["model_dir"], pol, clock=CLOCK).submit(body(before["firm_id"]))[0]
    assert after["band"] == "A" and after["policy_sha256"] != before["policy_sha256"]
    assert after["policy_dir"] == before["policy_dir"] == str(pol)
    return before, after


def test_a_policy_edited_in_place_still_replays_every_decision(store_target, sim_book, tmp_path):
    pol = tmp_path / "policy"
    shutil.copytree(DEFAULT_DIR, pol)
    with DecisionBook(store_target) as book:
        build_snapshots(sim_book["data"], book, AS_OF, sim_book["firms"][:12])
        before, after = decide_before_and_after_an_edit(book, sim_book, pol)
        for rec in (before, after):
            stored, again = replay(book, rec["decision_id"])
            assert again == stored and again["band"] == rec["band"]
        v = book.verify()
        assert v.ok and v.unarchived == {}
    for rec in (before, after):
        r = cli("replay", rec["decision_id"], "--store", store_target)
        assert r.exit_code == 0 and "exactly" in r.stdout, r.output
    shutil.rmtree(pol)  # the directory is gone: the archive still has both versions
    assert cli("replay", before["decision_id"], "--store", store_target).exit_code == 0
    # an archived version altered (the old cut-off made friendlier): replay refuses, verify names it
    with DecisionBook(store_target) as book:
        book.con.execute("UPDATE credit_policy_version SET files = replace(files, '< 0.02', '< 0.03') "
                         "WHERE sha256 = ?", [before["policy_sha256"]])
        with pytest.raises(DecisionError, match="archived policy .* was altered"):
            replay(book, before["decision_id"])
        v = book.verify()
        assert not v.ok and v.problems == [f"archived policy {before['policy_sha256'][:12]} was altered: "
                                           f"its files' sha256 is not {before['policy_sha256'][:12]}"]
    bad = cli("audit", "verify", "--store", store_target)
    assert isinstance(bad.exception, DecisionError) and "archived policy" in str(bad.exception)


def test_a_book_from_before_the_archive_says_policy_not_archived(store_target, sim_book, tmp_path):
    pol, kept = tmp_path / "policy", tmp_path / "policy-as-it-was"
    shutil.copytree(DEFAULT_DIR, pol)
    shutil.copytree(DEFAULT_DIR, kept)
    with DecisionBook(store_target) as book:
        build_snapshots(sim_book["data"], book, AS_OF, sim_book["firms"][:12])
        rec = DecisionService(book, sim_book["model_dir"], pol, clock=CLOCK).submit(body(sim_book["firms"][0]))[0]
        book.con.execute("DROP TABLE credit_policy_version")  # an old book: no archive, records already there,
        book.con.execute("DROP TABLE IF EXISTS credit_book_meta")  # and its DDL's fingerprint not this schema.sql's
    widen_band_a(pol)
    with DecisionBook(store_target) as book:  # opening migrates: the table is created, empty
        v = book.verify()
        assert v.ok and v.unarchived == {rec["policy_sha256"]: 1}
        with pytest.raises(DecisionError) as err:
            replay(book, rec["decision_id"])
    msg = str(err.value)
    assert "\n" not in msg and "not archived" in msg and "--policy DIR" in msg and str(pol) in msg
    ok = cli("audit", "verify", "--store", store_target)
    assert ok.exit_code == 0 and f"policy not archived: {rec['policy_sha256'][:12]} (1 records)" in ok.stdout
    wrong = cli("replay", rec["decision_id"], "--store", store_target, "--policy", str(pol))
    assert isinstance(wrong.exception, DecisionError) and "not the one" in str(wrong.exception)
    r = cli("replay", rec["decision_id"], "--store", store_target, "--policy", str(kept))
    assert r.exit_code == 0 and "exactly" in r.stdout, r.output
    # --policy archived that version: verify no longer reports it and replay needs no --policy
    assert "not archived" not in cli("audit", "verify", "--store", store_target).stdout
    assert cli("replay", rec["decision_id"], "--store", store_target).exit_code == 0


def test_the_shadow_challenger_policy_is_archived_and_replays_after_an_edit(sim_book, tmp_path):
    champ, chall = policies(tmp_path, {"name": "shadow", "mode": "shadow", "share": 1.0, "salt": "cc-2"})
    store = tmp_path / "store.duckdb"
    shutil.copy(sim_book["store"], store)
    with DecisionBook(store) as book:
        svc = DecisionService(book, sim_book["model_dir"], champ, clock=CLOCK)
        recs = [svc.submit(body(f))[0] for f in sim_book["firms"][:6]]
        assert book.archived_policy(load_policy(chall).sha256) is not None
        widen_band_a(chall)
        widen_band_a(champ)
        for rec in recs:
            stored, again = replay(book, rec["decision_id"])
            assert again == stored and stored["shadow"]["policy_sha256"] == rec["shadow"]["policy_sha256"]


def test_a_model_directory_holding_another_version_names_the_one_needed(sim_book, tmp_path):
    store = tmp_path / "store.duckdb"
    shutil.copy(sim_book["store"], store)
    other = tmp_path / "other-model"
    shutil.copytree(sim_book["model_dir"], other)
    (other / "NOTE.txt").write_text("retrained", encoding="utf-8")
    with DecisionBook(store) as book:
        rec = DecisionService(book, sim_book["model_dir"], clock=CLOCK).submit(body(sim_book["firms"][0]))[0]
        with pytest.raises(DecisionError) as err:
            replay(book, rec["decision_id"], model_dir=other)
    msg = str(err.value)
    assert msg == (f"model in {other} is not the one decision {rec['decision_id']} used: it needs model "
                   f"{rec['model_version']} (sha256 {rec['model_sha256'][:12]}); pass --model DIR with that version")
