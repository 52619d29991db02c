"""
The base of every API client: an `httpx.Client` and a name for each route.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypeVar

import httpx

from ..config import settings

_ClientT = TypeVar("_ClientT", bound="APIClient")


class APIClient:
    """
    A thin client for one part of the API, over an `httpx.Client`.

    Subclasses add one method per route: `<name>_api()` returns the raw
    response, for tests of status codes; `<name>()` checks the status and
    returns the parsed model. Closing the API client closes the `httpx.Client`.
    """

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def get(self, url: str, **options: Any) -> httpx.Response:
        """Send a GET request, with any option of `httpx.Client.get`."""
        return self.client.get(url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        """Send a POST request, with any option of `httpx.Client.post`."""
        return self.client.post(url, **options)

    def close(self) -> None:
        """Close the underlying `httpx.Client` and its connections."""
        self.client.close()

    def __enter__(self: _ClientT) -> _ClientT:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def get_http_client(auth: httpx.Auth | None = None) -> httpx.Client:
    """A new `httpx.Client` for the API in the settings, signed by `auth` if given."""
    return httpx.Client(base_url=settings.api_url, timeout=settings.timeout, auth=auth)
