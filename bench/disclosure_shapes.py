"""Cost of #8's complementary suppression (compute) and CNY shape choice (seasonal review), against peers in
the same run.

compute: this tree against another source tree (--peer-src, e.g. /work/main/src, without complementary
suppression), each in its own subprocess, alternating, medians of --repeats. Seasonal: add_seasonal on the
same result with the default policy (four CNY shapes tried for a seasonal series) against a policy with the
single `before` shape (what X-13 ran before the shape choice).

Example: PYTHONPATH=src python bench/disclosure_shapes.py --peer-src /work/main/src --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from smepulse.index.adjusted import add_seasonal
from smepulse.index.engine import compute
from smepulse.methodology import load_methodology
from smepulse.sim.survey import simulate_survey
from smepulse.survey.responses import from_frame

COMPUTE = """
import json, time
from smepulse.methodology import load_methodology
from smepulse.sim.survey import simulate_survey
from smepulse.survey.responses import from_frame
from smepulse.index.engine import compute
m = load_methodology("smei")
resp = from_frame(simulate_survey(600, 36, start="2023-01", seed=0).responses, m)
t0 = time.perf_counter()
s = compute(resp).series
print(json.dumps({"seconds": time.perf_counter() - t0, "suppressed": int((s["flag"] == "suppressed").sum()),
                  "cells": len(s)}))
"""


def _compute(src: str) -> dict:
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run([sys.executable, "-c", COMPUTE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _seasonal() -> dict:
    m = load_methodology("smei")
    result = compute(from_frame(simulate_survey(600, 36, start="2023-01", seed=0).responses, m))
    out = {}
    for name, policy in (("four shapes", m.seasonal), ("before only", m.seasonal.model_copy(
            update={"cny_shapes": ("before",)}))):
        done = []
        t0 = time.perf_counter()
        add_seasonal(result, policy=policy, on_done=done.append, workers=2)
        out[name] = {"seconds": round(time.perf_counter() - t0, 1), "series": len(done),
                     "adjusted": sum(r.status == "adjusted" for r in done),
                     "with holiday": sum(bool(r.holiday) for r in done)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer-src", default="/work/main/src")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-seasonal", action="store_true")
    args = ap.parse_args()
    here = str(Path(__file__).resolve().parents[1] / "src")
    runs: dict[str, list[dict]] = {"this": [], "peer": []}
    for _ in range(args.repeats):
        runs["this"].append(_compute(here))
        runs["peer"].append(_compute(args.peer_src))
    for k, v in runs.items():
        med = statistics.median(r["seconds"] for r in v)
        print(f"compute {k}: median {med:.2f} s of {[round(r['seconds'], 2) for r in v]}, "
              f"{v[0]['suppressed']:,} of {v[0]['cells']:,} cells suppressed")
    ratio = statistics.median(r["seconds"] for r in runs["this"]) / statistics.median(
        r["seconds"] for r in runs["peer"])
    print(f"compute ratio this / peer: {ratio:.2f}")
    if not args.skip_seasonal:
        for k, v in _seasonal().items():
            print(f"add_seasonal, {k}: {v}")


if __name__ == "__main__":
    main()
