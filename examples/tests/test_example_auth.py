"""
The other places an auth goes: on a client already built, or on one request.
"""

from __future__ import annotations

from collections.abc import Callable

from autotests.clients.api_client import get_http_client
from autotests.clients.authentication import AuthenticationUser, LoginResponse
from autotests.clients.courses import COURSES_URL, CoursesClient
from autotests.clients.factories import user_login
from autotests.clients.files import FilesClient

from httpx_cached_auth import CachedTokenAuth

LoginCount = Callable[[AuthenticationUser], int]


def test_auth_set_on_a_client_already_built(
    courses_client: CoursesClient, user: AuthenticationUser, login_count: LoginCount
) -> None:
    """A client built without auth signs in once `client.auth` is set."""
    with get_http_client() as http_client:
        files_client = FilesClient(http_client)
        assert files_client.get_files_api().status_code == 401

        http_client.auth = CachedTokenAuth(user, user_login)
        response = files_client.get_files()
        courses_client.get_courses()

    assert response.user.email == user.email
    assert login_count(user) == 1


def test_auth_given_per_request(
    files_client: FilesClient, user: AuthenticationUser, login_count: LoginCount
) -> None:
    """One request of a public client is signed when it is given `auth=`."""
    files_client.get_files()

    with get_http_client() as public_client:
        anonymous = public_client.get(COURSES_URL)
        signed = public_client.get(COURSES_URL, auth=CachedTokenAuth(user, user_login))

    assert anonymous.status_code == 401
    assert signed.status_code == 200
    assert login_count(user) == 1


def test_login_source_still_logs_in_when_called(
    files_client: FilesClient, user: AuthenticationUser, login_count: LoginCount
) -> None:
    """Code that calls the wrapped login directly still gets its `LoginResponse`."""
    files_client.get_files()

    response = user_login(user)

    assert isinstance(response, LoginResponse)
    assert response.token.token_type == "bearer"
    assert login_count(user) == 2
