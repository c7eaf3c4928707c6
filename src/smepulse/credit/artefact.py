"""Model artefacts as data: a directory of text files and a manifest that pins them.

Nothing in a model directory is executable: LightGBM's own model text, JSON for the schema,
preprocessing, calibration, scorecard tables, reason book and metrics. `manifest.json` holds the
sha256 of every file and the exact library versions the model was trained with, and
`manifest_sha256`, the sha256 of the manifest's own content, so an edited manifest (a changed
horizon, metric or version) is caught like an edited file. `read_artefact` verifies all of it before
returning a byte of content and never unpickles anything; a directory holding a pickle (or any file
the manifest does not list that could execute) is refused. The hashes catch changes, not forgery:
whoever can write the directory can recompute them (sign the directory where that matters).
"""
from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

import smepulse
from smepulse.errors import CreditError

FORMAT = "smepulse.credit.model/2"
MANIFEST = "manifest.json"
# libraries whose major.minor must match for a model to load (their numerics or file formats change)
PINNED = ("lightgbm", "scikit-learn", "optbinning", "numpy", "pandas")
# never read, and a directory holding one is refused: these formats can run code when loaded
EXECUTABLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".dill", ".npy", ".npz", ".pt", ".sav")


def library_versions() -> dict[str, str]:
    out = {"smepulse": smepulse.__version__}
    for name in PINNED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = "not installed"
    return out


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def to_jsonable(obj):
    """json.dumps default: numpy scalars and arrays as plain numbers and lists (floats round-trip exactly)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    return str(obj)


def dumps(obj) -> bytes:
    return json.dumps(obj, indent=1, default=to_jsonable, allow_nan=True).encode("utf-8")


SEAL = "manifest_sha256"


def manifest_digest(man: dict) -> str:
    """sha256 of the manifest without its own seal, as canonical JSON (sorted keys, no spaces)."""
    body = {k: v for k, v in man.items() if k != SEAL}
    return sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=to_jsonable,
                             allow_nan=True).encode("utf-8"))


def seal(man: dict) -> dict:
    """The manifest as JSON will hold it, with its seal."""
    plain = json.loads(dumps({k: v for k, v in man.items() if k != SEAL}))
    return {**plain, SEAL: manifest_digest(plain)}


def _major_minor(v: str) -> tuple[str, ...]:
    return tuple(str(v).split(".")[:2])


def write_artefact(directory: str | Path, files: dict[str, bytes], manifest: dict, *,
                   overwrite: bool = False) -> Path:
    """Write `files` and a manifest pinning them. Refuses a non-empty directory unless `overwrite`;
    files go to temporary names first and the manifest is written last (a crash leaves no valid model)."""
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise CreditError(f"--out {d} is a file, not a directory")
    if d.is_dir() and any(d.iterdir()) and not overwrite:
        raise CreditError(f"--out {d} already exists and is not empty; choose a new directory or pass --force")
    d.mkdir(parents=True, exist_ok=True)
    if overwrite:  # nothing of the older model survives next to the new files (its files, manifest, pickles)
        stale = _listed_files(d) | {MANIFEST}
        for p in d.iterdir():
            if p.is_file() and (p.name in stale or p.suffix.lower() in EXECUTABLE_SUFFIXES):
                p.unlink()
    for name, data in files.items():
        tmp = d / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, d / name)
    man = {**manifest, "format": FORMAT, "versions": library_versions(),
           "files": {name: sha256(data) for name, data in files.items()}}
    tmp = d / f".{MANIFEST}.tmp"
    tmp.write_bytes(dumps(seal(man)))
    os.replace(tmp, d / MANIFEST)
    return d


def _listed_files(d: Path) -> set[str]:
    """The plain file names an older model's manifest in `d` lists (none when there is no readable one):
    the files --force may remove; anything else a user keeps in the directory is left alone."""
    try:
        files = json.loads((d / MANIFEST).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, UnicodeDecodeError, AttributeError):
        return set()
    return {n for n in files if isinstance(n, str) and Path(n).name == n and not n.startswith(".")} \
        if isinstance(files, dict) else set()


def read_manifest(directory: str | Path) -> dict:
    d = Path(directory)
    path = d / MANIFEST
    if not d.is_dir() or not path.is_file():
        raise CreditError(f"{d} is not a model directory (no {MANIFEST}); create one with `smepulse credit train`")
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CreditError(f"{path} is not valid JSON ({exc}); the model is damaged, retrain or restore it") from None
    if not isinstance(man, dict):
        raise CreditError(f"{path} is not a model manifest (expected a JSON object); retrain or restore it")
    if man.get("format") != FORMAT:
        raise CreditError(f"{path}: format {man.get('format')!r} is not {FORMAT!r} (models saved as pickles "
                          "by older versions are never loaded); retrain the model")
    if not isinstance(man.get("files"), dict) or not isinstance(man.get("versions"), dict):
        raise CreditError(f"{path} has no 'files' or 'versions'; the manifest is damaged, retrain or restore it")
    if SEAL not in man:
        raise CreditError(f"{path} has no {SEAL}: written before smepulse sealed its manifests, or the seal "
                          "was removed; retrain the model")
    if man.get(SEAL) != manifest_digest(man):
        raise CreditError(f"{path} was modified after training (its {SEAL} does not match its content); "
                          "refusing to load, restore the model or retrain it")
    return man


def check_versions(man: dict, where: str) -> None:
    now = library_versions()
    for lib in PINNED:
        was = man["versions"].get(lib)
        if was is None:
            raise CreditError(f"{where}: manifest does not record the {lib} version; retrain the model")
        if _major_minor(was) != _major_minor(now[lib]):
            raise CreditError(f"{where}: trained with {lib} {was}, running {lib} {now[lib]} "
                              f"(major.minor differ); install {lib}=={was} or retrain the model")


def read_artefact(directory: str | Path) -> tuple[dict, dict[str, bytes]]:
    """(manifest, {file name: bytes}) after checking format, versions, that no executable file is
    present, and every file's sha256. Raises CreditError (one line) on any mismatch."""
    d = Path(directory)
    man = read_manifest(d)
    for p in sorted(d.iterdir()):
        if p.suffix.lower() in EXECUTABLE_SUFFIXES:
            raise CreditError(f"{p} could execute code when loaded and is not part of a smepulse model; "
                              "refusing to load the directory (remove the file or restore the model)")
    check_versions(man, str(d / MANIFEST))
    out = {}
    for name, digest in man["files"].items():
        if not isinstance(name, str) or Path(name).name != name or name.startswith("."):
            raise CreditError(f"{d / MANIFEST}: file name {name!r} is not a plain file name; refusing")
        p = d / name
        if not p.is_file():
            raise CreditError(f"{p} listed in {MANIFEST} is missing; restore the model or retrain it")
        data = p.read_bytes()
        if sha256(data) != digest:
            raise CreditError(f"{p} does not match its sha256 in {MANIFEST} (modified or damaged); "
                              "refusing to load, restore the model or retrain it")
        out[name] = data
    return man, out


def loads(data: bytes, name: str) -> dict:
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CreditError(f"{name} is not valid JSON ({exc}); retrain the model") from None
