"""Credit policy as data: JSON decision models (GoRules JDM) evaluated by zen-engine, with the trace
of the rules that matched. A policy directory holds

- settings.json   version, snapshot age limit, rounding, number of reasons
- knockouts.json  collect table: every matching row is a knock-out (decline) or a referral (refer)
- bands.json      first-hit table on the calibrated PD: band, outcome, limit inputs, margin
- pricing.json    first-hit table on the term: funding cost, LGD, operating cost, capital charge, rate cap
- challenger.json optional champion/challenger experiment (see decision/experiment.py)

The policy's hash is the sha256 of these files (sorted by name), recorded with every decision.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import zen

from smepulse.decision.errors import DecisionError

DEFAULT_DIR = Path(__file__).with_name("policy")
TABLES = ("knockouts", "bands", "pricing")
EXPERIMENT_FILE = "challenger.json"  # optional: champion/challenger (decision/experiment.py), hashed with the policy
SETTINGS_REQUIRED = ("version", "max_snapshot_age_days", "limit_rounding", "rate_decimals", "top_reasons")


@dataclass(frozen=True)
class TableResult:
    """Outputs of the matched rows and their rule ids (the trace)."""
    rows: list[dict]
    fired: list[str]


@dataclass
class Policy:
    directory: Path
    settings: dict
    sha256: str
    n_rules: int
    _decisions: dict = field(repr=False, default_factory=dict)
    _nodes: dict = field(repr=False, default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.settings["version"])

    def evaluate(self, table: str, context: dict) -> TableResult:
        """Evaluate one table; rows are the matched outputs (a list even for first-hit tables)."""
        try:
            r = self._decisions[table].evaluate(context, {"trace": True})
        except RuntimeError as exc:
            raise DecisionError(f"policy table {table} ({self.directory / (table + '.json')}) failed: "
                                f"{str(exc).splitlines()[0][:300]}") from None
        trace = r["trace"][self._nodes[table]]["traceData"] or []
        if isinstance(trace, dict):
            trace = [trace]
        result = r["result"]
        rows = result if isinstance(result, list) else ([result] if result else [])
        return TableResult(rows, [t["rule"]["_id"] for t in trace])


def _sha(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def load_policy(directory: str | Path | None = None) -> Policy:
    """Load and compile a policy directory (default: the policy shipped with smepulse)."""
    d = Path(directory) if directory else DEFAULT_DIR
    if not d.is_dir():
        raise DecisionError(f"policy directory {d} does not exist")
    files = [d / "settings.json"] + [d / f"{t}.json" for t in TABLES]
    for f in files:
        if not f.is_file():
            raise DecisionError(f"policy file {f} is missing (a policy has settings.json, "
                                f"{', '.join(t + '.json' for t in TABLES)})")
    try:
        settings = json.loads(files[0].read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DecisionError(f"policy file {files[0]} is not valid JSON: {exc}") from None
    missing = [k for k in SETTINGS_REQUIRED if k not in settings]
    if missing:
        raise DecisionError(f"policy file {files[0]} lacks '{missing[0]}'")
    engine = zen.ZenEngine()
    decisions, nodes, n_rules = {}, {}, 0
    for t, f in zip(TABLES, files[1:], strict=True):
        text = f.read_text(encoding="utf-8")
        try:
            model = json.loads(text)
            node = next(n for n in model["nodes"] if n["type"] == "decisionTableNode")
            n_rules += len(node["content"]["rules"])
            decisions[t] = engine.create_decision(text)
        except (json.JSONDecodeError, KeyError, StopIteration, RuntimeError, TypeError) as exc:
            raise DecisionError(f"policy file {f} is not a JSON decision model with a decision table: "
                                f"{str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}") from None
        nodes[t] = node["id"]
    hashed = files + ([d / EXPERIMENT_FILE] if (d / EXPERIMENT_FILE).is_file() else [])
    return Policy(d, settings, _sha(hashed), n_rules, decisions, nodes)
