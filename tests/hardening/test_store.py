"""The store under faults: read-only opens change nothing, a full disk at commit leaves the store as before,
compute --store writes the import and the vintage in one transaction (killed at any point: both or neither)."""
from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from corpus import BASE

from smepulse.cli import run
from smepulse.errors import StoreError
from smepulse.methodology import load_methodology
from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store
from smepulse.survey.responses import from_frame

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _counts(path: Path) -> tuple[int, int, int, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT (SELECT count(*) FROM response), (SELECT count(*) FROM answer), "
                           "(SELECT count(*) FROM import_log), (SELECT count(*) FROM vintage)").fetchall()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A store with BASE imported and one vintage (compute --store), checkpointed."""
    d = tmp_path_factory.mktemp("published")
    BASE.to_csv(d / "r.csv", index=False)
    code = run(["compute", "--methodology", "smei", "--replicates", "0", "--seasonal", "none", "--min-n", "0",
                "--frame", "design", "--responses", str(d / "r.csv"), "--out", str(d / "o.csv"),
                "--store", str(d / "s.duckdb")])
    assert code == 0
    con = duckdb.connect(str(d / "s.duckdb"))
    con.execute("CHECKPOINT")
    con.close()
    return d / "s.duckdb"


def test_read_commands_leave_the_store_file_untouched(published, tmp_path, capsys):
    before, mtime = _digest(published), published.stat().st_mtime_ns
    assert run(["series", "--store", str(published), "--out", str(tmp_path / "s.csv")]) == 0
    assert run(["revisions", "--store", str(published), "--series", "sales", "--adjustment", "nsa"]) == 0
    capsys.readouterr()
    assert _digest(published) == before and published.stat().st_mtime_ns == mtime
    assert not Path(str(published) + ".wal").exists()


def test_read_only_store_refuses_writes_and_missing_files(published, tmp_path):
    m = load_methodology("smei")
    with open_store(published, read_only=True) as st:
        assert len(st.vintages()) == 1
        with pytest.raises(StoreError, match="read-only"):
            st.import_responses(from_frame(BASE.assign(period="2024-04"), m))
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "none.duckdb", read_only=True)
    assert not (tmp_path / "none.duckdb").exists()  # a read never creates a store
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()  # a DuckDB file that is not a smepulse store
    with pytest.raises(StoreError, match="not a smepulse store"):
        open_store(other, read_only=True)


def test_series_on_a_missing_store_is_a_clear_error(tmp_path, capsys):
    assert run(["series", "--store", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "o.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "none.duckdb").exists()


# -- a full disk at commit: RLIMIT_FSIZE makes every write beyond the limit fail (EFBIG), like ENOSPC ------------
FULL_DISK = """
import os, resource, signal, sys
from smepulse.cli import run
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
store = sys.argv[2]
limit = os.path.getsize(store) + 4096
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
sys.exit(run(sys.argv[3:]))
"""


@pytest.mark.parametrize("command", ["import", "compute"])
def test_disk_full_at_commit_leaves_the_store_as_before(published, tmp_path, command):
    store = tmp_path / "s.duckdb"
    store.write_bytes(published.read_bytes())
    before = _counts(store)
    src = tmp_path / "big.parquet"
    simulate_survey(n_firms=3000, n_months=12, seed=2, start="2030-01").responses.to_parquet(src)
    argv = {"import": ["import", "--methodology", "smei", "--store", str(store), "--responses", str(src)],
            "compute": ["compute", "--methodology", "smei", "--replicates", "0", "--seasonal", "none",
                        "--responses", str(src), "--out", str(tmp_path / "o.csv"), "--store", str(store)]}[command]
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, "x", str(store), *argv], capture_output=True,
                          text=True, env={"PYTHONPATH": SRC, "SMEPULSE_LOG_DIR": str(tmp_path / "logs"),
                                          "PATH": "/usr/bin:/bin", "COLUMNS": "200"}, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: could not write to store"), proc.stderr
    assert "nothing was stored" in proc.stderr
    assert _counts(store) == before  # not one response, answer, log row or vintage more
    with open_store(store) as st:  # and the store still takes writes once there is room
        st.import_responses(from_frame(BASE.assign(period="2031-01"), load_methodology("smei")))
    assert _counts(store)[0] == before[0] + 12


# -- compute --store killed at any moment: the import and its vintage are both there or both absent ----------
COMPUTE_STORE = """
import sys
from smepulse.index.engine import compute
from smepulse.methodology import load_methodology
from smepulse.store import open_store
from smepulse.survey.responses import load_responses
m = load_methodology("smei")
resp = load_responses(sys.argv[1], m)
result = compute(resp)
with open_store(sys.argv[2]) as st:
    print("ready", flush=True)
    with st.transaction():
        st.save_methodology(m)
        st.import_responses(resp)
        st.save_series(result)
print("done", flush=True)
"""


@pytest.mark.parametrize("delay", [0.05, 0.4])
def test_killed_compute_store_keeps_import_and_vintage_together(tmp_path, delay):
    src = tmp_path / "r.parquet"
    simulate_survey(n_firms=3000, n_months=24, seed=1).responses.to_parquet(src)
    store = tmp_path / "s.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", COMPUTE_STORE, str(src), str(store)], stdout=subprocess.PIPE,
                            text=True, env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    responses, answers, logged, vintages = _counts(store)
    assert (responses > 0) == (vintages == 1) == (logged == 1), (responses, answers, logged, vintages)
    assert (responses == 0) == (answers == 0)


# Schema version 1 as it was shipped (store/schema.sql before the numbered response tables).
V1 = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
CREATE TABLE response (
    survey VARCHAR NOT NULL, period VARCHAR NOT NULL, firm_id VARCHAR NOT NULL, weight DOUBLE PRECISION NOT NULL,
    response_date DATE, import_id VARCHAR NOT NULL, PRIMARY KEY (survey, period, firm_id));
CREATE TABLE attribute (
    survey VARCHAR NOT NULL, period VARCHAR NOT NULL, firm_id VARCHAR NOT NULL, dimension VARCHAR NOT NULL,
    value VARCHAR NOT NULL, PRIMARY KEY (survey, period, firm_id, dimension));
CREATE TABLE answer (
    survey VARCHAR NOT NULL, period VARCHAR NOT NULL, firm_id VARCHAR NOT NULL, question VARCHAR NOT NULL,
    answer VARCHAR NOT NULL, PRIMARY KEY (survey, period, firm_id, question));
INSERT INTO response VALUES ('smei', '2024-03', 'f1', 2, '2024-03-05', 'a'), ('smei', '2024-03', 'f2', 1, NULL, 'a'),
    ('smei', '2024-04', 'f1', 3, NULL, 'b');
INSERT INTO attribute VALUES ('smei', '2024-03', 'f1', 'sector', 'construction'),
    ('smei', '2024-03', 'f2', 'sector', 'manufacturing'), ('smei', '2024-04', 'f1', 'sector', 'construction');
INSERT INTO answer VALUES ('smei', '2024-03', 'f1', 'sales', 'up'), ('smei', '2024-03', 'f1', 'profit', 'down'),
    ('smei', '2024-03', 'f2', 'sales', 'same'), ('smei', '2024-04', 'f1', 'sales', 'down');
"""


def test_version_1_store_is_migrated_on_first_write_and_keeps_every_answer(tmp_path):
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    con.execute(V1)
    before = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall()) for t in ("attribute", "answer")}
    con.close()
    with pytest.raises(StoreError, match="schema version 1.*brings it up to date"):
        open_store(path, read_only=True)
    m = load_methodology("smei")
    with open_store(path) as st:
        assert st.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [("3",)]
        for t in ("attribute", "answer"):  # the views give back exactly the version-1 rows
            assert sorted(st.con.execute(f"SELECT * FROM {t}").fetchall()) == before[t]
        wide = st.responses(m).to_pandas().set_index(["period", "firm_id"])
        assert wide.loc[("2024-03", "f1"), "profit"] == "down" and wide.loc[("2024-03", "f2"), "sales"] == "same"
        assert wide.loc[("2024-04", "f1"), "weight"] == 3 and wide.loc[("2024-03", "f1"), "sector"] == "construction"
        ids = st.con.execute("SELECT count(DISTINCT response_id), count(*) FROM response").fetchall()[0]
        assert ids == (3, 3)
        new = st.con.execute("SELECT nextval('response_id_seq')").fetchall()[0][0]
        assert new > st.con.execute("SELECT max(response_id) FROM response").fetchall()[0][0]
    with open_store(path, read_only=True) as st:  # migrated once: read-only opens work now
        assert st.con.execute("SELECT count(*) FROM answer").fetchall()[0][0] == 4


# Schema version 2 as it was shipped (text names and values in the long tables), with a text that needs quoting.
V2 = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
INSERT INTO meta VALUES ('schema_version', '2'), ('responses_written', '');
CREATE SEQUENCE response_id_seq START 4;
CREATE TABLE response (
    response_id BIGINT NOT NULL, survey VARCHAR NOT NULL, period VARCHAR NOT NULL, firm_id VARCHAR NOT NULL,
    weight DOUBLE PRECISION NOT NULL, response_date DATE, import_id VARCHAR NOT NULL);
CREATE TABLE response_attribute (response_id BIGINT NOT NULL, dimension VARCHAR NOT NULL, value VARCHAR NOT NULL);
CREATE TABLE response_answer (response_id BIGINT NOT NULL, question VARCHAR NOT NULL, answer VARCHAR NOT NULL);
CREATE VIEW attribute AS SELECT r.survey, r.period, r.firm_id, a.dimension, a.value
    FROM response_attribute a JOIN response r ON r.response_id = a.response_id;
CREATE VIEW answer AS SELECT r.survey, r.period, r.firm_id, a.question, a.answer
    FROM response_answer a JOIN response r ON r.response_id = a.response_id;
INSERT INTO response VALUES (1, 'smei', '2024-03', 'f1', 2, '2024-03-05', 'a'),
    (2, 'smei', '2024-03', 'f2', 1, NULL, 'a'), (3, 'smei', '2024-04', 'f1', 3, NULL, 'b');
INSERT INTO response_attribute VALUES (1, 'sector', 'construction'), (2, 'sector', 'manufacturing'),
    (3, 'sector', 'construction'), (3, 'note''s', 'it''s');
INSERT INTO response_answer VALUES (1, 'sales', 'up'), (1, 'profit', 'down'), (2, 'sales', 'same'),
    (3, 'sales', 'down');
"""


def test_version_2_store_is_migrated_to_label_numbers_and_keeps_every_answer(tmp_path):
    path = tmp_path / "v2.duckdb"
    con = duckdb.connect(str(path))
    con.execute(V2)
    before = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall()) for t in ("attribute", "answer")}
    con.close()
    with pytest.raises(StoreError, match="schema version 2.*brings it up to date"):
        open_store(path, read_only=True)
    m = load_methodology("smei")
    with open_store(path) as st:
        assert st.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [("3",)]
        for t in ("attribute", "answer"):  # the views give back exactly the version-2 rows
            assert sorted(st.con.execute(f"SELECT * FROM {t}").fetchall()) == before[t]
        texts = [r[0] for r in st.con.execute("SELECT text FROM label").fetchall()]
        assert sorted(texts) == sorted(set(texts)) and {"sales", "up", "note's", "it's"} <= set(texts)
        wide = st.responses(m).to_pandas().set_index(["period", "firm_id"])
        assert wide.loc[("2024-03", "f1"), "profit"] == "down" and pd.isna(wide.loc[("2024-03", "f2"), "profit"])
        # a new import after the migration reuses the migrated labels and adds only the new ones
        st.import_responses(from_frame(BASE.assign(period="2025-01"), m))
        texts = [r[0] for r in st.con.execute("SELECT text FROM label").fetchall()]
        assert len(texts) == len(set(texts))
        assert st.con.execute("SELECT count(*) FROM answer WHERE period = '2024-03'").fetchall()[0][0] == 3
        blank = BASE["sales"].isna().sum() + BASE["funding_cost"].isna().sum()  # stored as NULL, not in the view
        assert st.con.execute("SELECT count(*) FROM answer WHERE period = '2025-01'").fetchall()[0][0] == \
            2 * len(BASE) - blank
        wide = st.responses(m).to_pandas()
        assert wide[wide["period"] == "2025-01"]["sales"].tolist() == BASE["sales"].tolist()
    with open_store(path, read_only=True) as st:
        assert st.con.execute("SELECT count(*) FROM answer WHERE period <> '2025-01'").fetchall()[0][0] == 4


def test_two_imports_at_once_cannot_both_pass_the_duplicate_check(tmp_path):
    """Two transactions on one store importing the same firms: the second fails cleanly, nothing doubles."""
    m = load_methodology("smei")
    path = tmp_path / "s.duckdb"
    with open_store(path) as st:
        second = object.__new__(type(st))  # the same file on a second connection (one process holds a file)
        second.path, second.read_only, second._depth, second.con = st.path, False, 0, st.con.cursor()
        with st.transaction():
            st.import_responses(from_frame(BASE, m))
            with pytest.raises(StoreError, match="another import"):
                with second.transaction():
                    second.import_responses(from_frame(BASE, m))
        assert st.con.execute("SELECT count(*) FROM response").fetchall()[0][0] == len(BASE)
