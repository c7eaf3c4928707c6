"""The publishing pipeline (compute -> precision -> seasonal -> vintage) and the demo.

It sits above `index`, `seasonal`, `store`, `sim` and `release` and wires them together, so that none of those
lower layers ever imports a higher one (tests/test_layers.py checks it).
"""
from smepulse.pipeline.publish import Published, adjust_with_errors, publish, with_precision

__all__ = ["Published", "adjust_with_errors", "publish", "with_precision"]
