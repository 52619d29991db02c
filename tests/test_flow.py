"""
Unit tests that step the auth flow generators by hand, without a network.
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

import httpx
import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

import httpx_cached_auth
import httpx_cached_auth.httpx2
from httpx_cached_auth import CachedTokenAuth, Token, TokenCache, TokenResponseError
from httpx_cached_auth._token import (
    coerce_token,
    jwt_lifetime,
    parse_expires_in,
    read_path,
)


class Counter:
    """A login function returning token-1, token-2, ... and counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, credentials: object) -> str:
        self.calls += 1
        return f"token-{self.calls}"


@pytest.mark.parametrize("module", [httpx, httpx2])
def test_the_flow_signs_and_retries_a_401_once(module: Any) -> None:
    """Stepping the sync flow: sign, 401, re-sign with a new token, then stop."""
    auth_class = (
        CachedTokenAuth if module is httpx else httpx_cached_auth.httpx2.CachedTokenAuth
    )
    login = Counter()
    auth = auth_class("alice", login, cache=TokenCache())
    request = module.Request("GET", "https://api.example.com/files")

    flow = auth.sync_auth_flow(request)
    first = next(flow)
    assert first.headers["Authorization"] == "Bearer token-1"

    second = flow.send(module.Response(401, request=request))
    assert second.headers["Authorization"] == "Bearer token-2"

    with pytest.raises(StopIteration):
        flow.send(module.Response(401, request=request))
    assert login.calls == 2


def test_a_custom_header_and_scheme() -> None:
    """
    scheme=None sends the bare token in the configured header; a scheme prefixes it.
    """
    request = httpx.Request("GET", "https://api.example.com/")

    bare = CachedTokenAuth(
        "k", Counter(), cache=TokenCache(), header="X-API-Key", scheme=None
    )
    assert next(bare.sync_auth_flow(request)).headers["X-API-Key"] == "token-1"

    jwt = CachedTokenAuth("k", Counter(), cache=TokenCache(), scheme="JWT")
    assert next(jwt.sync_auth_flow(request)).headers["Authorization"] == "JWT token-1"


def test_equal_auths_are_equal_and_hash_alike() -> None:
    """
    Two auths built from equal settings compare equal, so factories can build them
    freely.
    """
    login = Counter()
    cache = TokenCache()

    assert CachedTokenAuth(("a", "b"), login, cache=cache) == CachedTokenAuth(
        ("a", "b"), login, cache=cache
    )
    assert hash(CachedTokenAuth(("a", "b"), login)) == hash(
        CachedTokenAuth(("a", "b"), login)
    )
    assert CachedTokenAuth(("a", "b"), login) != CachedTokenAuth(("a", "c"), login)


def test_bad_sources_and_options_are_refused() -> None:
    """A source that is not callable, or an empty header, is refused when built."""
    with pytest.raises(TypeError, match="LoginEndpoint"):
        CachedTokenAuth("alice", 42)
    with pytest.raises(ValueError, match="header"):
        CachedTokenAuth("alice", Counter(), header="")
    with pytest.raises(TypeError, match="TokenCache"):
        CachedTokenAuth("alice", Counter(), cache={})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="absolute"):
        httpx_cached_auth.LoginEndpoint("/api/v1/authentication/login")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"ttl": "300"}, TypeError),
        ({"ttl": True}, TypeError),
        ({"maxsize": 1.5}, TypeError),
        ({"leeway": "0"}, TypeError),
    ],
)
def test_settings_of_the_wrong_type_are_a_type_error(
    options: dict[str, object], error: type[Exception]
) -> None:
    """A string or a boolean where a number belongs is refused by name."""
    with pytest.raises(error, match=next(iter(options))):
        TokenCache(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"header": "X-A\r\nEvil: 1"},
        {"header": "X Key"},
        {"scheme": "Bear er"},
        {"scheme": 5},
    ],
)
def test_header_and_scheme_must_be_single_tokens(options: dict[str, object]) -> None:
    """A header name or scheme with spaces or line breaks is refused when built."""
    with pytest.raises(ValueError, match=next(iter(options))):
        CachedTokenAuth("alice", Counter(), cache=TokenCache(), **options)  # type: ignore[arg-type]


def test_public_names_match_all() -> None:
    """`__all__` lists exactly the public names of the package, in both layers."""
    for module in (httpx_cached_auth, httpx_cached_auth.httpx2):
        public = {
            name
            for name in vars(module)
            if not name.startswith("_")
            and not isinstance(vars(module)[name], type(httpx))
            and name not in {"annotations"}
        }
        assert set(module.__all__) == public


def test_the_httpx2_layer_shares_everything_but_the_auth_class() -> None:
    """The httpx2 module re-exports the same cache, sources and models."""
    for name in httpx_cached_auth.__all__:
        if name in {"CachedTokenAuth", "LoginError", "TokenResponseError"}:
            continue
        assert getattr(httpx_cached_auth.httpx2, name) is getattr(
            httpx_cached_auth, name
        )


@given(
    st.one_of(
        st.integers(-(10**9), 10**9), st.floats(allow_nan=False, allow_infinity=False)
    )
)
def test_numeric_expires_in_reads_back_in_every_form(seconds: float) -> None:
    """Any finite number reads the same as an int, a float or a numeric string."""
    assert parse_expires_in(seconds) == float(seconds)
    assert parse_expires_in(str(seconds)) == float(seconds)


@given(st.text())
def test_any_text_expires_in_is_a_number_or_a_clear_error(text: str) -> None:
    """
    Whatever the text, parsing gives a finite float or a TokenResponseError naming the
    field.
    """
    try:
        value = parse_expires_in(text)
    except TokenResponseError as exc:
        # One fixed message, naming the field: the value itself is never echoed.
        assert str(exc) == _message_for_garbage()  # noqa: PT017 - either outcome is valid
    else:
        assert value is not None
        assert value == value  # not NaN


@given(
    st.lists(st.from_regex(r"[a-zA-Z_]{1,8}", fullmatch=True), min_size=1, max_size=4),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1),
)
def test_a_token_is_found_at_any_dotted_path(path: list[str], token: str) -> None:
    """A token nested at any path of mappings is read back from that dotted path."""
    document: Any = token
    for step in reversed(path):
        document = {step: document}

    assert read_path(document, ".".join(path)) == token
    read = coerce_token(document, token_path=".".join(path))
    assert read.access_token.get_secret_value() == token
    # The repr never depends on the token: it is the same for any other token.
    assert repr(read) == repr(Token(access_token="x"))


def _message_for_garbage() -> str:
    with pytest.raises(TokenResponseError, match="'expires_in'") as caught:
        parse_expires_in("garbage")
    return str(caught.value)


def test_a_missing_or_empty_token_is_a_clear_error() -> None:
    """
    No token at the path, an empty one or a non-string one raise TokenResponseError.
    """
    with pytest.raises(TokenResponseError, match=r"'token\.accessToken'"):
        coerce_token({"token": {}}, token_path="token.accessToken")
    with pytest.raises(TokenResponseError, match="empty"):
        coerce_token({"access_token": "  "})
    with pytest.raises(TokenResponseError, match="not a string"):
        coerce_token({"access_token": 12345})


def test_a_jwt_exp_that_is_absurd_is_ignored() -> None:
    """An exp too large for a float, or a payload nested too deep, leaves the ttl."""
    huge = _jwt({"exp": 10**400})
    deep = _jwt_raw(b"[" * 100_000 + b"]" * 100_000)

    assert jwt_lifetime(huge, now=0) is None
    assert jwt_lifetime(deep, now=0) is None
    assert jwt_lifetime(_jwt({"exp": 1100}), now=1000) == 100


def _jwt(claims: dict[str, Any]) -> str:
    return _jwt_raw(json.dumps(claims).encode())


def _jwt_raw(payload: bytes) -> str:
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    return f"eyJhbGciOiJIUzI1NiJ9.{encoded}.signature"


def test_credentials_with_uuid_and_date_fields_are_sent_as_json() -> None:
    """UUIDs and dates in credentials become JSON strings; secrets are revealed."""
    import datetime
    import uuid

    from pydantic import BaseModel, ConfigDict, SecretStr

    from httpx_cached_auth._sources import credentials_payload

    class Tenant(BaseModel):
        model_config = ConfigDict(frozen=True)

        tenant: uuid.UUID
        since: datetime.date
        password: SecretStr

    tenant = Tenant(
        tenant=uuid.UUID(int=1), since=datetime.date(2026, 1, 2), password="pw"
    )

    assert credentials_payload(tenant) == {
        "tenant": "00000000-0000-0000-0000-000000000001",
        "since": "2026-01-02",
        "password": "pw",
    }


def test_a_function_source_shows_only_the_functions_name() -> None:
    """The repr of a partial login function does not show its bound arguments."""

    def login(credentials: object, api_key: str) -> str:
        return api_key

    source = httpx_cached_auth.FunctionSource(
        functools.partial(login, api_key="SECRET-KEY")
    )

    assert "SECRET-KEY" not in repr(source)
    assert "SECRET-KEY" not in repr(CachedTokenAuth("alice", source))


def test_url_errors_hide_user_info_and_query() -> None:
    """A relative URL with a password or key is refused without showing them."""
    with pytest.raises(ValueError, match="absolute") as caught:
        httpx_cached_auth.LoginEndpoint("ada:URL-PASSWORD@host/login?k=QUERY-KEY")

    assert "URL-PASSWORD" not in str(caught.value)
    assert "QUERY-KEY" not in str(caught.value)
