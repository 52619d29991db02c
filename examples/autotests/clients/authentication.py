"""
The authentication route: log in with an email and a password.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr
from pydantic.alias_generators import to_camel

from .api_client import APIClient, get_http_client

LOGIN_URL = "/api/v1/authentication/login"


class AuthenticationUser(BaseModel):
    """
    Whom a test logs in as: frozen, so that equal users share one token.

    The password is a `SecretStr`, so that it never shows in a repr, a log line
    or a failed assertion.
    """

    model_config = ConfigDict(frozen=True)

    email: str
    password: SecretStr


class LoginRequest(BaseModel):
    """The body of a login request."""

    email: str
    password: str


class Token(BaseModel):
    """The tokens the API answers a login with."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)

    token_type: str
    access_token: str
    refresh_token: str


class LoginResponse(BaseModel):
    """The answer to a login: `{"token": {...}}`."""

    token: Token


class AuthenticationClient(APIClient):
    """The client of the public authentication route."""

    def login_api(self, request: LoginRequest) -> httpx.Response:
        """Send a login request, and return the response whatever its status."""
        return self.post(LOGIN_URL, json=request.model_dump(by_alias=True))

    def login(self, request: LoginRequest) -> LoginResponse:
        """
        Log in, and return the tokens.

        Raises:
            httpx.HTTPStatusError: If the API refused the login.
        """
        response = self.login_api(request).raise_for_status()
        return LoginResponse.model_validate_json(response.content)


def get_authentication_client() -> AuthenticationClient:
    """A new client of the authentication routes, which need no token."""
    return AuthenticationClient(get_http_client())
