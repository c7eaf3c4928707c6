"""Champion/challenger as data: an optional `challenger.json` in the champion's policy directory.

    {"name": "2026-12 tighter band C", "mode": "split", "share": 0.2, "salt": "cc-2026-12",
     "model": null, "policy": "../challenger-policy"}

- mode `split`: firms whose bucket is below `share` are decided by the challenger (its decision is used
  and booked); the others by the champion.
- mode `shadow`: every decision is the champion's; for firms below `share` the challenger decides too
  and its decision is written into the record (`shadow`) but never used, answered or booked.
- bucket = first 8 hex digits of sha256(salt + ":" + uscc) / 16**8: deterministic by firm (the same firm
  stays in its arm across applications), independent of the order of applications.
- `model` / `policy`: the challenger's model and policy directories, relative to challenger.json (null: the
  champion's). The challenger's own challenger.json, if any, is ignored.

The file is part of the champion policy's sha256, so every record says which experiment assigned it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from smepulse.credit.train import load_model
from smepulse.decision.errors import DecisionError
from smepulse.decision.policy import EXPERIMENT_FILE, Policy, load_policy

MODES = ("split", "shadow")


def bucket(salt: str, uscc: str) -> float:
    """The firm's place in [0, 1): sha256(salt:uscc), first 32 bits."""
    return int(hashlib.sha256(f"{salt}:{uscc}".encode()).hexdigest()[:8], 16) / 16**8


@dataclass
class Experiment:
    name: str
    mode: str
    share: float
    salt: str
    model_dir: Path | None   # None: the champion's model
    model: object | None
    policy: Policy

    def in_challenger(self, uscc: str) -> tuple[bool, float]:
        b = bucket(self.salt, uscc)
        return b < self.share, b

    def summary(self, b: float) -> dict:
        return {"name": self.name, "mode": self.mode, "share": self.share, "bucket": round(b, 6)}


def load_experiment(policy: Policy, load=load_model) -> Experiment | None:
    """The experiment of a champion policy directory, or None when it has no challenger.json."""
    f = policy.directory / EXPERIMENT_FILE
    if not f.is_file():
        return None
    try:
        cfg = json.loads(f.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DecisionError(f"{f}: not valid JSON ({exc})") from None
    if not isinstance(cfg, dict):
        raise DecisionError(f"{f}: expected an object with name, mode, share, salt, model, policy")
    unknown = sorted(set(cfg) - {"name", "mode", "share", "salt", "model", "policy", "description"})
    if unknown:
        raise DecisionError(f"{f}: unknown field '{unknown[0]}'")
    for key in ("name", "mode", "share", "salt"):
        if key not in cfg:
            raise DecisionError(f"{f}: field '{key}' is missing")
    if cfg["mode"] not in MODES:
        raise DecisionError(f"{f}: field 'mode' is {cfg['mode']!r}; use split or shadow")
    share = cfg["share"]
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise DecisionError(f"{f}: field 'share' must be a number from 0 to 1, not {share!r}")
    if not cfg.get("model") and not cfg.get("policy"):
        raise DecisionError(f"{f}: a challenger needs a 'model' or a 'policy' (or both) that differ from the champion")
    model_dir = (f.parent / cfg["model"]).resolve() if cfg.get("model") else None
    if model_dir is not None and not model_dir.is_dir():
        raise DecisionError(f"{f}: field 'model': {model_dir} is not a model directory")
    pol = load_policy((f.parent / cfg["policy"]).resolve()) if cfg.get("policy") else policy
    return Experiment(str(cfg["name"]), cfg["mode"], float(share), str(cfg["salt"]), model_dir,
                      load(model_dir) if model_dir else None, pol)
