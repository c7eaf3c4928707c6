"""From answers to indices: weighting, diffusion indices and balances, composites, quarterly averages."""
from smepulse.index.compose import compose, quarterly
from smepulse.index.diffusion import balance, diffusion
from smepulse.index.engine import IndexResult, compute

__all__ = ["IndexResult", "balance", "compose", "compute", "diffusion", "quarterly"]
