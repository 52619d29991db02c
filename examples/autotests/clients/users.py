"""
The users route: sign a new user up.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from .api_client import APIClient, get_http_client

USERS_URL = "/api/v1/users"


class CreateUserRequest(BaseModel):
    """The body of a sign-up request, sent in camelCase."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)

    email: str
    password: str
    last_name: str
    first_name: str
    middle_name: str


class User(BaseModel):
    """A user as the API shows it, without the password."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)

    id: str
    email: str
    last_name: str
    first_name: str
    middle_name: str


class Owner(BaseModel):
    """The user a protected route answered for, as every such answer names it."""

    id: str
    email: str


class CreateUserResponse(BaseModel):
    """The answer to a sign-up: `{"user": {...}}`."""

    user: User


class UsersClient(APIClient):
    """The client of the public users route."""

    def create_user_api(self, request: CreateUserRequest) -> httpx.Response:
        """Send a sign-up request, and return the response whatever its status."""
        return self.post(USERS_URL, json=request.model_dump(by_alias=True))

    def create_user(self, request: CreateUserRequest) -> CreateUserResponse:
        """
        Sign a new user up.

        Raises:
            httpx.HTTPStatusError: If the API refused, as with 403 when the
                email is taken.
        """
        response = self.create_user_api(request).raise_for_status()
        return CreateUserResponse.model_validate_json(response.content)


def get_users_client() -> UsersClient:
    """A new client of the users route, which needs no token."""
    return UsersClient(get_http_client())
