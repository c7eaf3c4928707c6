"""Warnings as codes with English and Chinese templates (notes.yaml), so the zh report is Chinese throughout.

A `Note` is a str (its English text: what the CLI prints and metrics["warnings"] keeps) that also
carries its code and fields; `to_dict` stores it in the model, `render` gives it in either language,
from a Note or from its stored dict. Text that is not a Note (a library's warning) becomes code `other`.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import yaml

TEMPLATES = yaml.safe_load(Path(__file__).with_name("notes.yaml").read_text(encoding="utf-8"))


def _as_dict(v):
    if isinstance(v, Note):
        return v.to_dict()
    return v


def _field(v, lang: str):
    if isinstance(v, dict) and "code" in v:  # a note inside a note (the censoring rule inside "censored")
        return render(v, lang)
    if isinstance(v, dict) and set(v) == {"en", "zh"}:  # a label given in both languages
        return v[lang]
    return v


def render(note: dict | str, lang: str = "en") -> str:
    """A stored note ({"code", "params"}) or a Note in `lang`; any other text as it is."""
    if isinstance(note, Note):
        note = note.to_dict()
    if not isinstance(note, dict):
        note = {"code": "other", "params": {"text": str(note)}}
    params = {k: _field(v, lang) for k, v in note.get("params", {}).items()}
    return TEMPLATES[note["code"]][lang].format(**params)


class Note(str):
    code: str
    params: dict

    def __new__(cls, code: str, **params) -> Note:
        if code not in TEMPLATES:
            raise KeyError(f"no warning template {code!r} in notes.yaml")
        stored = {k: _as_dict(v) for k, v in params.items()}
        self = super().__new__(cls, render({"code": code, "params": stored}, "en"))
        self.code, self.params = code, stored
        return self

    def to_dict(self) -> dict:
        return {"code": self.code, "params": self.params}


def caught_note(w: warnings.WarningMessage) -> str:
    """A caught warning as its Note (warnings.warn keeps the Note as the message's argument), else its text."""
    arg = w.message.args[0] if getattr(w.message, "args", None) else None
    return arg if isinstance(arg, Note) else str(w.message)


def in_language(met: dict, lang: str) -> list[str]:
    """A model's warnings in `lang`: from their codes; a model saved before codes keeps its English text."""
    return [render(n, lang) for n in met.get("warning_codes") or met.get("warnings", [])]


def stored(notes: list) -> list[dict]:
    """The notes as plain data for model.json: codes and fields, `other` for free text."""
    return [n.to_dict() if isinstance(n, Note) else {"code": "other", "params": {"text": str(n)}} for n in notes]
