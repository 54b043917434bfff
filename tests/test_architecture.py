"""The layer rule of DESIGN.md, checked in a clean interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

UI_PACKAGES = (
    "panel",
    "param",
    "ipywidgets",
    "bokeh",
    "holoviews",
    "plotly",
    "matplotlib",
)
CORE = (
    "explorer",
    "explorer.autodiff",
    "explorer.domains",
    "explorer.expressions",
    "explorer.problems",
    "explorer.solvers",
    "explorer.models",
    "explorer.data",
    "explorer.losses",
    "explorer.training",
    "explorer.diagnostics",
    "explorer.io",
)


def _modules_after_import(modules: tuple[str, ...]) -> set[str]:
    imports = "; ".join(f"import {m}" for m in modules)
    code = f"import json, sys; {imports}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout))


def test_core_never_imports_ui() -> None:
    loaded = _modules_after_import(CORE)
    bad = sorted(m for m in loaded if m.split(".")[0] in UI_PACKAGES)
    assert not bad, f"core pulls in UI/plotting packages: {bad[:10]}"
    upper = sorted(
        m
        for m in loaded
        if m.startswith(("explorer.state", "explorer.plotting", "explorer.ui"))
    )
    assert not upper, f"core imports upper layers: {upper}"


def test_import_has_no_output() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import explorer, explorer.solvers, explorer.problems"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "" and out.stderr == ""
