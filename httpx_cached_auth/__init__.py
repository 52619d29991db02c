"""
One login for every httpx client: bearer tokens cached by credentials.

`CachedTokenAuth` is an `httpx.Auth` that gets its token from a `TokenCache`
keyed by (token source, credentials), so that every `Client` and `AsyncClient`
built for the same credentials shares one login, renewed when it expires or is
refused with a 401. For httpx2, import the same names from
`httpx_cached_auth.httpx2`.
"""

from ._auth import CachedTokenAuth
from ._cache import CacheStats, TokenCache
from ._exceptions import CachedAuthError, LoginError, SettingsError, TokenResponseError
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

__version__ = "0.1.0"

__all__ = [
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
