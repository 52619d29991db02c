"""
"Exactly one login" under load: threads, tasks, event loops, and 401 storms.

The login API here takes a noticeable time per login, so that callers overlap.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import anyio
import httpx
import pytest
from conftest import FILES_PATH, LOGIN_PATH, Driver, User

import httpx_cached_auth
from httpx_cached_auth import CachedTokenAuth, LoginEndpoint, LoginError, TokenCache
from httpx_cached_auth._cache import CacheKey
from httpx_cached_auth._demo_api import DemoLoginAPI
from httpx_cached_auth._library import LoginContext

pytestmark = pytest.mark.api(login_delay=0.15)


def test_sixty_four_callers_on_a_cold_cache_log_in_once(
    driver: Driver, api: DemoLoginAPI, base_url: str, make_user: Any, login: Any
) -> None:
    """
    64 threads (or tasks), each with its own client and auth, make one login and share
    its token.
    """
    user = make_user()
    cache = TokenCache()

    responses = driver.concurrently(
        lambda: driver.auth(user.model_copy(), login, cache=cache),
        base_url + FILES_PATH,
        count=64,
    )

    assert [r.status_code for r in responses] == [200] * 64
    assert api.logins == 1
    assert len({call.authorization for call in api.recorded_calls}) == 1
    assert all(call.authorization for call in api.recorded_calls)


@pytest.mark.api(login_delay=0.5)
def test_sixty_four_callers_over_eight_users_log_in_eight_times_in_parallel(
    driver: Driver, api: DemoLoginAPI, base_url: str, make_user: Any, login: Any
) -> None:
    """Eight users make eight logins, and those logins overlap: the lock is per key."""
    users = [make_user() for _ in range(8)]
    cache = TokenCache()
    turn = iter(range(64))
    lock = threading.Lock()

    def next_auth() -> Any:
        with lock:
            index = next(turn)
        return driver.auth(users[index % 8].model_copy(), login, cache=cache)

    responses = driver.concurrently(next_auth, base_url + FILES_PATH, count=64)

    assert [r.status_code for r in responses] == [200] * 64
    assert api.logins == 8
    logins = api.recorded_logins
    assert all(logins[0].overlaps(other) for other in logins[1:])


@pytest.mark.api(login_delay=0.4)
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_five_hundred_tasks_log_in_once_without_blocking_the_loop(
    api: DemoLoginAPI,
    base_url: str,
    make_user: Any,
    login: Any,
    backend: str,
    library: str,
) -> None:
    """
    500 tasks on a cold cache make one login, and a heartbeat keeps ticking meanwhile.
    """
    user = make_user()
    driver = Driver(library, backend)
    cache = TokenCache()
    beats: list[tuple[float, float]] = []

    async def work() -> list[int]:
        statuses: list[int] = []
        finished = anyio.Event()

        async def heartbeat() -> None:
            while not finished.is_set():
                before = time.monotonic()
                await anyio.sleep(0.01)
                beats.append((before, time.monotonic()))

        async def call(client: Any) -> None:
            response = await client.get(base_url + FILES_PATH)
            statuses.append(response.status_code)

        async with anyio.create_task_group() as outer:
            outer.start_soon(heartbeat)
            async with (
                driver.client(
                    auth=driver.auth(user, login, cache=cache),
                    # 250 requests at once on one client: no pool limit to queue on.
                    limits=driver.module.Limits(max_connections=None),
                    timeout=60,
                ) as shared,
                anyio.create_task_group() as group,
            ):
                for index in range(500):
                    client = (
                        shared
                        if index % 2
                        else driver.client(
                            auth=driver.auth(user.model_copy(), login, cache=cache)
                        )
                    )
                    group.start_soon(
                        _call_then_close, call, client, client is not shared
                    )
            finished.set()

        return statuses

    statuses = driver.run(work)

    assert statuses == [200] * 500
    assert api.logins == 1
    # The heartbeats that began and ended while the server was busy with the login:
    # had the waiting tasks blocked the loop, there would be none, or long ones.
    login_attempt = api.recorded_logins[0]
    during_login = [
        end - start
        for start, end in beats
        if login_attempt.started <= start and end <= login_attempt.finished
    ]
    assert len(during_login) >= 10
    assert max(during_login) < 0.1


async def _call_then_close(call: Any, client: Any, close: bool) -> None:
    try:
        await call(client)
    finally:
        if close:
            await client.aclose()


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_one_auth_serves_two_consecutive_event_loops(
    api: DemoLoginAPI, base_url: str, user: User, login: Any, library: str
) -> None:
    """Two asyncio.run() calls with contended requests reuse the first run's token."""
    driver = Driver(library, "asyncio")
    auth = driver.auth(user, login)

    async def contended() -> list[int]:
        async with driver.client(auth=auth) as client:
            responses = await asyncio.gather(
                *(client.get(base_url + FILES_PATH) for _ in range(20))
            )
        return [response.status_code for response in responses]

    assert asyncio.run(contended()) == [200] * 20
    assert asyncio.run(contended()) == [200] * 20
    assert api.logins == 1


def test_a_failed_login_wakes_every_waiter_with_its_error(
    driver: Driver, api: DemoLoginAPI, base_url: str, user: User, login: Any
) -> None:
    """
    All callers waiting on a login that fails get a LoginError from that one attempt.
    """
    cache = TokenCache()
    api.fail_next_logins(1, status=503)

    with pytest.raises(LoginError) as caught:
        driver.concurrently(
            lambda: driver.auth(user, login, cache=cache),
            base_url + FILES_PATH,
            count=16,
        )

    assert caught.value.response.status_code == 503
    assert api.logins == 1
    assert cache.stats.failures == 1
    assert (
        driver.get(
            driver.auth(user, login, cache=cache), base_url + FILES_PATH
        ).status_code
        == 200
    )
    assert api.logins == 2


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("cancelled", ["leader", "waiter"])
def test_a_cancelled_task_never_wedges_the_others(
    api: DemoLoginAPI,
    base_url: str,
    user: User,
    login: Any,
    backend: str,
    cancelled: str,
) -> None:
    """
    Cancelling the task that logs in, or one that waits, leaves every other request
    served.
    """
    driver = Driver("httpx", backend)
    cache = TokenCache()
    auth = driver.auth(user, login, cache=cache)

    async def work() -> list[int]:
        statuses: list[int] = []

        async def call(client: Any) -> None:
            statuses.append((await client.get(base_url + FILES_PATH)).status_code)

        async with driver.client(auth=auth) as client:
            async with anyio.create_task_group() as group:
                doomed = anyio.CancelScope()
                if cancelled == "leader":
                    group.start_soon(_cancellable, call, client, doomed)
                    await anyio.sleep(0.05)
                    group.start_soon(call, client)
                else:
                    group.start_soon(call, client)
                    await anyio.sleep(0.05)
                    group.start_soon(_cancellable, call, client, doomed)
                await anyio.sleep(0.02)
                doomed.cancel()

            await call(client)
        return statuses

    assert driver.run(work) == [200, 200]
    assert api.logins == (2 if cancelled == "leader" else 1)


async def _cancellable(call: Any, client: Any, scope: anyio.CancelScope) -> None:
    with scope:
        await call(client)


def test_a_revocation_storm_logs_in_once(
    driver: Driver, api: DemoLoginAPI, base_url: str, user: User, login: Any
) -> None:
    """
    200 requests in flight with a revoked token make one new login and all succeed.
    """
    cache = TokenCache()
    driver.get(driver.auth(user, login, cache=cache), base_url + FILES_PATH)
    api.revoke_all_tokens()
    api.reset_counters()

    responses = driver.concurrently(
        lambda: driver.auth(user.model_copy(), login, cache=cache),
        base_url + FILES_PATH,
        count=200,
    )

    assert [r.status_code for r in responses] == [200] * 200
    assert api.logins == 1
    assert all(call.authorization for call in api.recorded_calls)
    assert len({c.authorization for c in api.recorded_calls if c.status == 200}) == 1


def test_a_late_401_never_evicts_a_newer_token(
    login: LoginEndpoint, user: User
) -> None:
    """Rejecting an old token leaves the newer one that replaced it in the cache."""
    cache = TokenCache()
    tokens = iter(["old-token", "new-token"])
    key = CacheKey.of(
        httpx_cached_auth.FunctionSource(lambda _: next(tokens)), user, "u"
    )

    assert cache.fetch(key, LoginContext()) == "old-token"
    cache.reject(key, "old-token")
    assert cache.fetch(key, LoginContext()) == "new-token"
    cache.reject(key, "old-token")

    assert cache.get(key) == "new-token"


def test_threads_and_tasks_share_one_auth_at_once(
    api: DemoLoginAPI, base_url: str, user: User, login: Any
) -> None:
    """
    One auth used by 16 threads and 16 asyncio tasks at the same time logs in once.
    """
    auth = CachedTokenAuth(user, login, cache=TokenCache())
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(17)

    def in_thread() -> None:
        start.wait(timeout=30)
        with httpx.Client(auth=auth) as client:
            status = client.get(base_url + FILES_PATH).status_code
        with lock:
            statuses.append(status)

    async def in_tasks() -> None:
        async with httpx.AsyncClient(auth=auth) as client:
            start.wait(timeout=30)
            responses = await asyncio.gather(
                *(client.get(base_url + FILES_PATH) for _ in range(16))
            )
        with lock:
            statuses.extend(response.status_code for response in responses)

    threads = [threading.Thread(target=in_thread) for _ in range(16)]
    for thread in threads:
        thread.start()
    asyncio.run(in_tasks())
    for thread in threads:
        thread.join(timeout=30)

    assert statuses == [200] * 32
    assert api.logins == 1


def test_equal_login_endpoints_are_one_cache_entry(base_url: str) -> None:
    """
    Two LoginEndpoints built alike are equal and hash alike, so they share a token.
    """
    first = LoginEndpoint(base_url + LOGIN_PATH, headers={"a": "1", "b": "2"})
    second = LoginEndpoint(base_url + LOGIN_PATH, headers={"b": "2", "a": "1"})

    assert first == second
    assert hash(first) == hash(second)


def test_a_sync_client_inside_the_login_loop_does_not_deadlock(
    api: DemoLoginAPI, base_url: str, user: User, login: Any
) -> None:
    """
    A sync request made inside the event loop that is logging in logs in itself instead
    of hanging.
    """
    cache = TokenCache()

    async def work() -> list[int]:
        async def async_call() -> int:
            async with httpx.AsyncClient(
                auth=CachedTokenAuth(user, login, cache=cache)
            ) as client:
                return (await client.get(base_url + FILES_PATH)).status_code

        task = asyncio.ensure_future(async_call())
        await asyncio.sleep(0.05)
        with httpx.Client(auth=CachedTokenAuth(user, login, cache=cache)) as client:
            sync_status = client.get(base_url + FILES_PATH).status_code
        return [sync_status, await task]

    assert asyncio.run(work()) == [200, 200]
    assert api.logins == 2


def test_each_waiter_gets_its_own_copy_of_a_login_error(user: User) -> None:
    """Waiters on a failed login raise distinct LoginErrors with short tracebacks."""
    cache = TokenCache()
    gate = threading.Barrier(16)

    def failing_login(credentials: object) -> str:
        time.sleep(0.2)
        raise ConnectionError("the login service is down")

    key = CacheKey.of(httpx_cached_auth.FunctionSource(failing_login), user, "u")
    errors: list[BaseException] = []

    def call() -> None:
        gate.wait(timeout=30)
        try:
            cache.fetch(key, LoginContext())
        except LoginError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(errors) == 16
    assert len({id(error) for error in errors}) == 16
    assert all(isinstance(error.__cause__, ConnectionError) for error in errors)
    assert max(_frames(error) for error in errors) < 20
    assert cache.stats.failures == 1


def _frames(error: BaseException) -> int:
    count, traceback = 0, error.__traceback__
    while traceback is not None:
        count, traceback = count + 1, traceback.tb_next
    return count


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_tasks_waiting_on_a_login_in_another_thread_take_no_threads(
    user: User, backend: str
) -> None:
    """50 tasks waiting on a thread's login hold no worker threads, even cancelled."""
    cache = TokenCache()
    started = threading.Event()
    release = threading.Event()

    def slow_login(credentials: object) -> str:
        started.set()
        release.wait(timeout=30)
        return "token-1"

    key = CacheKey.of(httpx_cached_auth.FunctionSource(slow_login), user, "u")
    leader = threading.Thread(target=cache.fetch, args=(key, LoginContext()))
    leader.start()
    assert started.wait(timeout=30)
    threads_before = threading.active_count()

    async def work() -> tuple[int, list[str]]:
        tokens: list[str] = []

        async def wait_for_token() -> None:
            tokens.append(await cache.afetch(key, LoginContext()))

        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(wait_for_token)
            with anyio.move_on_after(0.05):
                await wait_for_token()  # cancelled while waiting
            await anyio.sleep(0.1)
            threads_while_waiting = threading.active_count()
            release.set()
        return threads_while_waiting, tokens

    threads_while_waiting, tokens = anyio.run(work, backend=backend)
    leader.join(timeout=30)

    assert threads_while_waiting - threads_before <= 2
    assert tokens == ["token-1"] * 50
    assert cache.stats.logins == 1


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_cancelled_caller_still_stores_its_sync_login(
    user: User, backend: str
) -> None:
    """A sync login cut short by its caller's cancellation is kept, not run twice."""
    cache = TokenCache()
    calls: list[object] = []

    def slow_login(credentials: object) -> str:
        calls.append(credentials)
        time.sleep(0.2)
        return f"token-{len(calls)}"

    key = CacheKey.of(httpx_cached_auth.FunctionSource(slow_login), user, "u")

    async def work() -> str:
        with anyio.move_on_after(0.05):
            await cache.afetch(key, LoginContext())
        return await cache.afetch(key, LoginContext())

    assert anyio.run(work, backend=backend) == "token-1"
    assert len(calls) == 1


def test_invalidate_during_a_login_keeps_its_token_out(user: User) -> None:
    """A login under way when its credentials are invalidated answers, unkept."""
    cache = TokenCache()
    started = threading.Event()
    release = threading.Event()
    tokens = iter(["token-1", "token-2"])

    def slow_login(credentials: object) -> str:
        started.set()
        release.wait(timeout=30)
        return next(tokens)

    key = CacheKey.of(httpx_cached_auth.FunctionSource(slow_login), user, "u")
    answers: list[str] = []
    leader = threading.Thread(
        target=lambda: answers.append(cache.fetch(key, LoginContext()))
    )
    leader.start()
    assert started.wait(timeout=30)

    cache.invalidate(user)
    release.set()
    leader.join(timeout=30)

    assert answers == ["token-1"]
    assert cache.get(key) is None
    assert cache.fetch(key, LoginContext()) == "token-2"
