"""Every data file the package ships must be named by pyproject's package-data, or a wheel install lacks it
(the decision policy JSON and the programme CSV were missing from wheels until this test)."""
import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_data_file_under_src_is_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    package = ROOT / "src" / "smepulse"
    data = [p for p in package.rglob("*") if p.is_file() and p.suffix not in {".py", ".pyc"}
            and "__pycache__" not in p.parts]
    assert data, "no data files found: the test is looking in the wrong place"
    missed = [str(p.relative_to(package)) for p in data if not any(fnmatch.fnmatch(p.name, pat) for pat in patterns)]
    assert missed == []
