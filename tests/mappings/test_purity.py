"""The layout rule `mappings ← sync ← app`: the mappings package imports nothing of the project."""

from __future__ import annotations

import ast
from pathlib import Path

import mappings

PROJECT_PACKAGES = {"app", "sync", "sandbox", "migrations", "bench", "tests"}
ALLOWED_THIRD_PARTY = {"pydantic", "yaml", "holidays"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_mappings_imports_nothing_of_the_project() -> None:
    package_dir = Path(mappings.__file__).parent
    for path in sorted(package_dir.glob("*.py")):
        imported = _imports(path)
        assert not imported & PROJECT_PACKAGES, (path.name, imported & PROJECT_PACKAGES)


def test_default_yaml_ships_inside_the_package() -> None:
    assert (Path(mappings.__file__).parent / "default.yaml").is_file()
    assert "statuses:" in mappings.default_yaml()


class _Weird:
    def __str__(self) -> str:
        raise RuntimeError("cannot be shown")


def test_values_that_cannot_even_be_stringified_still_resolve() -> None:
    m = mappings.load_default()
    r = m.resolve_status(_Weird(), _Weird(), _Weird())  # type: ignore[arg-type]
    assert (r.key, r.fell_back) == ("open", True)
    assert m.resolve_priority(_Weird(), _Weird()).key == "medium"  # type: ignore[arg-type]
    assert m.category_for(_Weird(), _Weird()) is None  # type: ignore[arg-type]
