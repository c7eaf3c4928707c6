"""How a methodology's release is written and who publishes it: a validated sub-model of the methodology
(`release:` in its YAML) or a separate YAML given to `smepulse release --config`. See docs/release.md."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from smepulse.errors import MethodologyError

GROUP_RE = re.compile(r"[^=\s]+=[^=\s]+")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    en: str
    zh: str


class GroupLabel(_Strict):
    """A group's words: English after a series name ('of manufacturing SMEs'), English as a noun
    ('manufacturing SMEs'), Chinese prefix ('制造业中小企业')."""
    en_phrase: str
    en_noun: str
    zh: str


class Thresholds(_Strict):
    """Verbs graded by the size of the published change, in points (docs/narrative.md). Below `little`: 'was
    little changed'; below `moderate`: 'edged up' / 'eased'; below `large`: 'rose' / 'fell'; from `large`:
    'rose sharply' / 'slumped'."""
    little: float = Field(0.5, ge=0)
    moderate: float = Field(1.0, gt=0)
    large: float = Field(3.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not self.little <= self.moderate < self.large:
            raise ValueError(f"thresholds must satisfy little <= moderate < large, got {self.little}, "
                             f"{self.moderate}, {self.large}")
        return self


class SharesSentence(_Strict):
    """A sentence for a share-only question: Python format fields are the answer codes' shares
    ('{stable}'), '{stable_approx}' (rounded to 5 with 'nearly'/'over') is available for each code."""
    en: str
    zh: str


class ReleaseConfig(_Strict):
    publisher: Label | None = None
    contact: str = ""
    # fieldwork of the month, e.g. "11-22": days of the month in which responses were collected
    fieldwork: Label | None = None
    calendar: tuple[date, ...] = ()        # release dates; the next one after the release date is shown
    embargo: Label | None = None
    commentary: Label | None = None        # the economist's own paragraph, shown under the headline box
    logo: str = ""                         # path of a PNG or SVG (relative to the config file or absolute)
    response_rate: float | None = Field(None, ge=0, le=100)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    # structure of the narrative: composites in reading order (default: headline, then the methodology's order)
    composite_order: tuple[str, ...] = ()
    groups: dict[str, GroupLabel] = Field(default_factory=dict)
    # series names (questions, composites, published inputs) where the methodology has none or a long one
    labels: dict[str, Label] = Field(default_factory=dict)
    # group order within each classification (default: as the methodology lists the values)
    group_order: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    contrasts: tuple[tuple[str, str], ...] = ()
    shares_sentences: dict[str, SharesSentence] = Field(default_factory=dict)
    # group paragraphs only for groups whose headline or a sub-index moved beyond sampling error or set a record
    notable_groups_only: bool = True

    @field_validator("contrasts")
    @classmethod
    def _groups(cls, v):
        for a, b in v:
            for g in (a, b):
                if not GROUP_RE.fullmatch(g):
                    raise ValueError(f"contrast group {g!r} is not of the form dimension=value")
        return v

    def next_release(self, after: date) -> date | None:
        later = sorted(d for d in self.calendar if d > after)
        return later[0] if later else None


def merged(base: ReleaseConfig, override: ReleaseConfig) -> ReleaseConfig:
    """`override`'s keys (those its file sets) over `base`'s: a producer's config adds the publisher and calendar
    and keeps the methodology's group labels, contrasts and sentences."""
    return ReleaseConfig.model_validate({**base.model_dump(), **override.model_dump(exclude_unset=True)})


def load_release_config(path: str | Path) -> ReleaseConfig:
    """A separate release config YAML (the `release:` block of a methodology, on its own)."""
    path = Path(path)
    if not path.exists():
        raise MethodologyError(f"release config {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MethodologyError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise MethodologyError(f"{path}: expected a mapping at the top level")
    if data.get("logo") and not Path(data["logo"]).is_absolute():
        data["logo"] = str(path.parent / data["logo"])
    try:
        return ReleaseConfig.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: invalid release config"]
        for e in exc.errors():
            loc = ".".join(str(x) for x in e["loc"])
            lines.append(f"  key '{loc or '<top>'}' (value {e.get('input')!r}): {e['msg']}")
        raise MethodologyError("\n".join(lines)) from None
