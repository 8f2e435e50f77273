"""The layers of docs/architecture.md hold: ``lint-imports`` (pyproject.toml [tool.importlinter]) passes on the
code as it is and fails when someone adds an import that points up a layer, which is how an import cycle
between apps begins.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def copy_of_the_code(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_its_layers():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_a_planted_cycle_between_routing_and_tickets_is_caught(copy_of_the_code: Path):
    # tickets imports routing (step_route); routing importing tickets back closes a cycle.
    (copy_of_the_code / "routing" / "planted.py").write_text("from tickets.models import Ticket  # noqa: F401\n")
    result = lint_imports(copy_of_the_code)
    assert result.returncode == 1
    assert "routing is not allowed to import tickets" in result.stdout
    assert "routing.planted -> tickets.models" in result.stdout


def test_the_core_importing_an_app_is_caught(copy_of_the_code: Path):
    (copy_of_the_code / "kefu" / "core" / "planted.py").write_text("import orders.models  # noqa: F401\n")
    result = lint_imports(copy_of_the_code)
    assert result.returncode == 1
    assert "kefu.core.planted -> orders.models" in result.stdout


def test_the_admin_importing_the_api_is_caught(copy_of_the_code: Path):
    # Sibling interfaces (api | dashboard | desk) share what lies below them, never each other.
    (copy_of_the_code / "desk" / "planted.py").write_text("from api import actions  # noqa: F401\n")
    result = lint_imports(copy_of_the_code)
    assert result.returncode == 1
    assert "desk is not allowed to import api" in result.stdout
