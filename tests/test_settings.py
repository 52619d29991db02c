"""
Configuration per environment: HTTPX_CACHED_AUTH_* variables, .env files, and code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FILES_PATH, Driver, User

import httpx_cached_auth
from httpx_cached_auth import CacheSettings, LoginEndpoint, SettingsError, TokenCache
from httpx_cached_auth._demo_api import DemoLoginAPI


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TTL", "LEEWAY", "MAXSIZE", "REFRESH_TTL"):
        monkeypatch.delenv(f"HTTPX_CACHED_AUTH_{name}", raising=False)


@pytest.fixture
def env_files(tmp_path: Path) -> dict[str, Path]:
    """A .env file per named environment, as a deployment would keep them."""
    files = {
        "stage": "HTTPX_CACHED_AUTH_TTL=300\nHTTPX_CACHED_AUTH_LEEWAY=0\n",
        "prod": "HTTPX_CACHED_AUTH_TTL=43200\nHTTPX_CACHED_AUTH_LEEWAY=60\n"
        "HTTPX_CACHED_AUTH_MAXSIZE=10\n",
    }
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / f".env.{name}"
        paths[name].write_text(text)
    return paths


def test_two_named_environments_read_their_own_files(
    env_files: dict[str, Path],
) -> None:
    """Stage and prod settings come from .env.stage and .env.prod."""
    stage = CacheSettings.load(env_file=env_files["stage"])
    prod = CacheSettings.load(env_file=env_files["prod"])

    assert (stage.ttl, stage.leeway, stage.maxsize) == (300, 0, 1024)
    assert (prod.ttl, prod.leeway, prod.maxsize) == (43200, 60, 10)


def test_code_beats_the_environment_which_beats_the_file(
    env_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Explicit arguments win over variables, and variables over the .env file."""
    monkeypatch.setenv("HTTPX_CACHED_AUTH_TTL", "120")
    monkeypatch.setenv("HTTPX_CACHED_AUTH_LEEWAY", "5")

    settings = CacheSettings.load(env_file=env_files["prod"], leeway=1)

    assert (settings.ttl, settings.leeway, settings.maxsize) == (120, 1, 10)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TTL", "abc"), ("TTL", "-5"), ("LEEWAY", "-1"), ("MAXSIZE", "0"), ("TTL", "inf")],
)
def test_a_bad_variable_fails_at_start_up_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """An invalid value raises SettingsError whose message names the variable."""
    monkeypatch.setenv(f"HTTPX_CACHED_AUTH_{variable}", value)

    with pytest.raises(SettingsError, match=f"HTTPX_CACHED_AUTH_{variable}") as caught:
        CacheSettings.load()

    assert isinstance(caught.value, ValueError)
    assert list(caught.value.errors) == [f"HTTPX_CACHED_AUTH_{variable}"]


def test_settings_make_a_cache() -> None:
    """TokenCache.from_settings carries every setting over."""
    settings = CacheSettings.load(ttl=10, leeway=2, maxsize=3, refresh_ttl=60)

    cache = TokenCache.from_settings(settings)

    assert (cache.ttl, cache.leeway, cache.maxsize, cache.refresh_ttl) == (10, 2, 3, 60)


def test_the_default_cache_follows_the_environment(
    driver: Driver,
    api: DemoLoginAPI,
    base_url: str,
    user: User,
    login: LoginEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """
    The default cache is built from the variables when first used, and again after a
    reset.
    """
    monkeypatch.setenv("HTTPX_CACHED_AUTH_TTL", "42")
    auth = driver.auth(user, login)

    driver.get(auth, base_url + FILES_PATH)
    assert auth.cache.ttl == 42
    assert auth.cache is httpx_cached_auth.default_token_cache()

    monkeypatch.setenv("HTTPX_CACHED_AUTH_TTL", "7")
    httpx_cached_auth.reset_default_token_cache()
    driver.get(auth, base_url + FILES_PATH)
    assert auth.cache.ttl == 7
    assert api.logins == 2


def test_a_bad_variable_fails_when_the_auth_is_built(
    driver: Driver, login: LoginEndpoint, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    With a broken variable, building an auth on the default cache raises SettingsError.
    """
    monkeypatch.setenv("HTTPX_CACHED_AUTH_MAXSIZE", "many")

    with pytest.raises(SettingsError, match="HTTPX_CACHED_AUTH_MAXSIZE"):
        driver.auth(user, login)


def test_a_missing_env_file_is_an_error(tmp_path: Path) -> None:
    """A mistyped environment file name fails instead of falling back to defaults."""
    with pytest.raises(SettingsError, match="does not exist"):
        CacheSettings.load(env_file=tmp_path / ".env.prdo")


def test_an_empty_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """`HTTPX_CACHED_AUTH_REFRESH_TTL=` leaves the setting at its default."""
    monkeypatch.setenv("HTTPX_CACHED_AUTH_REFRESH_TTL", "")

    assert CacheSettings.load().refresh_ttl is None


def test_unknown_settings_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    """A misspelled setting is a TypeError, a file that is not UTF-8 a SettingsError."""
    with pytest.raises(TypeError, match="ttls"):
        CacheSettings.load(ttls=5)

    binary = tmp_path / ".env.binary"
    binary.write_bytes(b"HTTPX_CACHED_AUTH_TTL=\xff\xfe\n")
    with pytest.raises(SettingsError, match="not UTF-8"):
        CacheSettings.load(env_file=binary)
