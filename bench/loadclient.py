"""The load client, run in its own process: ``python -m bench.loadclient < spec.json > result.json``.

Spec: ``{"host", "port", "concurrency", "requests": [{"method", "path", "headers", "body"}]}``; the
requests are sent in order by ``concurrency`` asyncio tasks over plain HTTP/1.1 (one connection a
request, as gunicorn's sync workers close it anyway). Result: ``{"elapsed", "latencies_ms",
"statuses", "queries"}`` (``queries``: each response's ``X-Bench-Queries``, when present).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any


async def one(host: str, port: int, request: dict[str, Any]) -> tuple[float, int, int | None]:
    body = request.get("body", "").encode()
    headers = {"Host": f"{host}:{port}", "Connection": "close", "Content-Length": str(len(body))}
    headers.update(request.get("headers", {}))
    head = f"{request.get('method', 'GET')} {request['path']} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
    raw = await reader.read()
    took = (time.perf_counter() - start) * 1000
    writer.close()
    header_block = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(header_block[0].split()[1]) if header_block and header_block[0] else 0
    queries = None
    for line in header_block[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "x-bench-queries":
            queries = int(value)
    return took, status, queries


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    host, port, requests = spec["host"], int(spec["port"]), spec["requests"]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    queries: list[int] = []
    position = 0

    async def worker() -> None:
        nonlocal position
        while position < len(requests):
            request = requests[position]
            position += 1
            try:
                took, status, count = await one(host, port, request)
            except OSError:
                statuses["error"] = statuses.get("error", 0) + 1
                continue
            latencies.append(took)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if count is not None:
                queries.append(count)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(int(spec["concurrency"]))))
    return {
        "elapsed": time.perf_counter() - start,
        "latencies_ms": latencies,
        "statuses": statuses,
        "queries": queries,
    }


def main() -> None:
    spec = json.load(sys.stdin)
    json.dump(asyncio.run(run(spec)), sys.stdout)


if __name__ == "__main__":
    main()
