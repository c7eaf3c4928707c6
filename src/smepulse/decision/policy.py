"""Credit policy as data: JSON decision models (GoRules JDM) evaluated by zen-engine, with the trace
of the rules that matched. A policy directory holds

- settings.json   version, snapshot age limit, rounding, number of reasons
- knockouts.json  collect table: every matching row is a knock-out (decline) or a referral (refer)
- bands.json      first-hit table on the calibrated PD: band, outcome, limit inputs, margin
- pricing.json    first-hit table on the term: funding cost, LGD, operating cost, capital charge, rate cap
- challenger.json optional champion/challenger experiment (see decision/experiment.py)

The policy's hash is the sha256 of these files (sorted by name), recorded with every decision. The
files' text travels with the Policy (`files`) so the decision book can archive each version it ran
(book.archive_policy) and a replay can rebuild it after the directory was edited (`policy_from_files`).
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
GRAPH_KEY = "policy"  # the one decision the policy's engine loads
RULE_FIELD = "_rule"  # the output every rule gets at load: its own id
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
    _engine: object = field(repr=False, default=None)
    files: dict[str, str] = field(repr=False, default_factory=dict)  # file name -> text, as hashed

    @property
    def version(self) -> str:
        return str(self.settings["version"])

    def evaluate_all(self, context: dict) -> dict[str, TableResult]:
        """Every table in ONE zen-engine call (the files compiled into one graph at load), no trace: each
        rule carries its id as an extra output `_rule`, so the matched rows name themselves. The call goes
        through the engine (its loader hands back the graph compiled at load): zen-engine 2.1's
        ZenDecision.evaluate builds a tokio runtime and a thread per call (~50-100 us, more under load),
        ZenEngine.evaluate does not (bench/decision.py measures both)."""
        try:
            result = self._engine.evaluate(GRAPH_KEY, context)["result"]
        except RuntimeError as exc:
            raise DecisionError(f"policy {self.directory} failed: {str(exc).splitlines()[0][:300]}") from None
        out = {}
        for t in TABLES:
            r = result.get(t)
            rows = r if isinstance(r, list) else ([r] if r else [])
            fired = [row.pop(RULE_FIELD) for row in rows]
            out[t] = TableResult(rows, fired)
        return out

    def evaluate(self, table: str, context: dict) -> TableResult:
        """One table's result (all tables are evaluated; use evaluate_all when you need more than one)."""
        return self.evaluate_all(context)[table]


def files_sha256(files: dict[str, str]) -> str:
    """The policy's identity: sha256 over its files (name and UTF-8 bytes) in the order settings.json,
    the tables, challenger.json (the order load_policy has always hashed them in)."""
    h = hashlib.sha256()
    for name in _ordered(files):
        h.update(name.encode() + b"\0" + files[name].encode("utf-8") + b"\0")
    return h.hexdigest()


def _ordered(files: dict[str, str]) -> list[str]:
    names = ["settings.json"] + [f"{t}.json" for t in TABLES] + [EXPERIMENT_FILE]
    return [n for n in names if n in files]


def _merge(graphs: dict[str, dict]) -> tuple[dict, int]:
    """One decision graph of the policy's files: each file's nodes prefixed by its table name, its input
    and output nodes replaced by the shared ones, every decision table writing to outputPath = its table
    and stating its rule id as the output `_rule`. A file may be any graph (e.g. a switch node routing
    to one table per segment); its tables' matches all land under its name."""
    nodes = [{"id": "request", "type": "inputNode", "name": "request", "position": {"x": 0, "y": 0}},
             {"id": "response", "type": "outputNode", "name": "response", "position": {"x": 0, "y": 0}}]
    edges, n_rules = [], 0
    for t, g in graphs.items():
        ends = {}
        for n in g["nodes"]:
            if n["type"] in ("inputNode", "outputNode"):
                ends[n["id"]] = "request" if n["type"] == "inputNode" else "response"
                continue
            n = {**n, "id": f"{t}/{n['id']}"}
            if n["type"] == "decisionTableNode":
                c = dict(n["content"])
                c["outputs"] = [*c["outputs"], {"id": "o__rule", "name": "rule id", "field": RULE_FIELD}]
                c["rules"] = [{**r, "o__rule": json.dumps(str(r.get("_id") or f"{t}:{i}"))}
                              for i, r in enumerate(c["rules"])]
                c["outputPath"] = t
                n["content"] = c
                n_rules += len(c["rules"])
            nodes.append(n)
        for e in g["edges"]:
            src, dst = ends.get(e["sourceId"], f"{t}/{e['sourceId']}"), ends.get(e["targetId"], f"{t}/{e['targetId']}")
            edges.append({**e, "id": f"{t}/{e['id']}", "sourceId": src, "targetId": dst})
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}, n_rules


def load_policy(directory: str | Path | None = None) -> Policy:
    """Load and compile a policy directory (default: the policy shipped with smepulse)."""
    d = Path(directory) if directory else DEFAULT_DIR
    if not d.is_dir():
        raise DecisionError(f"policy directory {d} does not exist")
    names = ["settings.json"] + [f"{t}.json" for t in TABLES]
    files = {}
    for name in names + ([EXPERIMENT_FILE] if (d / EXPERIMENT_FILE).is_file() else []):
        f = d / name
        if not f.is_file():
            raise DecisionError(f"policy file {f} is missing (a policy has settings.json, "
                                f"{', '.join(t + '.json' for t in TABLES)})")
        try:
            files[name] = f.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecisionError(f"policy file {f} is not UTF-8 text: {exc}") from None
    return policy_from_files(d, files)


def policy_from_files(d: Path, files: dict[str, str]) -> Policy:
    """Compile a policy from its files' text (a directory's, or a version archived in the decision book);
    `d` is the directory it came from, named in messages and records."""
    settings_file = d / "settings.json"
    try:
        settings = json.loads(files["settings.json"])
    except json.JSONDecodeError as exc:
        raise DecisionError(f"policy file {settings_file} is not valid JSON: {exc}") from None
    if not isinstance(settings, dict):
        raise DecisionError(f"policy file {settings_file} is not a JSON object")
    missing = [k for k in SETTINGS_REQUIRED if k not in settings]
    if missing:
        raise DecisionError(f"policy file {settings_file} lacks '{missing[0]}'")
    engine = zen.ZenEngine()
    graphs = {}
    for t in TABLES:
        f, text = d / f"{t}.json", files[f"{t}.json"]
        try:
            model = json.loads(text)
            next(n for n in model["nodes"] if n["type"] == "decisionTableNode")
            if [n["type"] for n in model["nodes"]].count("inputNode") != 1 or \
                    [n["type"] for n in model["nodes"]].count("outputNode") != 1:
                raise KeyError("one inputNode and one outputNode")
            engine.create_decision(text)
        except (json.JSONDecodeError, KeyError, StopIteration, RuntimeError, TypeError) as exc:
            raise DecisionError(f"policy file {f} is not a JSON decision model with a decision table: "
                                f"{str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}") from None
        graphs[t] = model
    merged, n_rules = _merge(graphs)
    try:
        compiled = zen.ZenDecisionContent(json.dumps(merged))
        engine.create_decision(compiled)  # compiles the graph now: a broken policy fails at load, not per request
    except RuntimeError as exc:
        raise DecisionError(f"policy {d} does not compile: {str(exc).splitlines()[0][:200]}") from None
    return Policy(d, settings, files_sha256(files), n_rules, zen.ZenEngine({"loader": lambda _key: compiled}),
                  files=dict(files))
