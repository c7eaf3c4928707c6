"""Methodologies as validated YAML: questionnaires, compositions and published presets."""
from smepulse.methodology.model import (
    Classification,
    Composite,
    Methodology,
    Question,
    Term,
    list_presets,
    load_methodology,
)

__all__ = ["Classification", "Composite", "Methodology", "Question", "Term", "load_methodology",
           "list_presets"]
