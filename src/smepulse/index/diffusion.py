"""The two survey formulas. Shares are percentages (0-100) of those who answered."""
from __future__ import annotations

import numpy as np


def diffusion(up, same, down, inverted: bool = False):
    """Diffusion index: %up + 0.5 x %same (inverted: %down + 0.5 x %same). 50 = no change."""
    better = np.asarray(down if inverted else up, dtype=float)
    # Shares are rounded binary fractions: clip the last-bit excess (e.g. 100.00000000000001).
    return np.clip(better + 0.5 * np.asarray(same, dtype=float), 0.0, 100.0)


def balance(up, same, down, inverted: bool = False):
    """Balance: %up - %down (inverted: %down - %up), as in the European Commission's surveys."""
    b = np.clip(np.asarray(up, dtype=float) - np.asarray(down, dtype=float), -100.0, 100.0)
    return -b if inverted else b


FORMULAS = {"diffusion": diffusion, "balance": balance}


def invert_value(x, formula: str):
    """An index read the other way round: 100 - DI for diffusion indices, -balance for balances."""
    return 100.0 - x if formula == "diffusion" else -x
