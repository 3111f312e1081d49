"""Every file a package reads at run time must ship in a built wheel, not only in an editable install."""
import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Files that sit in package folders but are never read at run time: the message template Babel extracts into.
NOT_READ_AT_RUN_TIME = {"*.pot", "*.pyc"}


def test_every_data_file_in_a_package_is_listed_in_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = config["tool"]["setuptools"]
    patterns = setuptools["package-data"]["*"]
    roots = [name.rstrip("*") for name in setuptools["packages"]["find"]["include"]]
    unlisted = sorted(
        str(path.relative_to(ROOT))
        for root in roots if (ROOT / root).is_dir()
        for path in (ROOT / root).rglob("*")
        if path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts
        and not any(fnmatch.fnmatch(path.name, p) for p in [*patterns, *NOT_READ_AT_RUN_TIME])
    )
    assert unlisted == [], "add their pattern to [tool.setuptools.package-data] in pyproject.toml"
