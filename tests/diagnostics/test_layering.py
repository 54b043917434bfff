"""training and diagnostics never import each other (DESIGN.md, layer rule 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("explorer.diagnostics", "explorer.training"),
        ("explorer.training", "explorer.diagnostics"),
    ],
)
def test_independent(module: str, absent: str) -> None:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout)
    assert not [m for m in loaded if m == absent or m.startswith(absent + ".")]
