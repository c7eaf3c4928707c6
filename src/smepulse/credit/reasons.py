"""Reason codes as plain sentences (English and Chinese) from per-feature adverse contributions."""
from __future__ import annotations

import numpy as np
import pandas as pd

from smepulse.credit.metadata import FeatureSpec


def _fmt_value(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.3g}"
    return str(v)


def sentence(spec: FeatureSpec, value, median: float | None, lang: str = "en") -> str:
    """FeatureSpec's template when it has one and it formats; else '<description> is high/low (value X)'."""
    template = spec.reason_en if lang == "en" else spec.reason_zh
    if template and value is not None and not (isinstance(value, float) and np.isnan(value)):
        try:
            # {pct} = abs(value) * 100: the feature pipeline's convention for shares and growth rates
            pct = abs(value) * 100 if isinstance(value, (int, float, np.number)) else value
            return template.format(value=value, pct=pct)
        except (ValueError, TypeError, KeyError, IndexError):
            pass  # e.g. a numeric template on a category: fall through to the generic sentence
    desc = spec.description or spec.name
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return f"{desc} is missing" if lang == "en" else f"{desc}缺失"
    if median is None or not isinstance(value, (int, float, np.number)):
        return f"{desc} is {_fmt_value(value)}" if lang == "en" else f"{desc}为 {_fmt_value(value)}"
    high = float(value) > median
    if lang == "en":
        return f"{desc} is {'high' if high else 'low'} (value {_fmt_value(value)})"
    return f"{desc}{'偏高' if high else '偏低'}（数值 {_fmt_value(value)}）"


def top_reasons(contrib: pd.DataFrame, X: pd.DataFrame, specs: dict[str, FeatureSpec],
                medians: dict[str, float], top_n: int = 3) -> pd.DataFrame:
    """For each row, the `top_n` features pushing risk up most (contribution > 0), as sentences.

    Columns: reason_1..n (English), reason_zh_1..n, reason_code_1..n (feature names)."""
    vals = contrib.to_numpy()
    order = np.argsort(-vals, axis=1)[:, :top_n]
    cols = np.asarray(contrib.columns)
    out = {f"{k}_{i + 1}": [None] * len(X) for k in ("reason", "reason_zh", "reason_code")
           for i in range(top_n)}
    for r in range(len(X)):
        for i, j in enumerate(order[r]):
            if vals[r, j] <= 0:
                break
            name = cols[j]
            spec = specs.get(name) or FeatureSpec(name, name)
            v = X.iat[r, X.columns.get_loc(name)]
            v = None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)
            out[f"reason_{i + 1}"][r] = sentence(spec, v, medians.get(name), "en")
            out[f"reason_zh_{i + 1}"][r] = sentence(spec, v, medians.get(name), "zh")
            out[f"reason_code_{i + 1}"][r] = name
    return pd.DataFrame(out, index=X.index)
