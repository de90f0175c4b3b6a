"""A bounded HTTP load generator on the standard library: asyncio streams, one connection a request.

Each of `clients` tasks runs its own list of requests round and round, with no pause, until the
time is up or `max_requests` have been sent in all; every response's status and latency (from
opening the connection to the last byte) is recorded. gunicorn's sync workers close the connection
after each response, so every request opens its own, as a browser's would against them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

REQUEST_TIMEOUT = 30.0
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def cookies(self) -> dict[str, str]:
        found = {}
        for key, value in self.headers:
            if key.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                name, _, cookie = pair.partition("=")
                found[name.strip()] = cookie.strip()
        return found


@dataclass
class Request:
    """One request of a client's round: `kind` names it in the results."""

    kind: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Callable[[], bytes] | None = None  # called for each send (a save's text changes)
    ok: Callable[[Response], bool] = lambda response: response.status == 200
    after: Callable[[Response], None] | None = None  # e.g. remember the new version


def _dechunk(body: bytes) -> bytes:
    out, position = bytearray(), 0
    while True:
        end = body.index(b"\r\n", position)
        size = int(body[position:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += body[end + 2 : end + 2 + size]
        position = end + 2 + size + 2


async def fetch(
    host: str,
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = REQUEST_TIMEOUT,
) -> Response:
    """Send one HTTP/1.1 request on a new connection and read the whole response."""

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
            lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
            if body or method == "POST":
                lines.append(f"Content-Length: {len(body)}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    raw = await asyncio.wait_for(exchange(), timeout)
    head, _, content = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = [tuple(part.strip() for part in line.split(":", 1)) for line in header_lines]
    response = Response(int(status_line.split()[1]), [(k, v) for k, v in parsed], content)
    if (response.header("transfer-encoding") or "").lower() == "chunked":
        response.body = _dechunk(content)
    return response


class Session:
    """A browser's cookies against one server, for logging in and sending CSRF-protected forms."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return {**({"Cookie": cookie} if cookie else {}), **(extra or {})}

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        response = await fetch(self.host, self.port, "GET", path, self.headers(headers))
        self.cookies.update(response.cookies())
        return response

    async def post(self, path: str, form: dict[str, str], headers: dict[str, str] | None = None):
        body = urllib.parse.urlencode(form).encode()
        sent = self.headers(
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.origin,
                "Referer": self.origin + path,
                **(headers or {}),
            }
        )
        response = await fetch(self.host, self.port, "POST", path, sent, body)
        self.cookies.update(response.cookies())
        return response

    async def login(self, path: str, username: str, password: str) -> None:
        """Log in through the login form; raise if the server does not let us in."""
        page = await self.get(path)
        token = CSRF_INPUT.search(page.body.decode("utf-8", "replace"))
        if page.status != 200 or token is None:
            raise RuntimeError(f"The login page answered {page.status} without a CSRF token.")
        form = {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)}
        response = await self.post(path, form)
        if response.status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"Logging in as {username} failed (status {response.status}).")


@dataclass
class KindResult:
    latencies: list[float] = field(default_factory=list)  # seconds, of the requests that worked
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def summary(self, seconds: float) -> dict[str, float | int | None]:
        ordered = sorted(self.latencies)
        return {
            "requests": len(ordered) + self.errors,
            "errors": self.errors,
            "rps": round((len(ordered) + self.errors) / seconds, 1) if seconds else None,
            "p50_ms": _percentile_ms(ordered, 50),
            "p95_ms": _percentile_ms(ordered, 95),
            "p99_ms": _percentile_ms(ordered, 99),
            "max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
            "mean_ms": round(sum(ordered) / len(ordered) * 1000, 1) if ordered else None,
        }


def _percentile_ms(ordered: list[float], percent: float) -> float | None:
    """The nearest-rank percentile, in milliseconds."""
    if not ordered:
        return None
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return round(ordered[rank - 1] * 1000, 1)


async def drive(
    session: Session,
    rounds: list[list[Request]],
    *,
    seconds: float,
    max_requests: int,
    think: float = 0.0,
) -> tuple[dict[str, KindResult], float]:
    """Run one task per round of requests for `seconds` (or `max_requests` in all); the results
    by kind and the time it took. With `think`, a client pauses about that many seconds (from
    half to one and a half times, the same draws every run) after each response."""
    results: dict[str, KindResult] = {}
    sent = 0
    deadline = time.perf_counter() + seconds

    async def client(number: int, requests: list[Request]) -> None:
        nonlocal sent
        position = 0
        pauses = random.Random(number)
        while time.perf_counter() < deadline and sent < max_requests:
            if think and position:
                await asyncio.sleep(think * pauses.uniform(0.5, 1.5))
                if time.perf_counter() >= deadline:
                    break
            request = requests[position % len(requests)]
            position += 1
            sent += 1
            result = results.setdefault(request.kind, KindResult())
            body = request.body() if request.body else b""
            headers = session.headers(request.headers)
            started = time.perf_counter()
            try:
                response = await fetch(
                    session.host, session.port, request.method, request.path, headers, body
                )
            except (OSError, TimeoutError, ValueError, IndexError) as error:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"{type(error).__name__}: {error}")
                continue
            elapsed = time.perf_counter() - started
            if request.ok(response):
                result.latencies.append(elapsed)
                if request.after:
                    request.after(response)
            else:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"HTTP {response.status} {request.path}")

    started = time.perf_counter()
    await asyncio.gather(*(client(number, requests) for number, requests in enumerate(rounds)))
    return results, time.perf_counter() - started
