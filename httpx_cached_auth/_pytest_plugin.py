"""
The pytest plugin of `httpx_cached_auth`, installed with the package.

Pytest loads it in every project where the package is installed, so it stays out
of the way until used:

- the `token_cache` fixture gives a test a fresh `TokenCache` of its own;
- the default cache is reset when a session starts, so that two runs in one
  process (an IDE, `pytester`) never share tokens;
- a run that used the package ends with one line on what its caches did, such as
  `httpx_cached_auth: 3 logins, 57 tokens reused, 0 refreshes, 0 failures`.

The line counts every `TokenCache` of the process: the default one, the fixture's,
and a project's own. `--no-cached-auth-summary` or the ini option
`cached_auth_summary = false` silences it; `-p no:httpx_cached_auth` turns the
whole plugin off.
"""

from __future__ import annotations

import pytest

from ._cache import CacheStats, TokenCache, process_stats
from ._settings import CacheSettings, reset_default_token_cache

__all__ = ["token_cache"]

_AT_START = pytest.StashKey[CacheStats]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the switch and the ini option of the summary line."""
    group = parser.getgroup("httpx_cached_auth", "httpx_cached_auth token caches")
    group.addoption(
        "--no-cached-auth-summary",
        action="store_false",
        dest="cached_auth_summary",
        default=None,
        help="Do not print the line on logins and reused tokens at the end.",
    )
    parser.addini(
        "cached_auth_summary",
        type="bool",
        default=True,
        help="Print a line on logins and reused tokens at the end of a run "
        "that used httpx_cached_auth.",
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start with no default cache, and note what the process's caches did so far."""
    reset_default_token_cache()
    session.config.stash[_AT_START] = process_stats()


@pytest.fixture
def token_cache() -> TokenCache:
    """
    A fresh `TokenCache` of the test's own, set up like the default cache.

    Give it to the auths of a test that must not share tokens with other tests:
    `CachedTokenAuth(user, login, cache=token_cache)`. It reads the same
    `HTTPX_CACHED_AUTH_*` variables as the default cache.

    Raises:
        SettingsError: If an `HTTPX_CACHED_AUTH_*` variable holds an invalid
            value.
    """
    return TokenCache.from_settings(CacheSettings.load())


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Print what the caches did during the session, if anything and if wanted."""
    at_start = config.stash.get(_AT_START, None)
    if at_start is None or not _summary_wanted(config):
        return

    during = _difference(process_stats(), at_start)
    if during != CacheStats():
        terminalreporter.write_line(_summary_line(during))


def _summary_wanted(config: pytest.Config) -> bool:
    option = config.getoption("cached_auth_summary")
    if option is not None:
        return bool(option)
    return bool(config.getini("cached_auth_summary"))


def _difference(now: CacheStats, before: CacheStats) -> CacheStats:
    return CacheStats(
        **{name: getattr(now, name) - getattr(before, name) for name in now.__slots__}
    )


def _summary_line(stats: CacheStats) -> str:
    counts = [
        _plural(stats.logins, "login", "logins"),
        _plural(stats.hits, "token reused", "tokens reused"),
        _plural(stats.refreshes, "refresh", "refreshes"),
        _plural(stats.failures, "failure", "failures"),
    ]
    return "httpx_cached_auth: " + ", ".join(counts)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"
