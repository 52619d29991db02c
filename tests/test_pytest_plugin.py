"""
The pytest plugin: the `token_cache` fixture, the reset per session, the summary.

Most tests run a generated suite in a pytest of its own, in a subprocess, so that
its default cache and its summary are not this session's.
"""

from __future__ import annotations

import httpx
import pytest

from httpx_cached_auth import (
    CachedTokenAuth,
    CacheStats,
    TokenCache,
    default_token_cache,
    reset_default_token_cache,
)
from httpx_cached_auth._cache import process_stats
from httpx_cached_auth._pytest_plugin import _summary_line

pytest_plugins = ["pytester"]

# A conftest for generated suites: a real login API on 127.0.0.1, and users of it.
SERVED_API = """
    import itertools

    import pytest
    from pydantic import BaseModel, ConfigDict, SecretStr

    from httpx_cached_auth import LoginEndpoint
    from httpx_cached_auth._demo_api import DemoLoginAPI, serve

    _emails = itertools.count()


    class User(BaseModel):
        model_config = ConfigDict(frozen=True)

        email: str
        password: SecretStr


    @pytest.fixture(scope="session")
    def api():
        return DemoLoginAPI(login_delay=0)


    @pytest.fixture(scope="session")
    def base_url(api):
        with serve(api) as url:
            yield url


    @pytest.fixture
    def login(base_url):
        return LoginEndpoint(
            base_url + "/api/v1/authentication/login",
            token_path="token.accessToken",
            refresh_url=base_url + "/api/v1/authentication/refresh",
            refresh_field="refreshToken",
        )


    @pytest.fixture
    def make_user(api):
        def make(password="secret"):
            email = f"user{next(_emails)}@example.com"
            api.create_user(email, "secret")
            return User(email=email, password=SecretStr(password))

        return make
"""

# A test module whose logins need no server: the login function answers at once.
LOCAL_LOGINS = """
    import httpx

    from httpx_cached_auth import CachedTokenAuth


    def login(user):
        return "token-of-" + user


    def send(auth, count=1):
        transport = httpx.MockTransport(lambda request: httpx.Response(200))
        with httpx.Client(transport=transport, auth=auth) as client:
            for _ in range(count):
                client.get("http://api.test/")
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider", *args)


def _summary_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("httpx_cached_auth:")]


def test_summary_counts_logins_reuse_refreshes_and_failures(
    pytester: pytest.Pytester,
) -> None:
    """The summary line adds up exactly what the run's clients did with the API."""
    pytester.makeconftest(SERVED_API)
    pytester.makepyfile(
        test_clients="""
        import httpx
        import pytest

        from httpx_cached_auth import CachedTokenAuth, LoginError


        def test_two_users_many_clients(api, base_url, login, make_user):
            ada, bob = make_user(), make_user()
            for user in (ada, bob, ada):
                for _ in range(2):
                    auth = CachedTokenAuth(user, login)
                    with httpx.Client(base_url=base_url, auth=auth) as client:
                        client.get("/api/v1/files").raise_for_status()
                        client.get("/api/v1/courses").raise_for_status()
            assert api.logins == 2


        def test_a_refused_token_is_refreshed(api, base_url, login, make_user):
            user = make_user()
            with httpx.Client(
                base_url=base_url, auth=CachedTokenAuth(user, login)
            ) as client:
                client.get("/api/v1/files").raise_for_status()
                api.revoke_access_tokens()
                client.get("/api/v1/files").raise_for_status()


        def test_a_wrong_password_fails(base_url, login, make_user):
            user = make_user(password="wrong")
            auth = CachedTokenAuth(user, login)
            with httpx.Client(base_url=base_url, auth=auth) as client:
                with pytest.raises(LoginError):
                    client.get("/api/v1/files")
        """
    )

    result = _run(pytester)

    result.assert_outcomes(passed=3)
    # 2 users x 2 clients x 2 requests, then the first user's 4 requests again:
    # 2 logins and 10 reused tokens. Then 1 login, 1 reused token that the API
    # refuses, and 1 refresh. Then 1 failure.
    assert _summary_lines(result) == [
        "httpx_cached_auth: 3 logins, 11 tokens reused, 1 refresh, 1 failure"
    ]


def test_token_cache_fixture_is_fresh_for_each_test(pytester: pytest.Pytester) -> None:
    """Each test gets its own empty cache, so the same user logs in in each one."""
    pytester.makeconftest(SERVED_API)
    pytester.makepyfile(
        test_isolated="""
        import httpx
        import pytest
        from conftest import User

        from httpx_cached_auth import CacheStats, CachedTokenAuth, default_token_cache

        SEEN = []


        @pytest.fixture(scope="module")
        def user(api):
            api.create_user("ada@example.com", "secret")
            return User(email="ada@example.com", password="secret")


        @pytest.mark.parametrize("run", [1, 2])
        def test_logs_in_with_its_own_cache(
            run, api, base_url, login, user, token_cache
        ):
            assert len(token_cache) == 0
            assert token_cache.stats == CacheStats()
            assert token_cache is not default_token_cache()
            assert all(token_cache is not other for other in SEEN)
            SEEN.append(token_cache)

            auth = CachedTokenAuth(user, login, cache=token_cache)
            for _ in range(2):
                with httpx.Client(base_url=base_url, auth=auth) as client:
                    client.get("/api/v1/files").raise_for_status()

            assert token_cache.stats.logins == 1
            assert api.logins == run
        """
    )
    result = _run(pytester)

    result.assert_outcomes(passed=2)
    assert _summary_lines(result) == [
        "httpx_cached_auth: 2 logins, 2 tokens reused, 0 refreshes, 0 failures"
    ]


def test_no_summary_when_the_library_was_not_used(pytester: pytest.Pytester) -> None:
    """A run that built auths and caches but sent nothing prints no summary line."""
    pytester.makepyfile(
        test_unused="""
        from httpx_cached_auth import CachedTokenAuth


        def test_builds_an_auth(token_cache):
            CachedTokenAuth("ada", lambda user: "token", cache=token_cache)


        def test_does_something_else():
            assert 1 + 1 == 2
        """
    )

    result = _run(pytester)

    result.assert_outcomes(passed=2)
    assert _summary_lines(result) == []


@pytest.mark.parametrize(
    ("ini", "args"),
    [
        ("", ["--no-cached-auth-summary"]),
        ("[pytest]\ncached_auth_summary = false\n", []),
    ],
    ids=["flag", "ini"],
)
def test_summary_can_be_silenced(
    pytester: pytest.Pytester, ini: str, args: list[str]
) -> None:
    """The flag and the ini option each keep the summary line out of the output."""
    if ini:
        pytester.makeini(ini)
    pytester.makepyfile(
        helpers=LOCAL_LOGINS,
        test_used="""
        from helpers import CachedTokenAuth, login, send


        def test_logs_in():
            send(CachedTokenAuth("ada", login), count=3)
        """,
    )

    result = _run(pytester, *args)

    result.assert_outcomes(passed=1)
    assert _summary_lines(result) == []


def test_default_cache_starts_empty_in_each_session(pytester: pytest.Pytester) -> None:
    """Two sessions in one process do not share the default cache or their counts."""
    pytester.makepyfile(
        helpers=LOCAL_LOGINS,
        test_default="""
        from helpers import CachedTokenAuth, login, send

        from httpx_cached_auth import CacheStats, default_token_cache


        def test_starts_with_an_empty_default_cache():
            cache = default_token_cache()
            assert len(cache) == 0
            assert cache.stats == CacheStats()

            send(CachedTokenAuth("ada", login), count=2)

            assert cache.stats.logins == 1
        """,
    )
    script = pytester.makepyfile(
        two_sessions="""
        import sys

        import pytest

        args = ["-q", "-W", "error", "-p", "no:cacheprovider", "test_default.py"]
        codes = [pytest.main(args) for _ in range(2)]
        sys.exit(max(codes))
        """
    )

    result = pytester.runpython(script)

    assert result.ret == 0, result.stdout.str()
    assert (
        _summary_lines(result)
        == ["httpx_cached_auth: 1 login, 1 token reused, 0 refreshes, 0 failures"] * 2
    )


def test_default_caches_reset_by_fixtures_are_all_counted(
    pytester: pytest.Pytester,
) -> None:
    """A suite that resets the default cache around each test still gets every count."""
    pytester.makeconftest(
        """
        import pytest

        from httpx_cached_auth import reset_default_token_cache


        @pytest.fixture(autouse=True)
        def fresh_default_cache():
            reset_default_token_cache()
            yield
            reset_default_token_cache()
        """
    )
    pytester.makepyfile(
        helpers=LOCAL_LOGINS,
        test_resets="""
        import pytest

        from helpers import CachedTokenAuth, login, send


        @pytest.mark.parametrize("run", range(3))
        def test_logs_in_again(run):
            send(CachedTokenAuth("ada", login), count=2)
        """,
    )

    result = _run(pytester)

    result.assert_outcomes(passed=3)
    assert _summary_lines(result) == [
        "httpx_cached_auth: 3 logins, 3 tokens reused, 0 refreshes, 0 failures"
    ]


def test_a_projects_own_cache_is_counted_too(pytester: pytest.Pytester) -> None:
    """A cache the project makes itself is in the summary, with the default one."""
    pytester.makeconftest(
        """
        from httpx_cached_auth import TokenCache

        PROJECT_CACHE = TokenCache()
        """
    )
    pytester.makepyfile(
        helpers=LOCAL_LOGINS,
        test_own_cache="""
        from conftest import PROJECT_CACHE
        from helpers import CachedTokenAuth, login, send


        def test_uses_the_project_cache():
            send(CachedTokenAuth("ada", login, cache=PROJECT_CACHE), count=4)


        def test_uses_the_default_cache():
            send(CachedTokenAuth("bob", login), count=2)
        """,
    )

    result = _run(pytester)

    result.assert_outcomes(passed=2)
    assert _summary_lines(result) == [
        "httpx_cached_auth: 2 logins, 4 tokens reused, 0 refreshes, 0 failures"
    ]


def test_token_cache_fixture_is_not_the_default_cache(token_cache: TokenCache) -> None:
    """The fixture's cache is new and empty, apart from the default cache."""
    assert token_cache is not default_token_cache()
    assert len(token_cache) == 0
    assert token_cache.stats == CacheStats()


def test_summary_line_says_one_of_each_in_the_singular() -> None:
    """Counts of one are written in the singular, other counts in the plural."""
    one_each = CacheStats(hits=1, misses=1, logins=1, refreshes=1, failures=1)
    none = CacheStats()

    assert _summary_line(one_each) == (
        "httpx_cached_auth: 1 login, 1 token reused, 1 refresh, 1 failure"
    )
    assert _summary_line(none) == (
        "httpx_cached_auth: 0 logins, 0 tokens reused, 0 refreshes, 0 failures"
    )


def _login(user: str) -> str:
    return f"token-of-{user}"


def _use(cache: TokenCache, user: str, count: int) -> None:
    auth = CachedTokenAuth(user, _login, cache=cache)
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with httpx.Client(transport=transport, auth=auth) as client:
        for _ in range(count):
            client.get("http://api.test/")


def test_process_stats_keep_what_dropped_and_cleared_caches_did() -> None:
    """The process-wide counts add up every cache, even one cleared or dropped."""
    before = process_stats()
    cache = TokenCache()

    _use(cache, "ada", count=3)
    cache.clear()
    _use(cache, "ada", count=1)
    reset_default_token_cache()
    _use(default_token_cache(), "bob", count=2)
    reset_default_token_cache()
    after = process_stats()

    assert (after.logins - before.logins, after.hits - before.hits) == (3, 3)
