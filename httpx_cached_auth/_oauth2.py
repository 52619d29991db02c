"""
OAuth2 token sources (RFC 6749): the client credentials and password grants.

Both post a form to a token endpoint, authenticate the client as section 2.3.1
says, read the standard JSON answer and trade refresh tokens for new tokens. They
are frozen and compare by their settings, like `LoginEndpoint`, so that sources
built alike share one cache entry and one login.
"""

from __future__ import annotations

import abc
import base64
import logging
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import quote_plus

from pydantic import BaseModel, ConfigDict, SecretStr

from ._exceptions import LoginError
from ._library import LoginContext
from ._sources import (
    TokenSource,
    _check_url,
    _FrozenMapping,
    _raise_for_login_status,
    asend_login,
    read_token,
    redact_url,
    send_login,
)
from ._token import Token

__all__ = [
    "ClientCredentials",
    "OAuth2ClientCredentials",
    "OAuth2PasswordGrant",
    "PasswordCredentials",
]

logger = logging.getLogger("httpx_cached_auth")

ClientAuthMethod = Literal["basic", "body"]
"""How a confidential client sends its secret: an HTTP Basic header, or the form."""

_CLIENT_AUTH_METHODS = ("basic", "body")

# The fields the sources write themselves; `extra_params` may not replace them.
_RESERVED_PARAMS = frozenset(
    {
        "grant_type",
        "scope",
        "username",
        "password",
        "refresh_token",
        "client_id",
        "client_secret",
    }
)

# Error codes a token endpoint may answer, from RFC 6749 (section 5.2) and the
# IANA OAuth Extensions Error Registry. Only these are quoted in messages: a
# server is free to put anything in `error`, even an echo of the request, while
# a registered code is known to be no secret. `error_description` is never quoted.
_REGISTERED_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "invalid_target",
        "invalid_authorization_details",
        "invalid_dpop_proof",
        "use_dpop_nonce",
        "server_error",
        "temporarily_unavailable",
    }
)


class ClientCredentials(BaseModel):
    """
    The credentials of an OAuth2 client: its id and its secret.

    Frozen, so it can key the token cache, and safe to print: the secret is a
    `SecretStr`, shown as `'**********'`.

    Attributes:
        client_id: The client identifier the authorization server issued.
        client_secret: The client's secret; a plain string is accepted and
            kept as a `SecretStr`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    client_id: str
    client_secret: SecretStr


class PasswordCredentials(BaseModel):
    """
    A resource owner's user name and password, for `OAuth2PasswordGrant`.

    Frozen, so it can key the token cache, and safe to print: the password is
    a `SecretStr`, shown as `'**********'`.

    Attributes:
        username: The user name, as the token endpoint expects it.
        password: The password; a plain string is accepted and kept as a
            `SecretStr`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    username: str
    password: SecretStr


@dataclass(frozen=True, slots=True)
class _Client:
    """The client to authenticate; no secret makes it a public client."""

    client_id: str
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True, init=False, repr=False)
class _OAuth2Grant(TokenSource):
    """
    What the OAuth2 grants share.

    The token request and its client authentication, the reading of the
    answer, and refresh (RFC 6749, section 6).
    """

    _grant_type: ClassVar[str]
    _invalid_grant_advice: ClassVar[str]

    token_url: str
    scope: str | None
    client_auth: ClientAuthMethod
    extra_params: Mapping[str, str] | None = field(repr=False)
    headers: Mapping[str, str] | None = field(repr=False)
    client: Any = field(repr=False)
    async_client: Any = field(repr=False)

    def _set_common(
        self,
        token_url: str,
        *,
        scope: str | Sequence[str] | None,
        client_auth: ClientAuthMethod,
        extra_params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        client: Any,
        async_client: Any,
    ) -> None:
        _check_url(token_url)
        if client_auth not in _CLIENT_AUTH_METHODS:
            raise ValueError(
                f"client_auth must be 'basic' or 'body', not {client_auth!r}."
            )

        set_field = object.__setattr__
        set_field(self, "token_url", token_url)
        set_field(self, "scope", _scope_string(scope))
        set_field(self, "client_auth", client_auth)
        set_field(self, "extra_params", _extra_params(extra_params))
        set_field(self, "headers", _extra_headers(headers))
        set_field(self, "client", client)
        set_field(self, "async_client", async_client)

    def __repr__(self) -> str:
        shown = {
            name: getattr(self, name)
            for name in ("client_id", "scope", "client_auth")
            if getattr(self, name, None) is not None
        }
        options = "".join(f", {name}={value!r}" for name, value in shown.items())
        return f"{type(self).__name__}({redact_url(self.token_url)!r}{options})"

    @property
    def supports_refresh(self) -> bool:
        """Always: a refresh token is used whenever the server returned one."""
        return True

    def check_credentials(self, credentials: Hashable) -> None:
        """Refuse credentials that lack the attributes the grant sends."""
        self._grant_fields(credentials)
        self._client_of(credentials)

    def fetch(self, credentials: Any, context: LoginContext) -> Token:
        """Post the grant to the token endpoint and read the token it answers."""
        form = {"grant_type": self._grant_type, **self._grant_fields(credentials)}
        response = self._send_sync(form, self._client_of(credentials), context)

        return self._read(response, what="token request")

    async def afetch(self, credentials: Any, context: LoginContext) -> Token:
        """Post the grant from async code."""
        form = {"grant_type": self._grant_type, **self._grant_fields(credentials)}
        response = await self._send_async(form, self._client_of(credentials), context)

        return self._read(response, what="token request")

    def refresh(
        self, refresh_token: str, credentials: Any, context: LoginContext
    ) -> Token | None:
        """Post a refresh token grant; `None` if the server refused it."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        response = self._send_sync(form, self._client_of(credentials), context)

        return self._read_refresh(response)

    async def arefresh(
        self, refresh_token: str, credentials: Any, context: LoginContext
    ) -> Token | None:
        """Post a refresh token grant from async code."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        response = await self._send_async(form, self._client_of(credentials), context)

        return self._read_refresh(response)

    @abc.abstractmethod
    def _grant_fields(self, credentials: Any) -> dict[str, str]:
        """The grant's own form fields, read from the credentials."""

    @abc.abstractmethod
    def _client_of(self, credentials: Any) -> _Client | None:
        """The client to authenticate, if any."""

    def _request(
        self, form: dict[str, str], client: _Client | None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Complete a grant's form and headers with scope, extras and client."""
        if self.scope is not None:
            form["scope"] = self.scope
        form.update(self.extra_params or {})
        headers = {"Accept": "application/json", **(self.headers or {})}

        # RFC 6749, section 2.3.1: a confidential client uses HTTP Basic, or puts
        # its id and secret in the form if the server allows it; a public client
        # (section 2.1) has no secret and names itself with `client_id` alone.
        if client is None:
            pass
        elif client.secret is None:
            form["client_id"] = client.client_id
        elif self.client_auth == "basic":
            headers["Authorization"] = _basic_authorization(client)
        else:
            form["client_id"] = client.client_id
            form["client_secret"] = client.secret

        return form, headers

    def _send_sync(
        self, form: dict[str, str], client: _Client | None, context: LoginContext
    ) -> Any:
        form, headers = self._request(form, client)
        _log_request(form, self.token_url)
        return send_login(
            self.token_url, context, self.client, data=form, headers=headers
        )

    async def _send_async(
        self, form: dict[str, str], client: _Client | None, context: LoginContext
    ) -> Any:
        form, headers = self._request(form, client)
        _log_request(form, self.token_url)
        return await asend_login(
            self.token_url, context, self.async_client, data=form, headers=headers
        )

    def _read(self, response: Any, *, what: str) -> Token:
        self._raise_for_oauth_error(response, what)
        return read_token(response, what=what)

    def _read_refresh(self, response: Any) -> Token | None:
        # RFC 6749, section 5.2: a refused refresh token is 400 invalid_grant;
        # some servers answer 401. Either means "log in again", not "give up".
        if response.status_code in (400, 401):
            logger.debug(
                "refresh token refused by %s (%s %s)",
                redact_url(self.token_url),
                response.status_code,
                _error_code(response) or "no registered error code",
            )
            return None

        return self._read(response, what="refresh token request")

    def _raise_for_oauth_error(self, response: Any, what: str) -> None:
        """Raise `LoginError` naming the OAuth2 error code of a 400 or 401."""
        status = response.status_code
        if status not in (400, 401):
            _raise_for_login_status(response, what)
            return

        code = _error_code(response)
        advice = self._advice_for(code)
        error = f" {code}" if code else ""
        raise LoginError(
            f"The {what} at {redact_url(self.token_url)} answered "
            f"{status}{error}: {advice}.",
            request=response.request,
            response=response,
        )

    def _advice_for(self, code: str | None) -> str:
        grant = self._grant_type
        if code == "invalid_client":
            return (
                "the server refused the client; check the client id and secret, "
                "and `client_auth` ('basic' sends them in a header, 'body' in "
                "the form)"
            )
        if code == "invalid_grant":
            return self._invalid_grant_advice
        if code == "invalid_scope":
            return "the server refused the requested scope; check `scope`"
        if code == "unauthorized_client":
            return f"this client may not use the {grant} grant; allow it on the server"
        if code == "unsupported_grant_type":
            return f"the server does not offer the {grant} grant"
        if code == "invalid_request":
            return "the server found the request malformed; check `extra_params`"

        return "check the credentials, `client_auth`, `scope` and `extra_params`"


@dataclass(frozen=True, init=False, repr=False)
class OAuth2ClientCredentials(_OAuth2Grant):
    """
    The OAuth2 client credentials grant (RFC 6749, section 4.4).

    For machine-to-machine APIs: the client logs in as itself. The credentials
    given to `CachedTokenAuth` are a `ClientCredentials`, or any hashable object
    with string (or `SecretStr`) `client_id` and `client_secret` attributes:

    ```python
    source = OAuth2ClientCredentials(
        TOKEN_URL, scope="read", extra_params={"audience": API_URL}
    )
    app = ClientCredentials(client_id="reports", client_secret=SECRET)
    httpx.Client(auth=CachedTokenAuth(app, source))
    ```

    The token request is a form with `grant_type=client_credentials`, `scope`
    and `extra_params`, the client authenticated as `client_auth` says. Every
    token request sends the same fields; nothing of the request that needed
    the token is added. When the server returns a refresh token (few do for
    this grant), an expired token is refreshed with it, sending the same scope,
    extra parameters and client authentication.

    Requests are sent with the library of the client that needs the token,
    with that request's timeout, never through the caching auth, and never
    follow a redirect.

    Args:
        token_url: The absolute URL of the token endpoint.
        scope: The scope to ask for: a space-separated string, or a sequence
            of scope names, joined with spaces. Empty means none is sent.
        client_auth: How the client authenticates (RFC 6749, section 2.3.1):
            `"basic"`, an HTTP Basic header with the id and secret
            form-encoded as the RFC says, or `"body"`, `client_id` and
            `client_secret` in the form.
        extra_params: More form fields for every token request, such as
            `{"audience": ...}` or `{"resource": ...}`. They are sent with
            refresh requests too, and kept out of the source's repr.
        headers: Extra headers for every token request, except
            `Authorization`, which the source sets itself.
        client: A `Client` to send sync token requests with, for its TLS,
            proxy and timeout settings; its `auth` is not used. It should be
            of the same library (httpx or httpx2) as the clients using the
            auth, or its connection errors are not turned into `LoginError`.
        async_client: The same, for async token requests.

    Raises:
        ValueError: If the URL is not absolute http(s), `client_auth` is
            unknown, `extra_params` would replace a field the grant sets, or
            `headers` sets `Authorization`.
        TypeError: If a scope, parameter or header is not a string.
    """

    _grant_type: ClassVar[str] = "client_credentials"
    _invalid_grant_advice: ClassVar[str] = (
        "the server refused the grant; check the client credentials and `scope`"
    )

    def __init__(
        self,
        token_url: str,
        *,
        scope: str | Sequence[str] | None = None,
        client_auth: ClientAuthMethod = "basic",
        extra_params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        client: Any = None,
        async_client: Any = None,
    ) -> None:
        self._set_common(
            token_url,
            scope=scope,
            client_auth=client_auth,
            extra_params=extra_params,
            headers=headers,
            client=client,
            async_client=async_client,
        )

    def _grant_fields(self, credentials: Any) -> dict[str, str]:
        return {}

    def _client_of(self, credentials: Any) -> _Client:
        return _Client(
            _credential(credentials, "client_id", self),
            _credential(credentials, "client_secret", self),
        )


@dataclass(frozen=True, init=False, repr=False)
class OAuth2PasswordGrant(_OAuth2Grant):
    """
    The OAuth2 resource owner password credentials grant (RFC 6749, section 4.3).

    For APIs that log users in with a user name and password at a token
    endpoint. The credentials given to `CachedTokenAuth` are a
    `PasswordCredentials`, or any hashable object with string (or `SecretStr`)
    `username` and `password` attributes. The client, if the server wants one,
    is part of the source:

    ```python
    source = OAuth2PasswordGrant(TOKEN_URL, client_id="web", client_secret=SECRET)
    user = PasswordCredentials(username="ada", password=PASSWORD)
    httpx.Client(auth=CachedTokenAuth(user, source))
    ```

    The token request is a form with `grant_type=password`, `username`,
    `password`, `scope` and `extra_params`, and the client authentication. The
    refresh token the server returns is used to renew an expired token without
    sending the password again; a refused refresh token falls back to one
    password login. Requests are sent as for `OAuth2ClientCredentials`.

    Args:
        token_url: The absolute URL of the token endpoint.
        client_id: The client to authenticate as, if the server wants one.
            Without `client_secret` it is a public client, and only
            `client_id` is sent, in the form.
        client_secret: The secret of a confidential client.
        scope: The scope to ask for, as for `OAuth2ClientCredentials`.
        client_auth: How a confidential client authenticates: `"basic"` or
            `"body"`, as for `OAuth2ClientCredentials`.
        extra_params: More form fields for every token request.
        headers: Extra headers for every token request, except `Authorization`.
        client: A `Client` to send sync token requests with.
        async_client: The same, for async token requests.

    Raises:
        ValueError: As for `OAuth2ClientCredentials`, and if `client_secret`
            is given without `client_id` or is empty.
        TypeError: If a scope, parameter or header is not a string.
    """

    _grant_type: ClassVar[str] = "password"
    _invalid_grant_advice: ClassVar[str] = (
        "the server refused the user name or password; check them"
    )

    client_id: str | None
    client_secret: SecretStr | None

    def __init__(
        self,
        token_url: str,
        *,
        client_id: str | None = None,
        client_secret: SecretStr | str | None = None,
        scope: str | Sequence[str] | None = None,
        client_auth: ClientAuthMethod = "basic",
        extra_params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        client: Any = None,
        async_client: Any = None,
    ) -> None:
        self._set_common(
            token_url,
            scope=scope,
            client_auth=client_auth,
            extra_params=extra_params,
            headers=headers,
            client=client,
            async_client=async_client,
        )
        secret = (
            SecretStr(client_secret)
            if isinstance(client_secret, str)
            else client_secret
        )
        if secret is not None and client_id is None:
            raise ValueError("client_secret needs the client_id it belongs to.")
        if secret is not None and not secret.get_secret_value():
            raise ValueError(
                "client_secret is empty; leave it out for a public client."
            )

        object.__setattr__(self, "client_id", client_id)
        object.__setattr__(self, "client_secret", secret)

    def _grant_fields(self, credentials: Any) -> dict[str, str]:
        return {
            "username": _credential(credentials, "username", self),
            "password": _credential(credentials, "password", self),
        }

    def _client_of(self, credentials: Any) -> _Client | None:
        if self.client_id is None:
            return None
        secret = self.client_secret

        return _Client(
            self.client_id, None if secret is None else secret.get_secret_value()
        )


def _credential(credentials: object, name: str, source: TokenSource) -> str:
    """An attribute of the credentials, its secret revealed for the wire only."""
    value = getattr(credentials, name, None)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str):
        return value

    model = (
        "ClientCredentials"
        if isinstance(source, OAuth2ClientCredentials)
        else "PasswordCredentials"
    )
    raise TypeError(
        f"{type(source).__name__} needs credentials with a string {name!r} "
        f"attribute, such as a {model}, and {type(credentials).__name__} has none."
    )


def _basic_authorization(client: _Client) -> str:
    # RFC 6749, section 2.3.1: the id and the secret are each form-urlencoded
    # (Appendix B) before they are joined by a colon and base64-encoded, so
    # that a colon in the id cannot be mistaken for the separator. httpx's
    # BasicAuth skips that step, hence this header is built by hand.
    secret = client.secret or ""
    pair = f"{quote_plus(client.client_id, safe='')}:{quote_plus(secret, safe='')}"

    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def _error_code(response: Any) -> str | None:
    """The `error` of an OAuth2 error answer, if it is a registered code."""
    try:
        document = response.json()
    except (ValueError, RecursionError):
        return None

    code = document.get("error") if isinstance(document, dict) else None
    return code if code in _REGISTERED_ERRORS else None


def _log_request(form: Mapping[str, str], url: str) -> None:
    logger.debug("OAuth2 %s grant sent to %s", form["grant_type"], redact_url(url))


def _scope_string(scope: str | Sequence[str] | None) -> str | None:
    """A scope as one space-separated string; `None` when there is none."""
    if scope is None:
        return None

    items = [scope] if isinstance(scope, str) else list(scope)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"A scope is a string, not {type(item).__name__}.")

    return " ".join(word for item in items for word in item.split()) or None


def _extra_params(params: Mapping[str, str] | None) -> _FrozenMapping | None:
    frozen = _frozen_strings(params, "extra_params")
    clashes = sorted(_RESERVED_PARAMS.intersection(frozen or {}))
    if clashes:
        raise ValueError(
            f"extra_params may not set {', '.join(map(repr, clashes))}: the source "
            "sets these fields itself (use `scope=` for the scope)."
        )

    return frozen


def _extra_headers(headers: Mapping[str, str] | None) -> _FrozenMapping | None:
    frozen = _frozen_strings(headers, "headers")
    if frozen is not None and any(name.lower() == "authorization" for name in frozen):
        raise ValueError(
            "headers may not set Authorization: the source sends the client's "
            "credentials itself, as `client_auth` says."
        )

    return frozen


def _frozen_strings(
    mapping: Mapping[str, str] | None, name: str
) -> _FrozenMapping | None:
    # Stored as a hashable mapping, so that the source is hashable and equal to
    # one built from an equal dictionary; empty is stored as None, for the same
    # reason.
    if not mapping:
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise TypeError(f"{name} must map strings to strings.")

    return _FrozenMapping(mapping)
