"""The load client, run in its own process: ``python -m bench.loadclient < spec.json > result.json``.

Spec: ``{"host", "port", "concurrency", "requests": [{"method", "path", "headers", "body"}], "rate"}``;
the requests are sent in order by ``concurrency`` asyncio tasks over plain HTTP/1.1 (one connection a
request, as gunicorn's sync workers close it anyway). Result: ``{"elapsed", "latencies_ms",
"statuses", "queries"}`` (``queries``: each response's ``X-Bench-Queries``, when present).

Without ``rate`` the load is a closed loop: each task sends its next request as soon as its last one
is answered, so the server is kept saturated and the latency is the queue it builds (Little's law:
mean latency = ``concurrency`` / throughput). With ``rate`` (requests per second) it is an open loop,
as independent senders are: request ``i`` is due at ``start + i / rate`` whether or not earlier ones
were answered, at most ``concurrency`` are outstanding, and each latency is counted from the moment
the request was due, so time spent waiting for a free connection counts (no coordinated omission).
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
    rate = float(spec["rate"]) if spec.get("rate") else None
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    queries: list[int] = []
    position = 0
    start = time.perf_counter()

    async def worker() -> None:
        nonlocal position
        while position < len(requests):
            request = requests[position]
            due = start + position / rate if rate else None
            position += 1
            if due is not None:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            try:
                took, status, count = await one(host, port, request)
            except OSError:
                statuses["error"] = statuses.get("error", 0) + 1
                continue
            latencies.append(took if due is None else (time.perf_counter() - due) * 1000)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if count is not None:
                queries.append(count)

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
