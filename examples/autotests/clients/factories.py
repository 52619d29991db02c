"""
Factories of API clients signed in as a user, one login per user for the run.

Projects used to build these with an `@lru_cache`-decorated factory that logged
in and froze the token into the client's headers: the cached client was shared
by every test, never closed, and kept sending its token after the API had
stopped accepting it. Here every call builds a new client, and
`CachedTokenAuth` shares the login instead: the suite's own login, wrapped by
`login_source`, runs once per user, and runs again when the token expires or
the API answers 401.
"""

from __future__ import annotations

from collections import Counter

from httpx_cached_auth import CachedTokenAuth, login_source

from .api_client import get_http_client
from .authentication import (
    AuthenticationUser,
    LoginRequest,
    LoginResponse,
    get_authentication_client,
)
from .courses import CoursesClient, ExercisesClient
from .files import FilesClient

# How many clients each factory built, counted only so that the example's run
# can print it beside the plugin's count of logins.
built_clients: Counter[str] = Counter()


def login(user: AuthenticationUser) -> LoginResponse:
    """Log `user` in with the suite's own authentication client."""
    request = LoginRequest(email=user.email, password=user.password.get_secret_value())
    with get_authentication_client() as client:
        return client.login(request)


# The login above, unchanged, as a token source: the access token is read at
# `response.token.access_token` of the `LoginResponse` it returns.
user_login = login_source(login, token_path="token.access_token")


def get_user_auth(user: AuthenticationUser) -> CachedTokenAuth:
    """An auth that signs requests with `user`'s token, shared by equal users."""
    return CachedTokenAuth(user, user_login)


def get_files_client(user: AuthenticationUser) -> FilesClient:
    """A new files client signed in as `user`."""
    built_clients["files"] += 1
    return FilesClient(get_http_client(auth=get_user_auth(user)))


def get_courses_client(user: AuthenticationUser) -> CoursesClient:
    """A new courses client signed in as `user`."""
    built_clients["courses"] += 1
    return CoursesClient(get_http_client(auth=get_user_auth(user)))


def get_exercises_client(user: AuthenticationUser) -> ExercisesClient:
    """A new exercises client signed in as `user`."""
    built_clients["exercises"] += 1
    return ExercisesClient(get_http_client(auth=get_user_auth(user)))
