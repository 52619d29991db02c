"""
The `Token` model, and how a login's answer becomes one.

Login APIs answer in many shapes: a bare string, OAuth2's snake_case JSON, nested
camelCase JSON, a pydantic model of the user's own. Everything here turns such an
answer into one immutable `Token`, or raises `TokenResponseError` naming the
field that was wrong, never its value.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from ._exceptions import TokenResponseError

__all__ = ["Token", "coerce_token", "jwt_lifetime", "read_path"]

# Sibling fields looked up next to the access token when no path is configured:
# OAuth2 (RFC 6749, section 5.1) spells them in snake_case, many JSON APIs in camelCase.
_EXPIRES_IN_NAMES = ("expires_in", "expiresIn")
_REFRESH_TOKEN_NAMES = ("refresh_token", "refreshToken")
_TOKEN_TYPE_NAMES = ("token_type", "tokenType")


class Token(BaseModel):
    """
    An access token, as a login or a refresh returned it.

    Immutable and safe to print: the access and refresh tokens are `SecretStr`,
    shown as `'**********'`. Read them with `.get_secret_value()`.

    Attributes:
        access_token: The token sent with each request.
        token_type: The type the server named, such as `"bearer"`. Informative:
            the header scheme is chosen by `CachedTokenAuth`.
        expires_in: How many seconds the token was valid for when it was issued,
            if the server said so. `None` lets the cache look for a JWT `exp`
            claim, then fall back to its configured `ttl`.
        refresh_token: A token the source can trade for a new access token
            without a full login, if the server returned one.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    access_token: SecretStr
    token_type: str = "Bearer"
    expires_in: float | None = None
    refresh_token: SecretStr | None = None

    @field_validator("access_token")
    @classmethod
    def _check_access_token(cls, value: SecretStr) -> SecretStr:
        _usable(value.get_secret_value(), "the Token")
        return value

    @field_validator("expires_in", mode="before")
    @classmethod
    def _parse_expires_in(cls, value: object) -> float | None:
        return parse_expires_in(value)


def parse_expires_in(value: object) -> float | None:
    """
    Read `expires_in` given as an integer, a float or a numeric string.

    Raises:
        TokenResponseError: For anything else, including NaN and booleans.
    """
    if value is None:
        return None

    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except (ValueError, OverflowError):
            seconds = math.nan
        if math.isfinite(seconds):
            return seconds

    raise TokenResponseError(
        "The login answer's 'expires_in' is not a number of seconds; "
        "fix the server's answer or point `expires_in_path` at the right field."
    )


def read_path(document: object, path: str) -> object:
    """
    Follow a dotted path such as `"token.accessToken"` through mappings and objects.

    Raises:
        KeyError: When a step of the path is missing; the message is the path.
    """
    current = document
    for step in path.split("."):
        if isinstance(current, Mapping):
            if step not in current:
                raise KeyError(path)
            current = current[step]
        elif hasattr(current, step):
            current = getattr(current, step)
        else:
            raise KeyError(path)

    return current


def coerce_token(
    answer: object,
    *,
    token_path: str = "access_token",
    expires_in_path: str | None = None,
    refresh_token_path: str | None = None,
) -> Token:
    """
    Turn what a token source returned into a `Token`.

    A `Token` is returned as it is and a string is the access token itself. For
    anything else (a mapping, a pydantic model, any object with attributes) the
    access token is read at `token_path`; `expires_in`, the refresh token and the
    token type are read at their paths when given, else next to the access token
    under their snake_case or camelCase names.

    Raises:
        TokenResponseError: When the access token is missing or not a non-empty
            string, or `expires_in` is not a number.
    """
    if isinstance(answer, Token):
        return answer

    if isinstance(answer, str):
        return Token(
            access_token=SecretStr(_usable(answer, "the token source's answer"))
        )
    if answer is None or isinstance(answer, (bool, int, float)):
        raise TokenResponseError(
            f"The token source returned {type(answer).__name__}, not a token: return "
            "the access token, a Token, or a mapping or object holding it."
        )

    access_token = _read_required(answer, token_path)
    parent_path, _, _ = token_path.rpartition(".")
    parent = read_path(answer, parent_path) if parent_path else answer

    expires_in = _read_optional(answer, parent, expires_in_path, _EXPIRES_IN_NAMES)
    refresh_token = _read_optional(
        answer, parent, refresh_token_path, _REFRESH_TOKEN_NAMES
    )
    token_type = _read_optional(answer, parent, None, _TOKEN_TYPE_NAMES)

    return Token(
        access_token=SecretStr(access_token),
        token_type=token_type if isinstance(token_type, str) else "Bearer",
        expires_in=parse_expires_in(expires_in),
        refresh_token=(
            SecretStr(refresh_token) if isinstance(refresh_token, str) else None
        ),
    )


def _read_required(answer: object, path: str) -> str:
    try:
        value = read_path(answer, path)
    except KeyError:
        raise TokenResponseError(
            f"The login answer has no access token at {path!r}; "
            "set `token_path` to where the token is, e.g. 'token.accessToken'."
        ) from None

    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        raise TokenResponseError(
            f"The login answer's {path!r} is not a string; "
            "set `token_path` to the access token itself."
        )

    return _usable(value, repr(path))


def _read_optional(
    answer: object, parent: object, path: str | None, names: tuple[str, ...]
) -> object:
    if path is not None:
        try:
            value = read_path(answer, path)
        except KeyError:
            return None
    else:
        value = next(
            (read_path(parent, n) for n in names if _has_step(parent, n)), None
        )

    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value


def _has_step(document: object, name: str) -> bool:
    if isinstance(document, Mapping):
        return name in document
    return hasattr(document, name)


def _usable(value: str, where: str) -> str:
    """The access token, if it can be sent in an HTTP header as it is."""
    if not value.strip():
        raise TokenResponseError(f"The access token in {where} is empty.")
    # A token goes into a header: a line break would split it (or smuggle a header
    # in), and non-ASCII cannot be encoded. RFC 6750 tokens are visible ASCII.
    if not all("!" <= character <= "~" for character in value):
        raise TokenResponseError(
            f"The access token in {where} holds spaces, control or non-ASCII "
            "characters, so it cannot be sent in a header; check `token_path`."
        )
    return value


def jwt_lifetime(access_token: str, *, now: float) -> float | None:
    """
    Seconds left before a JWT's `exp` claim, read without verifying the signature.

    The signature is the server's business; the claim only tells the cache when
    the server will stop accepting the token. Returns `None` when the token is
    not a JWT or has no numeric `exp` (some servers use a custom field instead).
    """
    parts = access_token.split(".")
    if len(parts) != 3:
        return None

    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims: Any = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, RecursionError):
        return None

    expiry = claims.get("exp") if isinstance(claims, dict) else None
    if not isinstance(expiry, (int, float)) or isinstance(expiry, bool):
        return None

    try:
        lifetime = float(expiry) - now
    except OverflowError:
        return None
    return lifetime if math.isfinite(lifetime) else None
