"""The WSGI module, as a gunicorn worker imports it: views loaded at startup, startup objects frozen.

Each check runs in a fresh interpreter (``gc.freeze`` in pytest's own process would freeze the
test run's objects), under the test settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# A worker's requests leave reference cycles (DRF's request and view refer to each other): here 200
# "requests" each leave 500 objects in cycles, held while more is allocated, as a request holds its
# own until it answers. The peak of those alive is the garbage a worker carries.
WORKER = """
import gc, json, sys
import blogorder.wsgi
loaded = set(sys.modules)
from django.template import engines
from django.urls import get_resolver
get_resolver().url_patterns
engines.all()
late = sorted(set(sys.modules) - loaded)

alive = peak = 0
class Cycle:
    def __init__(self):
        global alive
        alive += 1
        self.me = self
        self.payload = [{} for _ in range(3)]
    def __del__(self):
        global alive
        alive -= 1

for _request in range(200):
    held = [Cycle() for _ in range(500)]
    del held
    peak = max(peak, alive)
print(json.dumps({"late": late, "frozen": gc.get_freeze_count(), "peak": peak}))
"""


def run_worker() -> dict[str, Any]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "blogorder.settings.test", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", WORKER],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_loading_the_wsgi_application_imports_the_views_and_freezes_the_startup_objects() -> None:
    worker = run_worker()

    assert worker["late"] == []  # nothing imported by the first request's URL resolution or template
    assert worker["frozen"] > 50_000


def test_a_workers_cyclic_garbage_is_freed_after_a_few_requests_not_after_a_quarter_of_its_code() -> None:
    # Unfrozen, the ~170,000 startup objects put the first full collection after ~40,000 promoted
    # objects: 15,000 of the cycles here alive at the peak. Frozen, ~4,000 (8 requests' worth).
    assert run_worker()["peak"] < 10_000
