"""A crash mid-import leaves the store consistent: the import is wholly there or wholly absent."""
import signal
import subprocess
import sys
import time

import pytest

from smepulse.sim.survey import simulate_survey
from smepulse.store import open_store

IMPORT = """
import sys
from smepulse.methodology import load_methodology
from smepulse.store import open_store
from smepulse.survey.responses import load_responses
m = load_methodology("smei")
resp = load_responses(sys.argv[1], m)
with open_store(sys.argv[2]) as st:
    print("ready", flush=True)
    st.import_responses(resp)
print("done", flush=True)
"""


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.8])
def test_killed_import_leaves_all_or_nothing(tmp_path, delay):
    src = tmp_path / "r.parquet"
    simulate_survey(n_firms=3000, n_months=24, seed=1).responses.to_parquet(src)
    store = tmp_path / "s.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", IMPORT, str(src), str(store)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with open_store(store) as st:
        responses, answers, logged = st.con.execute(
            "SELECT (SELECT count(*) FROM response), (SELECT count(*) FROM answer), "
            "(SELECT coalesce(sum(answers), 0) FROM import_log)").fetchall()[0]
        orphans = st.con.execute("SELECT count(*) FROM answer a LEFT JOIN response r "
                                 "USING (survey, period, firm_id) WHERE r.firm_id IS NULL").fetchall()[0][0]
    assert orphans == 0
    assert answers == logged  # an import is logged in the same transaction as its rows
    assert (responses == 0) == (answers == 0)
