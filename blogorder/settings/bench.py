"""Benchmark settings (``make bench`` only, never a deploy): production, plus what one machine needs.

* Local TEST MODE payments (``ALLOW_LOCAL_TEST_PAYMENTS``), so the harness signs its own
  ``checkout.session.completed`` events with the test-mode webhook secret, as the TEST MODE page does;
* plain HTTP on 127.0.0.1: no HTTPS redirect, no secure-only cookies;
* ``bench.querycount.QueryCountMiddleware`` first: every response carries ``X-Bench-Queries``, the
  SQL statements Django ran for that request (the load client averages it).

Everything else (gunicorn, PostgreSQL, Redis, logging, the worker class) is production's.
"""

import os

os.environ.setdefault("ALLOW_LOCAL_TEST_PAYMENTS", "1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")

from blogorder.settings.production import *  # noqa: E402, F403
from blogorder.settings.production import MIDDLEWARE  # noqa: E402

MIDDLEWARE = ["bench.querycount.QueryCountMiddleware", *MIDDLEWARE]
