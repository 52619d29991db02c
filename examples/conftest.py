"""
Fixtures of the example suite: the API, a user per test, clients signed in as them.

`autotests` imports as a top-level package: `examples/__init__.py` puts its
directory on `sys.path`.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator

import pytest
from autotests.clients.authentication import AuthenticationUser
from autotests.clients.courses import CoursesClient, ExercisesClient
from autotests.clients.factories import (
    built_clients,
    get_courses_client,
    get_exercises_client,
    get_files_client,
)
from autotests.clients.files import FilesClient
from autotests.clients.users import CreateUserRequest, UsersClient, get_users_client
from autotests.config import settings
from pydantic import SecretStr

from httpx_cached_auth._demo_api import DemoLoginAPI, serve

MakeUser = Callable[[], AuthenticationUser]

_created_users: list[str] = []


@pytest.fixture(scope="session")
def api() -> DemoLoginAPI:
    """The course API, with logins a little slow as bcrypt makes them."""
    return DemoLoginAPI(login_delay=0.05)


@pytest.fixture(scope="session", autouse=True)
def api_url(api: DemoLoginAPI) -> Iterator[str]:
    """Serve the API on 127.0.0.1 for the session, and point the settings at it."""
    with serve(api) as url, pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "api_url", url)
        yield url


@pytest.fixture(scope="session")
def users_client(api_url: str) -> Iterator[UsersClient]:
    with get_users_client() as client:
        yield client


@pytest.fixture
def make_user(users_client: UsersClient) -> MakeUser:
    """Sign a new user up through the API, and return their credentials."""

    def make() -> AuthenticationUser:
        request = CreateUserRequest(
            email=f"user.{uuid.uuid4().hex}@example.com",
            password=secrets.token_urlsafe(16),
            last_name="Lovelace",
            first_name="Ada",
            middle_name="King",
        )
        users_client.create_user(request)
        _created_users.append(request.email)
        return AuthenticationUser(
            email=request.email, password=SecretStr(request.password)
        )

    return make


@pytest.fixture
def user(make_user: MakeUser) -> AuthenticationUser:
    """A new user of the test's own."""
    return make_user()


@pytest.fixture
def login_count(api: DemoLoginAPI) -> Callable[[AuthenticationUser], int]:
    """How many times the API received a login for a user."""

    def count(user: AuthenticationUser) -> int:
        return sum(attempt.email == user.email for attempt in api.recorded_logins)

    return count


@pytest.fixture
def files_client(user: AuthenticationUser) -> Iterator[FilesClient]:
    with get_files_client(user) as client:
        yield client


@pytest.fixture
def courses_client(user: AuthenticationUser) -> Iterator[CoursesClient]:
    with get_courses_client(user) as client:
        yield client


@pytest.fixture
def exercises_client(user: AuthenticationUser) -> Iterator[ExercisesClient]:
    with get_exercises_client(user) as client:
        yield client


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many clients the factories built, beside the plugin's logins."""
    built = sum(built_clients.values())
    if built:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(built_clients.items()))
        terminalreporter.write_line(
            f"autotests: {built} API clients built by the factories ({kinds}) "
            f"for {len(_created_users)} users"
        )
