"""
The demo behind `python -m httpx_cached_auth demo`: many clients, one login.

It plays a small API test suite against the embedded `DemoLoginAPI`: it registers
a user over HTTP, builds clients for that user through factories such as
`get_files_client(user)`, one `CachedTokenAuth` per client, and has them call the
API. Then it revokes every token on the server and runs the clients again, so
that they meet 401s and renew the token. The numbers in the report are read from
the server's counters and the cache's statistics; the one exception is the line
for comparison, "without the cache", which is the number of clients built, since
a client that logs in for itself makes one login.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from ._auth import CachedTokenAuth
from ._cache import CacheStats, TokenCache
from ._demo_api import DemoLoginAPI, serve
from ._sources import LoginEndpoint

__all__ = [
    "DEMO_PASSWORD",
    "AsyncResourceClient",
    "ClientFactory",
    "DemoLibrary",
    "DemoReport",
    "ResourceClient",
    "RoundReport",
    "User",
    "load_library",
    "run_demo",
]

USERS_PATH = "/api/v1/users"
LOGIN_PATH = "/api/v1/authentication/login"
FILES_PATH = "/api/v1/files"
COURSES_PATH = "/api/v1/courses"

# A throwaway password for a server that lives as long as the demo. It is a
# constant so that the tests can check it never reaches the output.
DEMO_PASSWORD = "correct-horse-battery-staple"


class User(BaseModel):
    """The demo's user, modelled as test suites do: frozen, password kept secret."""

    model_config = ConfigDict(frozen=True)

    email: str
    password: SecretStr


class _Response(Protocol):
    @property
    def status_code(self) -> int: ...

    def raise_for_status(self) -> object: ...


class _SyncHTTPClient(Protocol):
    def get(self, url: str) -> _Response: ...

    def post(self, url: str, *, json: object) -> _Response: ...

    def close(self) -> None: ...


class _AsyncHTTPClient(Protocol):
    async def get(self, url: str) -> _Response: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DemoLibrary:
    """
    The HTTP library the demo runs on: its clients, its error and its auth.

    Attributes:
        name: `"httpx"` or `"httpx2"`.
        client_class: Its `Client`.
        async_client_class: Its `AsyncClient`.
        http_error: Its `HTTPError`, which a failed login also is.
        auth_class: The `CachedTokenAuth` that its clients accept.
    """

    name: str
    client_class: Callable[..., _SyncHTTPClient]
    async_client_class: Callable[..., _AsyncHTTPClient]
    http_error: type[Exception]
    auth_class: Callable[..., object]


def load_library(name: str) -> DemoLibrary:
    """
    Return the demo's view of the HTTP library called `name`.

    Raises:
        ImportError: If `name` is `"httpx2"` and httpx2 is not installed.
    """
    if name == "httpx":
        return DemoLibrary(
            "httpx", httpx.Client, httpx.AsyncClient, httpx.HTTPError, CachedTokenAuth
        )

    # Imported here, so that the httpx demo runs where httpx2 is not installed.
    import httpx2

    from . import httpx2 as for_httpx2

    return DemoLibrary(
        "httpx2",
        httpx2.Client,
        httpx2.AsyncClient,
        httpx2.HTTPError,
        for_httpx2.CachedTokenAuth,
    )


@dataclass(frozen=True, slots=True)
class ResourceClient:
    """A client of one API resource, such as the files, as a test suite has."""

    http: _SyncHTTPClient
    path: str

    def list_all(self) -> int:
        """Get the list of the resource, and return the status code."""
        return self.http.get(self.path).status_code

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()


@dataclass(frozen=True, slots=True)
class AsyncResourceClient:
    """The async form of `ResourceClient`."""

    http: _AsyncHTTPClient
    path: str

    async def list_all(self) -> int:
        """Get the list of the resource, and return the status code."""
        response = await self.http.get(self.path)
        return response.status_code

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()


@dataclass(frozen=True, slots=True)
class ClientFactory:
    """
    Builds API clients for a user, as the factories of a test project do.

    Every client gets a `CachedTokenAuth` of its own, with a `LoginEndpoint` of
    its own. They still share one token: the users are equal, the endpoints are
    equal, and the cache is the same.
    """

    library: DemoLibrary
    base_url: str
    cache: TokenCache

    def get_files_client(self, user: User) -> ResourceClient:
        """A client of the files API, logged in as `user`."""
        return ResourceClient(self._client(user), FILES_PATH)

    def get_courses_client(self, user: User) -> ResourceClient:
        """A client of the courses API, logged in as `user`."""
        return ResourceClient(self._client(user), COURSES_PATH)

    def get_async_files_client(self, user: User) -> AsyncResourceClient:
        """An async client of the files API, logged in as `user`."""
        return AsyncResourceClient(self._async_client(user), FILES_PATH)

    def get_async_courses_client(self, user: User) -> AsyncResourceClient:
        """An async client of the courses API, logged in as `user`."""
        return AsyncResourceClient(self._async_client(user), COURSES_PATH)

    def _client(self, user: User) -> _SyncHTTPClient:
        return self.library.client_class(base_url=self.base_url, auth=self._auth(user))

    def _async_client(self, user: User) -> _AsyncHTTPClient:
        return self.library.async_client_class(
            base_url=self.base_url, auth=self._auth(user)
        )

    def _auth(self, user: User) -> object:
        login = LoginEndpoint(
            self.base_url + LOGIN_PATH, token_path="token.accessToken"
        )
        return self.library.auth_class(user, login, cache=self.cache)


@dataclass(frozen=True, slots=True)
class RoundReport:
    """
    What one round of clients did, as the clients and the server counted it.

    Attributes:
        clients: API clients built.
        requests: Requests the clients made.
        succeeded: Those that ended 200, after a renewal if there was one.
        sent: Requests that reached the API, including those sent again
            after a 401.
        unauthorized: 401 answers from the API.
        logins: Logins the server served.
    """

    clients: int
    requests: int
    succeeded: int
    sent: int
    unauthorized: int
    logins: int


@dataclass(frozen=True, slots=True)
class DemoReport:
    """
    The outcome of the demo: one round before the revocation, one after.

    Attributes:
        library: The HTTP library the clients used.
        email: The demo user's email; the password is never part of the report.
        clients: Sync clients, and as many async ones, built in each round.
        requests: Requests each client made.
        login_delay: Seconds each login took on the server.
        before: The round before every token was revoked.
        after: The round after.
        cache: The statistics of the demo's cache at the end.
        seconds: How long the demo took.
    """

    library: str
    email: str
    clients: int
    requests: int
    login_delay: float
    before: RoundReport
    after: RoundReport
    cache: CacheStats
    seconds: float

    @property
    def problems(self) -> list[str]:
        """What did not go as expected; empty when the demo succeeded."""
        problems = []
        requests = self.before.requests + self.after.requests
        failed = requests - self.before.succeeded - self.after.succeeded
        if failed:
            problems.append(f"{failed} of {requests} requests did not end 200")

        for when, round_ in (("before", self.before), ("after", self.after)):
            if round_.logins != 1:
                problems.append(
                    f"expected 1 login {when} the revocation, "
                    f"the server counted {round_.logins}"
                )

        return problems

    @property
    def ok(self) -> bool:
        """Whether every request ended 200 with one login per round."""
        return not self.problems

    def render(self) -> str:
        """The report as a few lines of plain text."""
        before, after = self.before, self.after
        requests = before.requests + after.requests
        sent = before.sent + after.sent
        lines = [
            f"httpx_cached_auth demo on {self.library}",
            f"user: {self.email}",
            f"each round: {self.clients} Client and {self.clients} AsyncClient; "
            f"requests per client: {self.requests}; login delay: "
            f"{self.login_delay:g} s",
            "",
            f"before revocation: {_round_line(before)}, logins: {before.logins}",
            f"after revocation:  {_round_line(after)}, logins: +{after.logins}",
            "",
            f"requests sent:     {sent} ({sent - requests} of them resent after a 401)",
            f"401s received:     {before.unauthorized + after.unauthorized}",
            f"logins made:       {before.logins + after.logins}",
            f"cache hits:        {self.cache.hits}",
            f"without the cache: {before.clients + after.clients} logins, "
            "one per client built",
            "",
        ]
        if self.ok:
            lines.append(
                f"OK: all {requests} requests ended 200, in {self.seconds:.1f} s"
            )
        else:
            lines += ["FAILED:", *(f"- {problem}" for problem in self.problems)]

        return "\n".join(lines)


def _round_line(round_: RoundReport) -> str:
    return f"{round_.sent} requests sent, {round_.unauthorized} answered 401"


def run_demo(
    library: DemoLibrary,
    *,
    clients: int = 10,
    requests: int = 3,
    login_delay: float = 0.3,
) -> DemoReport:
    """
    Serve the login API, run the clients before and after a revocation, report.

    Args:
        library: The HTTP library to build the clients with.
        clients: Sync clients, and as many async ones, to build in each round.
        requests: Requests each client makes.
        login_delay: Seconds each login takes on the server.

    Raises:
        Exception: The library's `HTTPError` if the user could not be
            registered or a login failed.
    """
    started = time.monotonic()
    api = DemoLoginAPI(login_delay=login_delay)

    with serve(api) as base_url:
        user = _register_user(library, base_url)
        factory = ClientFactory(library, base_url, TokenCache())
        before = _run_round(api, factory, user, clients=clients, requests=requests)

        api.revoke_all_tokens()
        after = _run_round(api, factory, user, clients=clients, requests=requests)

    return DemoReport(
        library=library.name,
        email=user.email,
        clients=clients,
        requests=requests,
        login_delay=login_delay,
        before=before,
        after=after,
        cache=factory.cache.stats,
        seconds=time.monotonic() - started,
    )


def _register_user(library: DemoLibrary, base_url: str) -> User:
    """Sign a new user up through the API, as a test suite's fixture would."""
    user = User(
        email=f"demo-{secrets.token_hex(4)}@example.com",
        password=SecretStr(DEMO_PASSWORD),
    )
    body = {
        "email": user.email,
        "password": user.password.get_secret_value(),
        "lastName": "User",
        "firstName": "Demo",
        "middleName": "",
    }

    with contextlib.closing(library.client_class(base_url=base_url)) as client:
        client.post(USERS_PATH, json=body).raise_for_status()

    return user


@dataclass(frozen=True, slots=True)
class _ServerCounts:
    """The counters of the API at one moment, to subtract one from another."""

    logins: int
    api_calls: int
    unauthorized: int

    @classmethod
    def read(cls, api: DemoLoginAPI) -> _ServerCounts:
        statuses = [call.status for call in api.recorded_calls]
        return cls(api.logins, api.api_calls, statuses.count(401))


def _run_round(
    api: DemoLoginAPI,
    factory: ClientFactory,
    user: User,
    *,
    clients: int,
    requests: int,
) -> RoundReport:
    """Run the async clients, all at once, then the sync ones, one by one."""
    start = _ServerCounts.read(api)

    statuses = asyncio.run(_run_async_clients(factory, user, clients, requests))
    statuses += _run_sync_clients(factory, user, clients, requests)

    end = _ServerCounts.read(api)
    return RoundReport(
        clients=2 * clients,
        requests=len(statuses),
        succeeded=statuses.count(200),
        sent=end.api_calls - start.api_calls,
        unauthorized=end.unauthorized - start.unauthorized,
        logins=end.logins - start.logins,
    )


def _run_sync_clients(
    factory: ClientFactory, user: User, clients: int, requests: int
) -> list[int]:
    """Build the sync clients one after the other, as consecutive tests do."""
    statuses = []
    for index in range(clients):
        make = (factory.get_files_client, factory.get_courses_client)[index % 2]
        # A test suite builds its user model anew for each test: an equal copy,
        # not the same object, is what the cache has to recognise.
        with contextlib.closing(make(user.model_copy())) as client:
            statuses += [client.list_all() for _ in range(requests)]

    return statuses


async def _run_async_clients(
    factory: ClientFactory, user: User, clients: int, requests: int
) -> list[int]:
    """Build the async clients, then let them all send their requests at once."""
    makers = (factory.get_async_files_client, factory.get_async_courses_client)

    async with contextlib.AsyncExitStack() as stack:
        api_clients = [
            await stack.enter_async_context(
                contextlib.aclosing(makers[index % 2](user.model_copy()))
            )
            for index in range(clients)
        ]
        per_client = await asyncio.gather(
            *(_send(client, requests) for client in api_clients)
        )

    return [status for statuses in per_client for status in statuses]


async def _send(client: AsyncResourceClient, requests: int) -> list[int]:
    return [await client.list_all() for _ in range(requests)]
