"""
The embedded login API, tested over real HTTP with plain httpx clients.

These tests use no library code: they pin down the behaviour of the server that the
demo, the example project and the rest of the suite rely on.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
import uvicorn

from httpx_cached_auth._demo_api import DemoLoginAPI, serve

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"
NEW_USER = {
    "email": EMAIL,
    "password": PASSWORD,
    "lastName": "Lovelace",
    "firstName": "Ada",
    "middleName": "King",
}

Start = Callable[..., tuple[DemoLoginAPI, httpx.Client]]


@pytest.fixture
def start() -> Iterator[Start]:
    """Serve a `DemoLoginAPI` built with the given settings, and a client for it."""
    with contextlib.ExitStack() as stack:

        def start(**settings: Any) -> tuple[DemoLoginAPI, httpx.Client]:
            api = DemoLoginAPI(**{"login_delay": 0, **settings})
            base_url = stack.enter_context(serve(api))
            client = stack.enter_context(httpx.Client(base_url=base_url))
            return api, client

        yield start


@pytest.fixture
def api_and_client(start: Start) -> tuple[DemoLoginAPI, httpx.Client]:
    return start()


@pytest.fixture
def api(api_and_client: tuple[DemoLoginAPI, httpx.Client]) -> DemoLoginAPI:
    return api_and_client[0]


@pytest.fixture
def client(api_and_client: tuple[DemoLoginAPI, httpx.Client]) -> httpx.Client:
    return api_and_client[1]


def log_in(client: httpx.Client, password: str = PASSWORD) -> dict[str, Any]:
    """Sign up if needed, log in, and return the `token` object of the answer."""
    client.post("/api/v1/users", json=NEW_USER)
    response = client.post(
        "/api/v1/authentication/login", json={"email": EMAIL, "password": password}
    )
    assert response.status_code == 200, response.text
    token: dict[str, Any] = response.json()["token"]

    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jwt_payload(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    payload: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )

    return payload


def sign_jwt(payload: dict[str, Any], key: bytes) -> str:
    def encode(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{encode(json.dumps(payload).encode())}"
    digest = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()

    return f"{signing_input}.{encode(digest)}"


def oauth(
    client: httpx.Client,
    form: dict[str, str],
    auth: tuple[str, str] | None = None,
) -> httpx.Response:
    basic = httpx.BasicAuth(*auth) if auth is not None else httpx.USE_CLIENT_DEFAULT

    return client.post("/oauth/token", data=form, auth=basic)


# Users and logins -------------------------------------------------------------------


def test_create_user_answers_the_user_in_camel_case(client: httpx.Client) -> None:
    """Signing up answers the new user with camelCase names and no password."""
    response = client.post("/api/v1/users", json=NEW_USER)

    assert response.status_code == 200
    user = response.json()["user"]
    assert set(user) == {"id", "email", "lastName", "firstName", "middleName"}
    assert user["email"] == EMAIL
    assert (user["lastName"], user["firstName"], user["middleName"]) == (
        "Lovelace",
        "Ada",
        "King",
    )


def test_create_user_twice_is_forbidden(client: httpx.Client) -> None:
    """Signing up with an email that exists answers 403 with a detail."""
    client.post("/api/v1/users", json=NEW_USER)

    response = client.post("/api/v1/users", json=NEW_USER)

    assert response.status_code == 403
    assert "detail" in response.json()


def test_create_user_without_a_field_is_unprocessable(client: httpx.Client) -> None:
    """Signing up without a required field answers 422 naming the field."""
    body = {key: value for key, value in NEW_USER.items() if key != "middleName"}

    response = client.post("/api/v1/users", json=body)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "middleName"]


def test_a_body_that_is_not_a_json_object_is_unprocessable(
    client: httpx.Client,
) -> None:
    """A login whose body is not a JSON object answers 422."""
    for content in [b"not json", b"[1, 2]"]:
        response = client.post("/api/v1/authentication/login", content=content)

        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body"]


def test_create_user_helper_registers_a_user(
    api: DemoLoginAPI, client: httpx.Client
) -> None:
    """A user made with `create_user` can log in, and cannot be made twice."""
    api.create_user(EMAIL, PASSWORD)

    response = client.post(
        "/api/v1/authentication/login", json={"email": EMAIL, "password": PASSWORD}
    )

    assert response.status_code == 200
    with pytest.raises(ValueError, match="already exists"):
        api.create_user(EMAIL, "another password")


def test_login_answers_a_bearer_token_in_camel_case(client: httpx.Client) -> None:
    """A login answers exactly tokenType, accessToken and refreshToken."""
    token = log_in(client)

    assert set(token) == {"tokenType", "accessToken", "refreshToken"}
    assert token["tokenType"] == "bearer"
    assert token["accessToken"] != token["refreshToken"]


@pytest.mark.parametrize(
    "credentials",
    [{"email": EMAIL, "password": "wrong"}, {"email": "nobody@x.org", "password": "p"}],
    ids=["wrong password", "unknown email"],
)
def test_bad_credentials_are_refused_without_a_challenge(
    client: httpx.Client, credentials: dict[str, str]
) -> None:
    """A refused login is a 401 "Invalid credentials" with no WWW-Authenticate."""
    client.post("/api/v1/users", json=NEW_USER)

    response = client.post("/api/v1/authentication/login", json=credentials)

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid credentials"}
    assert "WWW-Authenticate" not in response.headers


def test_every_token_is_unique(client: httpx.Client) -> None:
    """Two logins in a row never answer the same token."""
    first, second = log_in(client), log_in(client)

    tokens = {first["accessToken"], first["refreshToken"]}
    tokens |= {second["accessToken"], second["refreshToken"]}
    assert len(tokens) == 4


def test_include_expires_in_adds_the_access_lifetime(start: Start) -> None:
    """With `include_expires_in`, the token object also carries expiresIn."""
    _, client = start(include_expires_in=True, access_ttl=600)

    token = log_in(client)

    assert token["expiresIn"] == 600


def test_logins_wait_without_blocking_each_other(start: Start) -> None:
    """Two logins sent at once each take `login_delay`, and they overlap in time."""
    api, client = start(login_delay=0.3)
    client.post("/api/v1/users", json=NEW_USER)
    statuses: list[int] = []

    async def log_in_twice() -> None:
        async with httpx.AsyncClient(base_url=str(client.base_url)) as async_client:

            async def one_login() -> None:
                body = {"email": EMAIL, "password": PASSWORD}
                url = "/api/v1/authentication/login"
                response = await async_client.post(url, json=body)
                statuses.append(response.status_code)

            async with anyio.create_task_group() as group:
                group.start_soon(one_login)
                group.start_soon(one_login)

    anyio.run(log_in_twice)

    first, second = api.recorded_logins
    assert statuses == [200, 200]
    assert first.overlaps(second)
    assert first.finished - first.started >= 0.3


# Protected routes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/api/v1/files", "files"),
        ("/api/v1/courses", "courses"),
        ("/api/v1/exercises", "exercises"),
    ],
)
def test_protected_call_with_the_access_token_succeeds(
    client: httpx.Client, path: str, key: str
) -> None:
    """A protected route answers its list and the token's user."""
    token = log_in(client)

    response = client.get(path, headers=bearer(token["accessToken"]))

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body[key], list)
    assert body["user"]["email"] == EMAIL


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic YTpi"}, {"Authorization": "Bearer"}],
    ids=["missing", "not bearer", "empty bearer"],
)
def test_call_without_a_bearer_token_is_challenged(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    """Without a bearer token, a protected route answers 401 with a Bearer challenge."""
    response = client.get("/api/v1/files", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_upload_answers_the_size_of_the_body(client: httpx.Client) -> None:
    """The upload route answers how many body bytes arrived."""
    token = log_in(client)
    content = b"x" * 100_000

    response = client.post(
        "/api/v1/files/upload", content=content, headers=bearer(token["accessToken"])
    )

    assert response.status_code == 200
    assert response.json()["size"] == 100_000


def test_access_and_refresh_tokens_are_interchangeable(client: httpx.Client) -> None:
    """The server does not tell tokens apart: each works where the other does."""
    token = log_in(client)

    call = client.get("/api/v1/files", headers=bearer(token["refreshToken"]))
    refresh = client.post(
        "/api/v1/authentication/refresh", json={"refreshToken": token["accessToken"]}
    )

    assert call.status_code == 200
    assert refresh.status_code == 200
    assert refresh.json()["token"]["refreshToken"] == token["accessToken"]


def assert_refused_without_challenge(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or expired token"}
    assert "WWW-Authenticate" not in response.headers


def test_revoked_tokens_are_refused_without_a_challenge(
    api: DemoLoginAPI, client: httpx.Client
) -> None:
    """After `revoke_all_tokens`, access and refresh tokens get a bare 401."""
    token = log_in(client)

    api.revoke_all_tokens()

    assert_refused_without_challenge(
        client.get("/api/v1/files", headers=bearer(token["accessToken"]))
    )
    assert_refused_without_challenge(
        client.post(
            "/api/v1/authentication/refresh",
            json={"refreshToken": token["refreshToken"]},
        )
    )
    fresh = log_in(client)
    assert client.get("/api/v1/files", headers=bearer(fresh["accessToken"])).is_success


def test_revoke_access_tokens_keeps_refresh_tokens(
    api: DemoLoginAPI, client: httpx.Client
) -> None:
    """After `revoke_access_tokens`, the access token fails but a refresh works."""
    token = log_in(client)

    api.revoke_access_tokens()

    assert_refused_without_challenge(
        client.get("/api/v1/files", headers=bearer(token["accessToken"]))
    )
    response = client.post(
        "/api/v1/authentication/refresh", json={"refreshToken": token["refreshToken"]}
    )
    assert response.status_code == 200
    new_access = response.json()["token"]["accessToken"]
    assert client.get("/api/v1/files", headers=bearer(new_access)).is_success


def test_forged_and_foreign_tokens_are_refused(client: httpx.Client) -> None:
    """A token with a bad signature, or signed by another API, gets a bare 401."""
    token = log_in(client)["accessToken"]
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    foreign = sign_jwt({"expire": "2999-01-01T00:00:00", "user_id": "x"}, b"key")

    for bad_token in [forged, foreign, "not-a-jwt", "a.b.c"]:
        response = client.get("/api/v1/files", headers=bearer(bad_token))
        assert_refused_without_challenge(response)


def test_access_tokens_expire_after_access_ttl(start: Start) -> None:
    """An access token is refused once `access_ttl` seconds have passed."""
    _, client = start(access_ttl=0.2)
    token = log_in(client)
    assert client.get("/api/v1/files", headers=bearer(token["accessToken"])).is_success

    # The server's clock is the wall clock, so this one test has to wait.
    time.sleep(0.3)

    response = client.get("/api/v1/files", headers=bearer(token["accessToken"]))
    assert_refused_without_challenge(response)


# Tokens -----------------------------------------------------------------------------


def test_tokens_carry_expire_and_no_exp(client: httpx.Client) -> None:
    """By default a token's payload has `expire` and `user_id`, and no `exp`."""
    token = log_in(client)

    payload = jwt_payload(token["accessToken"])

    assert "exp" not in payload
    assert {"expire", "user_id", "jti"} <= set(payload)
    assert "+" not in payload["expire"]
    assert "Z" not in payload["expire"]
    header = json.loads(base64.urlsafe_b64decode(token["accessToken"].split(".")[0]))
    assert header == {"alg": "HS256", "typ": "JWT"}


def test_jwt_exp_adds_an_integer_exp_claim(start: Start) -> None:
    """With `jwt_exp=True`, tokens also carry an integer `exp` near `expire`."""
    _, client = start(jwt_exp=True, access_ttl=600)
    before = time.time()

    payload = jwt_payload(log_in(client)["accessToken"])

    assert isinstance(payload["exp"], int)
    assert before + 598 <= payload["exp"] <= time.time() + 600


# Refresh ----------------------------------------------------------------------------


def test_refresh_answers_a_new_access_token_and_echoes_the_refresh_token(
    api: DemoLoginAPI, client: httpx.Client
) -> None:
    """A refresh answers the login shape, a new access token and the same refresh."""
    token = log_in(client)

    response = client.post(
        "/api/v1/authentication/refresh", json={"refreshToken": token["refreshToken"]}
    )

    assert response.status_code == 200
    refreshed = response.json()["token"]
    assert set(refreshed) == {"tokenType", "accessToken", "refreshToken"}
    assert refreshed["accessToken"] != token["accessToken"]
    assert refreshed["refreshToken"] == token["refreshToken"]
    assert api.refreshes == 1


def test_refresh_with_a_snake_case_key_is_unprocessable(client: httpx.Client) -> None:
    """The refresh endpoint knows only `refreshToken`: `refresh_token` gets 422."""
    token = log_in(client)

    response = client.post(
        "/api/v1/authentication/refresh",
        json={"refresh_token": token["refreshToken"]},
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "refreshToken"]


def test_refresh_with_a_bad_token_is_refused(client: httpx.Client) -> None:
    """Refreshing with a token the server never issued gets a bare 401."""
    response = client.post(
        "/api/v1/authentication/refresh", json={"refreshToken": "a.b.c"}
    )

    assert_refused_without_challenge(response)


def test_json_refresh_rotates_when_asked(start: Start) -> None:
    """With rotation, a JSON refresh answers a new refresh token and spends the old."""
    _, client = start(rotate_refresh_tokens=True)
    old = log_in(client)["refreshToken"]

    response = client.post("/api/v1/authentication/refresh", json={"refreshToken": old})

    new = response.json()["token"]["refreshToken"]
    assert new != old
    again = client.post("/api/v1/authentication/refresh", json={"refreshToken": old})
    assert_refused_without_challenge(again)


# Failures, counters and records ----------------------------------------------------


def test_fail_next_logins_fails_that_many_logins(
    api: DemoLoginAPI, client: httpx.Client
) -> None:
    """`fail_next_logins(2, 503)` makes exactly the next two logins answer 503."""
    client.post("/api/v1/users", json=NEW_USER)
    api.fail_next_logins(2, status=503)
    body = {"email": EMAIL, "password": PASSWORD}

    statuses = [
        client.post("/api/v1/authentication/login", json=body).status_code
        for _ in range(3)
    ]

    assert statuses == [503, 503, 200]


def test_fail_next_refreshes_and_token_requests(start: Start) -> None:
    """Injected refresh and token endpoint failures answer the status asked for."""
    api, client = start(oauth_clients={"app": "s3cret"})
    token = log_in(client)
    api.fail_next_refreshes(1)
    api.fail_next_token_requests(1, status=502)

    refresh = client.post(
        "/api/v1/authentication/refresh", json={"refreshToken": token["refreshToken"]}
    )
    grant = oauth(client, {"grant_type": "client_credentials"}, auth=("app", "s3cret"))

    assert refresh.status_code == 500
    assert grant.status_code == 502
    assert grant.json()["error"] == "server_error"


@pytest.mark.parametrize(
    "call",
    [
        lambda api: api.fail_next_logins(-1),
        lambda api: api.fail_next_logins(1, status=200),
        lambda api: DemoLoginAPI(access_ttl=-1),
    ],
    ids=["negative count", "success status", "negative ttl"],
)
def test_misuse_raises_value_error(
    api: DemoLoginAPI, call: Callable[[DemoLoginAPI], object]
) -> None:
    """Settings that make no sense raise `ValueError` at once."""
    with pytest.raises(ValueError, match="must be"):
        call(api)


def test_counters_and_records_are_exact(
    api: DemoLoginAPI, client: httpx.Client
) -> None:
    """Counters count every request, and records keep path, header and status."""
    token = log_in(client)
    client.post("/api/v1/authentication/login", json={"email": EMAIL, "password": "x"})
    client.get("/api/v1/files")
    client.get("/api/v1/courses", headers=bearer(token["accessToken"]))
    client.post(
        "/api/v1/authentication/refresh", json={"refreshToken": token["refreshToken"]}
    )

    assert (api.logins, api.refreshes, api.api_calls) == (2, 1, 2)
    assert api.oauth_token_requests == 0
    assert [(a.email, a.status) for a in api.recorded_logins] == [
        (EMAIL, 200),
        (EMAIL, 401),
    ]
    calls = api.recorded_calls
    assert [(c.method, c.path, c.status) for c in calls] == [
        ("GET", "/api/v1/files", 401),
        ("GET", "/api/v1/courses", 200),
    ]
    assert [c.authorization for c in calls] == [None, f"Bearer {token['accessToken']}"]

    api.reset_counters()

    assert (api.logins, api.refreshes, api.api_calls) == (0, 0, 0)
    assert api.recorded_calls == []
    assert api.recorded_logins == []
    assert len(api.users) == 1


def test_reprs_and_logs_hide_passwords_and_tokens(
    api: DemoLoginAPI, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """No log line, nor repr of the API or its records, shows a password or a token."""
    caplog.set_level(logging.DEBUG)
    token = log_in(client)
    client.get("/api/v1/files", headers=bearer(token["accessToken"]))
    api.oauth_clients["app"] = "client-s3cret"
    oauth(client, {"grant_type": "client_credentials"}, auth=("app", "client-s3cret"))

    records: list[object] = [api, *api.users, *api.recorded_calls]
    records += [*api.recorded_logins, *api.recorded_token_requests]
    text = " ".join(repr(record) for record in records) + caplog.text

    for secret in [PASSWORD, token["accessToken"], "client-s3cret"]:
        assert secret not in text


# The OAuth 2 token endpoint -------------------------------------------------------


CLIENTS = {"app": "s3cret", "public-app": ""}


@pytest.fixture
def oauth_client(start: Start) -> tuple[DemoLoginAPI, httpx.Client]:
    api, client = start(oauth_clients=CLIENTS, access_ttl=600)
    api.create_user(EMAIL, PASSWORD)

    return api, client


def test_client_credentials_with_basic_auth(
    oauth_client: tuple[DemoLoginAPI, httpx.Client],
) -> None:
    """A client authenticated by HTTP Basic gets a bearer token without a refresh."""
    api, client = oauth_client

    response = oauth(
        client,
        {"grant_type": "client_credentials", "scope": "files"},
        ("app", "s3cret"),
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == (
        "Bearer",
        600,
        "files",
    )
    assert response.headers["Cache-Control"] == "no-store"
    (record,) = api.recorded_token_requests
    assert record.form == {"grant_type": "client_credentials", "scope": "files"}
    assert (record.client_auth, record.client_id, record.status) == (
        "client_secret_basic",
        "app",
        200,
    )
    answer = client.get("/api/v1/files", headers=bearer(body["access_token"]))
    assert answer.json()["clientId"] == "app"


def test_client_credentials_with_body_auth(
    oauth_client: tuple[DemoLoginAPI, httpx.Client],
) -> None:
    """A client may instead send its id and secret in the form body."""
    api, client = oauth_client
    form = {"grant_type": "client_credentials", "client_id": "app"}
    form["client_secret"] = "s3cret"

    response = oauth(client, form)

    assert response.status_code == 200
    (record,) = api.recorded_token_requests
    assert record.form == form
    assert record.grant_type == "client_credentials"
    assert record.client_auth == "client_secret_post"
    assert api.oauth_token_requests == 1


def test_password_grant_answers_a_refresh_token(
    oauth_client: tuple[DemoLoginAPI, httpx.Client],
) -> None:
    """A password grant checks the user's email and password, and adds a refresh."""
    _, client = oauth_client
    form = {"grant_type": "password", "username": EMAIL, "password": PASSWORD}

    response = oauth(client, form, ("app", "s3cret"))

    assert response.status_code == 200
    body = response.json()
    assert {"access_token", "refresh_token", "expires_in"} <= set(body)
    assert "scope" not in body
    answer = client.get("/api/v1/files", headers=bearer(body["access_token"]))
    assert answer.json()["user"]["email"] == EMAIL


def test_password_grant_from_a_public_client(
    oauth_client: tuple[DemoLoginAPI, httpx.Client],
) -> None:
    """A password grant without client authentication is accepted."""
    api, client = oauth_client
    form = {"grant_type": "password", "username": EMAIL, "password": PASSWORD}

    response = oauth(client, form)

    assert response.status_code == 200
    assert api.recorded_token_requests[0].client_auth == "none"


@pytest.mark.parametrize(
    ("form", "auth", "challenged"),
    [
        ({"grant_type": "client_credentials"}, ("app", "wrong"), True),
        ({"grant_type": "client_credentials"}, ("stranger", "s3cret"), True),
        (
            {"grant_type": "client_credentials", "client_id": "app"}
            | {"client_secret": "wrong"},
            None,
            False,
        ),
        ({"grant_type": "client_credentials"}, None, False),
        ({"grant_type": "password", "client_id": "app"}, None, False),
    ],
    ids=["bad secret", "unknown client", "bad body secret", "anonymous", "no secret"],
)
def test_bad_client_is_invalid_client(
    oauth_client: tuple[DemoLoginAPI, httpx.Client],
    form: dict[str, str],
    auth: tuple[str, str] | None,
    challenged: bool,
) -> None:
    """A client that fails to authenticate gets 401 invalid_client."""
    _, client = oauth_client

    response = oauth(client, form, auth)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    # RFC 6749 section 5.2: only a client that tried Basic is challenged.
    assert ("WWW-Authenticate" in response.headers) is challenged


def test_wrong_password_is_invalid_grant(
    oauth_client: tuple[DemoLoginAPI, httpx.Client],
) -> None:
    """A password grant with a wrong password gets 400 invalid_grant."""
    _, client = oauth_client
    form = {"grant_type": "password", "username": EMAIL, "password": "wrong"}

    response = oauth(client, form, ("app", "s3cret"))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"scope": "files"}, "invalid_request"),
        ({"grant_type": "password", "username": EMAIL}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        (
            {"grant_type": "client_credentials", "client_secret": "s3cret"},
            "invalid_request",
        ),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ],
    ids=["no grant type", "no password", "no refresh token", "two auths", "unknown"],
)
def test_malformed_token_requests_are_rejected(
    oauth_client: tuple[DemoLoginAPI, httpx.Client], form: dict[str, str], error: str
) -> None:
    """A malformed token request gets 400 and the RFC 6749 error code."""
    _, client = oauth_client

    response = oauth(client, form, ("app", "s3cret"))

    assert response.status_code == 400
    assert response.json()["error"] == error


def test_repeated_parameter_is_invalid_request(
    oauth_client: tuple[DemoLoginAPI, httpx.Client],
) -> None:
    """A token request that repeats a parameter gets 400 invalid_request."""
    api, client = oauth_client
    content = "grant_type=client_credentials&grant_type=password"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    response = client.post(
        "/oauth/token", content=content, headers=headers, auth=("app", "s3cret")
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert api.recorded_token_requests[0].form == {"grant_type": "password"}


@pytest.mark.parametrize("credentials", ["!!!", base64.b64encode(b"no-colon").decode()])
def test_malformed_basic_credentials_are_invalid_client(
    oauth_client: tuple[DemoLoginAPI, httpx.Client], credentials: str
) -> None:
    """Basic credentials that do not decode to `id:secret` get 401 invalid_client."""
    _, client = oauth_client
    headers = {"Authorization": f"Basic {credentials}"}

    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=headers
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_token_request_must_be_form_encoded(
    oauth_client: tuple[DemoLoginAPI, httpx.Client],
) -> None:
    """A JSON token request gets 400 invalid_request."""
    _, client = oauth_client

    response = client.post(
        "/oauth/token",
        json={"grant_type": "client_credentials"},
        auth=("app", "s3cret"),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def password_grant(client: httpx.Client) -> dict[str, Any]:
    form = {"grant_type": "password", "username": EMAIL, "password": PASSWORD}
    body: dict[str, Any] = oauth(client, form, ("app", "s3cret")).json()

    return body


def test_refresh_grant_without_rotation_keeps_the_refresh_token(
    oauth_client: tuple[DemoLoginAPI, httpx.Client],
) -> None:
    """Without rotation, a refresh grant answers no refresh token; the old one stays."""
    _, client = oauth_client
    refresh_token = password_grant(client)["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}

    first = oauth(client, form, ("app", "s3cret"))
    second = oauth(client, form, ("app", "s3cret"))

    assert first.status_code == second.status_code == 200
    assert "refresh_token" not in first.json()
    assert first.json()["access_token"] != second.json()["access_token"]


def test_refresh_grant_with_rotation_spends_the_refresh_token(start: Start) -> None:
    """With rotation, each refresh grant answers a new refresh token, single-use."""
    api, client = start(oauth_clients=CLIENTS, rotate_refresh_tokens=True)
    api.create_user(EMAIL, PASSWORD)
    old = password_grant(client)["refresh_token"]

    first = oauth(client, {"grant_type": "refresh_token", "refresh_token": old}, None)
    replay = oauth(client, {"grant_type": "refresh_token", "refresh_token": old}, None)

    new = first.json()["refresh_token"]
    assert new != old
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    after = oauth(client, {"grant_type": "refresh_token", "refresh_token": new}, None)
    assert after.status_code == 200


def test_revoked_refresh_token_is_invalid_grant(
    oauth_client: tuple[DemoLoginAPI, httpx.Client],
) -> None:
    """A refresh grant with a revoked refresh token gets 400 invalid_grant."""
    api, client = oauth_client
    refresh_token = password_grant(client)["refresh_token"]
    api.revoke_all_tokens()

    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    response = oauth(client, form, ("app", "s3cret"))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


# The server runner ----------------------------------------------------------------


def test_serve_can_run_many_times_and_side_by_side() -> None:
    """Servers start on fresh ports, one after another and two at a time."""
    api = DemoLoginAPI(login_delay=0)
    threads_before = set(threading.enumerate())
    urls = []

    for _ in range(3):
        with serve(api) as first, serve(api) as second:
            urls += [first, second]
            assert httpx.get(f"{first}/api/v1/files").status_code == 401
            assert httpx.get(f"{second}/api/v1/files").status_code == 401

    assert all(url.startswith("http://127.0.0.1:") for url in urls)
    assert len(set(urls[:2])) == 2
    assert api.api_calls == 6
    assert set(threading.enumerate()) <= threads_before


def test_serve_leaves_signal_handlers_alone() -> None:
    """Running the server in a thread installs no signal handler in the caller."""
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)

    with serve(DemoLoginAPI()):
        during = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)

    assert during == before


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_serve_works_under_the_caller_s_own_event_loops(
    client: httpx.Client, backend: str
) -> None:
    """The calling thread can run its own asyncio or trio loops against the server."""
    token = log_in(client)
    url = str(client.base_url)

    async def call() -> int:
        async with httpx.AsyncClient(base_url=url) as async_client:
            headers = bearer(token["accessToken"])
            response = await async_client.get("/api/v1/files", headers=headers)
            return response.status_code

    assert anyio.run(call, backend=backend) == 200
    assert anyio.run(call, backend=backend) == 200
    assert client.get("/api/v1/files", headers=bearer(token["accessToken"])).is_success


def test_serve_raises_when_the_server_cannot_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server whose startup fails makes `serve` raise instead of hanging."""

    async def failed_startup(self: object, sockets: object = None) -> None:
        raise SystemExit(3)

    monkeypatch.setattr(uvicorn.Server, "startup", failed_startup)

    with pytest.raises(RuntimeError, match="could not start"), serve(DemoLoginAPI()):
        pass
