"""
The thin layer that differs between httpx and httpx2.

Both libraries have the same public API but distinct classes: an `httpx.Auth` is
refused by an `httpx2.Client`, and a login sent for an `httpx2.Client` should go
out through httpx2 too. Everything else in the package talks to an `HTTPLibrary`
and never imports either library by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ._exceptions import LoginError

__all__ = ["HTTPX", "HTTPLibrary", "LoginContext"]


@dataclass(frozen=True, slots=True)
class HTTPLibrary:
    """
    The classes of one HTTP library that the package needs.

    Attributes:
        name: The import name, `"httpx"` or `"httpx2"`.
        client_class: Its `Client`, used to send logins from sync code.
        async_client_class: Its `AsyncClient`, used to send logins from async code.
        http_error: Its `HTTPError`, the root of its request errors.
        timeout_class: Its `Timeout`.
        request_not_read: Raised by `Request.content` when the body is a stream
            that was not read into memory, and so cannot be sent twice.
        adapt_error: Gives a `LoginError` the library's own `HTTPError` as a
            base, so that `except <library>.HTTPError` catches a failed login.
    """

    name: str
    client_class: Any
    async_client_class: Any
    http_error: type[Exception]
    timeout_class: Any
    request_not_read: type[Exception]
    adapt_error: Callable[[LoginError], LoginError]


HTTPX = HTTPLibrary(
    name="httpx",
    client_class=httpx.Client,
    async_client_class=httpx.AsyncClient,
    http_error=httpx.HTTPError,
    timeout_class=httpx.Timeout,
    request_not_read=httpx.RequestNotRead,
    adapt_error=lambda error: error,
)


@dataclass(frozen=True, slots=True)
class LoginContext:
    """
    What a token source may use to send a login for the request that needs it.

    Attributes:
        library: The library of the client whose request triggered the login.
        timeout: That request's timeout settings (httpx keeps them in
            `request.extensions["timeout"]`), so that a login waits no longer than
            the client that asked for it would; `None` when unknown.
    """

    library: HTTPLibrary = HTTPX
    timeout: dict[str, float | None] | None = None
