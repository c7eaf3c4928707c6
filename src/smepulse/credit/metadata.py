"""Metadata every credit feature carries: what it means, whether it exists at decision time, its expected direction."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    description: str
    # False for anything recorded after the decision (e.g. SBA `Term`, charge-off dates): never train on it.
    available_at_decision: bool = True
    # Expected direction of the effect on default risk: +1 higher value -> higher PD, -1 -> lower PD, 0 none imposed.
    monotone: int = 0
    # Plain-language templates for an adverse reason, e.g. "sales fell {pct:.0f}% over the last 3 months".
    # With reason_rise_* set the feature is signed: reason_* is used when the value is < 0, reason_rise_* when >= 0.
    reason_en: str = ""
    reason_zh: str = ""
    reason_rise_en: str = ""
    reason_rise_zh: str = ""
    # "categorical" or "numeric" to override detection ("" = detect: text, codes, low-cardinality integers).
    kind: str = ""
    # Protected or prohibited attribute (age, gender, marital status...): never given as a reason.
    # None: decided by the policy file's name patterns (credit/protected.yaml); True/False overrides it.
    protected: bool | None = None
    # Chinese description for generic sentences ("" = quote `description` as data in the zh text).
    description_zh: str = ""
    # Readable labels of category values, e.g. {"wholesale_retail": "批发零售"}.
    labels_en: dict = field(default_factory=dict)
    labels_zh: dict = field(default_factory=dict)

    # When the value is known: "before_decision" (recorded at or before the application, e.g. every
    # point-in-time feature smepulse builds: a strong single-feature AUC is then a strong predictor,
    # not leakage), "after_decision" (never trained on, like available_at_decision=False), "" unknown.
    timing: str = ""

    def to_dict(self) -> dict:
        return asdict(self)
