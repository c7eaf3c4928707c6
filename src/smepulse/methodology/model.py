"""Pydantic models over methodology YAML files. Errors name the file, the key path and the value."""
from __future__ import annotations

import hashlib
import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from smepulse.errors import MethodologyError
from smepulse.methodology.release_config import ReleaseConfig
from smepulse.methodology.seasonal_policy import SeasonalPolicy

PRESET_DIR = Path(__file__).parent / "presets"
WEIGHT_TOLERANCE = 1e-6
# Answer labels respondents' files use for the usual codes (zh and en); a question's own `labels` come first.
DEFAULT_LABELS: dict[str, tuple[str, ...]] = {
    "up": ("增加", "上升", "提高", "改善", "好转", "更好", "increase", "increased", "higher", "better", "more"),
    "same": ("持平", "不变", "相同", "一样", "no change", "unchanged", "equal"),
    "down": ("减少", "下降", "降低", "恶化", "变差", "更差", "decrease", "decreased", "lower", "worse", "less"),
    "appreciate": ("升值",), "stable": ("稳定", "基本稳定", "不变"), "depreciate": ("贬值",),
}


def _weight(v: object) -> float:
    """Weights may be written as fractions ("1/3") so that equal thirds sum to exactly 1."""
    if isinstance(v, str):
        try:
            out = float(Fraction(v.strip()))
        except (ValueError, ZeroDivisionError) as exc:
            raise ValueError(f"weight {v!r} is not a number or fraction like 1/3") from exc
    elif isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"weight {v!r} is not a number or fraction like 1/3")
    else:
        out = float(v)
    if not math.isfinite(out):
        raise ValueError(f"weight {v!r} is not a finite number")
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    en: str
    zh: str


class Question(_Strict):
    id: str
    block: str
    text: Text
    codes: tuple[str, ...] = ("up", "same", "down")
    # Inverted: a rise is bad news (e.g. funding cost), so the index uses %down + 0.5 x %same.
    inverted: bool = False
    # Reported as response shares only, never in an index (e.g. FX expectations).
    shares_only: bool = False
    # How respondents' files may write each code, e.g. {up: {en: Increase, zh: 增加}}; matched without case.
    labels: dict[str, Text] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _labels_known(self) -> Question:
        unknown = sorted(set(self.labels) - set(self.codes))
        if unknown:
            raise ValueError(f"labels of question '{self.id}' name unknown codes {unknown}")
        return self

    @field_validator("codes")
    @classmethod
    def _three_codes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(v) != 3 or len(set(v)) != 3:
            raise ValueError(f"codes must be three distinct answers (better, same, worse), got {list(v)}")
        return v


class Term(_Strict):
    series: str
    weight: float
    # For diffusion indices an inverted term enters as 100 - x; for balances as -x.
    inverted: bool = False

    @field_validator("weight", mode="before")
    @classmethod
    def _fraction(cls, v: object) -> float:
        return _weight(v)


class Composite(_Strict):
    id: str
    text: Text | None = None
    terms: tuple[Term, ...]
    # Survey sub-indexes re-weight over the components present in a group (export orders are asked of
    # exporters only); published presets need every component, as their producers do.
    require_all: bool = True

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> Composite:
        total = sum(t.weight for t in self.terms)
        if abs(total - 1) > WEIGHT_TOLERANCE:
            raise ValueError(f"weights of composite '{self.id}' sum to {total:.6g}, not 1")
        if any(t.weight < 0 for t in self.terms):
            raise ValueError(f"composite '{self.id}' has a negative weight; use inverted: true instead")
        return self


class Classification(_Strict):
    values: tuple[str, ...]
    text: Text | None = None
    # Derived groups, e.g. non_manufacturing: every sector but manufacturing.
    derived: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _derived_known(self) -> Classification:
        for name, members in self.derived.items():
            unknown = sorted(set(members) - set(self.values))
            if unknown:
                raise ValueError(f"derived group '{name}' lists unknown values {unknown}")
        return self


class Target(_Strict):
    """Population shares of one classification (e.g. sectors' value added), in force from `effective`."""
    dimension: str
    effective: str
    source: str = ""
    shares: dict[str, float]

    @field_validator("effective")
    @classmethod
    def _period(cls, v: str) -> str:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", str(v)):
            raise ValueError(f"effective must be a YYYY-MM period, got {v!r}")
        return str(v)

    @model_validator(mode="after")
    def _sum(self) -> Target:
        for value, share in self.shares.items():
            if not math.isfinite(share) or share < 0 or share > 1:
                raise ValueError(f"target share of '{value}' for '{self.dimension}' must be between 0 and 1, "
                                 f"got {share!r}")
        total = sum(self.shares.values())
        if abs(total - 1) > 1e-4:
            raise ValueError(f"target shares for '{self.dimension}' sum to {total:.6g}, not 1")
        return self


class Sampling(_Strict):
    """How sampling error is estimated: a stratified (Rao-Wu rescaled) bootstrap over firms."""
    strata: tuple[str, ...] = ()
    replicates: int = Field(500, ge=2)
    confidence: float = Field(0.95, gt=0, lt=1)
    seed: int = 0


class Methodology(_Strict):
    name: str
    version: str
    title: Text
    kind: Literal["survey", "preset"]
    formula: Literal["diffusion", "balance"] = "diffusion"
    notes: str = ""
    # Cells whose effective sample size (Kish) is below this are flagged `suppressed`, never published.
    publication_minimum: int = 0
    sampling: Sampling = Field(default_factory=Sampling)
    questions: tuple[Question, ...] = ()
    # Preset inputs: published component series ids.
    inputs: tuple[str, ...] = ()
    composites: tuple[Composite, ...] = ()
    headline: str | None = None
    classifications: dict[str, Classification] = Field(default_factory=dict)
    targets: tuple[Target, ...] = ()
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)
    seasonal: SeasonalPolicy = Field(default_factory=SeasonalPolicy)
    source_file: str = ""
    sha256: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Methodology:
        known = {q.id for q in self.questions if not q.shares_only} | set(self.inputs)
        ids = [q.id for q in self.questions]
        if len(ids) != len(set(ids)):
            raise ValueError("question ids are not unique")
        for c in self.composites:  # in order: a composite may use earlier composites
            for t in c.terms:
                if t.series not in known:
                    raise ValueError(f"composite '{c.id}' uses unknown series '{t.series}'")
            known.add(c.id)
        if self.headline and self.headline not in {c.id for c in self.composites}:
            raise ValueError(f"headline '{self.headline}' is not a composite")
        for d in self.sampling.strata:
            if d not in self.classifications:
                raise ValueError(f"sampling stratum '{d}' is not a classification")
        for t in self.targets:
            cls_ = self.classifications.get(t.dimension)
            if cls_ is None:
                raise ValueError(f"target for unknown classification '{t.dimension}'")
            unknown = sorted(set(t.shares) - set(cls_.values))
            if unknown:
                raise ValueError(f"target '{t.dimension}' has unknown values {unknown}")
        return self

    # -- convenience -----------------------------------------------------------------
    @property
    def index_questions(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if not q.shares_only)

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def code_labels(self, q: Question) -> dict[str, tuple[str, ...]]:
        """Every way a file may write each code of `q`: its own labels (en, zh), then the usual ones."""
        out: dict[str, tuple[str, ...]] = {}
        for code in q.codes:
            own = (q.labels[code].en, q.labels[code].zh) if code in q.labels else ()
            out[code] = own + DEFAULT_LABELS.get(code, ())
        return out

    def blocks(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for q in self.questions:
            out.setdefault(q.block, []).append(q.id)
        return out

    def targets_for(self, period: str) -> dict[str, dict[str, float]]:
        """The target shares in force in `period`, one mapping per classification."""
        chosen: dict[str, Target] = {}
        for t in sorted(self.targets, key=lambda t: t.effective):
            if t.effective <= period:
                chosen[t.dimension] = t
        return {d: dict(t.shares) for d, t in chosen.items()}


def list_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def _format_error(path: str, data: dict, err: ValidationError) -> str:
    lines = [f"{path}: invalid methodology"]
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"])
        value = e.get("input")
        shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
        lines.append(f"  key '{loc or '<top>'}' (value {shown}): {e['msg']}")
    return "\n".join(lines)


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML that refuses a key given twice in one mapping (instead of keeping the last silently)."""


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"duplicate key {key!r} (first at line {seen[key] + 1}); keep one", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_methodology(name_or_path: str | Path) -> Methodology:
    """Load a shipped preset by name (`smei`, `nbs-pmi`, ...) or a user's YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = PRESET_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise MethodologyError(
                f"unknown methodology '{name_or_path}'; shipped: {', '.join(list_presets())}, "
                "or give the path of a YAML file")
    if not path.exists():
        raise MethodologyError(f"methodology file {path} does not exist")
    raw = path.read_bytes()
    try:
        data = yaml.load(raw, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise MethodologyError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    except (UnicodeDecodeError, RecursionError) as exc:
        raise MethodologyError(f"{path}: not a UTF-8 YAML file ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise MethodologyError(f"{path}: expected a mapping at the top level")
    data = {**data, "source_file": str(path), "sha256": hashlib.sha256(raw).hexdigest()}
    try:
        return Methodology.model_validate(data)
    except ValidationError as exc:
        raise MethodologyError(_format_error(str(path), data, exc)) from None
