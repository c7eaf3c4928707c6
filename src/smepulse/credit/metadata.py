"""Metadata every credit feature carries: what it means, whether it exists at decision time, its expected direction."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    description: str
    # False for anything recorded after the decision (e.g. SBA `Term`, charge-off dates): never train on it.
    available_at_decision: bool = True
    # Expected direction of the effect on default risk: +1 higher value -> higher PD, -1 -> lower PD, 0 none imposed.
    monotone: int = 0
    # Plain-language templates for an adverse reason, e.g. "sales fell {value:.0%} over the last 3 months".
    reason_en: str = ""
    reason_zh: str = ""

    def to_dict(self) -> dict:
        return asdict(self)
