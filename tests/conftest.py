"""
Shared fixtures: a real login API on 127.0.0.1, and drivers that run one test on
every kind of client (httpx and httpx2; sync, asyncio and trio).
"""

from __future__ import annotations

import itertools
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

import httpx_cached_auth
import httpx_cached_auth.httpx2
from httpx_cached_auth import LoginEndpoint, TokenCache
from httpx_cached_auth._demo_api import DemoLoginAPI, serve

LOGIN_PATH = "/api/v1/authentication/login"
REFRESH_PATH = "/api/v1/authentication/refresh"
FILES_PATH = "/api/v1/files"
UPLOAD_PATH = "/api/v1/files/upload"
PASSWORD = "correct horse battery staple"

# Building a client loads the system's CA certificates (about 20 ms); the test
# servers speak plain HTTP, so every client shares one context instead.
_SSL_CONTEXT = ssl.create_default_context()
_emails = itertools.count()


class User(BaseModel):
    """Credentials as the users' test suites model them: frozen, secret password."""

    model_config = ConfigDict(frozen=True)

    email: str
    password: SecretStr


class FakeClock:
    """A timer to inject into `TokenCache`, moved by hand instead of sleeping."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class _Dispatcher:
    """An ASGI app that forwards to the current test's API, so one server serves all."""

    def __init__(self) -> None:
        self.api: DemoLoginAPI | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.api is not None
        await self.api.app(scope, receive, send)


@pytest.fixture(scope="session")
def _server() -> Iterator[tuple[_Dispatcher, str]]:
    dispatcher = _Dispatcher()
    holder = DemoLoginAPI(login_delay=0)
    holder.app = dispatcher  # type: ignore[assignment]
    with serve(holder) as base_url:
        yield dispatcher, base_url


@pytest.fixture
def api_factory(
    _server: tuple[_Dispatcher, str],
) -> Callable[..., DemoLoginAPI]:
    """Install a fresh login API, with the given settings, behind the test server."""
    dispatcher, _ = _server

    def install(**settings: Any) -> DemoLoginAPI:
        settings.setdefault("login_delay", 0)
        dispatcher.api = DemoLoginAPI(**settings)
        return dispatcher.api

    return install


@pytest.fixture
def api(
    api_factory: Callable[..., DemoLoginAPI], request: pytest.FixtureRequest
) -> DemoLoginAPI:
    """The test's login API, with the settings of its `api` marker if any."""
    marker = request.node.get_closest_marker("api")
    return api_factory(**(marker.kwargs if marker else {}))


@pytest.fixture
def base_url(_server: tuple[_Dispatcher, str], api: DemoLoginAPI) -> str:
    return _server[1]


@pytest.fixture
def make_user(api: DemoLoginAPI) -> Callable[[], User]:
    """Register a new user in the API and return equal-but-new credentials for it."""

    def make() -> User:
        email = f"user{next(_emails)}@example.com"
        api.create_user(email, PASSWORD)
        return User(email=email, password=SecretStr(PASSWORD))

    return make


@pytest.fixture
def user(make_user: Callable[[], User]) -> User:
    return make_user()


@pytest.fixture
def login(base_url: str) -> LoginEndpoint:
    return LoginEndpoint(base_url + LOGIN_PATH, token_path="token.accessToken")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(clock: FakeClock) -> TokenCache:
    return TokenCache(ttl=300, leeway=0, timer=clock)


@pytest.fixture(autouse=True)
def _fresh_default_cache() -> Iterator[None]:
    httpx_cached_auth.reset_default_token_cache()
    yield
    httpx_cached_auth.reset_default_token_cache()


@dataclass
class Driver:
    """
    Runs requests through one kind of client: `library` x `mode`.

    Every method is called from the test's own (sync) code; in the async modes
    each call runs in a new event loop of that backend, so a test also shows
    that the cache outlives event loops.
    """

    library: str
    mode: str

    @property
    def is_async(self) -> bool:
        return self.mode != "sync"

    @property
    def module(self) -> Any:
        return httpx if self.library == "httpx" else httpx2

    def auth(self, credentials: Any, source: Any, **options: Any) -> Any:
        """A `CachedTokenAuth` of this driver's library."""
        package = (
            httpx_cached_auth if self.library == "httpx" else httpx_cached_auth.httpx2
        )
        return package.CachedTokenAuth(credentials, source, **options)

    def client(self, **options: Any) -> Any:
        """A new, unopened client of this driver's library and mode."""
        options.setdefault("verify", _SSL_CONTEXT)
        # A loaded CI machine serving hundreds of requests at once can be slow;
        # no test here is about the client's own timeout unless it sets one.
        options.setdefault("timeout", 30)
        kind = "AsyncClient" if self.is_async else "Client"
        return getattr(self.module, kind)(**options)

    def run(self, work: Callable[[], Awaitable[Any]]) -> Any:
        """Run an async callable in a new event loop of this driver's backend."""
        return anyio.run(work, backend=self.mode)

    def request(self, auth: Any, method: str, url: str, **options: Any) -> Any:
        """Send one request through a new client built with `auth`."""
        return self.requests(lambda: auth, method, url, clients=1, each=1, **options)[0]

    def get(self, auth: Any, url: str, **options: Any) -> Any:
        return self.request(auth, "GET", url, **options)

    def requests(
        self,
        make_auth: Callable[[], Any],
        method: str,
        url: str,
        *,
        clients: int,
        each: int,
        **options: Any,
    ) -> list[Any]:
        """Build `clients` clients one after the other, each sending `each` requests."""
        if not self.is_async:
            responses = []
            for _ in range(clients):
                with self.client(auth=make_auth()) as client:
                    responses += [
                        client.request(method, url, **options) for _ in range(each)
                    ]
            return responses

        async def work() -> list[Any]:
            responses = []
            for _ in range(clients):
                async with self.client(auth=make_auth()) as client:
                    for _ in range(each):
                        responses.append(await client.request(method, url, **options))
            return responses

        return self.run(work)

    def concurrently(
        self,
        make_auth: Callable[[], Any],
        url: str,
        *,
        count: int,
        method: str = "GET",
    ) -> list[Any]:
        """
        Send `count` requests at once, each from its own client and auth.

        Threads in sync mode, tasks in one event loop otherwise; all start
        together, on a barrier, so that they really overlap.
        """
        if not self.is_async:
            return _in_threads(
                lambda: self._one_sync(make_auth(), method, url), count=count
            )

        async def work() -> list[Any]:
            results: list[Any] = [None] * count
            errors: list[Exception] = []
            gate = anyio.Event()

            async def one(index: int) -> None:
                async with self.client(auth=make_auth()) as client:
                    await gate.wait()
                    try:
                        results[index] = await client.request(method, url)
                    except Exception as exc:
                        errors.append(exc)

            async with anyio.create_task_group() as group:
                for index in range(count):
                    group.start_soon(one, index)
                await anyio.sleep(0)
                gate.set()

            if errors:
                raise errors[0]
            return results

        return self.run(work)

    def _one_sync(self, auth: Any, method: str, url: str) -> Any:
        with self.client(auth=auth) as client:
            return client.request(method, url)


def _in_threads(call: Callable[[], Any], *, count: int) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    if errors:
        raise errors[0]
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


DRIVERS: Sequence[tuple[str, str]] = [
    (library, mode)
    for library in ("httpx", "httpx2")
    for mode in ("sync", "asyncio", "trio")
]


@pytest.fixture(params=DRIVERS, ids=[f"{lib}-{mode}" for lib, mode in DRIVERS])
def driver(request: pytest.FixtureRequest) -> Driver:
    library, mode = request.param
    return Driver(library, mode)
