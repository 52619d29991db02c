"""
The exceptions of `httpx_cached_auth`, one tree.

```
CachedAuthError
├── LoginError (also an httpx.HTTPError)
│   └── TokenResponseError
└── SettingsError (also a ValueError)
```

`LoginError` subclasses `httpx.HTTPError`, so code that already catches
`httpx.HTTPError` around its requests also catches a failed login. Misuse at
construction (credentials that cannot be hashed, a negative leeway) is a plain
`TypeError` or `ValueError`, as in httpx.

No message here ever contains a password, a token or a response body: the
`request` and `response` objects are attached instead, for code that needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["CachedAuthError", "LoginError", "SettingsError", "TokenResponseError"]


class CachedAuthError(Exception):
    """
    The root of every error raised by `httpx_cached_auth`.
    """


class LoginError(CachedAuthError, httpx.HTTPError):
    """
    A token source could not produce a token: nothing was cached.

    Raised from the request that needed the token, and from every request that
    was waiting for the same login. The next request tries to log in again.

    Attributes:
        response: The login endpoint's response, when one was received. Its
            `status_code` says why the login failed.
    """

    def __init__(
        self,
        message: str,
        *,
        request: object | None = None,
        response: object | None = None,
    ) -> None:
        super().__init__(message)
        self._request = request  # type: ignore[assignment]
        self.response = response


class TokenResponseError(LoginError):
    """
    The login succeeded but its answer holds no usable token.

    For example the configured token path is missing from the JSON, or
    `expires_in` is not a number. The message names the field, never its value.
    """


class SettingsError(CachedAuthError, ValueError):
    """
    A setting read from the environment or a settings file is invalid.

    The message names the variable, so that it can be fixed where it is set.
    """

    def __init__(self, message: str, *, errors: Mapping[str, str]) -> None:
        super().__init__(message)
        self.errors = dict(errors)
