"""
The core promise, on every kind of client against a real login API: one login per
credentials, renewed on expiry and on 401, with failures never cached.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from conftest import (
    FILES_PATH,
    LOGIN_PATH,
    PASSWORD,
    UPLOAD_PATH,
    Driver,
    FakeClock,
    User,
)
from pydantic import BaseModel

from httpx_cached_auth import (
    CachedAuthError,
    LoginEndpoint,
    LoginError,
    Token,
    TokenCache,
    TokenResponseError,
    login_source,
)
from httpx_cached_auth._demo_api import DemoLoginAPI, serve


def test_ten_clients_for_equal_credentials_log_in_once(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    make_user: Any,
    login: Any,
    cache: TokenCache,
) -> None:
    """
    Ten clients x ten requests for equal (not identical) credentials make one login.
    """
    user = make_user()

    responses = driver.requests(
        lambda: driver.auth(user.model_copy(), login, cache=cache),
        "GET",
        base_url + FILES_PATH,
        clients=10,
        each=10,
    )

    assert [r.status_code for r in responses] == [200] * 100
    assert api.logins == 1
    assert len({call.authorization for call in api.recorded_calls}) == 1
    assert cache.stats.logins == 1
    assert cache.stats.hits == 99


def test_the_default_cache_is_shared_by_auths_built_apart(
    driver: Driver, api: DemoLoginAPI, base_url: str, user: User, login: LoginEndpoint
) -> None:
    """Auths built separately without `cache=` share the process-wide default cache."""
    endpoint_again = LoginEndpoint(login.url, token_path="token.accessToken")

    driver.get(driver.auth(user, login), base_url + FILES_PATH)
    driver.get(driver.auth(user.model_copy(), endpoint_again), base_url + FILES_PATH)

    assert api.logins == 1


def test_different_credentials_log_in_once_each(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    make_user: Any,
    login: Any,
    cache: TokenCache,
) -> None:
    """Three users, each with several clients, make exactly three logins."""
    users = [make_user() for _ in range(3)]

    for user in users:
        responses = driver.requests(
            lambda user=user: driver.auth(user, login, cache=cache),
            "GET",
            base_url + FILES_PATH,
            clients=3,
            each=2,
        )
        assert {r.json()["user"]["email"] for r in responses} == {user.email}

    assert api.logins == 3


def test_two_environments_never_share_a_token(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    user: User,
    login: Any,
    cache: TokenCache,
) -> None:
    """
    The same credentials against two login endpoints get two tokens, each used with its
    own API.
    """
    other_api = DemoLoginAPI(login_delay=0)
    other_api.create_user(user.email, PASSWORD)

    with serve(other_api) as other_url:
        other_login = LoginEndpoint(
            other_url + LOGIN_PATH, token_path="token.accessToken"
        )
        for _ in range(2):
            here = driver.get(
                driver.auth(user, login, cache=cache), base_url + FILES_PATH
            )
            there = driver.get(
                driver.auth(user, other_login, cache=cache), other_url + FILES_PATH
            )
            assert (here.status_code, there.status_code) == (200, 200)

    assert (api.logins, other_api.logins) == (1, 1)
    assert (
        api.recorded_calls[0].authorization != other_api.recorded_calls[0].authorization
    )


def test_a_token_is_fetched_again_once_the_ttl_has_passed(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    user: User,
    login: Any,
    clock: FakeClock,
) -> None:
    """With an injected clock, the token is reused until the ttl, then fetched again."""
    cache = TokenCache(ttl=60, leeway=0, timer=clock)
    auth = driver.auth(user, login, cache=cache)

    driver.get(auth, base_url + FILES_PATH)
    clock.advance(59.9)
    driver.get(auth, base_url + FILES_PATH)
    assert api.logins == 1

    clock.advance(0.2)
    driver.get(auth, base_url + FILES_PATH)
    assert api.logins == 2


def test_a_401_evicts_the_token_logs_in_once_and_resends(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    user: User,
    login: Any,
    cache: TokenCache,
) -> None:
    """
    A revoked token gets one new login, and the caller sees the re-sent request's 200.
    """
    auth = driver.auth(user, login, cache=cache)
    driver.get(auth, base_url + FILES_PATH)
    api.revoke_all_tokens()

    response = driver.get(auth, base_url + FILES_PATH)

    assert response.status_code == 200
    assert api.logins == 2
    assert [call.status for call in api.recorded_calls] == [200, 401, 200]


def test_a_second_401_reaches_the_caller_without_a_loop(
    driver: Driver, api: DemoLoginAPI, base_url: str, user: User, cache: TokenCache
) -> None:
    """
    When the fresh token is refused too, the caller gets that 401 after exactly one re-
    login.
    """
    logins: list[User] = []

    def forged_login(credentials: User) -> str:
        logins.append(credentials)
        return f"forged-{len(logins)}"

    response = driver.get(
        driver.auth(user, forged_login, cache=cache), base_url + FILES_PATH
    )

    assert response.status_code == 401
    assert len(logins) == 2
    assert api.api_calls == 2


def test_a_stream_body_is_not_resent_empty_after_a_401(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    user: User,
    login: Any,
    cache: TokenCache,
) -> None:
    """A one-shot body gets the 401 back, and the rejected token is still evicted."""
    auth = driver.auth(user, login, cache=cache)
    driver.get(auth, base_url + FILES_PATH)
    api.revoke_all_tokens()

    def chunks() -> Iterator[bytes]:
        yield b"x" * 1000

    async def async_chunks() -> AsyncIterator[bytes]:
        yield b"x" * 1000

    body = async_chunks() if driver.is_async else chunks()
    response = driver.request(auth, "POST", base_url + UPLOAD_PATH, content=body)

    assert response.status_code == 401
    assert api.logins == 1
    assert driver.get(auth, base_url + FILES_PATH).status_code == 200
    assert api.logins == 2


def test_a_bytes_body_is_resent_in_full_after_a_401(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    user: User,
    login: Any,
    cache: TokenCache,
) -> None:
    """A body held in memory is sent again, whole, with the new token."""
    auth = driver.auth(user, login, cache=cache)
    driver.get(auth, base_url + FILES_PATH)
    api.revoke_all_tokens()

    response = driver.request(auth, "POST", base_url + UPLOAD_PATH, content=b"y" * 5000)

    assert response.status_code == 200
    assert response.json()["size"] == 5000
    assert api.logins == 2


class MutableUser(BaseModel):
    email: str
    password: str


@pytest.mark.parametrize(
    "credentials",
    [{"email": "a@example.com"}, MutableUser(email="a@example.com", password=PASSWORD)],
    ids=["dict", "pydantic-not-frozen"],
)
def test_unhashable_credentials_are_refused_when_the_auth_is_built(
    driver: Driver, credentials: object, login: LoginEndpoint
) -> None:
    """Credentials that cannot be hashed raise a TypeError that says how to fix them."""
    with pytest.raises(TypeError, match=r"frozen=True") as caught:
        driver.auth(credentials, login)

    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize("status", [401, 500])
def test_a_failed_login_raises_caches_nothing_and_is_tried_again(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    user: User,
    login: Any,
    cache: TokenCache,
    status: int,
) -> None:
    """
    A 4xx or 5xx login raises LoginError with the response; the next request logs in
    again.
    """
    api.fail_next_logins(1, status=status)
    auth = driver.auth(user, login, cache=cache)

    with pytest.raises(LoginError) as caught:
        driver.get(auth, base_url + FILES_PATH)

    assert isinstance(caught.value, driver.module.HTTPError)
    assert caught.value.response.status_code == status
    assert len(cache) == 0
    assert driver.get(auth, base_url + FILES_PATH).status_code == 200
    assert api.logins == 2
    assert cache.stats.failures == 1


def test_a_login_answer_without_the_token_raises_and_caches_nothing(
    driver: Driver, api: DemoLoginAPI, base_url: str, user: User, cache: TokenCache
) -> None:
    """
    A 200 login whose JSON lacks the token path raises TokenResponseError naming the
    path.
    """
    wrong_path = LoginEndpoint(base_url + LOGIN_PATH, token_path="access_token")
    auth = driver.auth(user, wrong_path, cache=cache)

    for attempt in (1, 2):
        with pytest.raises(TokenResponseError, match="'access_token'") as caught:
            driver.get(auth, base_url + FILES_PATH)
        assert api.logins == attempt

    assert caught.value.response.status_code == 200
    assert len(cache) == 0


def test_an_unreachable_login_endpoint_raises_login_error(
    driver: Driver, user: User, cache: TokenCache, base_url: str
) -> None:
    """
    A connection error at login is a LoginError chained to the library's own error.
    """
    nowhere = LoginEndpoint("http://127.0.0.1:9/login")

    with pytest.raises(LoginError) as caught:
        driver.get(driver.auth(user, nowhere, cache=cache), base_url + FILES_PATH)

    assert isinstance(caught.value.__cause__, driver.module.ConnectError)
    assert len(cache) == 0


def test_a_sync_source_runs_off_the_event_loop(
    driver: Driver, base_url: str, user: User, login: LoginEndpoint, cache: TokenCache
) -> None:
    """A sync login function runs in another thread, while the loop goes on ticking."""
    if not driver.is_async:
        pytest.skip("only async clients have an event loop to block")
    login_done = threading.Event()
    login_threads: list[int] = []

    def slow_login(credentials: User) -> Token:
        login_threads.append(threading.get_ident())
        # Waits for the loop to tick: if the login ran on the loop, this would
        # time out, as the loop could not tick meanwhile.
        ticked = login_done.wait(timeout=5)
        assert ticked, "the event loop did not run while the login ran"
        return login.fetch(credentials, _context(driver))

    async def work() -> int:
        async def heartbeat() -> None:
            while not login_threads:
                await anyio.sleep(0.001)
            login_done.set()

        async with anyio.create_task_group() as group:
            group.start_soon(heartbeat)
            async with driver.client(
                auth=driver.auth(user, slow_login, cache=cache)
            ) as client:
                response = await client.get(base_url + FILES_PATH)

        assert response.status_code == 200
        return threading.get_ident()

    loop_thread = driver.run(work)

    assert login_threads
    assert login_threads[0] != loop_thread


def test_an_async_source_is_awaited(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    user: User,
    login: LoginEndpoint,
    cache: TokenCache,
) -> None:
    """An async login function serves async clients, and is refused by sync ones."""

    async def async_login(credentials: User) -> Token:
        await anyio.sleep(0)
        return await login.afetch(credentials, _context(driver))

    auth = driver.auth(user, async_login, cache=cache)

    if driver.is_async:
        assert driver.get(auth, base_url + FILES_PATH).status_code == 200
        assert api.logins == 1
    else:
        with pytest.raises(TypeError, match="AsyncClient"):
            driver.get(auth, base_url + FILES_PATH)


def test_no_secret_reaches_a_repr_a_message_or_the_log(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    user: User,
    login: LoginEndpoint,
    cache: TokenCache,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Passwords and tokens are absent from reprs, exception messages and DEBUG logs."""
    caplog.set_level(logging.DEBUG, logger="httpx_cached_auth")
    auth = driver.auth(user, login, cache=cache)
    driver.get(auth, base_url + FILES_PATH)
    api.revoke_all_tokens()
    driver.get(auth, base_url + FILES_PATH)
    api.fail_next_logins(1, status=401)
    auth.invalidate()
    with pytest.raises(LoginError) as caught:
        driver.get(auth, base_url + FILES_PATH)
    token = Token(access_token="secret-token", refresh_token="secret-refresh")

    tokens = {
        call.authorization.split()[1]
        for call in api.recorded_calls
        if call.authorization
    }
    shown = " ".join(
        [
            repr(auth),
            str(auth.cache),
            repr(login),
            repr(token),
            str(token),
            repr(caught.value),
            str(caught.value),
            repr(cache.stats),
            caplog.text,
        ]
    )
    assert len(tokens) == 2
    for secret in [PASSWORD, "secret-token", "secret-refresh", *tokens]:
        assert secret not in shown
    assert "fetched" in caplog.text


def test_errors_share_one_root(driver: Driver) -> None:
    """
    Every error of the package is a CachedAuthError, and a LoginError an HTTPError.
    """
    assert issubclass(LoginError, CachedAuthError)
    assert issubclass(TokenResponseError, LoginError)
    assert issubclass(LoginError, driver.module.HTTPError) or driver.library == "httpx2"


def test_a_wrapped_login_function_reads_a_nested_token(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    user: User,
    login: LoginEndpoint,
    cache: TokenCache,
) -> None:
    """`login_source` reads the token at a dotted path of what the function returns."""

    @login_source(token_path="token.accessToken")
    def login_as(credentials: User) -> dict[str, Any]:
        token = login.fetch(credentials, _context(driver))
        return {"token": {"accessToken": token.access_token.get_secret_value()}}

    assert (
        driver.get(
            driver.auth(user, login_as, cache=cache), base_url + FILES_PATH
        ).status_code
        == 200
    )
    assert login_as(user)["token"]["accessToken"]


def _context(driver: Driver) -> Any:
    from httpx_cached_auth import LoginContext
    from httpx_cached_auth._library import HTTPX

    if driver.library == "httpx":
        return LoginContext(HTTPX)
    from httpx_cached_auth.httpx2 import HTTPX2

    return LoginContext(HTTPX2)


def test_a_login_function_that_raises_gives_a_login_error(
    driver: Driver, base_url: str, user: User, cache: TokenCache
) -> None:
    """A failing login function is a LoginError caused by its own exception."""
    response = driver.module.Response(
        503, request=driver.module.Request("POST", "http://login")
    )

    def failing_login(credentials: User) -> str:
        raise driver.module.HTTPStatusError(
            f"login failed for {credentials.password.get_secret_value()}",
            request=response.request,
            response=response,
        )

    with pytest.raises(
        LoginError, match="failing_login raised HTTPStatusError"
    ) as caught:
        driver.get(driver.auth(user, failing_login, cache=cache), base_url + FILES_PATH)

    assert isinstance(caught.value.__cause__, driver.module.HTTPStatusError)
    assert caught.value.response.status_code == 503
    assert PASSWORD not in str(caught.value)
    assert len(cache) == 0


def test_a_401_from_another_origin_keeps_the_token(
    driver: Driver, user: User, cache: TokenCache
) -> None:
    """A redirect to a site that answers 401 without our header costs no new login."""
    logins: list[User] = []

    def login(credentials: User) -> str:
        logins.append(credentials)
        return "token-1"

    def handler(request: Any) -> Any:
        if request.url.host == "api.example.com":
            return driver.module.Response(
                302, headers={"Location": "https://storage.example.net/blob"}
            )
        return driver.module.Response(401)

    transport = driver.module.MockTransport(handler)
    auth = driver.auth(user, login, cache=cache)
    statuses = _statuses(
        driver, auth, "https://api.example.com/x", transport=transport, count=3
    )

    assert statuses == [401, 401, 401]
    assert len(logins) == 1
    assert len(cache) == 1


def _statuses(
    driver: Driver, auth: Any, url: str, *, transport: Any, count: int
) -> Any:
    options = {"auth": auth, "transport": transport, "follow_redirects": True}
    if not driver.is_async:
        with driver.client(**options) as client:
            return [client.get(url).status_code for _ in range(count)]

    async def work() -> list[int]:
        async with driver.client(**options) as client:
            return [(await client.get(url)).status_code for _ in range(count)]

    return driver.run(work)


@pytest.mark.parametrize("token", ["abc\r\nX-Evil: 1", "abc\x00def", "with space", "é"])
def test_a_token_that_cannot_go_in_a_header_is_refused_unseen(
    driver: Driver, base_url: str, user: User, cache: TokenCache, token: str
) -> None:
    """
    Control, space or non-ASCII characters are a TokenResponseError that hides them.
    """
    with pytest.raises(
        TokenResponseError, match="cannot be sent in a header"
    ) as caught:
        driver.get(
            driver.auth(user, lambda _: token, cache=cache), base_url + FILES_PATH
        )

    assert token not in str(caught.value)
    assert len(cache) == 0


def test_urls_are_shown_without_user_info_or_query(
    driver: Driver, user: User, cache: TokenCache, base_url: str
) -> None:
    """A password or API key in a login URL is in neither the repr nor the error."""
    login = LoginEndpoint("http://svc:URL-PASSWORD@127.0.0.1:9/login?api_key=QUERY-KEY")

    with pytest.raises(LoginError) as caught:
        driver.get(driver.auth(user, login, cache=cache), base_url + FILES_PATH)

    shown = (
        repr(login) + str(caught.value) + repr(driver.auth(user, login, cache=cache))
    )
    assert "URL-PASSWORD" not in shown
    assert "QUERY-KEY" not in shown
    assert "http://[secure]@127.0.0.1:9/login?[secure]" in shown
