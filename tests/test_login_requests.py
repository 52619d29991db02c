"""
Login requests stand apart: same fields every time, nothing from the user's request,
no redirects, the triggering client's timeout, and auth on existing clients.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import FILES_PATH, LOGIN_PATH, REFRESH_PATH, Driver, User

from httpx_cached_auth import LoginEndpoint, LoginError, TokenCache, TokenResponseError
from httpx_cached_auth._demo_api import DemoLoginAPI


def _recording_clients(driver: Driver) -> tuple[dict[str, Any], list[Any]]:
    """Login clients of the driver's library and mode that record what they send."""
    sent: list[Any] = []

    def record(request: Any) -> None:
        sent.append(request)

    async def async_record(request: Any) -> None:
        sent.append(request)

    hooks: dict[str, Any] = {"request": [async_record if driver.is_async else record]}
    key = "async_client" if driver.is_async else "client"
    # The driver runs each call in a new event loop, and pooled connections belong
    # to the loop that opened them: this long-lived client keeps none.
    limits = driver.module.Limits(max_keepalive_connections=0)
    return {key: driver.client(event_hooks=hooks, limits=limits)}, sent


def test_every_login_sends_the_same_fields_and_nothing_of_the_users_request(
    driver: Driver, api: DemoLoginAPI, base_url: str, user: User, cache: TokenCache
) -> None:
    """
    Re-logins repeat the first login's body; the user's headers and query stay out.
    """
    clients, sent = _recording_clients(driver)
    login = LoginEndpoint(
        base_url + LOGIN_PATH,
        token_path="token.accessToken",
        fields={"email": "email", "password": "password"},
        **clients,
    )
    auth = driver.auth(user, login, cache=cache)
    url = base_url + FILES_PATH

    driver.get(auth, url, headers={"X-Trace": "t-1"}, params={"page": "2"})
    api.revoke_all_tokens()
    driver.get(auth, url, headers={"X-Trace": "t-2"}, params={"page": "3"})

    assert api.logins == 2
    assert [json.loads(r.content) for r in sent] == [
        {"email": user.email, "password": user.password.get_secret_value()}
    ] * 2
    for request in sent:
        assert "x-trace" not in request.headers
        assert "authorization" not in request.headers
        assert not request.url.query


def test_a_refresh_sends_the_refresh_token_in_the_configured_camel_case_field(
    driver: Driver, api: DemoLoginAPI, base_url: str, user: User, cache: TokenCache
) -> None:
    """The refresh request is `{"refreshToken": ...}`, as the API requires."""
    clients, sent = _recording_clients(driver)
    login = LoginEndpoint(
        base_url + LOGIN_PATH,
        token_path="token.accessToken",
        refresh_url=base_url + REFRESH_PATH,
        refresh_field="refreshToken",
        **clients,
    )
    auth = driver.auth(user, login, cache=cache)
    driver.get(auth, base_url + FILES_PATH)
    api.revoke_access_tokens()

    assert driver.get(auth, base_url + FILES_PATH).status_code == 200
    assert [r.url.path for r in sent] == [LOGIN_PATH, REFRESH_PATH]
    assert list(json.loads(sent[1].content)) == ["refreshToken"]


def test_a_redirect_at_login_is_never_followed(
    driver: Driver, user: User, cache: TokenCache, base_url: str
) -> None:
    """A 307 from the login URL is a LoginError, and the password goes nowhere else."""
    seen: list[Any] = []

    def redirect(request: Any) -> Any:
        seen.append(request)
        return driver.module.Response(
            307, headers={"Location": "https://elsewhere.example/steal"}
        )

    transport_class = driver.module.MockTransport
    key = "async_client" if driver.is_async else "client"
    login = LoginEndpoint(
        "https://api.example.com/login",
        **{
            key: driver.client(
                transport=transport_class(redirect), follow_redirects=True
            )
        },
    )

    with pytest.raises(LoginError, match="redirects are not followed") as caught:
        driver.get(driver.auth(user, login, cache=cache), base_url + FILES_PATH)

    assert caught.value.response.status_code == 307
    assert [str(request.url) for request in seen] == ["https://api.example.com/login"]


@pytest.mark.api(login_delay=0.5)
def test_a_login_takes_the_timeout_of_the_client_that_needed_it(
    driver: Driver, api: DemoLoginAPI, base_url: str, user: User, login: Any
) -> None:
    """
    A client with a 0.1 s timeout gets a LoginError caused by a timeout, not a hang.
    """
    auth = driver.auth(user, login, cache=TokenCache())

    def send() -> Any:
        if not driver.is_async:
            with driver.client(auth=auth, timeout=0.1) as client:
                return client.get(base_url + FILES_PATH)

        async def work() -> Any:
            async with driver.client(auth=auth, timeout=0.1) as client:
                return await client.get(base_url + FILES_PATH)

        return driver.run(work)

    with pytest.raises(LoginError) as caught:
        send()

    assert isinstance(caught.value.__cause__, driver.module.TimeoutException)


def test_auth_set_on_an_existing_client_and_per_request(
    driver: Driver, api: DemoLoginAPI, base_url: str, user: User, login: Any
) -> None:
    """
    `client.auth = ...` on a built client, and per-request `auth=`, share one login.
    """
    cache = TokenCache()

    def send() -> list[int]:
        if not driver.is_async:
            with driver.client() as client:
                client.auth = driver.auth(user, login, cache=cache)
                first = client.get(base_url + FILES_PATH)
            with driver.client() as client:
                auth = driver.auth(user, login, cache=cache)
                second = client.get(base_url + FILES_PATH, auth=auth)
            return [first.status_code, second.status_code]

        async def work() -> list[int]:
            async with driver.client() as client:
                client.auth = driver.auth(user, login, cache=cache)
                first = await client.get(base_url + FILES_PATH)
            async with driver.client() as client:
                auth = driver.auth(user, login, cache=cache)
                second = await client.get(base_url + FILES_PATH, auth=auth)
            return [first.status_code, second.status_code]

        return list(driver.run(work))

    assert send() == [200, 200]
    assert api.logins == 1


def test_a_login_function_using_the_caching_auth_itself_does_not_deadlock(
    driver: Driver, api: DemoLoginAPI, base_url: str, user: User, cache: TokenCache
) -> None:
    """
    A login sent through a client whose auth is the same caching auth goes out bare.
    """
    holder: dict[str, Any] = {}

    def login_through_own_client(credentials: User) -> str:
        with Driver(driver.library, "sync").client(auth=holder["auth"]) as client:
            response = client.post(
                base_url + LOGIN_PATH,
                json={
                    "email": credentials.email,
                    "password": credentials.password.get_secret_value(),
                },
            )
        assert "authorization" not in response.request.headers
        return str(response.json()["token"]["accessToken"])

    holder["auth"] = driver.auth(user, login_through_own_client, cache=cache)

    assert driver.get(holder["auth"], base_url + FILES_PATH).status_code == 200
    assert api.logins == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'"Invalid credentials"', "is not a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "is not JSON"),
        (b"<html>login</html>", "is not JSON"),
    ],
    ids=["bare-string", "deeply-nested", "html"],
)
def test_a_login_answer_that_is_not_a_json_object_is_refused(
    driver: Driver,
    user: User,
    cache: TokenCache,
    base_url: str,
    body: bytes,
    problem: str,
) -> None:
    """
    A 200 login whose body is not a JSON object is a TokenResponseError, never a token.
    """
    transport = driver.module.MockTransport(
        lambda request: driver.module.Response(200, content=body)
    )
    key = "async_client" if driver.is_async else "client"
    login = LoginEndpoint(
        "https://api.example.com/login", **{key: driver.client(transport=transport)}
    )

    with pytest.raises(TokenResponseError, match=problem):
        driver.get(driver.auth(user, login, cache=cache), base_url + FILES_PATH)

    assert len(cache) == 0
