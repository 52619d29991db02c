"""
An embedded login API for the demo, the example project and the test suite.

`DemoLoginAPI` imitates a small FastAPI service of the kind our users test against
(see the login API contract): users sign up, log in with a JSON body, refresh with
`{"refreshToken": ...}`, and call protected routes with a bearer token. It also has an
OAuth 2 token endpoint (RFC 6749) for the OAuth token sources. Every knob a test
needs is a keyword argument: the cost of a login, token lifetimes, refresh token
rotation, injected failures and revocation. Counters and records let a test check
exactly what the server received.

`serve()` runs the application with uvicorn in a daemon thread on `127.0.0.1`, on a
port the system picks, and yields its base URL. The server has its own event loop in
its own thread, so the calling thread is free to run sync clients or its own asyncio
or trio loops against it.

The API never logs, and its records hide passwords and tokens from `repr()`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, get_args

import anyio

if TYPE_CHECKING:
    import socket

try:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "The demo login API needs uvicorn and starlette, which come with the "
        "'demo' extra: pip install 'httpx-cached-auth[demo]'"
    ) from exc

__all__ = [
    "APICall",
    "ClientAuthMethod",
    "DemoLoginAPI",
    "DemoUser",
    "LoginAttempt",
    "TokenRequest",
    "serve",
]

ClientAuthMethod: TypeAlias = Literal[
    "client_secret_basic", "client_secret_post", "none"
]
"""How an OAuth client authenticated, named as in RFC 7591 section 2."""

_TokenKind: TypeAlias = Literal["access", "refresh"]
_Counter: TypeAlias = Literal[
    "logins", "refreshes", "oauth_token_requests", "api_calls"
]
_Endpoint: TypeAlias = Callable[[Request], Awaitable[Response]]
_ProtectedHandler: TypeAlias = Callable[[Request, dict[str, Any]], Awaitable[Any]]

_SIXTY_DAYS = 60 * 24 * 60 * 60.0
_EXPIRED_DETAIL = "Invalid or expired token"
_FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
_USER_FIELDS = ["email", "password", "lastName", "firstName", "middleName"]

# RFC 6749 section 5.1: token responses must not be cached.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# Records -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A registered user of the demo API; the password is kept out of `repr()`."""

    id: str
    email: str
    password: str = field(repr=False)
    last_name: str = ""
    first_name: str = ""
    middle_name: str = ""

    def to_json(self) -> dict[str, str]:
        """Return the user as the API shows it: camelCase and without the password."""
        return {
            "id": self.id,
            "email": self.email,
            "lastName": self.last_name,
            "firstName": self.first_name,
            "middleName": self.middle_name,
        }


@dataclass(frozen=True, slots=True)
class APICall:
    """
    One request to a protected route, with the `Authorization` value it carried.

    The header value is kept out of `repr()` because it holds a token.
    """

    method: str
    path: str
    authorization: str | None = field(repr=False)
    status: int


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """
    One request to the JSON login endpoint, timed with `time.monotonic()`.

    `email` is `None` when the body was not a valid login request.
    """

    email: str | None
    status: int
    started: float
    finished: float

    def overlaps(self, other: LoginAttempt) -> bool:
        """Tell whether the two logins were being served at the same time."""
        return self.started < other.finished and other.started < self.finished


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """
    One request to the OAuth token endpoint, with the form exactly as received.

    `form` maps each field to its value (the last one if a field was repeated) and is
    kept out of `repr()` because it holds secrets. `client_id` is the client the
    request named, authenticated or not.
    """

    form: Mapping[str, str] = field(repr=False)
    client_auth: ClientAuthMethod
    client_id: str | None
    status: int
    started: float
    finished: float

    @property
    def grant_type(self) -> str | None:
        """The `grant_type` field of the form, if any."""
        return self.form.get("grant_type")


@dataclass(frozen=True, slots=True)
class _Claims:
    """The parts of a verified token that the routes use."""

    jti: str
    user_id: str | None
    client_id: str | None


@dataclass(frozen=True, slots=True)
class _Client:
    """The client a token request names, and how it tried to authenticate."""

    auth: ClientAuthMethod
    client_id: str | None
    secret: str = field(default="", repr=False)


class _OAuthError(Exception):
    """An RFC 6749 section 5.2 error answer, raised inside the token endpoint."""

    def __init__(
        self, error: str, description: str, *, status: int = 400, basic: bool = False
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.basic = basic

    def response(self) -> Response:
        headers = dict(_NO_STORE)
        if self.basic:
            # RFC 6749 section 5.2: a client that tried HTTP Basic gets a 401 with a
            # challenge for the same scheme.
            headers["WWW-Authenticate"] = 'Basic realm="oauth"'
        body = {"error": self.error, "error_description": self.description}

        return JSONResponse(body, status_code=self.status, headers=headers)


# The API -------------------------------------------------------------------------


class DemoLoginAPI:
    """
    The state and settings of one embedded login API, and its Starlette `app`.

    Each instance signs its tokens with its own random key, so a token from another
    instance is rejected like a forged one. The methods and properties are
    thread-safe: the server runs in its own thread while a test reads counters from
    another. The settings below are plain attributes, read at each request, so a
    test may change them while the API is being served.

    Args:
        login_delay: Seconds each login (and OAuth password grant) takes, like
            bcrypt on the real server. The wait does not block other requests.
        access_ttl: Lifetime of access tokens, in seconds.
        refresh_ttl: Lifetime of refresh tokens, in seconds (60 days by default).
        jwt_exp: Also put a standard integer `exp` claim in tokens. The real API
            does not, which is why it is off by default.
        oauth_clients: Registered OAuth clients, client id to client secret. A
            client registered with an empty secret is a public client.
        rotate_refresh_tokens: Make refresh tokens single-use: each refresh, JSON or
            OAuth, answers a new refresh token and revokes the one presented.
        include_expires_in: Add `"expiresIn": access_ttl` to the JSON token answers.

    Raises:
        ValueError: If a delay or lifetime is negative.
    """

    def __init__(
        self,
        *,
        login_delay: float = 0.3,
        access_ttl: float = 1800.0,
        refresh_ttl: float = _SIXTY_DAYS,
        jwt_exp: bool = False,
        oauth_clients: Mapping[str, str] | None = None,
        rotate_refresh_tokens: bool = False,
        include_expires_in: bool = False,
    ) -> None:
        _check_not_negative(
            login_delay=login_delay, access_ttl=access_ttl, refresh_ttl=refresh_ttl
        )

        self.login_delay = login_delay
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.jwt_exp = jwt_exp
        self.oauth_clients: dict[str, str] = dict(oauth_clients or {})
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.include_expires_in = include_expires_in

        self._lock = threading.Lock()
        self._signing_key = secrets.token_bytes(32)
        self._users_by_email: dict[str, DemoUser] = {}
        self._users_by_id: dict[str, DemoUser] = {}
        self._issued: dict[str, _TokenKind] = {}
        self._revoked: set[str] = set()
        self._pending_failures: dict[str, list[int]] = {}
        self._counts: dict[_Counter, int] = {}
        self._calls: list[APICall] = []
        self._login_attempts: list[LoginAttempt] = []
        self._token_requests: list[TokenRequest] = []
        self.reset_counters()

        self.app = self._build_app()

    def __repr__(self) -> str:
        with self._lock:
            users = len(self._users_by_email)
            counts = ", ".join(f"{name}={n}" for name, n in self._counts.items())

        return f"<DemoLoginAPI users={users}, {counts}>"

    # Counters and records, readable from any thread.

    @property
    def logins(self) -> int:
        """Requests received at the JSON login endpoint, successful or not."""
        return self._read_count("logins")

    @property
    def refreshes(self) -> int:
        """Requests received at the JSON refresh endpoint, successful or not."""
        return self._read_count("refreshes")

    @property
    def oauth_token_requests(self) -> int:
        """Requests received at the OAuth token endpoint, successful or not."""
        return self._read_count("oauth_token_requests")

    @property
    def api_calls(self) -> int:
        """Requests received at protected routes, successful or not."""
        return self._read_count("api_calls")

    @property
    def recorded_calls(self) -> list[APICall]:
        """A copy of the protected calls, in the order they were answered."""
        with self._lock:
            return list(self._calls)

    @property
    def recorded_logins(self) -> list[LoginAttempt]:
        """A copy of the login attempts, in the order they were answered."""
        with self._lock:
            return list(self._login_attempts)

    @property
    def recorded_token_requests(self) -> list[TokenRequest]:
        """A copy of the OAuth token requests, in the order they were answered."""
        with self._lock:
            return list(self._token_requests)

    @property
    def users(self) -> list[DemoUser]:
        """A copy of the registered users, in the order they were created."""
        with self._lock:
            return list(self._users_by_email.values())

    def reset_counters(self) -> None:
        """
        Set every counter to zero and forget the recorded requests.

        Users, tokens, revocations and pending injected failures are kept.
        """
        with self._lock:
            self._counts = dict.fromkeys(get_args(_Counter), 0)
            self._calls.clear()
            self._login_attempts.clear()
            self._token_requests.clear()

    # Controls.

    def create_user(
        self,
        email: str,
        password: str,
        *,
        last_name: str = "",
        first_name: str = "",
        middle_name: str = "",
    ) -> DemoUser:
        """
        Register a user directly, as `POST /api/v1/users` would.

        Raises:
            ValueError: If a user with this email already exists.
        """
        user = DemoUser(
            id=str(uuid.uuid4()),
            email=email,
            password=password,
            last_name=last_name,
            first_name=first_name,
            middle_name=middle_name,
        )

        with self._lock:
            if email in self._users_by_email:
                raise ValueError(f"a user with the email {email!r} already exists")
            self._users_by_email[email] = user
            self._users_by_id[user.id] = user

        return user

    def fail_next_logins(self, count: int, status: int = 500) -> None:
        """
        Make the next `count` JSON logins answer `status`, whatever the credentials.

        The failures are answered after `login_delay`, like a real failed login.

        Raises:
            ValueError: If `count` is negative or `status` is not 4xx or 5xx.
        """
        self._add_failures("login", count, status)

    def fail_next_refreshes(self, count: int, status: int = 500) -> None:
        """
        Make the next `count` JSON refreshes answer `status`, whatever the token.

        Raises:
            ValueError: If `count` is negative or `status` is not 4xx or 5xx.
        """
        self._add_failures("refresh", count, status)

    def fail_next_token_requests(self, count: int, status: int = 500) -> None:
        """
        Make the next `count` well-formed OAuth token requests answer `status`.

        The body is `{"error": "server_error"}` whatever the status.

        Raises:
            ValueError: If `count` is negative or `status` is not 4xx or 5xx.
        """
        self._add_failures("oauth", count, status)

    def revoke_all_tokens(self) -> None:
        """Reject every token issued so far, access and refresh tokens alike."""
        with self._lock:
            self._revoked.update(self._issued)

    def revoke_access_tokens(self) -> None:
        """Reject the access tokens issued so far; refresh tokens stay valid."""
        with self._lock:
            access = (jti for jti, kind in self._issued.items() if kind == "access")
            self._revoked.update(access)

    # State helpers.

    def _read_count(self, name: _Counter) -> int:
        with self._lock:
            return self._counts[name]

    def _count(self, name: _Counter) -> None:
        with self._lock:
            self._counts[name] += 1

    def _add_failures(self, endpoint: str, count: int, status: int) -> None:
        if count < 0:
            raise ValueError(f"count must be zero or more, not {count!r}")
        if not 400 <= status <= 599:
            raise ValueError(f"status must be 4xx or 5xx, not {status!r}")

        with self._lock:
            self._pending_failures.setdefault(endpoint, []).extend([status] * count)

    def _take_failure(self, endpoint: str) -> int | None:
        with self._lock:
            pending = self._pending_failures.get(endpoint)
            return pending.pop(0) if pending else None

    def _check_password(self, email: str, password: str) -> DemoUser | None:
        with self._lock:
            user = self._users_by_email.get(email)
        if user is None:
            return None
        matches = hmac.compare_digest(user.password.encode(), password.encode())

        return user if matches else None

    def _user_by_id(self, user_id: str | None) -> DemoUser | None:
        with self._lock:
            return self._users_by_id.get(user_id) if user_id is not None else None

    # Tokens.

    def _issue(
        self,
        kind: _TokenKind,
        *,
        user_id: str | None = None,
        client_id: str | None = None,
    ) -> str:
        """Sign a new token and remember its id, so that it can be revoked."""
        ttl = self.access_ttl if kind == "access" else self.refresh_ttl
        expire = _utc_now() + datetime.timedelta(seconds=ttl)
        jti = secrets.token_hex(16)
        payload: dict[str, Any] = {"expire": expire.isoformat(), "jti": jti}
        if user_id is not None:
            payload["user_id"] = user_id
        if client_id is not None:
            payload["client_id"] = client_id
        if self.jwt_exp:
            # Rounded down, so that a client trusting `exp` renews a little early.
            aware = expire.replace(tzinfo=datetime.UTC)
            payload["exp"] = int(aware.timestamp())

        with self._lock:
            self._issued[jti] = kind

        return _encode_jwt(payload, self._signing_key)

    def _verify(self, token: str, *, consume: bool = False) -> _Claims | None:
        """
        Return the claims of a token this API issued and still honours.

        With `consume`, the token is also revoked in the same step, so that of two
        concurrent uses of a single-use token only one succeeds.
        """
        payload = _decode_jwt(token, self._signing_key)
        claims = _unexpired_claims(payload) if payload is not None else None
        if claims is None:
            return None

        with self._lock:
            honoured = claims.jti in self._issued and claims.jti not in self._revoked
            if honoured and consume:
                self._revoked.add(claims.jti)

        return claims if honoured else None

    def _verify_refresh_token(self, token: str) -> _Claims | None:
        """Verify a presented refresh token, using it up when tokens rotate."""
        return self._verify(token, consume=self.rotate_refresh_tokens)

    def _next_refresh_token(self, claims: _Claims) -> str | None:
        """With rotation, issue the successor of a used refresh token."""
        if not self.rotate_refresh_tokens:
            return None

        return self._issue(
            "refresh", user_id=claims.user_id, client_id=claims.client_id
        )

    def _token_json(self, access_token: str, refresh_token: str) -> dict[str, Any]:
        token: dict[str, Any] = {
            "tokenType": "bearer",
            "accessToken": access_token,
            "refreshToken": refresh_token,
        }
        if self.include_expires_in:
            token["expiresIn"] = _json_seconds(self.access_ttl)

        return {"token": token}

    # The JSON API.

    def _build_app(self) -> Starlette:
        def protected(path: str, handler: _ProtectedHandler, method: str) -> Route:
            return Route(path, self._protected(handler), methods=[method])

        routes = [
            Route("/api/v1/users", self._create_user, methods=["POST"]),
            Route("/api/v1/authentication/login", self._login, methods=["POST"]),
            Route("/api/v1/authentication/refresh", self._refresh, methods=["POST"]),
            protected("/api/v1/files", _list_files, "GET"),
            protected("/api/v1/files/upload", _upload, "POST"),
            protected("/api/v1/courses", _list_courses, "GET"),
            protected("/api/v1/exercises", _list_exercises, "GET"),
            Route("/oauth/token", self._oauth_token, methods=["POST"]),
        ]

        return Starlette(routes=routes)

    async def _create_user(self, request: Request) -> Response:
        body = await _json_object(request)
        missing = _missing_strings(body, _USER_FIELDS)
        if body is None or missing:
            return _unprocessable(missing)

        try:
            user = self.create_user(
                body["email"],
                body["password"],
                last_name=body["lastName"],
                first_name=body["firstName"],
                middle_name=body["middleName"],
            )
        except ValueError:
            return _detail(403, "A user with this email already exists")

        return JSONResponse({"user": user.to_json()})

    async def _login(self, request: Request) -> Response:
        started = time.monotonic()
        self._count("logins")
        body = await _json_object(request)
        email = body.get("email") if body is not None else None

        response = await self._login_response(body)

        attempt = LoginAttempt(
            email=email if isinstance(email, str) else None,
            status=response.status_code,
            started=started,
            finished=time.monotonic(),
        )
        with self._lock:
            self._login_attempts.append(attempt)

        return response

    async def _login_response(self, body: dict[str, Any] | None) -> Response:
        missing = _missing_strings(body, ["email", "password"])
        if body is None or missing:
            return _unprocessable(missing)

        # The real server spends this time in bcrypt; other requests go on meanwhile.
        await anyio.sleep(self.login_delay)

        failure = self._take_failure("login")
        if failure is not None:
            return _detail(failure, "Injected login failure")
        user = self._check_password(body["email"], body["password"])
        if user is None:
            # No WWW-Authenticate: this is a refused login, not a challenge.
            return _detail(401, "Invalid credentials")

        access_token = self._issue("access", user_id=user.id)
        refresh_token = self._issue("refresh", user_id=user.id)

        return JSONResponse(self._token_json(access_token, refresh_token))

    async def _refresh(self, request: Request) -> Response:
        self._count("refreshes")
        body = await _json_object(request)
        # Only the camelCase key counts, as in the real server's request model.
        missing = _missing_strings(body, ["refreshToken"])
        if body is None or missing:
            return _unprocessable(missing)

        failure = self._take_failure("refresh")
        if failure is not None:
            return _detail(failure, "Injected refresh failure")
        presented: str = body["refreshToken"]
        claims = self._verify_refresh_token(presented)
        if claims is None:
            return _detail(401, _EXPIRED_DETAIL)

        access_token = self._issue(
            "access", user_id=claims.user_id, client_id=claims.client_id
        )
        refresh_token = self._next_refresh_token(claims) or presented

        return JSONResponse(self._token_json(access_token, refresh_token))

    def _protected(self, handler: _ProtectedHandler) -> _Endpoint:
        """Wrap a route handler with bearer authentication, counting and recording."""

        async def endpoint(request: Request) -> Response:
            self._count("api_calls")
            authorization = request.headers.get("Authorization")

            response = await self._authenticated(request, authorization, handler)

            call = APICall(
                method=request.method,
                path=request.url.path,
                authorization=authorization,
                status=response.status_code,
            )
            with self._lock:
                self._calls.append(call)

            return response

        return endpoint

    async def _authenticated(
        self, request: Request, authorization: str | None, handler: _ProtectedHandler
    ) -> Response:
        token = _bearer_token(authorization)
        if token is None:
            # As with FastAPI's HTTPBearer, only a missing credential is challenged.
            challenge = {"WWW-Authenticate": "Bearer"}
            return _detail(401, "Not authenticated", headers=challenge)
        claims = self._verify(token)
        if claims is None:
            return _detail(401, _EXPIRED_DETAIL)

        user = self._user_by_id(claims.user_id)
        if user is None:
            owner: dict[str, Any] = {"user": None, "clientId": claims.client_id}
        else:
            owner = {"user": {"id": user.id, "email": user.email}}

        return JSONResponse(await handler(request, owner))

    # The OAuth 2 token endpoint (RFC 6749).

    async def _oauth_token(self, request: Request) -> Response:
        started = time.monotonic()
        self._count("oauth_token_requests")
        form = _parse_form(await request.body())
        fields = dict(form)
        client = _client_of(request.headers.get("Authorization"), fields)

        try:
            _check_form(request, form)
            self._authenticate_client(client, fields)
            body = await self._grant(client, fields)
            response: Response = JSONResponse(body, headers=_NO_STORE)
        except _OAuthError as error:
            response = error.response()

        record = TokenRequest(
            form=MappingProxyType(fields),
            client_auth=client.auth,
            client_id=client.client_id,
            status=response.status_code,
            started=started,
            finished=time.monotonic(),
        )
        with self._lock:
            self._token_requests.append(record)

        return response

    def _authenticate_client(self, client: _Client, fields: dict[str, str]) -> None:
        """Check the secret of the client the request names, if it names one."""
        basic = client.auth == "client_secret_basic"
        if basic and "client_secret" in fields:
            # RFC 6749 section 2.3: one authentication method per request.
            raise _OAuthError("invalid_request", "Use one client authentication method")
        if client.client_id is None and client.auth == "none":
            if fields["grant_type"] == "client_credentials":
                raise _OAuthError(
                    "invalid_client", "Client authentication needed", status=401
                )
            return

        expected = self.oauth_clients.get(client.client_id or "")
        if expected is None or not hmac.compare_digest(
            expected.encode(), client.secret.encode()
        ):
            raise _OAuthError(
                "invalid_client",
                "Unknown client or bad secret",
                status=401,
                basic=basic,
            )

    async def _grant(self, client: _Client, fields: dict[str, str]) -> dict[str, Any]:
        failure = self._take_failure("oauth")
        if failure is not None:
            raise _OAuthError("server_error", "Injected failure", status=failure)

        grant_type = fields["grant_type"]
        if grant_type == "client_credentials":
            body = self._oauth_body(self._issue("access", client_id=client.client_id))
        elif grant_type == "password":
            body = await self._password_grant(fields)
        elif grant_type == "refresh_token":
            body = self._refresh_token_grant(fields)
        else:
            raise _OAuthError("unsupported_grant_type", "Unknown grant_type")
        if "scope" in fields:
            body["scope"] = fields["scope"]

        return body

    async def _password_grant(self, fields: dict[str, str]) -> dict[str, Any]:
        if "username" not in fields or "password" not in fields:
            raise _OAuthError("invalid_request", "username and password are required")

        # A password grant checks the password just as a JSON login does.
        await anyio.sleep(self.login_delay)

        user = self._check_password(fields["username"], fields["password"])
        if user is None:
            raise _OAuthError("invalid_grant", "Invalid username or password")

        access_token = self._issue("access", user_id=user.id)
        refresh_token = self._issue("refresh", user_id=user.id)

        return self._oauth_body(access_token, refresh_token)

    def _refresh_token_grant(self, fields: dict[str, str]) -> dict[str, Any]:
        if "refresh_token" not in fields:
            raise _OAuthError("invalid_request", "refresh_token is required")
        claims = self._verify_refresh_token(fields["refresh_token"])
        if claims is None:
            raise _OAuthError("invalid_grant", _EXPIRED_DETAIL)

        access_token = self._issue(
            "access", user_id=claims.user_id, client_id=claims.client_id
        )
        # RFC 6749 section 6: without rotation the client keeps the refresh token it
        # has, so the answer carries none.
        refresh_token = self._next_refresh_token(claims)

        return self._oauth_body(access_token, refresh_token)

    def _oauth_body(
        self, access_token: str, refresh_token: str | None = None
    ) -> dict[str, Any]:
        # `expires_in` is whole seconds (RFC 6749 section 5.1), rounded down so that a
        # client renews early rather than late.
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": int(self.access_ttl),
        }
        if refresh_token is not None:
            body["refresh_token"] = refresh_token

        return body


# Protected routes. Each gets the request and the token's owner as JSON. ------------


async def _list_files(request: Request, owner: dict[str, Any]) -> dict[str, Any]:
    files = [{"id": 1, "name": "syllabus.pdf"}, {"id": 2, "name": "notes.txt"}]

    return {"files": files, **owner}


async def _list_courses(request: Request, owner: dict[str, Any]) -> dict[str, Any]:
    courses = [{"id": 1, "title": "HTTP basics"}, {"id": 2, "title": "Testing APIs"}]

    return {"courses": courses, **owner}


async def _list_exercises(request: Request, owner: dict[str, Any]) -> dict[str, Any]:
    exercises = [{"id": 1, "courseId": 1, "title": "Log in once"}]

    return {"exercises": exercises, **owner}


async def _upload(request: Request, owner: dict[str, Any]) -> dict[str, Any]:
    # The size lets a test check that a body re-sent after a 401 arrived in full.
    body = await request.body()

    return {"size": len(body), **owner}


# Request and response helpers -----------------------------------------------------


def _check_not_negative(**values: float) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{name} must be zero or more, not {value!r}")


async def _json_object(request: Request) -> dict[str, Any] | None:
    """Return the JSON object in the body, or `None` if the body is not one."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None

    return body if isinstance(body, dict) else None


def _missing_strings(body: dict[str, Any] | None, names: list[str]) -> list[str]:
    if body is None:
        return []

    return [name for name in names if not isinstance(body.get(name), str)]


def _detail(
    status: int, detail: str, *, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _unprocessable(missing: list[str]) -> Response:
    """Answer 422 in FastAPI's shape, without echoing the input (it may be secret)."""
    errors = [
        {"type": "missing", "loc": ["body", name], "msg": "Field required"}
        for name in missing
    ]
    if not missing:
        errors = [{"type": "model_type", "loc": ["body"], "msg": "Invalid body"}]

    return JSONResponse({"detail": errors}, status_code=422)


def _bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None

    return token.strip()


def _parse_form(body: bytes) -> list[tuple[str, str]]:
    # Starlette's own form parser needs python-multipart; a token request is only
    # ever url-encoded, which the standard library reads.
    text = body.decode("utf-8", errors="replace")

    return urllib.parse.parse_qsl(text, keep_blank_values=True)


def _check_form(request: Request, form: list[tuple[str, str]]) -> None:
    content_type = request.headers.get("Content-Type", "")
    if content_type.partition(";")[0].strip().lower() != _FORM_MEDIA_TYPE:
        raise _OAuthError("invalid_request", f"The body must be {_FORM_MEDIA_TYPE}")

    # RFC 6749 section 3.2: parameters must not be repeated.
    names = [name for name, _ in form]
    if len(names) != len(set(names)):
        raise _OAuthError("invalid_request", "A parameter was sent more than once")
    if "grant_type" not in names:
        raise _OAuthError("invalid_request", "grant_type is required")


def _client_of(authorization: str | None, fields: dict[str, str]) -> _Client:
    """Tell which client a token request names and how it tried to authenticate."""
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        client_id, secret = _basic_credentials(credentials.strip())
        return _Client("client_secret_basic", client_id, secret)

    client_id = fields.get("client_id")
    if "client_secret" in fields:
        return _Client("client_secret_post", client_id, fields["client_secret"])

    return _Client("none", client_id)


def _basic_credentials(credentials: str) -> tuple[str | None, str]:
    """Decode `client_id:client_secret`; a malformed value names no client."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, ""
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return None, ""

    # RFC 6749 section 2.3.1: both parts are form-encoded before base64.
    return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)


def _json_seconds(seconds: float) -> int | float:
    """Show whole seconds as an integer in JSON, as a real server would."""
    return int(seconds) if float(seconds).is_integer() else seconds


# JSON Web Tokens (RFC 7519), HS256 only -------------------------------------------


def _utc_now() -> datetime.datetime:
    """Return the time as the real API stores it: naive, in UTC."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _sign(signing_input: str, key: bytes) -> str:
    digest = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()

    return _b64url(digest)


def _encode_jwt(payload: dict[str, Any], key: bytes) -> str:
    header = {"alg": "HS256", "typ": "JWT"}
    segments = [
        _b64url(json.dumps(part, separators=(",", ":")).encode())
        for part in (header, payload)
    ]
    signing_input = ".".join(segments)

    return f"{signing_input}.{_sign(signing_input, key)}"


def _decode_jwt(token: str, key: bytes) -> dict[str, Any] | None:
    """Return the payload of a token signed with `key`, or `None`."""
    signing_input, _, signature = token.rpartition(".")
    if signing_input.count(".") != 1 or not signing_input.isascii():
        return None
    if not hmac.compare_digest(signature, _sign(signing_input, key)):
        return None

    try:
        payload = json.loads(_b64url_decode(signing_input.partition(".")[2]))
    except (ValueError, binascii.Error):
        return None

    return payload if isinstance(payload, dict) else None


def _unexpired_claims(payload: dict[str, Any]) -> _Claims | None:
    """Read the claims of a verified payload, or `None` if it has expired."""
    expire, jti = payload.get("expire"), payload.get("jti")
    if not isinstance(expire, str) or not isinstance(jti, str):
        return None
    try:
        expired = datetime.datetime.fromisoformat(expire) <= _utc_now()
    except ValueError:
        return None
    if expired:
        return None

    return _Claims(jti, payload.get("user_id"), payload.get("client_id"))


# The server runner -----------------------------------------------------------------


class _ThreadedServer(uvicorn.Server):
    """A uvicorn server that tells another thread when its startup is over."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.startup_done = threading.Event()
        self.exit_code: object = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.startup_done.set()

    def run_in_thread(self) -> None:
        # uvicorn answers a failed startup with `sys.exit()`. In a thread that would
        # only reach `threading.excepthook` (a warning under pytest), so the code is
        # kept for `serve()` to raise a clear error in the caller's thread instead.
        try:
            self.run()
        except SystemExit as exc:
            self.exit_code = exc.code
        finally:
            self.startup_done.set()


@contextlib.contextmanager
def serve(api: DemoLoginAPI, *, timeout: float = 10.0) -> Iterator[str]:
    """
    Serve `api` on 127.0.0.1 in a background thread, and yield its base URL.

    The server runs its own asyncio loop in a daemon thread, so the caller may use
    sync clients or run asyncio or trio loops of its own meanwhile. It binds a port
    chosen by the system, so servers can run side by side and one after the other.
    uvicorn installs no signal handlers outside the main thread, so Ctrl+C still
    reaches the caller.

    Args:
        api: The API to serve.
        timeout: Seconds to wait for the server to start and, on leaving, for
            requests still in flight to finish before they are cancelled.

    Yields:
        The base URL, like `http://127.0.0.1:54321`, without a trailing slash.

    Raises:
        RuntimeError: If the server does not start, or does not stop in time.
    """
    config = uvicorn.Config(
        api.app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        # No `dictConfig()` of the process's logging, and no access log lines.
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=math.ceil(timeout),
    )
    server = _ThreadedServer(config)
    thread = threading.Thread(
        target=server.run_in_thread, name="httpx-cached-auth-demo-api", daemon=True
    )
    thread.start()

    try:
        port = _wait_for_port(server, timeout)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        # uvicorn gives requests in flight `timeout` seconds, then cancels them;
        # the margin covers its own polling and closing.
        thread.join(timeout + 2.0)

    # Reached only when the block ended without an exception, so that this error
    # never hides the caller's own.
    if thread.is_alive():
        raise RuntimeError(f"the demo login API did not stop within {timeout} s")


def _wait_for_port(server: _ThreadedServer, timeout: float) -> int:
    if not server.startup_done.wait(timeout):
        raise RuntimeError(f"the demo login API did not start within {timeout} s")
    if not server.started:
        raise RuntimeError(
            f"the demo login API could not start (uvicorn exit code "
            f"{server.exit_code!r}); uvicorn's log says why"
        )

    sockets = server.servers[0].sockets
    port: int = sockets[0].getsockname()[1]

    return port
