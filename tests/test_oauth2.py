"""
The OAuth2 sources on every kind of client, against a real token endpoint.

The demo API records each form it receives, so the tests check the fields that
were posted, how the client authenticated, refresh and errors; answers the demo
API never gives come from a mock transport.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import FILES_PATH, PASSWORD, Driver, FakeClock
from pydantic import SecretStr

from httpx_cached_auth import (
    ClientCredentials,
    LoginContext,
    LoginError,
    OAuth2ClientCredentials,
    OAuth2PasswordGrant,
    PasswordCredentials,
    TokenCache,
    TokenResponseError,
)
from httpx_cached_auth._demo_api import DemoLoginAPI
from httpx_cached_auth._library import HTTPX

TOKEN_PATH = "/oauth/token"
# A colon in the id and reserved characters in the secret: HTTP Basic only works
# if both are form-encoded before base64, as RFC 6749 section 2.3.1 says.
CLIENT_ID = "reports:v1 app"
CLIENT_SECRET = "s3cret:+/%&= shh"
WEB_CLIENT_ID = "web"
USERNAME = "ada@example.com"
AUDIENCE = "https://api.example.com"

pytestmark = pytest.mark.api(
    oauth_clients={CLIENT_ID: CLIENT_SECRET, WEB_CLIENT_ID: ""}
)


@pytest.fixture
def token_url(base_url: str) -> str:
    return base_url + TOKEN_PATH


@pytest.fixture
def app() -> ClientCredentials:
    return ClientCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


@pytest.fixture
def person(api: DemoLoginAPI) -> PasswordCredentials:
    api.create_user(USERNAME, PASSWORD)
    return PasswordCredentials(username=USERNAME, password=PASSWORD)


@pytest.fixture
def password_grant(token_url: str) -> OAuth2PasswordGrant:
    return OAuth2PasswordGrant(
        token_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scope="files",
        extra_params={"audience": AUDIENCE},
    )


def _forms(api: DemoLoginAPI) -> list[dict[str, str]]:
    return [dict(request.form) for request in api.recorded_token_requests]


def _grants(api: DemoLoginAPI) -> list[tuple[str | None, int]]:
    return [(r.grant_type, r.status) for r in api.recorded_token_requests]


# The token request ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_auth", "recorded_as", "client_fields"),
    [
        ("basic", "client_secret_basic", {}),
        (
            "body",
            "client_secret_post",
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        ),
    ],
)
def test_client_credentials_posts_the_grant_with_the_chosen_client_auth(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    token_url: str,
    app: ClientCredentials,
    cache: TokenCache,
    client_auth: Any,
    recorded_as: str,
    client_fields: dict[str, str],
) -> None:
    """The form holds grant, scope and extras; the client goes in Basic or the body."""
    source = OAuth2ClientCredentials(
        token_url,
        scope=["files:read", "files:write"],
        client_auth=client_auth,
        extra_params={"audience": AUDIENCE},
    )

    response = driver.get(driver.auth(app, source, cache=cache), base_url + FILES_PATH)

    assert response.status_code == 200
    assert response.json()["clientId"] == CLIENT_ID
    [request] = api.recorded_token_requests
    assert dict(request.form) == {
        "grant_type": "client_credentials",
        "scope": "files:read files:write",
        "audience": AUDIENCE,
        **client_fields,
    }
    assert request.client_auth == recorded_as
    assert request.client_id == CLIENT_ID


def test_a_public_client_sends_its_id_alone_in_the_body(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    token_url: str,
    person: PasswordCredentials,
    cache: TokenCache,
) -> None:
    """A public client sends its `client_id` alone in the form; no client sends none."""
    public = OAuth2PasswordGrant(token_url, client_id=WEB_CLIENT_ID)
    anonymous = OAuth2PasswordGrant(token_url)

    for source in (public, anonymous):
        response = driver.get(
            driver.auth(person, source, cache=cache), base_url + FILES_PATH
        )
        assert response.status_code == 200

    public_form, anonymous_form = _forms(api)
    credentials = {"username": USERNAME, "password": PASSWORD}
    assert public_form == {"grant_type": "password", **credentials, "client_id": "web"}
    assert anonymous_form == {"grant_type": "password", **credentials}
    assert [r.client_auth for r in api.recorded_token_requests] == ["none", "none"]


def test_every_login_sends_the_same_fields_and_nothing_of_the_request(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    password_grant: OAuth2PasswordGrant,
    person: PasswordCredentials,
    cache: TokenCache,
) -> None:
    """A second login posts the first one's form, whatever the requests carried."""
    auth = driver.auth(person, password_grant, cache=cache)
    url = base_url + FILES_PATH + "?page=2&client_id=intruder"

    driver.get(auth, url, headers={"X-Trace": "abc"})
    auth.invalidate()
    driver.get(auth, url, headers={"X-Trace": "def"})

    first, second = _forms(api)
    assert (
        first
        == second
        == {
            "grant_type": "password",
            "username": USERNAME,
            "password": PASSWORD,
            "scope": "files",
            "audience": AUDIENCE,
        }
    )
    assert [r.client_auth for r in api.recorded_token_requests] == [
        "client_secret_basic"
    ] * 2


@dataclass(frozen=True)
class Account:
    """Credentials of the user's own, with the attributes a password grant reads."""

    username: str
    password: SecretStr


def test_any_credentials_with_username_and_password_attributes_log_in(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    token_url: str,
    person: PasswordCredentials,
    cache: TokenCache,
) -> None:
    """A frozen dataclass with `username` and `password` serves a password grant."""
    account = Account(USERNAME, SecretStr(PASSWORD))

    auth = driver.auth(account, OAuth2PasswordGrant(token_url), cache=cache)

    assert driver.get(auth, base_url + FILES_PATH).status_code == 200
    assert _forms(api)[0]["password"] == PASSWORD


def test_credentials_the_grant_cannot_send_are_refused_when_the_auth_is_built(
    driver: Driver, token_url: str, person: PasswordCredentials, app: ClientCredentials
) -> None:
    """Credentials without the attributes a grant sends are a TypeError naming them."""
    with pytest.raises(TypeError, match="'client_id'"):
        driver.auth(person, OAuth2ClientCredentials(token_url))
    with pytest.raises(TypeError, match="'username'"):
        driver.auth(app, OAuth2PasswordGrant(token_url))


# Sharing and lifetime --------------------------------------------------------------


def test_ten_clients_of_five_requests_make_one_token_request(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    token_url: str,
    cache: TokenCache,
) -> None:
    """Ten clients with sources and credentials built apart share one token request."""

    def make_auth() -> Any:
        source = OAuth2ClientCredentials(
            token_url, scope="a b", extra_params={"audience": AUDIENCE}
        )
        app = ClientCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        return driver.auth(app, source, cache=cache)

    responses = driver.requests(
        make_auth, "GET", base_url + FILES_PATH, clients=10, each=5
    )

    assert [r.status_code for r in responses] == [200] * 50
    assert api.oauth_token_requests == 1
    assert len({call.authorization for call in api.recorded_calls}) == 1


@pytest.mark.api(oauth_clients={CLIENT_ID: CLIENT_SECRET}, login_delay=0.1)
def test_ten_callers_at_once_make_one_password_grant(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    password_grant: OAuth2PasswordGrant,
    person: PasswordCredentials,
    cache: TokenCache,
) -> None:
    """Ten callers asking at once during a slow password grant all wait for it."""
    responses = driver.concurrently(
        lambda: driver.auth(person.model_copy(), password_grant, cache=cache),
        base_url + FILES_PATH,
        count=10,
    )

    assert [r.status_code for r in responses] == [200] * 10
    assert _grants(api) == [("password", 200)]


def test_equal_settings_make_equal_hashable_sources(token_url: str) -> None:
    """Sources built apart from equal settings are equal and hash alike."""
    first = OAuth2ClientCredentials(
        token_url, scope="a b", extra_params={"audience": "x", "resource": "y"}
    )
    second = OAuth2ClientCredentials(
        token_url, scope=("a", "b"), extra_params={"resource": "y", "audience": "x"}
    )
    grants = [
        OAuth2PasswordGrant(token_url, client_id="c", client_secret=secret)
        for secret in ("s", SecretStr("s"))
    ]

    assert first == second
    assert hash(first) == hash(second)
    assert first != OAuth2ClientCredentials(token_url, scope="a")
    assert grants[0] == grants[1]
    assert hash(grants[0]) == hash(grants[1])
    assert grants[0] != OAuth2PasswordGrant(token_url, client_id="c")
    assert first.supports_refresh
    assert grants[0].supports_refresh


@pytest.mark.api(oauth_clients={CLIENT_ID: CLIENT_SECRET}, access_ttl=120)
def test_expires_in_sets_how_long_the_token_is_kept(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    token_url: str,
    app: ClientCredentials,
    cache: TokenCache,
    clock: FakeClock,
) -> None:
    """A token answered with `expires_in: 120` is used for 120 s, then fetched again."""
    auth = driver.auth(app, OAuth2ClientCredentials(token_url), cache=cache)

    driver.get(auth, base_url + FILES_PATH)
    clock.advance(119)
    driver.get(auth, base_url + FILES_PATH)
    assert api.oauth_token_requests == 1

    clock.advance(2)
    driver.get(auth, base_url + FILES_PATH)
    assert _grants(api) == [("client_credentials", 200)] * 2


# Refresh -------------------------------------------------------------------------


def test_an_expired_password_token_is_refreshed_not_logged_in_again(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    password_grant: OAuth2PasswordGrant,
    person: PasswordCredentials,
    cache: TokenCache,
    clock: FakeClock,
) -> None:
    """An expired token is refreshed once, with the same client auth, scope, extras."""
    auth = driver.auth(person, password_grant, cache=cache)

    driver.get(auth, base_url + FILES_PATH)
    clock.advance(301)
    response = driver.get(auth, base_url + FILES_PATH)

    assert response.status_code == 200
    assert _grants(api) == [("password", 200), ("refresh_token", 200)]
    refresh_form = _forms(api)[1]
    assert refresh_form.keys() == {"grant_type", "refresh_token", "scope", "audience"}
    assert refresh_form["scope"] == "files"
    assert api.recorded_token_requests[1].client_auth == "client_secret_basic"
    assert cache.stats.logins == 1
    assert cache.stats.refreshes == 1


@pytest.mark.parametrize("rotate", [True, False], ids=["rotated", "kept"])
def test_a_rotated_refresh_token_replaces_the_old_one_and_a_kept_one_stays(
    driver: Driver,
    api_factory: Callable[..., DemoLoginAPI],
    base_url: str,
    token_url: str,
    cache: TokenCache,
    clock: FakeClock,
    rotate: bool,
) -> None:
    """Each refresh sends the newest refresh token: a rotated one, or the first one."""
    api = api_factory(oauth_clients={WEB_CLIENT_ID: ""}, rotate_refresh_tokens=rotate)
    api.create_user(USERNAME, PASSWORD)
    person = PasswordCredentials(username=USERNAME, password=PASSWORD)
    auth = driver.auth(
        person, OAuth2PasswordGrant(token_url, client_id=WEB_CLIENT_ID), cache=cache
    )

    for _ in range(3):
        assert driver.get(auth, base_url + FILES_PATH).status_code == 200
        clock.advance(301)

    assert _grants(api) == [
        ("password", 200),
        ("refresh_token", 200),
        ("refresh_token", 200),
    ]
    first, second = (form["refresh_token"] for form in _forms(api)[1:])
    assert (first != second) is rotate
    assert _forms(api)[1]["client_id"] == WEB_CLIENT_ID


def test_a_refused_refresh_token_falls_back_to_one_password_login(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    password_grant: OAuth2PasswordGrant,
    person: PasswordCredentials,
    cache: TokenCache,
    clock: FakeClock,
) -> None:
    """A refresh refused with 400 invalid_grant falls back to one password login."""
    auth = driver.auth(person, password_grant, cache=cache)
    driver.get(auth, base_url + FILES_PATH)
    api.revoke_all_tokens()
    clock.advance(301)

    response = driver.get(auth, base_url + FILES_PATH)

    assert response.status_code == 200
    assert _grants(api) == [
        ("password", 200),
        ("refresh_token", 400),
        ("password", 200),
    ]


# Errors --------------------------------------------------------------------------


def test_a_refused_client_raises_invalid_client_and_caches_nothing(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    token_url: str,
    cache: TokenCache,
) -> None:
    """A wrong secret is a 401 `invalid_client` LoginError; the next request retries."""
    wrong = ClientCredentials(client_id=CLIENT_ID, client_secret="not-the-secret")
    auth = driver.auth(wrong, OAuth2ClientCredentials(token_url), cache=cache)

    for _ in range(2):
        with pytest.raises(LoginError) as caught:
            driver.get(auth, base_url + FILES_PATH)

    error = caught.value
    assert isinstance(error, driver.module.HTTPError)
    assert error.response is not None
    assert error.response.status_code == 401
    assert "invalid_client" in str(error)
    assert "Unknown client" not in str(error)
    assert "not-the-secret" not in str(error)
    assert api.oauth_token_requests == 2
    assert api.api_calls == 0
    assert len(cache) == 0


def test_a_wrong_password_raises_invalid_grant(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    password_grant: OAuth2PasswordGrant,
    cache: TokenCache,
) -> None:
    """A wrong password is a 400 `invalid_grant` LoginError saying what to check."""
    wrong = PasswordCredentials(username=USERNAME, password="hunter2")
    api.create_user(USERNAME, PASSWORD)

    with pytest.raises(
        LoginError, match=r"invalid_grant.*user name or password"
    ) as caught:
        driver.get(
            driver.auth(wrong, password_grant, cache=cache), base_url + FILES_PATH
        )

    assert caught.value.response.status_code == 400
    assert "hunter2" not in str(caught.value)


def test_a_server_error_caches_nothing_and_the_next_request_logs_in(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    token_url: str,
    app: ClientCredentials,
    cache: TokenCache,
) -> None:
    """A 503 is a LoginError, caches nothing, and the next request logs in."""
    auth = driver.auth(app, OAuth2ClientCredentials(token_url), cache=cache)
    api.fail_next_token_requests(1, status=503)

    with pytest.raises(LoginError, match="503") as caught:
        driver.get(auth, base_url + FILES_PATH)

    assert caught.value.response.status_code == 503
    assert driver.get(auth, base_url + FILES_PATH).status_code == 200
    assert _grants(api) == [("client_credentials", 503), ("client_credentials", 200)]


def test_an_unreachable_token_endpoint_raises_login_error(
    driver: Driver, base_url: str, app: ClientCredentials, cache: TokenCache
) -> None:
    """A token URL where nothing listens is a LoginError that says so."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = OAuth2ClientCredentials(f"http://127.0.0.1:{port}{TOKEN_PATH}")

    with pytest.raises(LoginError, match="Could not reach"):
        driver.get(driver.auth(app, source, cache=cache), base_url + FILES_PATH)

    assert len(cache) == 0


def test_no_secret_reaches_a_repr_a_message_or_the_log(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    password_grant: OAuth2PasswordGrant,
    person: PasswordCredentials,
    app: ClientCredentials,
    cache: TokenCache,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Secrets and tokens are absent from reprs, strs, messages and DEBUG logs."""
    caplog.set_level(logging.DEBUG)
    auth = driver.auth(person, password_grant, cache=cache)
    driver.get(auth, base_url + FILES_PATH)
    clock.advance(301)
    driver.get(auth, base_url + FILES_PATH)
    wrong = ClientCredentials(client_id=CLIENT_ID, client_secret="not-the-secret")
    with pytest.raises(LoginError) as caught:
        driver.get(
            driver.auth(
                wrong,
                OAuth2ClientCredentials(token_url=password_grant.token_url),
                cache=cache,
            ),
            base_url + FILES_PATH,
        )

    tokens = {
        call.authorization.split()[1]
        for call in api.recorded_calls
        if call.authorization
    }
    refresh_tokens = {f["refresh_token"] for f in _forms(api) if "refresh_token" in f}
    shown = " ".join(
        [
            repr(auth),
            repr(password_grant),
            str(password_grant),
            repr(person),
            str(person),
            repr(app),
            str(app),
            repr(wrong),
            repr(caught.value),
            str(caught.value),
            caplog.text,
        ]
    )
    assert len(tokens) == 2
    assert len(refresh_tokens) == 1
    for secret in [CLIENT_SECRET, PASSWORD, "not-the-secret", *tokens, *refresh_tokens]:
        assert secret not in shown
    assert "password grant sent" in caplog.text
    assert "refresh_token grant sent" in caplog.text


# Answers the demo API never gives, from a mock transport ---------------------------


@pytest.fixture
def mock_source(driver: Driver) -> Iterator[Callable[..., Any]]:
    """Build a source whose token requests go to a handler, on the driver's library."""
    opened: list[Any] = []

    def build(
        handler: Callable[[Any], Any], kind: type[Any] = OAuth2ClientCredentials
    ) -> Any:
        transport = driver.module.MockTransport(handler)
        client = driver.client(transport=transport)
        opened.append(client)
        option = "async_client" if driver.is_async else "client"
        return kind("https://auth.example.com/token", **{option: client})

    yield build

    for client in opened:
        if driver.is_async:
            driver.run(client.aclose)
        else:
            client.close()


def _fetch(driver: Driver, source: Any, credentials: Any) -> Any:
    """Run the source's `fetch`, or its `afetch` in the driver's event loop."""
    context = _context(driver)
    if driver.is_async:
        return driver.run(lambda: source.afetch(credentials, context))
    return source.fetch(credentials, context)


def _refresh(driver: Driver, source: Any, credentials: Any) -> Any:
    """Run the source's `refresh` or `arefresh` with a made-up refresh token."""
    context = _context(driver)
    if driver.is_async:
        return driver.run(lambda: source.arefresh("old-refresh", credentials, context))
    return source.refresh("old-refresh", credentials, context)


def _context(driver: Driver) -> LoginContext:
    if driver.library == "httpx":
        return LoginContext(HTTPX)
    from httpx_cached_auth.httpx2 import HTTPX2

    return LoginContext(HTTPX2)


def _answer(driver: Driver, status: int, body: object, **headers: str) -> Any:
    return driver.module.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
    )


def test_expires_in_given_as_a_string_is_read_as_seconds(
    driver: Driver, mock_source: Any, app: ClientCredentials
) -> None:
    """An `expires_in` given as the string "3600" is read as 3600 seconds."""
    answer = {
        "access_token": "abc",
        "token_type": "bearer",
        "expires_in": "3600",
        "refresh_token": "def",
    }
    source = mock_source(lambda request: _answer(driver, 200, answer))

    token = _fetch(driver, source, app)

    assert token.expires_in == 3600.0
    assert token.refresh_token is not None
    assert token.refresh_token.get_secret_value() == "def"


def test_a_redirect_is_not_followed(
    driver: Driver, mock_source: Any, app: ClientCredentials
) -> None:
    """A 307 is a LoginError naming its target, which is never sent the secret."""
    requests: list[Any] = []

    def handler(request: Any) -> Any:
        requests.append(request)
        return driver.module.Response(
            307, headers={"Location": "https://evil.example/t"}
        )

    with pytest.raises(LoginError, match=r"evil\.example"):
        _fetch(driver, mock_source(handler), app)

    assert [str(r.url) for r in requests] == ["https://auth.example.com/token"]


def test_an_answer_that_is_not_json_raises_token_response_error(
    driver: Driver, mock_source: Any, app: ClientCredentials
) -> None:
    """A 200 with an HTML body is a TokenResponseError pointing at the token URL."""
    source = mock_source(lambda request: driver.module.Response(200, text="<html>"))

    with pytest.raises(TokenResponseError, match="not JSON"):
        _fetch(driver, source, app)


def test_an_unregistered_error_code_and_any_description_stay_out_of_the_message(
    driver: Driver, mock_source: Any, app: ClientCredentials
) -> None:
    """An unregistered `error` and any `error_description` stay out of the message."""
    echo = {"error": CLIENT_SECRET, "error_description": f"bad {CLIENT_SECRET}"}
    source = mock_source(lambda request: _answer(driver, 400, echo))

    with pytest.raises(LoginError, match="answered 400:") as caught:
        _fetch(driver, source, app)

    assert CLIENT_SECRET not in str(caught.value)


@pytest.mark.parametrize("status", [400, 401])
def test_a_refused_refresh_returns_none(
    driver: Driver, mock_source: Any, app: ClientCredentials, status: int
) -> None:
    """A refresh answered 400 or 401 returns None, so that the cache logs in again."""
    refused = {"error": "invalid_grant"}
    source = mock_source(lambda request: _answer(driver, status, refused))

    assert _refresh(driver, source, app) is None


def test_a_refresh_that_fails_otherwise_raises(
    driver: Driver, mock_source: Any, app: ClientCredentials
) -> None:
    """A refresh answered 500 is a LoginError, not a refused refresh token."""
    source = mock_source(
        lambda request: _answer(driver, 500, {"error": "server_error"})
    )

    with pytest.raises(LoginError, match="500"):
        _refresh(driver, source, app)


# Misuse --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: OAuth2ClientCredentials("/oauth/token"), ValueError, "absolute"),
        (
            lambda: OAuth2ClientCredentials(
                "https://a.example/t", client_auth="header"
            ),  # type: ignore[arg-type]
            ValueError,
            "client_auth",
        ),
        (
            lambda: OAuth2ClientCredentials(
                "https://a.example/t", extra_params={"scope": "x", "grant_type": "y"}
            ),
            ValueError,
            "'grant_type', 'scope'",
        ),
        (
            lambda: OAuth2ClientCredentials(
                "https://a.example/t", headers={"authorization": "Bearer x"}
            ),
            ValueError,
            "Authorization",
        ),
        (
            lambda: OAuth2ClientCredentials("https://a.example/t", scope=["a", 1]),  # type: ignore[list-item]
            TypeError,
            "scope",
        ),
        (
            lambda: OAuth2PasswordGrant("https://a.example/t", client_secret="s"),
            ValueError,
            "client_id",
        ),
        (
            lambda: OAuth2PasswordGrant(
                "https://a.example/t", client_id="c", client_secret=""
            ),
            ValueError,
            "public client",
        ),
    ],
    ids=[
        "relative-url",
        "unknown-client-auth",
        "reserved-extra-param",
        "authorization-header",
        "non-string-scope",
        "secret-without-id",
        "empty-secret",
    ],
)
def test_misuse_at_construction_is_refused(
    build: Callable[[], object], error: type[Exception], message: str
) -> None:
    """Settings that cannot work are refused when the source is built."""
    with pytest.raises(error, match=message):
        build()
