"""
The README's examples run as written, against the real login API.

Each Python block of the README that starts with `# README example: NAME` is run
here; the placeholder URL is pointed at the test server, and the names a block
takes from the user's own project come from the example project in `examples/`.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import PASSWORD, User

from httpx_cached_auth._demo_api import DemoLoginAPI

ROOT = Path(__file__).parent.parent
PLACEHOLDER_URL = "https://api.example.com"


def _example(name: str, url: str) -> str:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(# README example: (\S+)\n.*?)```", readme, re.S)
    found = {block_name: code for code, block_name in blocks}
    assert name in found, f"no README example named {name!r}"
    return found[name].replace(PLACEHOLDER_URL, url)


def _run_example(
    name: str, url: str, monkeypatch: pytest.MonkeyPatch, **names: Any
) -> dict[str, Any]:
    """Run a README example as a module of its own, so pydantic can resolve it."""
    module = types.ModuleType(f"readme_{name}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    module.__dict__.update(names)
    exec(_example(name, url), module.__dict__)  # noqa: S102 - the README's own code
    return module.__dict__


def test_the_quickstart_shares_one_login_between_sync_and_async_clients(
    api: DemoLoginAPI, base_url: str, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quickstart's factories, sync and async, log a user in once."""
    namespace = _run_example("quickstart", base_url, monkeypatch)
    reader = namespace["User"](email=user.email, password=PASSWORD)

    for _ in range(3):
        with namespace["get_files_client"](reader) as client:
            assert client.get("/api/v1/files").status_code == 200

    async def use_courses() -> None:
        for _ in range(3):
            async with namespace["get_courses_client"](reader.model_copy()) as client:
                assert (await client.get("/api/v1/courses")).status_code == 200

    anyio.run(use_courses)
    assert api.logins == 1


def test_the_migration_example_replaces_the_lru_cache_factory(
    api: DemoLoginAPI,
    base_url: str,
    user: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The migrated factory builds a new client per call and logs in once."""
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    from autotests.clients import authentication, files
    from autotests.clients.api_client import get_http_client
    from autotests.config import settings

    monkeypatch.setattr(settings, "api_url", base_url)
    names: dict[str, Any] = {
        "User": authentication.AuthenticationUser,
        "LoginRequest": authentication.LoginRequest,
        "LoginResponse": authentication.LoginResponse,
        "get_authentication_client": authentication.get_authentication_client,
        "FilesClient": files.FilesClient,
        "get_http_client": get_http_client,
    }
    namespace = _run_example("migration", base_url, monkeypatch, **names)
    reader = authentication.AuthenticationUser(email=user.email, password=PASSWORD)

    clients = [namespace["get_files_client"](reader.model_copy()) for _ in range(3)]
    for client in clients:
        with client:
            client.get_files()

    assert len({id(client) for client in clients}) == 3
    assert api.logins == 1
    assert namespace["login"](reader).token.access_token
