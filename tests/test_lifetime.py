"""
Token lifetime: each token lives min(ttl, its own lifetime - leeway), read from
`expires_in` or a JWT `exp`; refresh tokens renew it without a full login.

Time is injected: the cache's `timer` (and `clock` for JWTs) is a FakeClock.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from conftest import FILES_PATH, LOGIN_PATH, REFRESH_PATH, Driver, FakeClock, User

from httpx_cached_auth import (
    LoginContext,
    LoginEndpoint,
    Token,
    TokenCache,
    TokenResponseError,
    login_source,
)
from httpx_cached_auth._demo_api import DemoLoginAPI

EPSILON = 0.001


def _real_token(base_url: str, user: User) -> str:
    """Log in at the real API, outside any cache, and return the access token."""
    endpoint = LoginEndpoint(base_url + LOGIN_PATH, token_path="token.accessToken")
    return endpoint.fetch(user, LoginContext()).access_token.get_secret_value()


def _source_with(base_url: str, **fields: Any) -> Any:
    """
    A login function answering the real token with extra fields, counting its calls.
    """

    def login_with_fields(credentials: User) -> dict[str, Any]:
        login_with_fields.calls += 1  # type: ignore[attr-defined]
        return {"access_token": _real_token(base_url, credentials), **fields}

    login_with_fields.calls = 0  # type: ignore[attr-defined]
    return login_with_fields


def _assert_renewed_at(
    seconds: float, driver: Driver, auth: Any, url: str, source: Any, clock: FakeClock
) -> None:
    """The token is reused until `seconds` after the login, and renewed just after."""
    assert _logins_after(driver, auth, url, source) == 1
    clock.advance(seconds - EPSILON)
    assert _logins_after(driver, auth, url, source) == 1
    clock.advance(2 * EPSILON)
    assert _logins_after(driver, auth, url, source) == 2


def _logins_after(driver: Driver, auth: Any, url: str, source: Any) -> int:
    assert driver.get(auth, url).status_code == 200
    return int(source.calls)


@pytest.mark.parametrize("expires_in", [100, 100.0, "100", "1e2"])
def test_a_token_is_renewed_at_its_lifetime_minus_the_leeway(
    driver: Driver, base_url: str, user: User, clock: FakeClock, expires_in: object
) -> None:
    """
    With expires_in=100 and leeway=10, the token is used until 90 s and renewed after.
    """
    cache = TokenCache(ttl=1000, leeway=10, timer=clock)
    source = _source_with(base_url, expires_in=expires_in)
    auth = driver.auth(user, source, cache=cache)
    url = base_url + FILES_PATH

    _assert_renewed_at(90, driver, auth, url, source, clock)


def test_a_leeway_of_zero_means_zero(
    driver: Driver, base_url: str, user: User, clock: FakeClock
) -> None:
    """Leeway 0 uses the token until the very end of its own lifetime."""
    cache = TokenCache(ttl=1000, leeway=0, timer=clock)
    source = _source_with(base_url, expires_in=100)
    auth = driver.auth(user, source, cache=cache)
    url = base_url + FILES_PATH

    _assert_renewed_at(100, driver, auth, url, source, clock)


def test_the_ttl_caps_a_longer_token_lifetime(
    driver: Driver, base_url: str, user: User, clock: FakeClock
) -> None:
    """A token valid for an hour is kept only for the configured 60-second ttl."""
    cache = TokenCache(ttl=60, leeway=10, timer=clock)
    source = _source_with(base_url, expires_in=3600)
    auth = driver.auth(user, source, cache=cache)
    url = base_url + FILES_PATH

    _assert_renewed_at(60, driver, auth, url, source, clock)


def test_a_leeway_longer_than_half_the_lifetime_is_clamped_with_one_warning(
    driver: Driver,
    base_url: str,
    user: User,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """
    A 30-second token with a 60-second leeway is reused for 15 s, and warned of once.
    """
    caplog.set_level(logging.WARNING, logger="httpx_cached_auth")
    cache = TokenCache(ttl=1000, leeway=60, timer=clock)
    source = _source_with(base_url, expires_in=30)
    auth = driver.auth(user, source, cache=cache)
    url = base_url + FILES_PATH

    _assert_renewed_at(15, driver, auth, url, source, clock)

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "leeway" in warnings[0].getMessage()


@pytest.mark.api(jwt_exp=True)
def test_a_jwt_exp_claim_sets_the_lifetime_when_expires_in_is_absent(
    driver: Driver, base_url: str, user: User, clock: FakeClock
) -> None:
    """A JWT whose exp is 100 s after the wall clock is renewed 100 s - leeway later."""
    wall_clock = FakeClock()
    cache = TokenCache(ttl=1000, leeway=5, timer=clock, clock=wall_clock)

    def login_reading_exp(credentials: User) -> str:
        login_reading_exp.calls += 1  # type: ignore[attr-defined]
        token = _real_token(base_url, credentials)
        wall_clock.now = _claims(token)["exp"] - 100
        return token

    login_reading_exp.calls = 0  # type: ignore[attr-defined]
    auth = driver.auth(user, login_reading_exp, cache=cache)
    url = base_url + FILES_PATH

    _assert_renewed_at(95, driver, auth, url, login_reading_exp, clock)


def test_a_jwt_without_exp_keeps_the_configured_ttl(
    driver: Driver, base_url: str, user: User, clock: FakeClock
) -> None:
    """The API's JWTs carry a custom `expire` field and no `exp`, so the ttl applies."""
    cache = TokenCache(ttl=120, leeway=30, timer=clock)
    source = _source_with(base_url)
    auth = driver.auth(user, source, cache=cache)
    url = base_url + FILES_PATH

    _assert_renewed_at(120, driver, auth, url, source, clock)


@pytest.mark.parametrize("expires_in", [0, -5])
def test_a_token_with_no_lifetime_left_is_used_once_and_not_cached(
    driver: Driver,
    base_url: str,
    user: User,
    cache: TokenCache,
    caplog: pytest.LogCaptureFixture,
    expires_in: int,
) -> None:
    """expires_in <= 0 serves its request, is not cached, and is warned of once."""
    caplog.set_level(logging.WARNING, logger="httpx_cached_auth")
    source = _source_with(base_url, expires_in=expires_in)
    auth = driver.auth(user, source, cache=cache)
    url = base_url + FILES_PATH

    assert _logins_after(driver, auth, url, source) == 1
    assert _logins_after(driver, auth, url, source) == 2
    assert len(cache) == 0
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


@pytest.mark.parametrize("garbage", ["abc", "", "nan", True, [1], 10**400, "9" * 400])
def test_an_expires_in_that_is_not_a_number_is_a_clear_error(
    driver: Driver, base_url: str, user: User, cache: TokenCache, garbage: object
) -> None:
    """
    A garbage expires_in raises TokenResponseError naming the field, not the token.
    """
    source = _source_with(base_url, expires_in=garbage)

    with pytest.raises(TokenResponseError, match="expires_in") as caught:
        driver.get(driver.auth(user, source, cache=cache), base_url + FILES_PATH)

    assert "eyJ" not in str(caught.value)
    assert len(cache) == 0
    assert cache.stats.failures == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"leeway": -1}, "leeway"),
        ({"leeway": float("nan")}, "leeway"),
        ({"ttl": 0}, "ttl"),
        ({"ttl": -3}, "ttl"),
        ({"maxsize": 0}, "maxsize"),
        ({"refresh_ttl": 0}, "refresh_ttl"),
    ],
)
def test_bad_cache_settings_are_refused_at_construction(
    options: dict[str, float], message: str
) -> None:
    """Negative or zero numbers are a ValueError naming the setting."""
    with pytest.raises(ValueError, match=message):
        TokenCache(**options)  # type: ignore[arg-type]


def _refreshing_login(base_url: str) -> LoginEndpoint:
    return LoginEndpoint(
        base_url + LOGIN_PATH,
        token_path="token.accessToken",
        refresh_url=base_url + REFRESH_PATH,
        refresh_field="refreshToken",
    )


@pytest.mark.parametrize(
    "rotate", [False, True], ids=["refresh-token-echoed", "refresh-token-rotated"]
)
def test_an_expired_token_is_refreshed_instead_of_logging_in(
    driver: Driver,
    base_url: str,
    user: User,
    clock: FakeClock,
    rotate: bool,
    api_factory: Any,
) -> None:
    """
    Each expiry costs one refresh call, not a login, whether or not the refresh token
    rotates.
    """
    api = api_factory(rotate_refresh_tokens=rotate)
    api.create_user(user.email, user.password.get_secret_value())
    cache = TokenCache(ttl=60, leeway=0, timer=clock)
    auth = driver.auth(user, _refreshing_login(base_url), cache=cache)

    for _ in range(3):
        assert driver.get(auth, base_url + FILES_PATH).status_code == 200
        clock.advance(61)

    assert (api.logins, api.refreshes) == (1, 2)
    assert cache.stats.refreshes == 2


def test_a_refused_refresh_falls_back_to_one_login(
    driver: Driver, api: DemoLoginAPI, base_url: str, user: User, clock: FakeClock
) -> None:
    """
    When the server revoked everything, the refresh gets 401 and one full login follows.
    """
    cache = TokenCache(ttl=60, leeway=0, timer=clock)
    auth = driver.auth(user, _refreshing_login(base_url), cache=cache)
    driver.get(auth, base_url + FILES_PATH)
    api.revoke_all_tokens()
    clock.advance(61)

    assert driver.get(auth, base_url + FILES_PATH).status_code == 200
    assert (api.logins, api.refreshes) == (2, 1)


def test_a_401_is_answered_with_a_refresh_when_one_is_possible(
    driver: Driver, api: DemoLoginAPI, base_url: str, user: User, cache: TokenCache
) -> None:
    """
    Revoked access tokens with a valid refresh token are renewed by one refresh call.
    """
    auth = driver.auth(user, _refreshing_login(base_url), cache=cache)
    driver.get(auth, base_url + FILES_PATH)
    api.revoke_access_tokens()

    assert driver.get(auth, base_url + FILES_PATH).status_code == 200
    assert (api.logins, api.refreshes) == (1, 1)


@pytest.mark.api(rotate_refresh_tokens=True, login_delay=0.05)
def test_twenty_requests_crossing_expiry_share_one_single_use_refresh(
    driver: Driver, api: DemoLoginAPI, base_url: str, user: User, clock: FakeClock
) -> None:
    """20 concurrent requests after expiry make exactly one refresh and all succeed."""
    cache = TokenCache(ttl=60, leeway=0, timer=clock)
    login = _refreshing_login(base_url)
    driver.get(driver.auth(user, login, cache=cache), base_url + FILES_PATH)
    clock.advance(61)

    responses = driver.concurrently(
        lambda: driver.auth(user.model_copy(), login, cache=cache),
        base_url + FILES_PATH,
        count=20,
    )

    assert [r.status_code for r in responses] == [200] * 20
    assert (api.logins, api.refreshes) == (1, 1)


def test_a_refresh_answer_without_a_refresh_token_keeps_the_old_one(
    driver: Driver, base_url: str, user: User, clock: FakeClock
) -> None:
    """The refresh token from the login is used again when a refresh returns none."""
    presented: list[str] = []

    def refresh(refresh_token: str) -> Token:
        presented.append(refresh_token)
        return Token(access_token=_real_token(base_url, user))

    @login_source(refresh=refresh)
    def login(credentials: User) -> Token:
        return Token(
            access_token=_real_token(base_url, credentials), refresh_token="r-1"
        )

    cache = TokenCache(ttl=60, leeway=0, timer=clock)
    auth = driver.auth(user, login, cache=cache)
    for _ in range(3):
        assert driver.get(auth, base_url + FILES_PATH).status_code == 200
        clock.advance(61)

    assert presented == ["r-1", "r-1"]


def test_cache_control_invalidates_clears_and_counts(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    make_user: Any,
    login: LoginEndpoint,
    cache: TokenCache,
) -> None:
    """
    invalidate() forgets one user's token, clear() all of them, and stats count each
    event.
    """
    alice, bob = make_user(), make_user()
    for user in (alice, bob, alice):
        driver.get(driver.auth(user, login, cache=cache), base_url + FILES_PATH)
    assert (cache.stats.logins, cache.stats.hits, len(cache)) == (2, 1, 2)

    assert cache.invalidate(alice) == 1
    assert cache.invalidate(alice, source=login) == 0
    driver.get(driver.auth(alice, login, cache=cache), base_url + FILES_PATH)
    assert api.logins == 3

    cache.clear()
    assert len(cache) == 0
    assert cache.stats.logins == 0
    driver.get(driver.auth(bob, login, cache=cache), base_url + FILES_PATH)
    assert api.logins == 4


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def test_a_refresh_function_that_raises_falls_back_to_one_login(
    driver: Driver, base_url: str, user: User, clock: FakeClock
) -> None:
    """A refresh function that fails gives way to a full login, and is not retried."""
    refreshes: list[str] = []

    def broken_refresh(refresh_token: str) -> Token:
        refreshes.append(refresh_token)
        raise RuntimeError("the refresh endpoint is down")

    source = _source_with(base_url, refresh_token="r-1")
    login = login_source(source, refresh=broken_refresh)
    cache = TokenCache(ttl=60, leeway=0, timer=clock)
    auth = driver.auth(user, login, cache=cache)

    for _ in range(3):
        assert driver.get(auth, base_url + FILES_PATH).status_code == 200
        clock.advance(61)

    assert source.calls == 3
    assert refreshes == ["r-1", "r-1"]


@pytest.mark.parametrize("status", [500, 403, 429])
def test_a_refresh_endpoint_that_fails_falls_back_to_one_login(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    user: User,
    clock: FakeClock,
    status: int,
) -> None:
    """
    A refresh answered 5xx, 403 or 429 gives way to one full login, not to an error.
    """
    cache = TokenCache(ttl=60, leeway=0, timer=clock)
    auth = driver.auth(user, _refreshing_login(base_url), cache=cache)
    driver.get(auth, base_url + FILES_PATH)
    api.fail_next_refreshes(1, status=status)
    clock.advance(61)

    assert driver.get(auth, base_url + FILES_PATH).status_code == 200
    clock.advance(61)
    assert driver.get(auth, base_url + FILES_PATH).status_code == 200

    assert (api.logins, api.refreshes) == (2, 2)
