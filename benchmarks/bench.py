"""
Benchmarks of httpx_cached_auth: logins saved, cost per request, memory.

Run `python benchmarks/bench.py` from the repository root, or add `--quick` for
a smoke run. Each figure is measured in the same run as the baseline it is
compared with: login counts come from the counter of a real login API served
on 127.0.0.1, timings from rounds that alternate baseline and candidate, and
memory from `tracemalloc`.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import functools
import gc
import importlib.metadata
import os
import platform
import secrets
import ssl
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

import httpx_cached_auth
from httpx_cached_auth import CachedTokenAuth, LoginEndpoint, TokenCache, login_source
from httpx_cached_auth._demo_api import DemoLoginAPI, serve

LOGIN_PATH = "/api/v1/authentication/login"
FILES_PATH = "/api/v1/files"
PASSWORD = "correct horse battery staple"
LOGIN_DELAY = 0.1
OVERHEAD_TARGET = 1.05
FLOWS_PER_REQUEST = 5
MOCK_BASE_URL = "http://api.bench.invalid"
MOCK_TOKEN = "bench-token-" + "x" * 200

# Building a client loads the system's CA certificates (about 20 ms); the demo
# API speaks plain HTTP, so every client shares one context instead. Without it,
# 500 clients would spend seconds there and hide what is being measured.
SSL_CONTEXT = ssl.create_default_context()

# Generous, so that a slow shared machine shows up in the wall times rather
# than as failed requests.
TIMEOUT = httpx.Timeout(60.0)


class User(BaseModel):
    """Credentials as projects model them: frozen, with a secret password."""

    model_config = ConfigDict(frozen=True)

    email: str
    password: SecretStr


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each part of the benchmark does."""

    clients: int = 20
    requests_per_client: int = 5
    threads: int = 64
    tasks: int = 500
    storm: int = 200
    requests: int = 10_000
    rounds: int = 7
    tokens: int = 10_000


QUICK = Sizes(threads=16, tasks=50, storm=40, requests=500, rounds=3, tokens=1_000)


# Part 1: logins against a real server ----------------------------------------------


class TokenFactory(Protocol):
    """A `functools.lru_cache`-wrapped login function."""

    def __call__(self, user: User, /) -> str:
        """Return the token of `user`, logging in on the first call only."""
        ...

    def cache_clear(self) -> None:
        """Forget every token, so that the next call logs in."""
        ...


class Strategy(abc.ABC):
    """
    How a project puts a token into its clients; one instance per measurement.

    Subclasses build the clients; by default a request is sent as it is.
    """

    name: ClassVar[str]

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    @abc.abstractmethod
    def open(self, user: User) -> httpx.Client:
        """Build a client whose requests carry `user`'s token."""

    @abc.abstractmethod
    async def aopen(self, user: User) -> httpx.AsyncClient:
        """Build an async client whose requests carry `user`'s token."""

    def get(self, client: httpx.Client, user: User) -> httpx.Response:
        """Send one request to a protected route."""
        return client.get(FILES_PATH)

    async def aget(self, client: httpx.AsyncClient, user: User) -> httpx.Response:
        """Send one request to a protected route from async code."""
        return await client.get(FILES_PATH)

    def _options(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "verify": SSL_CONTEXT, "timeout": TIMEOUT}


class CachedAuthStrategy(Strategy):
    """The library: `CachedTokenAuth` with a `LoginEndpoint` and a fresh cache."""

    name = "httpx_cached_auth"

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.cache = TokenCache()
        self.login = LoginEndpoint(
            base_url + LOGIN_PATH, token_path="token.accessToken"
        )

    def open(self, user: User) -> httpx.Client:
        """Build a client with the caching auth."""
        auth = CachedTokenAuth(user, self.login, cache=self.cache)
        return httpx.Client(auth=auth, **self._options())

    async def aopen(self, user: User) -> httpx.AsyncClient:
        """Build an async client with the caching auth."""
        auth = CachedTokenAuth(user, self.login, cache=self.cache)
        return httpx.AsyncClient(auth=auth, **self._options())


class LoginPerClientStrategy(Strategy):
    """Each client logs in when built, and again (then retries once) on a 401."""

    name = "log in per client"

    def open(self, user: User) -> httpx.Client:
        """Build a client and log it in."""
        client = httpx.Client(**self._options())
        _set_token(client, _read_token(client.post(LOGIN_PATH, json=_payload(user))))

        return client

    async def aopen(self, user: User) -> httpx.AsyncClient:
        """Build an async client and log it in."""
        client = httpx.AsyncClient(**self._options())
        response = await client.post(LOGIN_PATH, json=_payload(user))
        _set_token(client, _read_token(response))

        return client

    def get(self, client: httpx.Client, user: User) -> httpx.Response:
        """Send the request; on a 401, log in again and send it once more."""
        response = client.get(FILES_PATH)
        if response.status_code != 401:
            return response

        _set_token(client, _read_token(client.post(LOGIN_PATH, json=_payload(user))))
        return client.get(FILES_PATH)

    async def aget(self, client: httpx.AsyncClient, user: User) -> httpx.Response:
        """The async form of `get`."""
        response = await client.get(FILES_PATH)
        if response.status_code != 401:
            return response

        login = await client.post(LOGIN_PATH, json=_payload(user))
        _set_token(client, _read_token(login))
        return await client.get(FILES_PATH)


class LruCacheStrategy(Strategy):
    """
    The `@lru_cache def get_token(user) -> str` factory projects migrate from.

    Clients get the token as a fixed header. Async code calls the sync factory
    too, as such projects do, so its login blocks the event loop.
    """

    name = "lru_cache token"

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.get_token = _lru_token_factory(base_url + LOGIN_PATH)

    def open(self, user: User) -> httpx.Client:
        """Build a client with the cached token as a fixed header."""
        return httpx.Client(headers=self._headers(user), **self._options())

    async def aopen(self, user: User) -> httpx.AsyncClient:
        """Build an async client the same way, logging in on the event loop."""
        return httpx.AsyncClient(headers=self._headers(user), **self._options())

    def _headers(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.get_token(user)}"}


class LruCacheClearStrategy(LruCacheStrategy):
    """The same factory, with `cache_clear()` and one retry on a 401."""

    name = "lru_cache + cache_clear() retry"

    def get(self, client: httpx.Client, user: User) -> httpx.Response:
        """Send the request; on a 401, clear the cache, log in, retry once."""
        response = client.get(FILES_PATH)
        if response.status_code != 401:
            return response

        self.get_token.cache_clear()
        client.headers.update(self._headers(user))
        return client.get(FILES_PATH)

    async def aget(self, client: httpx.AsyncClient, user: User) -> httpx.Response:
        """The async form of `get`, logging in on the event loop."""
        response = await client.get(FILES_PATH)
        if response.status_code != 401:
            return response

        self.get_token.cache_clear()
        client.headers.update(self._headers(user))
        return await client.get(FILES_PATH)


STRATEGIES: list[type[Strategy]] = [
    CachedAuthStrategy,
    LoginPerClientStrategy,
    LruCacheStrategy,
]


def _lru_token_factory(login_url: str) -> TokenFactory:
    # A new factory per measurement, so that each one starts cold.
    @functools.lru_cache
    def get_token(user: User) -> str:
        response = httpx.post(
            login_url, json=_payload(user), verify=SSL_CONTEXT, timeout=TIMEOUT
        )
        return _read_token(response)

    return get_token


def _payload(user: User) -> dict[str, str]:
    return {"email": user.email, "password": user.password.get_secret_value()}


def _read_token(response: httpx.Response) -> str:
    response.raise_for_status()

    return str(response.json()["token"]["accessToken"])


def _set_token(client: httpx.Client | httpx.AsyncClient, token: str) -> None:
    client.headers["Authorization"] = f"Bearer {token}"


@dataclass(frozen=True, slots=True)
class Run:
    """What one scenario did with one strategy, apart from the server's count."""

    failed: int
    seconds: float
    blocking: int | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """A workload, run once for each strategy."""

    label: str
    run: Callable[[Strategy, User, DemoLoginAPI, Sizes], Run]
    strategies: Sequence[type[Strategy]] = tuple(STRATEGIES)


def sequential_clients(
    strategy: Strategy, user: User, api: DemoLoginAPI, sizes: Sizes
) -> Run:
    """Build clients one after the other, each sending a few requests."""
    failed = 0
    started = time.perf_counter()
    for _ in range(sizes.clients):
        try:
            with contextlib.closing(strategy.open(user.model_copy())) as client:
                for _ in range(sizes.requests_per_client):
                    failed += not _succeeds(lambda: strategy.get(client, user))
        except httpx.HTTPError:
            failed += sizes.requests_per_client

    return Run(failed, time.perf_counter() - started)


def cold_threads(
    strategy: Strategy, user: User, api: DemoLoginAPI, sizes: Sizes
) -> Run:
    """Start threads together on a cold cache; each builds a client, sends once."""

    def one() -> httpx.Response:
        with contextlib.closing(strategy.open(user.model_copy())) as client:
            return strategy.get(client, user)

    results, seconds = _in_threads(lambda: _succeeds(one), sizes.threads)

    return Run(results.count(False), seconds)


def cold_tasks(strategy: Strategy, user: User, api: DemoLoginAPI, sizes: Sizes) -> Run:
    """
    Start asyncio tasks together on a cold cache; each has its own client.

    Sync requests sent from the loop's thread meanwhile are counted: each one
    stalls every task for as long as it takes.
    """
    with _counting_blocking_requests() as blocking:
        run = asyncio.run(_cold_tasks(strategy, user, sizes.tasks))

    return dataclasses.replace(run, blocking=blocking.count)


async def _cold_tasks(strategy: Strategy, user: User, count: int) -> Run:
    gate = asyncio.Event()

    async def one() -> bool:
        await gate.wait()
        try:
            client = await strategy.aopen(user.model_copy())
            async with contextlib.aclosing(client):
                response = await strategy.aget(client, user)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    await asyncio.sleep(0)
    started = time.perf_counter()
    gate.set()
    results = await asyncio.gather(*tasks)

    return Run(results.count(False), time.perf_counter() - started)


@dataclass(slots=True)
class _Counter:
    count: int = 0


@contextlib.contextmanager
def _counting_blocking_requests() -> Iterator[_Counter]:
    # Wraps the sync transport for the length of the scenario: a sync request
    # sent while the thread runs an event loop blocks that loop. Requests sent
    # from worker threads, as `anyio.to_thread` does, are not counted.
    counter = _Counter()
    original = httpx.HTTPTransport.handle_request

    def handle_request(
        transport: httpx.HTTPTransport, request: httpx.Request
    ) -> httpx.Response:
        if _loop_is_running():
            counter.count += 1
        return original(transport, request)

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign, assignment]
    try:
        yield counter
    finally:
        httpx.HTTPTransport.handle_request = original  # type: ignore[method-assign]


def _loop_is_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False

    return True


def revocation_storm(
    strategy: Strategy, user: User, api: DemoLoginAPI, sizes: Sizes
) -> Run:
    """
    Warm every client, revoke all tokens, then send one request from each at once.

    Only the logins made after the revocation are counted: the server's counters
    are reset while every thread waits between warming up and the storm.
    """
    count = sizes.storm
    warmed = threading.Barrier(count + 1, timeout=120)
    revoked = threading.Barrier(count + 1, timeout=120)
    results = [False] * count

    def one(index: int) -> None:
        client = None
        try:
            client = strategy.open(user.model_copy())
            strategy.get(client, user)
        except httpx.HTTPError:
            pass
        warmed.wait()
        revoked.wait()
        if client is not None:
            with contextlib.closing(client):
                results[index] = _succeeds(lambda: strategy.get(client, user))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    warmed.wait()
    api.revoke_all_tokens()
    api.reset_counters()
    started = time.perf_counter()
    revoked.wait()
    for thread in threads:
        thread.join()

    return Run(results.count(False), time.perf_counter() - started)


def _succeeds(send: Callable[[], httpx.Response]) -> bool:
    """Whether a request ended in a 200, rather than another status or an error."""
    try:
        response = send()
    except httpx.HTTPError:
        return False

    return response.status_code == 200


def _in_threads(call: Callable[[], bool], count: int) -> tuple[list[bool], float]:
    """Run `call` in `count` threads released together; time from the release."""
    start = threading.Barrier(count + 1, timeout=120)
    results = [False] * count

    def run(index: int) -> None:
        start.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()

    return results, time.perf_counter() - started


def scenarios(sizes: Sizes) -> list[Scenario]:
    """The four workloads of part 1, labelled with their sizes."""
    with_retry: list[type[Strategy]] = [*STRATEGIES, LruCacheClearStrategy]
    return [
        Scenario(
            f"(a) {sizes.clients} clients x {sizes.requests_per_client} requests, "
            "sequential",
            sequential_clients,
        ),
        Scenario(f"(b) {sizes.threads} threads, cold cache", cold_threads),
        Scenario(f"(c) {sizes.tasks} asyncio tasks, cold cache", cold_tasks),
        Scenario(
            f"(d) {sizes.storm}-request revocation storm (threads)",
            revocation_storm,
            with_retry,
        ),
    ]


def measure_logins(sizes: Sizes) -> list[list[str]]:
    """Run every scenario with every strategy; return the rows of the table."""
    api = DemoLoginAPI(login_delay=LOGIN_DELAY)
    rows: list[list[str]] = []
    with serve(api) as base_url:
        for number, scenario in enumerate(scenarios(sizes)):
            for kind in scenario.strategies:
                user = _new_user(api, f"s{number}-{len(rows)}")
                api.reset_counters()
                run = scenario.run(kind(base_url), user, api, sizes)
                rows.append(_login_row(scenario.label, kind.name, api.logins, run))

    return rows


def _new_user(api: DemoLoginAPI, name: str) -> User:
    # A user of its own per measurement, so that no token or cache entry of an
    # earlier measurement can serve it.
    email = f"{name}@example.com"
    api.create_user(email, PASSWORD)

    return User(email=email, password=SecretStr(PASSWORD))


def _login_row(scenario: str, strategy: str, logins: int, run: Run) -> list[str]:
    blocking = "-" if run.blocking is None else str(run.blocking)
    seconds = f"{run.seconds:.2f}"
    return [scenario, strategy, str(logins), str(run.failed), seconds, blocking]


# Part 2: cost per request ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flavour:
    """An HTTP library, and the `CachedTokenAuth` bound to it."""

    name: str
    module: Any
    auth_class: Any


@dataclass(frozen=True, slots=True)
class Overhead:
    """Seconds per round of the baseline and the caching auth, for one client."""

    label: str
    requests: int
    baseline: list[float]
    candidate: list[float]
    flows: int
    flow_baseline: list[float]
    flow_candidate: list[float]

    @property
    def ratio(self) -> float:
        """Candidate over baseline, from the medians of their rounds."""
        return statistics.median(self.candidate) / statistics.median(self.baseline)

    def paired_ratios(self) -> list[float]:
        """The ratio of each round pair, to show how noisy the machine was."""
        return [c / b for b, c in zip(self.baseline, self.candidate, strict=True)]


@dataclass(frozen=True, slots=True)
class _MockSetup:
    """Two clients on one in-memory transport, and the auths to step by hand."""

    baseline: Any
    candidate: Any
    no_auth: Any
    auth: Any
    request: Any
    response: Any


def flavours() -> list[Flavour]:
    """httpx, and httpx2 when it is installed."""
    found = [Flavour("httpx", httpx, CachedTokenAuth)]
    try:
        import httpx2

        from httpx_cached_auth import httpx2 as for_httpx2
    except ImportError:  # httpx2 is optional, and needs Python 3.11 or later
        return found

    found.append(Flavour("httpx2", httpx2, for_httpx2.CachedTokenAuth))
    return found


def _mock_handler(module: Any) -> Callable[[Any], Any]:
    """An API in memory: a login answering `MOCK_TOKEN`, and a 200 for the rest."""
    answer = {"token": {"accessToken": MOCK_TOKEN}}

    def handle(request: Any) -> Any:
        if request.url.path == LOGIN_PATH:
            return module.Response(200, json=answer)
        return module.Response(200)

    return handle


def _mock_setup(flavour: Flavour, kind: str) -> _MockSetup:
    """A client with a fixed header, and one with the caching auth, alike else."""
    module = flavour.module
    transport = module.MockTransport(_mock_handler(module))
    # The login goes through the mock transport too, once, to warm the cache.
    login = LoginEndpoint(
        MOCK_BASE_URL + LOGIN_PATH,
        token_path="token.accessToken",
        client=module.Client(transport=transport),
        async_client=module.AsyncClient(transport=transport),
    )
    user = User(email="bench@example.com", password=SecretStr(PASSWORD))
    auth = flavour.auth_class(user, login, cache=TokenCache())
    headers = {"Authorization": f"Bearer {MOCK_TOKEN}"}
    options = {"base_url": MOCK_BASE_URL, "transport": transport}
    client_class = getattr(module, kind)

    return _MockSetup(
        baseline=client_class(headers=headers, **options),
        candidate=client_class(auth=auth, **options),
        # What a client without auth runs for each request.
        no_auth=module.Auth(),
        auth=auth,
        request=module.Request("GET", MOCK_BASE_URL + FILES_PATH),
        response=module.Response(200),
    )


def sync_overhead(flavour: Flavour, sizes: Sizes) -> Overhead:
    """Time `Client.get` with a fixed header and with the caching auth."""
    setup = _mock_setup(flavour, "Client")
    flows = sizes.requests * FLOWS_PER_REQUEST

    def requests(arm: int) -> float:
        client = (setup.baseline, setup.candidate)[arm]
        started = time.perf_counter()
        for _ in range(sizes.requests):
            client.get(FILES_PATH)
        return time.perf_counter() - started

    def auth_flows(arm: int) -> float:
        auth = (setup.no_auth, setup.auth)[arm]
        started = time.perf_counter()
        for _ in range(flows):
            flow = auth.sync_auth_flow(setup.request)
            next(flow)
            with contextlib.suppress(StopIteration):
                flow.send(setup.response)
        return time.perf_counter() - started

    with setup.baseline, setup.candidate:
        # The first request of the caching auth logs in; both clients are warmed
        # alike, so that no round counts a first login or connection.
        setup.baseline.get(FILES_PATH)
        setup.candidate.get(FILES_PATH)
        request_times = _rounds(requests, sizes.rounds)
        flow_times = _rounds(auth_flows, sizes.rounds)

    label = f"{flavour.name}.Client"
    return Overhead(label, sizes.requests, *request_times, flows, *flow_times)


def async_overhead(flavour: Flavour, sizes: Sizes) -> Overhead:
    """Time `AsyncClient.get` with a fixed header and with the caching auth."""
    return asyncio.run(_async_overhead(flavour, sizes))


async def _async_overhead(flavour: Flavour, sizes: Sizes) -> Overhead:
    setup = _mock_setup(flavour, "AsyncClient")
    flows = sizes.requests * FLOWS_PER_REQUEST

    async def requests(arm: int) -> float:
        client = (setup.baseline, setup.candidate)[arm]
        started = time.perf_counter()
        for _ in range(sizes.requests):
            await client.get(FILES_PATH)
        return time.perf_counter() - started

    async def auth_flows(arm: int) -> float:
        auth = (setup.no_auth, setup.auth)[arm]
        started = time.perf_counter()
        for _ in range(flows):
            flow = auth.async_auth_flow(setup.request)
            await flow.__anext__()
            with contextlib.suppress(StopAsyncIteration):
                await flow.asend(setup.response)
        return time.perf_counter() - started

    async with setup.baseline, setup.candidate:
        await setup.baseline.get(FILES_PATH)
        await setup.candidate.get(FILES_PATH)
        request_times = await _async_rounds(requests, sizes.rounds)
        flow_times = await _async_rounds(auth_flows, sizes.rounds)

    label = f"{flavour.name}.AsyncClient"
    return Overhead(label, sizes.requests, *request_times, flows, *flow_times)


def _alternating(rounds: int) -> list[tuple[int, int]]:
    # Arm 0 is the baseline, arm 1 the caching auth. The baseline goes first in
    # even rounds and last in odd ones, so that a machine getting faster or
    # slower during the run favours neither.
    return [(0, 1) if index % 2 == 0 else (1, 0) for index in range(rounds)]


def _rounds(
    timed: Callable[[int], float], rounds: int
) -> tuple[list[float], list[float]]:
    times: tuple[list[float], list[float]] = ([], [])
    for arms in _alternating(rounds):
        for arm in arms:
            gc.collect()
            times[arm].append(timed(arm))

    return times


async def _async_rounds(
    timed: Callable[[int], Awaitable[float]], rounds: int
) -> tuple[list[float], list[float]]:
    times: tuple[list[float], list[float]] = ([], [])
    for arms in _alternating(rounds):
        for arm in arms:
            gc.collect()
            times[arm].append(await timed(arm))

    return times


def measure_overhead(sizes: Sizes) -> list[Overhead]:
    """Time every client class of every installed library."""
    results = []
    for flavour in flavours():
        results.append(sync_overhead(flavour, sizes))
        results.append(async_overhead(flavour, sizes))

    return results


def _overhead_row(result: Overhead) -> list[str]:
    ratios = result.paired_ratios()
    return [
        result.label,
        _microseconds(result.baseline, result.requests),
        _microseconds(result.candidate, result.requests),
        f"{result.ratio:.3f}",
        "yes" if result.ratio <= OVERHEAD_TARGET else "no",
        f"{min(ratios):.2f}-{max(ratios):.2f}",
        _microseconds(result.flow_baseline, result.flows),
        _microseconds(result.flow_candidate, result.flows),
    ]


def _microseconds(rounds: list[float], count: int) -> str:
    return f"{statistics.median(rounds) / count * 1e6:.1f}"


# Part 3: memory --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Footprint:
    """Bytes allocated while filling a container, and still held after."""

    peak: int
    retained: int


def measure_memory(count: int) -> tuple[Footprint, Footprint]:
    """Fill a `TokenCache` and a plain dict with the same `count` tokens."""
    users = [
        User(email=f"user{index}@example.com", password=SecretStr(PASSWORD))
        for index in range(count)
    ]
    # The credentials and token strings exist before either measurement starts,
    # so both count only what holding them costs.
    token_of = {user: secrets.token_urlsafe(32) for user in users}

    def fill_dict() -> object:
        plain: dict[User, str] = {}
        for user in users:
            plain[user] = token_of[user]
        return plain

    def fill_cache() -> object:
        cache = TokenCache(maxsize=count)
        source = login_source(token_of.__getitem__)
        request = httpx.Request("GET", MOCK_BASE_URL + FILES_PATH)
        for user in users:
            # The first step of the auth flow logs in and caches the token, as
            # a client's first request would.
            flow = CachedTokenAuth(user, source, cache=cache).sync_auth_flow(request)
            next(flow)
            flow.close()
        return cache

    return _traced(fill_dict), _traced(fill_cache)


def _traced(fill: Callable[[], object]) -> Footprint:
    gc.collect()
    tracemalloc.start()
    try:
        kept = fill()
        gc.collect()
        retained, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del kept

    return Footprint(peak, retained)


# Output ----------------------------------------------------------------------------


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1
) -> None:
    """Print a Markdown table; the first `left` columns are text, the rest numbers."""
    widths = [
        max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)
    ]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(width) if index < left else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [
        "-" * width if index < left else "-" * (width - 1) + ":"
        for index, width in enumerate(widths)
    ]
    print(line(headers))
    print(line(rule))
    for row in rows:
        print(line(row))


def print_header(sizes: Sizes, quick: bool) -> None:
    """Print what the figures were measured on."""
    now = datetime.datetime.now(datetime.UTC)
    try:
        httpx2_version = importlib.metadata.version("httpx2")
    except importlib.metadata.PackageNotFoundError:
        httpx2_version = "not installed"
    print(f"# httpx_cached_auth benchmark{' (--quick)' if quick else ''}")
    print()
    print(f"- date: {now:%Y-%m-%d %H:%M} UTC")
    print(
        f"- Python {platform.python_version()} ({platform.python_implementation()}) "
        f"on {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(
        f"- httpx {httpx.__version__}, httpx2 {httpx2_version}, "
        f"httpx_cached_auth {httpx_cached_auth.__version__}"
    )
    print(f"- sizes: {_describe(sizes)}")


def _describe(sizes: Sizes) -> str:
    return ", ".join(
        f"{field.name}={getattr(sizes, field.name)}"
        for field in dataclasses.fields(sizes)
    )


def report_logins(sizes: Sizes) -> None:
    """Part 1, printed."""
    print()
    print(f"## 1. Logins (loopback DemoLoginAPI, {LOGIN_DELAY:g} s per login)")
    print()
    rows = measure_logins(sizes)
    headers = ["Scenario", "Strategy", "Logins", "Failed", "Wall s", "Blocking calls"]
    print_table(headers, rows, left=2)
    print()
    print(
        "Logins: the server's count. Failed: requests that did not end in a 200. "
        "Blocking calls: sync requests sent from the event loop's thread in (c); "
        "each one stalls every task for a whole login."
    )


def report_overhead(sizes: Sizes) -> None:
    """Part 2, printed."""
    print()
    print(
        f"## 2. Cost per request ({sizes.requests} requests through MockTransport, "
        f"median of {sizes.rounds} alternating rounds)"
    )
    print()
    rows = [_overhead_row(result) for result in measure_overhead(sizes)]
    headers = [
        "Client",
        "Fixed header us",
        "Cached auth us",
        "Ratio",
        f"<= {OVERHEAD_TARGET}",
        "Round ratios",
        "No-auth flow us",
        "Cached flow us",
    ]
    print_table(headers, rows)
    print()
    print(
        "us are per request, median round. Ratio: cached auth / fixed header, "
        f"target <= {OVERHEAD_TARGET}. The flow columns step the auth flow alone, "
        "without a client or transport."
    )


def report_memory(sizes: Sizes) -> None:
    """Part 3, printed."""
    print()
    print(f"## 3. Memory ({sizes.tokens} tokens, tracemalloc)")
    print()
    plain, cache = measure_memory(sizes.tokens)
    rows = [
        _memory_row("plain dict", plain, sizes.tokens),
        _memory_row("TokenCache", cache, sizes.tokens),
    ]
    print_table(["Container", "Peak B", "Retained B", "B per token"], rows)
    print()
    print(
        f"TokenCache / dict: {cache.retained / plain.retained:.1f}x retained, "
        f"{cache.peak / plain.peak:.1f}x peak, "
        f"{(cache.retained - plain.retained) / sizes.tokens:.0f} B more per token"
    )


def _memory_row(name: str, footprint: Footprint, count: int) -> list[str]:
    return [
        name,
        str(footprint.peak),
        str(footprint.retained),
        f"{footprint.retained / count:.0f}",
    ]


def parse_arguments(argv: Sequence[str] | None) -> tuple[Sizes, bool]:
    """Read the command line into the sizes of the run."""
    parser = argparse.ArgumentParser(
        description="Benchmarks of httpx_cached_auth: logins, cost per request, memory."
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, for a smoke run"
    )
    parser.add_argument("--requests", type=int, help="requests per timing round")
    parser.add_argument("--rounds", type=int, help="timing rounds per arm")
    parser.add_argument("--tokens", type=int, help="tokens in the memory test")
    arguments = parser.parse_args(argv)

    sizes = QUICK if arguments.quick else Sizes()
    for name in ("requests", "rounds", "tokens"):
        value = getattr(arguments, name)
        if value is not None:
            if value < 1:
                parser.error(f"--{name} must be 1 or more")
            sizes = dataclasses.replace(sizes, **{name: value})

    return sizes, arguments.quick


def main(argv: Sequence[str] | None = None) -> int:
    """Run the three parts and print their tables."""
    sizes, quick = parse_arguments(argv)
    started = time.perf_counter()

    print_header(sizes, quick)
    report_logins(sizes)
    report_overhead(sizes)
    report_memory(sizes)
    print()
    print(f"Total time: {time.perf_counter() - started:.0f} s")

    return 0


if __name__ == "__main__":
    sys.exit(main())
