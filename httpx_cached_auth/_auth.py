"""
The auth flow: sign each request with the cached token, renew it once on a 401.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator, Generator, Hashable
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import httpx

from ._cache import CacheKey, TokenCache, login_in_progress
from ._exceptions import LoginError
from ._library import HTTPX, HTTPLibrary, LoginContext
from ._settings import default_token_cache
from ._sources import FunctionSource, TokenSource

__all__ = ["CachedTokenAuth", "CachedTokenFlows"]

logger = logging.getLogger("httpx_cached_auth")

# RFC 9110 section 5.6.2: a header name (and an auth scheme) is a "token".
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# Attributes looked for, in this order, to name credentials in log lines.
_LABEL_FIELDS = ("username", "email", "client_id", "login", "user", "name")


class _Request(Protocol):
    headers: Any
    extensions: Any

    @property
    def content(self) -> bytes: ...


class _Response(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def request(self) -> Any: ...


RequestT = TypeVar("RequestT", bound=_Request)
ResponseT = TypeVar("ResponseT", bound=_Response)


class CachedTokenFlows(Generic[RequestT, ResponseT]):
    """
    The auth flows, written once for httpx and httpx2.

    Not used directly: `httpx_cached_auth.CachedTokenAuth` binds it to httpx and
    `httpx_cached_auth.httpx2.CachedTokenAuth` to httpx2.
    """

    _library: ClassVar[HTTPLibrary]

    def __init__(
        self,
        credentials: Hashable,
        source: TokenSource | Any,
        *,
        cache: TokenCache | None = None,
        header: str = "Authorization",
        scheme: str | None = "Bearer",
        label: str | None = None,
    ) -> None:
        _check_hashable(credentials)
        token_source = _as_token_source(source)
        token_source.check_credentials(credentials)
        _check_options(cache, header, scheme)

        self._key = CacheKey.of(
            token_source, credentials, label or _label_for(credentials)
        )
        self._cache = cache
        self._header = header
        self._prefix = f"{scheme} " if scheme else ""

    @property
    def source(self) -> TokenSource:
        """The token source this auth logs in with."""
        return self._key.source

    @property
    def cache(self) -> TokenCache:
        """The cache this auth keeps its token in: its own, or the default one."""
        return default_token_cache() if self._cache is None else self._cache

    def invalidate(self) -> None:
        """Forget this auth's token, so that its next request logs in again."""
        self.cache.invalidate(self._key.credentials, self._key.source)

    def __repr__(self) -> str:
        cache = "default" if self._cache is None else repr(self._cache)
        return (
            f"{type(self).__name__}({self._key.label}, {self._key.source!r}, "
            f"cache={cache})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CachedTokenFlows):
            return NotImplemented
        return (
            self._key == other._key
            and self._cache is other._cache
            and self._header == other._header
            and self._prefix == other._prefix
        )

    def __hash__(self) -> int:
        return hash((self._key, id(self._cache), self._header, self._prefix))

    def sync_auth_flow(self, request: RequestT) -> Generator[RequestT, ResponseT, None]:
        """Sign `request`, and on a 401 renew the token and send it once more."""
        key = self._key
        if login_in_progress(key):
            yield request
            return

        cache = self.cache
        access_token = cache.get(key) or self._fetch(cache, request)
        response = yield self._sign(request, access_token)
        if not self._refused(response, access_token):
            return

        cache.reject(key, access_token)
        if self._can_resend(request):
            yield self._sign(request, self._fetch(cache, request))

    async def async_auth_flow(
        self, request: RequestT
    ) -> AsyncGenerator[RequestT, ResponseT]:
        """The async twin of `sync_auth_flow`; waiting never blocks the loop."""
        key = self._key
        if login_in_progress(key):
            yield request
            return

        cache = self.cache
        access_token = cache.get(key) or await self._afetch(cache, request)
        response = yield self._sign(request, access_token)
        if not self._refused(response, access_token):
            return

        cache.reject(key, access_token)
        if self._can_resend(request):
            yield self._sign(request, await self._afetch(cache, request))

    # A failed login is raised as the library's own flavour of LoginError, so that
    # httpx2 users catch it with `except httpx2.HTTPError`, keeping its cause.

    def _fetch(self, cache: TokenCache, request: RequestT) -> str:
        try:
            return cache.fetch(self._key, self._context(request))
        except LoginError as exc:
            raise self._library.adapt_error(exc) from exc.__cause__

    async def _afetch(self, cache: TokenCache, request: RequestT) -> str:
        try:
            return await cache.afetch(self._key, self._context(request))
        except LoginError as exc:
            raise self._library.adapt_error(exc) from exc.__cause__

    def _refused(self, response: ResponseT, access_token: str) -> bool:
        # Only a 401 to a request that carried this token says the token is bad. A
        # 401 from another origin, after a redirect that dropped the header, says
        # nothing about it: renewing would cost a login on every request.
        if response.status_code != 401:
            return False
        carried = response.request.headers.get(self._header)
        return bool(carried == self._prefix + access_token)

    def _sign(self, request: RequestT, access_token: str) -> RequestT:
        request.headers[self._header] = self._prefix + access_token
        return request

    def _context(self, request: RequestT) -> LoginContext:
        return LoginContext(self._library, request.extensions.get("timeout"))

    def _can_resend(self, request: RequestT) -> bool:
        # A 401 is answered with one more try, never more: if the fresh token is
        # refused too, the caller gets that 401 rather than a loop of logins. A
        # body that was a one-shot stream is gone by now; sending the request
        # again would send it empty, so the caller gets the 401 instead.
        try:
            request.content  # noqa: B018 - raises when the body is an unread stream
        except self._library.request_not_read:
            logger.debug(
                "401 received for %s; the request is not sent again because its "
                "body was a stream that cannot be replayed",
                self._key.label,
            )
            return False

        logger.debug("401 received for %s; sending the request again", self._key.label)
        return True


class CachedTokenAuth(CachedTokenFlows[httpx.Request, httpx.Response], httpx.Auth):
    """
    An `httpx.Auth` that logs in once per credentials and shares the token.

    Every `Client` and `AsyncClient` built with an equal `CachedTokenAuth` (equal
    credentials, equal source, same cache) uses one cached bearer token. The
    token is fetched on first use, kept for its lifetime, and fetched again when
    it expires or when the server answers 401, in which case the request is sent
    once more with the new token.

    ```python
    login = LoginEndpoint(LOGIN_URL, token_path="token.accessToken")
    httpx.Client(base_url=API_URL, auth=CachedTokenAuth(user, login))
    ```

    Args:
        credentials: Whom to log in as. Must be hashable, so that equal
            credentials share a token: a frozen pydantic model, a frozen
            dataclass, a named tuple, a string.
        source: How to log in: a `LoginEndpoint`, an OAuth2 source, any other
            `TokenSource`, or a function `source(credentials)`, sync or async,
            that returns the token (see `login_source`).
        cache: Where tokens are kept; by default the process-wide cache
            returned by `default_token_cache()`.
        header: The header the token is sent in. httpx drops `Authorization`,
            and only it, when a redirect leads to another site: with another
            header, keep `follow_redirects` off, or the token follows.
        scheme: The word before the token in that header; `None` sends the
            token alone, as for `header="X-API-Key"`.
        label: A non-secret name for these credentials in log lines; by
            default their type and user name or email, if they have one.

    Raises:
        TypeError: If the credentials cannot be hashed, or the source is not
            a token source or a function.
    """

    _library = HTTPX


def _check_options(cache: object, header: object, scheme: object) -> None:
    if cache is None:
        # The default cache reads the environment: a bad variable fails here,
        # when the auth is built, rather than at the first request.
        default_token_cache()
    elif not isinstance(cache, TokenCache):
        raise TypeError(f"cache must be a TokenCache, not {type(cache).__name__}.")

    if not (isinstance(header, str) and _HEADER_NAME.fullmatch(header)):
        raise ValueError(
            f"header must be an HTTP header name, such as 'Authorization', "
            f"not {header!r}."
        )
    if scheme is not None and not (
        isinstance(scheme, str) and _HEADER_NAME.fullmatch(scheme)
    ):
        raise ValueError(
            f"scheme must be one word, such as 'Bearer', or None, not {scheme!r}."
        )


def _check_hashable(credentials: object) -> None:
    try:
        hash(credentials)
    except TypeError:
        raise TypeError(
            f"Credentials must be hashable, so that equal credentials share one "
            f"token, and {type(credentials).__name__} is not: use a pydantic model "
            f"with model_config = ConfigDict(frozen=True), a "
            f"@dataclass(frozen=True) or a NamedTuple, with hashable fields."
        ) from None


def _as_token_source(source: object) -> TokenSource:
    if isinstance(source, TokenSource):
        return source
    if callable(source):
        return FunctionSource(source)
    raise TypeError(
        f"source must be a LoginEndpoint, a TokenSource or a login function, "
        f"not {type(source).__name__}."
    )


def _label_for(credentials: object) -> str:
    kind = type(credentials).__name__
    for name in _LABEL_FIELDS:
        value = getattr(credentials, name, None)
        if isinstance(value, str):
            return f"{kind}({name}={value!r})"
    return kind
