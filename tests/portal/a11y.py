"""axe-core (from npm, installed by `make test` into tests/.node) injected into a Playwright page."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[1] / ".node" / "node_modules" / "axe-core" / "axe.min.js"
AXE_SKIP_REASON = None if AXE.exists() else (
    f"{AXE} is missing: `make test` installs axe-core with npm"
    + ("" if shutil.which("npm") else " (npm is not installed on this machine)"))


def enable_axe(context: Any) -> None:
    """Load axe into every page of a browser context (an init script: the page's CSP does not apply)."""
    if not AXE_SKIP_REASON:
        context.add_init_script(path=str(AXE))


def assert_accessible(page: Any, where: str) -> None:
    """Zero serious or critical axe violations (WCAG 2 A/AA rules) on the page as it is now."""
    if AXE_SKIP_REASON:
        return  # test_axe_is_available reports the skip with its reason
    result = page.evaluate("axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})")
    bad = [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{where}: " + "; ".join(bad)


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG contrast ratio of two sRGB colours."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
