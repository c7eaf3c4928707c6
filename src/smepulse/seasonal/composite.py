"""Composites and seasonal adjustment: indirect (adjust components, then compose) or direct.

Indirect is the default, as ISM and NBS publish it: the headline SA composite is then exactly the
weighted sum of the published SA components, so readers can reproduce it and the composite never
contradicts its parts. Direct (adjust the composed NSA series) can be smoother when components
share a seasonal pattern, but breaks that additivity.

A composition maps composite -> {component series: weight}. Components must already be oriented
(e.g. supplier deliveries inverted) by the index module; weights are applied as given.
"""
from __future__ import annotations

from typing import Literal

import pandas as pd

from smepulse.errors import SeasonalError
from smepulse.seasonal.adjust import adjust_frame

Approach = Literal["indirect", "direct"]


def compose(frame: pd.DataFrame, composition: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Weighted sums of component rows, per (period, group[, adjustment]); tidy rows out.

    A composite is produced for a period only when every component is present for it.
    """
    keys = ["period"] + [c for c in ("group", "adjustment") if c in frame.columns]
    out = []
    for name, weights in composition.items():
        missing = set(weights) - set(frame["series"].astype(str))
        if missing:
            raise SeasonalError(f"composite '{name}': components {sorted(missing)} not in the data")
        part = frame[frame["series"].astype(str).isin(weights)]
        wide = part.pivot_table(index=keys, columns="series", values="value", aggfunc="first")
        wide = wide.dropna(subset=list(weights))
        value = sum(wide[c] * w for c, w in weights.items())
        out.append(value.rename("value").reset_index().assign(series=name))
    cols = keys[:1] + ["series"] + keys[1:] + ["value"]
    return pd.concat(out, ignore_index=True)[cols]


def adjust_composites(df: pd.DataFrame, composition: dict[str, dict[str, float]],
                      approach: Approach = "indirect", **adjust_kwargs) -> pd.DataFrame:
    """Adjust components and produce composites, indirectly (default) or directly.

    `df` is the tidy NSA frame of the components (period, series, [group,] value). Returns the
    adjusted components plus composite rows (nsa and sa), in the adjust_frame layout. Indirect:
    composite sa = weighted sum of component sa. Direct: the NSA composite is adjusted itself.
    """
    if approach not in ("indirect", "direct"):
        raise SeasonalError(f"approach must be 'indirect' or 'direct', got '{approach}'")
    components = adjust_frame(df, **adjust_kwargs)
    if approach == "indirect":
        composites = compose(components, composition)
        composites["method"] = "indirect"
        composites["note"] = "composed from seasonally adjusted components"
    else:
        composites = adjust_frame(compose(df, composition), **adjust_kwargs)
        components.attrs["warnings"] = (components.attrs.get("warnings", [])
                                        + composites.attrs.get("warnings", []))
    warnings = components.attrs.get("warnings", [])
    out = pd.concat([components, composites], ignore_index=True)
    out.attrs["warnings"] = warnings
    return out
