"""Disclosure control across groups: complementary (secondary) suppression.

Within one classification the groups are linked: `all` is the weighted sum of the classification's values
(they partition the sample) and a derived group (e.g. non-manufacturing) the weighted sum of its members. A
reader who knows the weights (raking targets are public, n is published) can difference them: with one
sector suppressed, `all` minus the published sectors gives it exactly. So, per period, series and
classification, cells are treated as linear combinations of the classification's values ("atoms"), and a
suppressed cell is recoverable when its combination lies in the span of the published cells'. While any
suppressed cell is recoverable, or the suppressed atoms together (their union is recoverable when `all` and
the other atoms are published) hold an effective sample below the publication minimum, the published group
with the smallest effective sample (never `all`) is suppressed too. Different classifications only share
`all`, which is never suppressed here, so they are protected one by one. docs/precision.md states the rule.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from smepulse.index.compose import SUPPRESSED
from smepulse.methodology import Methodology

ALL = "all"


def classification_groups(m: Methodology, dim: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """The atoms of one classification (its value groups) and each group's indicator over them, `all` included."""
    values = list(m.classifications[dim].values)
    atoms = [f"{dim}={v}" for v in values]
    rows = {ALL: np.ones(len(atoms))}
    rows.update({a: np.eye(len(atoms))[i] for i, a in enumerate(atoms)})
    for name, members in m.classifications[dim].derived.items():
        rows[f"{dim}={name}"] = np.array([float(v in members) for v in values])
    return atoms, rows


def _orthonormal(basis: list[np.ndarray]) -> np.ndarray:
    """Orthonormal rows spanning `basis` (no rows when it is empty)."""
    if not basis:
        return np.zeros((0, 0))
    _, sv, vt = np.linalg.svd(np.array(basis), full_matrices=False)
    return vt[sv > 1e-9 * sv.max()] if sv.size and sv.max() > 0 else np.zeros((0, vt.shape[1]))


def _in_span(q: np.ndarray, v: np.ndarray) -> bool:
    """Is v a linear combination of the rows that q spans orthonormally?"""
    if q.size == 0:
        return False
    return bool(np.linalg.norm(v - q.T @ (q @ v)) < 1e-9 * max(1.0, float(np.linalg.norm(v))))


def _secondary(at: dict[str, int], atoms: list[str], rows: dict[str, np.ndarray], n_eff: np.ndarray,
               suppressed: np.ndarray, shown: np.ndarray, minimum: float) -> list[int]:
    """Positions to suppress among one period's, series' and classification's cells (`at`: group -> position)
    so that no suppressed cell, and no union of suppressed atoms below the minimum, can be computed from the
    published ones."""
    have = np.array([a in at and n_eff[at[a]] > 0 for a in atoms])  # empty atoms are known zeros
    if not have.any():
        return []
    vec = {g: rows[g][have] for g in at}
    hidden = {g for g, i in at.items() if suppressed[i] and vec[g].any()}
    published = {g for g, i in at.items() if not suppressed[i] and shown[i]}
    added: list[int] = []
    while hidden:
        basis = _orthonormal([vec[g] for g in published])
        leak = any(_in_span(basis, vec[g]) for g in hidden)
        hidden_atoms = [a for a in atoms if a in hidden]
        if not leak and hidden_atoms:
            union = np.sum([vec[a] for a in hidden_atoms], axis=0)
            leak = sum(n_eff[at[a]] for a in hidden_atoms) < minimum and _in_span(basis, union)
        candidates = sorted((n_eff[at[g]], g) for g in published if g != ALL)
        if not leak or not candidates:
            break
        g = candidates[0][1]
        published.discard(g)
        hidden.add(g)
        added.append(at[g])
    return added


def complementary_suppression(cells: pd.DataFrame, m: Methodology, dims: list[str], minimum: float) -> pd.Series:
    """Boolean mask over `cells` (tidy: period, series, group, value, n_eff, flag, and up/same/down for
    question rows) of the published cells that must also be suppressed to protect the suppressed ones."""
    shown = cells["value"].notna().to_numpy().copy()
    if "up" in cells.columns:
        shown |= cells["up"].notna().to_numpy()  # shares-only questions publish their shares
    suppressed = (cells["flag"] == SUPPRESSED).to_numpy()
    n_eff = cells["n_eff"].fillna(0.0).to_numpy(dtype=float)
    mask = np.zeros(len(cells), dtype=bool)
    if not suppressed.any():
        return pd.Series(mask, index=cells.index)
    periods, series, groups = (cells[c].to_numpy() for c in ("period", "series", "group"))
    for dim in dims:
        atoms, rows = classification_groups(m, dim)
        parts: dict[tuple[str, str], dict[str, int]] = {}
        sensitive: set[tuple[str, str]] = set()
        for i in np.flatnonzero(cells["group"].isin(rows).to_numpy()):
            key = (periods[i], series[i])
            parts.setdefault(key, {})[groups[i]] = i
            if suppressed[i]:
                sensitive.add(key)
        for key in sensitive:
            mask[_secondary(parts[key], atoms, rows, n_eff, suppressed | mask, shown, minimum)] = True
    return pd.Series(mask, index=cells.index)
