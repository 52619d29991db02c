"""
The same API for httpx2 clients: `from httpx_cached_auth.httpx2 import CachedTokenAuth`.

httpx2 refuses an `httpx.Auth` (it checks `isinstance(auth, httpx2.Auth)`), so
this module binds the shared auth flows to `httpx2.Auth` instead. Everything
else (the cache, the sources, the settings) is the very same object as in
`httpx_cached_auth`, so one cache serves httpx and httpx2 clients at once and
equal credentials log in once for both.

Logins triggered by an httpx2 client are sent with httpx2, and a failed login
is raised as `httpx_cached_auth.httpx2.LoginError`, which is both a
`httpx_cached_auth.LoginError` and an `httpx2.HTTPError`.
"""

from __future__ import annotations

try:
    import httpx2
except ImportError as exc:  # pragma: no cover - the test suite installs httpx2
    raise ImportError(
        "httpx_cached_auth.httpx2 needs the httpx2 package: "
        "pip install 'httpx-cached-auth[httpx2]'"
    ) from exc

from . import _exceptions
from ._auth import CachedTokenFlows as _CachedTokenFlows
from ._cache import CacheStats, TokenCache
from ._exceptions import CachedAuthError, SettingsError
from ._library import HTTPLibrary as _HTTPLibrary
from ._library import LoginContext
from ._oauth2 import (
    ClientCredentials,
    OAuth2ClientCredentials,
    OAuth2PasswordGrant,
    PasswordCredentials,
)
from ._settings import CacheSettings, default_token_cache, reset_default_token_cache
from ._sources import (
    AsyncLoginFunction,
    FunctionSource,
    LoginEndpoint,
    SyncLoginFunction,
    TokenSource,
    login_source,
)
from ._token import Token

__all__ = [
    "HTTPX2",
    "AsyncLoginFunction",
    "CacheSettings",
    "CacheStats",
    "CachedAuthError",
    "CachedTokenAuth",
    "ClientCredentials",
    "FunctionSource",
    "LoginContext",
    "LoginEndpoint",
    "LoginError",
    "OAuth2ClientCredentials",
    "OAuth2PasswordGrant",
    "PasswordCredentials",
    "SettingsError",
    "SyncLoginFunction",
    "Token",
    "TokenCache",
    "TokenResponseError",
    "TokenSource",
    "default_token_cache",
    "login_source",
    "reset_default_token_cache",
]


class LoginError(_exceptions.LoginError, httpx2.HTTPError):  # type: ignore[misc]
    """A `httpx_cached_auth.LoginError` that is also an `httpx2.HTTPError`."""

    # mypy sees the two `request` properties as distinct; they are the same code.


class TokenResponseError(_exceptions.TokenResponseError, LoginError):  # type: ignore[misc]
    """A `httpx_cached_auth.TokenResponseError` that is also an `httpx2.HTTPError`."""


def _adapt_error(error: _exceptions.LoginError) -> _exceptions.LoginError:
    flavour = (
        TokenResponseError
        if isinstance(error, _exceptions.TokenResponseError)
        else LoginError
    )
    return flavour(str(error), request=error._request, response=error.response)


HTTPX2 = _HTTPLibrary(
    name="httpx2",
    client_class=httpx2.Client,
    async_client_class=httpx2.AsyncClient,
    http_error=httpx2.HTTPError,
    timeout_class=httpx2.Timeout,
    request_not_read=httpx2.RequestNotRead,
    adapt_error=_adapt_error,
)


class CachedTokenAuth(_CachedTokenFlows[httpx2.Request, httpx2.Response], httpx2.Auth):
    """
    An `httpx2.Auth` that logs in once per credentials and shares the token.

    The httpx2 twin of `httpx_cached_auth.CachedTokenAuth`, with the same
    arguments and behaviour; both share the default cache.
    """

    _library = HTTPX2
