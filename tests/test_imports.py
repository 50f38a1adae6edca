"""The core is headless: importing it never loads Textual, and `checkpoint` never loads OpenCV."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize(
    "statement",
    [
        "import checkpoint",
        "import checkpoint.passes, checkpoint.policy, checkpoint.store, checkpoint.chain, checkpoint.settings",
        "import checkpoint.cli",
        "import checkpoint.catalog, checkpoint.report, checkpoint.fsutil",
        "from checkpoint.cli import cli; cli.main(['--help'], standalone_mode=False)",
    ],
)
def test_checkpoint_loads_neither_textual_nor_cv2(statement: str) -> None:
    modules = loaded_after(statement)
    assert "checkpoint" in modules
    assert "textual" not in modules
    assert "cv2" not in modules


@pytest.mark.parametrize(
    "statement",
    ["import checkpoint", "import checkpoint.cli", "import checkpoint.netsync, checkpoint.settings"],
)
def test_checkpoint_loads_no_web_server(statement: str) -> None:
    """Only checkpoint.server and `checkpoint serve` import Starlette and uvicorn."""
    modules = loaded_after(statement)
    assert not any(m.split(".")[0] in ("starlette", "uvicorn", "anyio") for m in modules)


def test_scanner_loads_no_textual() -> None:
    modules = loaded_after("import scanner")
    assert "scanner" in modules
    assert "textual" not in modules
    assert not any(m.startswith("checkpoint") for m in modules)
