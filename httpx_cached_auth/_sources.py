"""
Token sources: how a token is obtained for given credentials.

A source is anything `CachedTokenAuth` can ask for a token: a `LoginEndpoint`
that posts JSON, the OAuth2 grants, or a login function the user already has,
wrapped by `login_source`. Sources are frozen and compare by their settings, so
that two built alike share one cache entry and one login.
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar, overload
from urllib.parse import urlsplit

import anyio.to_thread
from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import PydanticSerializationError, to_jsonable_python

from ._exceptions import LoginError, TokenResponseError
from ._library import LoginContext
from ._token import Token, coerce_token

__all__ = [
    "AsyncLoginFunction",
    "FunctionSource",
    "LoginEndpoint",
    "SyncLoginFunction",
    "TokenSource",
    "asend_login",
    "credentials_payload",
    "login_source",
    "read_token",
    "redact_url",
    "send_login",
]

logger = logging.getLogger("httpx_cached_auth")

CredentialsT_contra = TypeVar("CredentialsT_contra", contravariant=True)


class SyncLoginFunction(Protocol[CredentialsT_contra]):
    """
    A login function: takes credentials, returns a token.

    It may return the access token as a string, a mapping or an object (such as
    a pydantic response model) holding it, or a `Token`.
    """

    def __call__(self, credentials: CredentialsT_contra, /) -> object: ...


class AsyncLoginFunction(Protocol[CredentialsT_contra]):
    """The async form of `SyncLoginFunction`."""

    def __call__(self, credentials: CredentialsT_contra, /) -> Awaitable[object]: ...


class TokenSource(abc.ABC):
    """
    The base of every token source, for those who write their own.

    A subclass must be hashable and compare equal to another built from the
    same settings (a frozen dataclass does both), because the source is part of
    the cache key: equal sources with equal credentials share one token.
    """

    @property
    def supports_refresh(self) -> bool:
        """Whether this source can trade a refresh token for a new token."""
        return False

    def check_credentials(self, credentials: Hashable) -> None:  # noqa: B027 - optional hook
        """
        Refuse credentials this source cannot log in with, when the auth is built.

        Raises:
            TypeError: If the credentials are of a kind this source cannot use.
        """

    @abc.abstractmethod
    def fetch(self, credentials: Any, context: LoginContext) -> Token:
        """
        Log in and return a token, from sync code.

        Raises:
            LoginError: If the login failed.
        """

    @abc.abstractmethod
    async def afetch(self, credentials: Any, context: LoginContext) -> Token:
        """
        Log in and return a token, from async code, without blocking the loop.

        Raises:
            LoginError: If the login failed.
        """

    def refresh(
        self, refresh_token: str, credentials: Any, context: LoginContext
    ) -> Token | None:
        """
        Trade a refresh token for a new token; `None` if the server refused it.

        A refused refresh token (typically 400 `invalid_grant` or 401) makes the
        cache fall back to one full login.

        Raises:
            LoginError: If the refresh failed for another reason.
        """
        return None

    async def arefresh(
        self, refresh_token: str, credentials: Any, context: LoginContext
    ) -> Token | None:
        """The async form of `refresh`."""
        return None


@dataclass(frozen=True, repr=False)
class FunctionSource(TokenSource):
    """
    A login function of the user's own, used as a token source.

    Made by `login_source`, or implicitly when `CachedTokenAuth` is given a plain
    function. It is still callable as the function it wraps, so existing code
    that calls the login directly keeps working.

    A sync function called from async code runs in a worker thread, so that it
    does not block the event loop. An async function can only serve
    `AsyncClient`s.
    """

    function: Callable[[Any], object]
    _: KW_ONLY
    token_path: str = "access_token"
    expires_in_path: str | None = None
    refresh_token_path: str | None = None
    refresh_function: Callable[[str], object] | None = None

    def __call__(self, credentials: Any) -> object:
        return self.function(credentials)

    def __repr__(self) -> str:
        # Only the function's name: the repr of a partial would show its
        # arguments, which may be secrets.
        refresh = self.refresh_function
        return (
            f"FunctionSource({_name_of(self.function)}, "
            f"token_path={self.token_path!r}"
            + (f", refresh={_name_of(refresh)}" if refresh is not None else "")
            + ")"
        )

    @property
    def supports_refresh(self) -> bool:
        """Whether a `refresh_function` was given."""
        return self.refresh_function is not None

    def fetch(self, credentials: Any, context: LoginContext) -> Token:
        """
        Call the login function and read the token from what it returned.

        Raises:
            LoginError: If the function raised; its exception is the cause.
            TypeError: If the function is async.
        """
        with _login_failures_wrapped(self.function):
            answer = _call_sync(self.function, credentials)
        return self._coerce(answer)

    async def afetch(self, credentials: Any, context: LoginContext) -> Token:
        """Call or await the login function, off the event loop if it is sync."""
        with _login_failures_wrapped(self.function):
            answer = await _call_async(self.function, credentials)
        return self._coerce(answer)

    def refresh(
        self, refresh_token: str, credentials: Any, context: LoginContext
    ) -> Token | None:
        """
        Call the refresh function; `None` if there is none, or it failed.

        The function cannot say why it failed, so any exception it raises, or a
        `None` it returns, counts as a refused refresh token: one full login
        follows, rather than the same refresh token failing on every request.
        """
        if self.refresh_function is None:
            return None
        try:
            answer = _call_sync(self.refresh_function, refresh_token)
        except Exception as exc:
            _log_refused_refresh(self.refresh_function, exc)
            return None
        return None if answer is None else self._coerce(answer)

    async def arefresh(
        self, refresh_token: str, credentials: Any, context: LoginContext
    ) -> Token | None:
        """Call or await the refresh function, as `refresh` does."""
        if self.refresh_function is None:
            return None
        try:
            answer = await _call_async(self.refresh_function, refresh_token)
        except Exception as exc:
            _log_refused_refresh(self.refresh_function, exc)
            return None
        return None if answer is None else self._coerce(answer)

    def _coerce(self, answer: object) -> Token:
        return coerce_token(
            answer,
            token_path=self.token_path,
            expires_in_path=self.expires_in_path,
            refresh_token_path=self.refresh_token_path,
        )


class _AsyncFunctionMisuseError(TypeError):
    """An async login function was called for a sync client."""


@contextmanager
def _login_failures_wrapped(function: object) -> Iterator[None]:
    """Raise what a login function raised as a `LoginError`, caused by it."""
    try:
        yield
    except (LoginError, _AsyncFunctionMisuseError):
        raise
    except Exception as exc:
        # Only the exception's type is named: its message may quote the request.
        raise LoginError(
            f"The login function {_name_of(function)} raised "
            f"{type(exc).__name__}; nothing was cached, the next request tries "
            "again. The original exception is this one's __cause__.",
            response=getattr(exc, "response", None),
        ) from exc


def _log_refused_refresh(function: object, exc: Exception) -> None:
    logger.debug(
        "refresh function %s raised %s: logging in instead",
        _name_of(function),
        type(exc).__name__,
    )


def _call_sync(function: Callable[[Any], object], argument: object) -> object:
    result = function(argument)
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()
        raise _AsyncFunctionMisuseError(
            f"{_name_of(function)} is async, so it can only serve AsyncClient "
            "requests; pass a sync function for Client."
        )

    return result


async def _call_async(function: Callable[[Any], object], argument: object) -> object:
    if _is_async(function):
        result = function(argument)
    else:
        # A thread cannot be stopped: if the caller is cancelled meanwhile, the
        # function's answer is still taken, so that its token is kept for the
        # others instead of a second login running beside the first.
        with anyio.CancelScope(shield=True):
            result = await anyio.to_thread.run_sync(function, argument)

    if inspect.isawaitable(result):
        result = await result
    return result


def _is_async(function: object) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 - looking for async __call__
    )


def _name_of(function: object) -> str:
    return getattr(function, "__qualname__", type(function).__qualname__)


F = TypeVar("F", bound=Callable[[Any], object])


@overload
def login_source(
    function: Callable[[Any], object],
    *,
    token_path: str = ...,
    expires_in_path: str | None = ...,
    refresh_token_path: str | None = ...,
    refresh: Callable[[str], object] | None = ...,
) -> FunctionSource: ...


@overload
def login_source(
    function: None = None,
    *,
    token_path: str = ...,
    expires_in_path: str | None = ...,
    refresh_token_path: str | None = ...,
    refresh: Callable[[str], object] | None = ...,
) -> Callable[[Callable[[Any], object]], FunctionSource]: ...


def login_source(
    function: Callable[[Any], object] | None = None,
    *,
    token_path: str = "access_token",
    expires_in_path: str | None = None,
    refresh_token_path: str | None = None,
    refresh: Callable[[str], object] | None = None,
) -> FunctionSource | Callable[[Callable[[Any], object]], FunctionSource]:
    """
    Turn a login function a project already has into a cached token source.

    Works as a decorator, with or without arguments, or as a plain call:

    ```python
    @login_source(token_path="token.access_token")
    def login(user: User) -> LoginResponse: ...
    ```

    Args:
        function: The login function, sync or async. It takes the credentials
            and returns the token: a string, a `Token`, or a mapping or object
            holding it.
        token_path: Where the access token is in what the function returns,
            as a dotted path of keys or attributes.
        expires_in_path: Where the token's lifetime in seconds is; by default
            `expires_in` or `expiresIn` next to the access token.
        refresh_token_path: Where the refresh token is; by default
            `refresh_token` or `refreshToken` next to the access token.
        refresh: A function that takes a refresh token and returns a new token
            like the login does, used instead of a full login when the access
            token has expired or was refused. If it raises or returns `None`,
            one full login follows.

    Returns:
        A `FunctionSource`, still callable as `function` was.

    Raises:
        TypeError: If `function` is not callable.

    When the function raises, requests that needed the token get a `LoginError`
    whose `__cause__` is the function's exception, and `response` its
    `response` attribute, if it has one (as `httpx.HTTPStatusError` does).
    """

    def wrap(function: Callable[[Any], object]) -> FunctionSource:
        if not callable(function):
            raise TypeError(f"login_source() needs a function, not {function!r}.")
        return FunctionSource(
            function,
            token_path=token_path,
            expires_in_path=expires_in_path,
            refresh_token_path=refresh_token_path,
            refresh_function=refresh,
        )

    return wrap if function is None else wrap(function)


@dataclass(frozen=True, repr=False)
class LoginEndpoint(TokenSource):
    """
    A login URL that takes the credentials as JSON and answers with a token.

    The credentials (a frozen pydantic model, a frozen dataclass or a named
    tuple) are sent as a JSON object, their `SecretStr` fields revealed for the
    wire only; pydantic aliases are used, so a model with camelCase aliases
    posts camelCase. The token is read at `token_path` in the answer.

    Logins are sent with the library of the client that needs the token, with
    that request's timeout, never through the caching auth, and never follow a
    redirect: a 307 would replay the password to wherever it points.

    Args:
        url: The absolute login URL, such as
            `"https://api.example.com/api/v1/authentication/login"`.
        token_path: Where the access token is in the JSON answer, a dotted path:
            `"access_token"` for OAuth2-style answers,
            `"token.accessToken"` for nested camelCase ones.
        expires_in_path: Where the token's lifetime in seconds is; by default
            `expires_in` or `expiresIn` next to the access token.
        refresh_token_path: Where the refresh token is; by default
            `refresh_token` or `refreshToken` next to the access token.
        refresh_url: A URL that trades a refresh token for a new token. Without
            it, an expired token is replaced by a full login.
        refresh_field: The JSON field the refresh token is sent in.
        fields: Which request fields to send, as `{request field: attribute}`;
            by default every field of the credentials.
        headers: Extra headers for login and refresh requests.
        client: A `Client` to send sync logins with, for its TLS, proxy and
            timeout settings; its `auth` is not used.
        async_client: The same, for async logins. An `AsyncClient` belongs to the
            event loop it first ran in: pass one only if every async login runs
            in that loop. By default each login uses a new, short-lived client.

    Raises:
        ValueError: If a URL is not absolute http(s), or a path is empty.
    """

    url: str
    _: KW_ONLY
    token_path: str = "access_token"
    expires_in_path: str | None = None
    refresh_token_path: str | None = None
    refresh_url: str | None = None
    refresh_field: str = "refresh_token"
    fields: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = field(default=None, repr=False)
    client: Any = field(default=None, repr=False)
    async_client: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for url in (self.url, self.refresh_url):
            if url is not None:
                _check_url(url)
        if not self.token_path.strip(". "):
            raise ValueError("token_path must name a field, such as 'access_token'.")

        # Mappings are stored as sorted tuples, so that the endpoint is hashable
        # and two endpoints built from equal dictionaries are equal.
        for name in ("fields", "headers"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _FrozenMapping(value))

    def __repr__(self) -> str:
        shown = {
            "token_path": self.token_path,
            "refresh_url": self.refresh_url and redact_url(self.refresh_url),
            "refresh_field": self.refresh_field if self.refresh_url else None,
            "fields": self.fields,
        }
        options = "".join(
            f", {name}={value!r}" for name, value in shown.items() if value is not None
        )
        return f"LoginEndpoint({redact_url(self.url)!r}{options})"

    @property
    def supports_refresh(self) -> bool:
        """Whether a `refresh_url` was given."""
        return self.refresh_url is not None

    def check_credentials(self, credentials: Hashable) -> None:
        """Refuse credentials that cannot be sent as a JSON object."""
        credentials_payload(credentials, self.fields)

    def fetch(self, credentials: Any, context: LoginContext) -> Token:
        """Post the credentials and read the token from the answer."""
        payload = credentials_payload(credentials, self.fields)
        response = self._send_sync(self.url, payload, context)
        return self._read(response, what="login")

    async def afetch(self, credentials: Any, context: LoginContext) -> Token:
        """Post the credentials from async code."""
        payload = credentials_payload(credentials, self.fields)
        response = await self._send_async(self.url, payload, context)
        return self._read(response, what="login")

    def refresh(
        self, refresh_token: str, credentials: Any, context: LoginContext
    ) -> Token | None:
        """Post the refresh token; `None` if the server refused it."""
        if self.refresh_url is None:
            return None
        payload = {self.refresh_field: refresh_token}
        response = self._send_sync(self.refresh_url, payload, context)
        return self._read_refresh(response)

    async def arefresh(
        self, refresh_token: str, credentials: Any, context: LoginContext
    ) -> Token | None:
        """Post the refresh token from async code."""
        if self.refresh_url is None:
            return None
        payload = {self.refresh_field: refresh_token}
        response = await self._send_async(self.refresh_url, payload, context)
        return self._read_refresh(response)

    def _send_sync(self, url: str, payload: object, context: LoginContext) -> Any:
        headers = dict(self.headers or {})
        return send_login(url, context, self.client, json=payload, headers=headers)

    async def _send_async(
        self, url: str, payload: object, context: LoginContext
    ) -> Any:
        headers = dict(self.headers or {})
        return await asend_login(
            url, context, self.async_client, json=payload, headers=headers
        )

    def _read(self, response: Any, *, what: str) -> Token:
        _raise_for_login_status(response, what)
        return read_token(
            response,
            what=what,
            token_path=self.token_path,
            expires_in_path=self.expires_in_path,
            refresh_token_path=self.refresh_token_path,
        )

    def _read_refresh(self, response: Any) -> Token | None:
        # RFC 6749, section 5.2: a refused grant is 400 invalid_grant; many APIs
        # answer 401 instead. Either means "log in again", not "give up".
        if response.status_code in (400, 401):
            return None
        return self._read(response, what="refresh")


def send_login(url: str, context: LoginContext, client: Any, **body: Any) -> Any:
    """
    POST a login from sync code and return the response, whatever its status.

    The request goes through `client` when the user gave one, else through a
    short-lived client of the library that triggered the login, with the
    triggering request's timeout. `body` is the `json=` or `data=` and `headers=`.

    Raises:
        LoginError: If the endpoint could not be reached.
    """
    library = context.library
    try:
        if client is not None:
            return _post(client, url, body)
        with library.client_class(timeout=_timeout(context)) as own_client:
            return _post(own_client, url, body)
    except library.http_error as exc:
        raise _unreachable(url, exc) from exc


async def asend_login(url: str, context: LoginContext, client: Any, **body: Any) -> Any:
    """
    POST a login from async code; the async twin of `send_login`.

    Raises:
        LoginError: If the endpoint could not be reached.
    """
    library = context.library
    try:
        if client is not None:
            return await _post(client, url, body)
        # Building a client loads the CA certificates (some 20 ms of blocking
        # file I/O), so it is built in a worker thread, off the event loop.
        own_client = await anyio.to_thread.run_sync(
            partial(library.async_client_class, timeout=_timeout(context))
        )
        async with own_client:
            return await _post(own_client, url, body)
    except library.http_error as exc:
        raise _unreachable(url, exc) from exc


def _post(client: Any, url: str, body: dict[str, Any]) -> Any:
    # auth=None keeps a user's client from applying its own auth (possibly this
    # very cache) to the login; follow_redirects=False keeps the credentials from
    # being replayed to another address.
    return client.post(url, **body, auth=None, follow_redirects=False)


class _FrozenMapping(Mapping[str, str]):
    """A read-only, hashable mapping of strings, equal to any equal mapping."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str]) -> None:
        self._items = dict(sorted(items.items()))

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Any:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._items) == dict(other)

    def __repr__(self) -> str:
        return repr(self._items)


def credentials_payload(
    credentials: object, fields: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """
    The JSON object that logs in with `credentials`, secrets revealed.

    Raises:
        TypeError: If the credentials are not a pydantic model, a dataclass or
            a named tuple, or lack a field named in `fields`.
    """
    if isinstance(credentials, BaseModel):
        document = credentials.model_dump(by_alias=True)
        attributes = credentials.model_dump()
    elif dataclasses.is_dataclass(credentials) and not isinstance(credentials, type):
        document = attributes = dataclasses.asdict(credentials)
    elif isinstance(credentials, tuple) and hasattr(credentials, "_asdict"):
        document = attributes = credentials._asdict()
    else:
        raise TypeError(
            f"A LoginEndpoint sends credentials as a JSON object, so they must be "
            f"a frozen pydantic model, a frozen dataclass or a named tuple, not "
            f"{type(credentials).__name__}; or pass a login function instead."
        )

    if fields is not None:
        missing = sorted(set(fields.values()) - set(attributes))
        if missing:
            raise TypeError(
                f"The credentials have no field {', '.join(map(repr, missing))} "
                "named in `fields`."
            )
        document = {name: attributes[attribute] for name, attribute in fields.items()}

    # Secrets are revealed first: pydantic would turn them into '**********'. Then
    # the rest (UUIDs, dates, decimals) becomes JSON as pydantic would write it.
    try:
        revealed: dict[str, Any] = to_jsonable_python(_reveal(document))
    except PydanticSerializationError:
        raise TypeError(
            f"The credentials ({type(credentials).__name__}) have a field that "
            "cannot be sent as JSON; send only the login fields, with `fields`."
        ) from None
    return revealed


def _reveal(value: Any) -> Any:
    if isinstance(value, (SecretStr, SecretBytes)):
        return _reveal(value.get_secret_value())
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, Mapping):
        return {key: _reveal(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_reveal(item) for item in value]
    return value


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"A login URL must be absolute, such as 'https://api.example.com/login', "
            f"not {redact_url(url)!r}."
        )


def _timeout(context: LoginContext) -> Any:
    if context.timeout is None:
        return 5.0
    # httpx keeps a request's timeout as {"connect": ..., "read": ..., ...}.
    return context.library.timeout_class(**context.timeout)


def read_token(response: Any, *, what: str, **paths: Any) -> Token:
    """
    The token in a successful login answer, read at `paths` (see `coerce_token`).

    Raises:
        TokenResponseError: If the body is not JSON, is too deeply nested to
            decode, or is not an object (a bare string is never taken for a
            token: it is more likely an error message); or if it holds no
            usable token. The response is attached.
    """
    url = redact_url(response.request.url)
    try:
        document = response.json()
    except (ValueError, RecursionError):
        document, problem = None, "is not JSON"
    else:
        problem = "is not a JSON object"

    try:
        if not isinstance(document, Mapping):
            raise TokenResponseError(
                f"The {what} answer from {url} {problem}; check that the URL is "
                "the API's login or token endpoint."
            )
        return coerce_token(document, **paths)
    except TokenResponseError as exc:
        raise TokenResponseError(
            str(exc), request=response.request, response=response
        ) from None


def redact_url(url: object) -> str:
    """
    A URL fit for messages and reprs: without user info or query.

    Either may hold a secret (a password, an `api_key=` parameter), so they are
    replaced by `[secure]`, as httpx does for passwords. Everything up to the
    last `@` counts as user info, so that even a malformed URL shows none.
    """
    text, question, _query = str(url).partition("?")
    scheme, separator, rest = text.partition("://")
    if not separator:
        scheme, rest = "", text
    _userinfo, at, address = rest.rpartition("@")

    redacted = f"{scheme}{separator}{'[secure]@' if at else ''}{address}"
    return redacted + ("?[secure]" if question else "")


def _unreachable(url: str, exc: Exception) -> LoginError:
    return LoginError(
        f"Could not reach the login endpoint {redact_url(url)} "
        f"({type(exc).__name__}, the cause of this error); "
        "nothing was cached, the next request tries again.",
        request=getattr(exc, "_request", None),
    )


def _raise_for_login_status(response: Any, what: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return

    url = redact_url(response.request.url)
    if 300 <= status < 400:
        location = redact_url(response.headers.get("location", ""))
        advice = (
            f"redirects are not followed for logins, so that credentials go only "
            f"where configured: use the final URL ({location})"
        )
    elif status in (401, 403):
        advice = "check the credentials and the login URL"
    elif status == 422 or status == 400:
        advice = "check the request fields the API expects (see `fields`)"
    elif status == 429:
        retry_after = response.headers.get("retry-after")
        wait = f" (Retry-After: {retry_after})" if retry_after else ""
        advice = f"the server is limiting logins; wait before trying again{wait}"
    elif status >= 500:
        advice = "the server failed; nothing was cached, the next request tries again"
    else:
        advice = "check the login URL"

    raise LoginError(
        f"The {what} at {url} answered {status} {response.reason_phrase}: {advice}.",
        request=response.request,
        response=response,
    )
