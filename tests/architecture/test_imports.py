"""The floor plan holds: no import cycles and no function-local imports of our own modules.

import-linter (`make lint`) checks the layers; these tests check what it cannot: cycles through
function-local imports, which import-linter's graph also sees but reports only per contract.
"""

from __future__ import annotations

from tests.architecture.import_graph import cycles, import_graph


def test_no_import_cycles_anywhere() -> None:
    edges, _ = import_graph()
    assert sum(len(targets) for targets in edges.values()) > 100, "the graph reader found no imports"
    assert cycles(edges) == []


def test_no_function_local_imports_of_our_modules() -> None:
    # Local imports only ever hid cycles here; start-up cost is no reason either (every module is small).
    _, local = import_graph()
    assert [f"{module}:{line} imports {target}" for module, line, target in local] == []


def test_the_reader_sees_cycles_and_local_imports() -> None:
    found = cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert found == [["a", "b", "c"]]
