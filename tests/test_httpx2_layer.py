"""
httpx and httpx2 side by side: one cache, one login, and neither forced on a user.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import httpx
import httpx2
import pytest
from conftest import FILES_PATH, User

import httpx_cached_auth
import httpx_cached_auth.httpx2
from httpx_cached_auth import LoginEndpoint, LoginError
from httpx_cached_auth._demo_api import DemoLoginAPI


def test_a_mixed_process_logs_in_once(
    api: DemoLoginAPI, base_url: str, user: User, login: LoginEndpoint
) -> None:
    """An httpx client and an httpx2 client for equal credentials make one login."""
    with httpx.Client(auth=httpx_cached_auth.CachedTokenAuth(user, login)) as first:
        assert first.get(base_url + FILES_PATH).status_code == 200

    auth = httpx_cached_auth.httpx2.CachedTokenAuth(user.model_copy(), login)
    with httpx2.Client(auth=auth) as second:
        assert second.get(base_url + FILES_PATH).status_code == 200

    assert api.logins == 1
    assert len({call.authorization for call in api.recorded_calls}) == 1


def test_each_library_refuses_the_others_auth(user: User, login: LoginEndpoint) -> None:
    """
    httpx2 refuses the httpx auth and the reverse, which is why there are two classes.
    """
    with pytest.raises(TypeError):
        httpx2.Client(auth=httpx_cached_auth.CachedTokenAuth(user, login))
    with pytest.raises(TypeError):
        httpx.Client(auth=httpx_cached_auth.httpx2.CachedTokenAuth(user, login))


def test_an_httpx2_login_error_is_an_httpx2_http_error(
    api: DemoLoginAPI, base_url: str, user: User, login: LoginEndpoint
) -> None:
    """`except httpx2.HTTPError` catches a failed login from an httpx2 client."""
    api.fail_next_logins(1, status=500)
    auth = httpx_cached_auth.httpx2.CachedTokenAuth(user, login)

    with httpx2.Client(auth=auth) as client, pytest.raises(httpx2.HTTPError) as caught:
        client.get(base_url + FILES_PATH)

    assert isinstance(caught.value, LoginError)
    assert isinstance(caught.value, httpx_cached_auth.httpx2.LoginError)
    assert caught.value.response.status_code == 500


def _run_without_httpx2(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new interpreter where importing httpx2 fails."""
    blocker = textwrap.dedent(
        """
        import sys
        sys.modules["httpx2"] = None  # an import of httpx2 now raises ImportError
        """
    )
    return subprocess.run(
        [sys.executable, "-c", blocker + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_core_package_works_without_httpx2() -> None:
    """Without httpx2, `import httpx_cached_auth` works and never touches httpx2."""
    result = _run_without_httpx2(
        """
        import httpx_cached_auth
        assert httpx_cached_auth.CachedTokenAuth
        print("ok")
        """
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_httpx2_layer_without_httpx2_names_the_extra() -> None:
    """Importing the httpx2 layer without httpx2 is an ImportError naming the extra."""
    result = _run_without_httpx2("import httpx_cached_auth.httpx2")

    assert result.returncode == 1
    assert "ImportError" in result.stderr
    assert "pip install 'httpx-cached-auth[httpx2]'" in result.stderr
