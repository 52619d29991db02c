"""
The token cache: one login per (token source, credentials), shared by every client.

Tokens live in a `cachetools.TLRUCache`, whose per-item expiry gives each token
its own lifetime. Around it, a "flight" per missing key makes sure that however
many threads and tasks ask at once, one of them logs in and the others wait for
its outcome: the same token, or the same error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import anyio.lowlevel
from cachetools import Cache, LRUCache, TLRUCache, TTLCache

from ._exceptions import LoginError
from ._token import Token, jwt_lifetime

if TYPE_CHECKING:
    from pydantic import SecretStr

    from ._library import LoginContext
    from ._settings import CacheSettings
    from ._sources import TokenSource

__all__ = [
    "CacheKey",
    "CacheStats",
    "TokenCache",
    "login_in_progress",
    "process_stats",
]

logger = logging.getLogger("httpx_cached_auth")


@dataclass(frozen=True, slots=True)
class CacheStats:
    """
    What a `TokenCache` has done since it was made or last cleared.

    Attributes:
        hits: Requests served a cached token, or the token of a login they
            waited for.
        misses: Requests that found no token and started a login or a refresh.
        logins: Full logins that returned a token.
        refreshes: Refresh-token grants that returned a token.
        failures: Logins that raised, and refreshes that failed (each followed
            by a full login).
    """

    hits: int = 0
    misses: int = 0
    logins: int = 0
    refreshes: int = 0
    failures: int = 0


class CacheKey:
    """
    The identity of a login: a token source and the credentials it logs in with.

    Keys are interned: `CacheKey.of()` returns the one key object of equal
    (source, credentials), so that the hot path of a request hashes and compares
    keys by identity, at C speed, instead of hashing a pydantic model again. Its
    repr shows only the non-secret `label`.
    """

    __slots__ = ("__weakref__", "credentials", "label", "source")

    _interned: ClassVar[weakref.WeakValueDictionary[tuple[Any, Any], CacheKey]] = (
        weakref.WeakValueDictionary()
    )
    _interning: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, source: TokenSource, credentials: Hashable, label: str) -> None:
        self.source = source
        self.credentials = credentials
        self.label = label

    @classmethod
    def of(cls, source: TokenSource, credentials: Hashable, label: str) -> CacheKey:
        """
        The key of (`source`, `credentials`): the same object for equal ones.

        Raises:
            TypeError: If the source or the credentials cannot be hashed.
        """
        with cls._interning:
            key = cls._interned.get((source, credentials))
            if key is None:
                key = cls._interned[(source, credentials)] = cls(
                    source, credentials, label
                )
            return key

    def __repr__(self) -> str:
        return f"<CacheKey {self.label}>"


# The keys whose token source is running in the current thread or task. A login
# function that sends its request with a client whose auth is the caching auth
# for the same key would otherwise wait for its own login forever: the auth flow
# checks this and lets such requests through untouched.
_LOGINS_IN_PROGRESS: ContextVar[frozenset[CacheKey]] = ContextVar(
    "httpx_cached_auth_logins_in_progress", default=frozenset()
)


@contextmanager
def _logging_in(key: CacheKey) -> Iterator[None]:
    reset_token = _LOGINS_IN_PROGRESS.set(_LOGINS_IN_PROGRESS.get() | {key})
    try:
        yield
    finally:
        _LOGINS_IN_PROGRESS.reset(reset_token)


def login_in_progress(key: CacheKey) -> bool:
    """Whether the current thread or task is running the token source of `key`."""
    return key in _LOGINS_IN_PROGRESS.get()


@dataclass(frozen=True, slots=True, eq=False)
class _Entry:
    """A cached token with its access token revealed once, and how long it lives."""

    access_token: str
    lifetime: float

    def __repr__(self) -> str:
        return f"<cached token, lifetime {self.lifetime:.0f}s>"


class _Flight:
    """
    One login under way for one key, and the callers waiting for it.

    A sync caller blocks on `done`. An async caller registers a waker and awaits
    an event of its own loop, which the waker sets from whatever thread ends the
    flight, without blocking it: no worker thread is taken while waiting, and a
    cancelled waiter leaves nothing behind.
    """

    __slots__ = (
        "_lock",
        "_wakers",
        "done",
        "entry",
        "error",
        "generation",
        "loop",
        "stale",
    )

    def __init__(
        self, generation: int, loop: anyio.lowlevel.EventLoopToken | None
    ) -> None:
        self.generation = generation
        self.loop = loop
        self.stale = False
        self.done = threading.Event()
        self.entry: _Entry | None = None
        self.error: BaseException | None = None
        self._wakers: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def finish(self) -> None:
        with self._lock:
            self.done.set()
            wakers, self._wakers = self._wakers, []
        for wake in wakers:
            wake()

    async def wait(self) -> None:
        event = anyio.Event()
        wake = _waker_of(event)
        with self._lock:
            if self.done.is_set():
                return
            self._wakers.append(wake)

        try:
            await event.wait()
        finally:
            with self._lock:
                if wake in self._wakers:
                    self._wakers.remove(wake)


def _waker_of(event: anyio.Event) -> Callable[[], None]:
    """
    A function that sets `event` from any thread, without waiting for its loop.

    anyio's `from_thread.run_sync` would block the calling thread until the
    event's loop ran the call: two loops ending flights the other waits on could
    then block each other forever. The loop's own thread-safe scheduling (asyncio's
    `call_soon_threadsafe`, trio's `run_sync_soon`) returns at once instead.
    """
    loop = anyio.lowlevel.current_token().native_token
    schedule: Callable[[Callable[[], None]], object] = (
        loop.call_soon_threadsafe
        if isinstance(loop, asyncio.AbstractEventLoop)
        else loop.run_sync_soon  # type: ignore[attr-defined]
    )

    def wake() -> None:
        # A loop that has ended has no waiter left to wake.
        with contextlib.suppress(Exception):
            schedule(event.set)

    return wake


def _current_loop() -> anyio.lowlevel.EventLoopToken | None:
    try:
        return anyio.lowlevel.current_token()
    except RuntimeError:
        return None


class TokenCache:
    """
    Tokens shared by every auth that logs in with equal credentials.

    A token is kept for `min(ttl, its own lifetime - leeway)` seconds. Its own
    lifetime is the login's `expires_in`, else its JWT `exp` claim, else unknown,
    in which case `ttl` alone applies. A leeway longer than half a token's
    lifetime is cut to half, so that short-lived tokens are still reused.

    At most one login per key runs at a time, across threads, asyncio and trio
    tasks and event loops; the other callers wait for its outcome. Nothing is
    cached from a login that failed.

    Args:
        ttl: The longest time a token is kept, in seconds.
        maxsize: How many tokens are kept at most; the least recently used goes
            first.
        leeway: How long before its own expiry a token stops being used, to
            allow for clock skew and requests in transit. `0` means none.
        refresh_ttl: How long a refresh token is kept after it was issued;
            `None` keeps it as long as `maxsize` allows.
        timer: The clock of ages, as for `cachetools.TTLCache`. Inject one in
            tests instead of sleeping.
        clock: The wall clock, in seconds since the epoch, used to read JWT
            `exp` claims.

    Raises:
        TypeError: If a setting is not a number (or `maxsize` not a whole one).
        ValueError: If a number is negative, or `ttl` or `maxsize` is zero.
    """

    def __init__(
        self,
        *,
        ttl: float = 300.0,
        maxsize: int = 1024,
        leeway: float = 30.0,
        refresh_ttl: float | None = None,
        timer: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _check_positive("ttl", ttl)
        _check_positive("maxsize", maxsize)
        if not isinstance(maxsize, int):
            raise TypeError(f"maxsize must be a whole number, not {maxsize!r}.")
        _check_number("leeway", leeway)
        if not (leeway >= 0 and math.isfinite(leeway)):
            raise ValueError(f"leeway must be 0 or more seconds, not {leeway!r}.")
        if refresh_ttl is not None:
            _check_positive("refresh_ttl", refresh_ttl)

        self.ttl = float(ttl)
        self.maxsize = maxsize
        self.leeway = float(leeway)
        self.refresh_ttl = refresh_ttl
        self._clock = clock

        self._tokens: TLRUCache[CacheKey, _Entry] = TLRUCache(
            maxsize, ttu=_expires_at, timer=timer
        )
        self._refresh_tokens: Cache[CacheKey, str] = (
            LRUCache(maxsize)
            if refresh_ttl is None
            else TTLCache(maxsize, ttl=refresh_ttl, timer=timer)
        )
        self._flights: dict[CacheKey, _Flight] = {}
        self._generation = 0
        self._counts: dict[str, int] = dict.fromkeys(CacheStats.__slots__, 0)
        self._warned: set[str] = set()

        # Guards the two caches, the flights and the counters. It is only ever
        # held for dictionary operations, never across a login or an await, so
        # taking it from an event loop cannot stall the loop.
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: CacheSettings,
        *,
        timer: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
    ) -> TokenCache:
        """
        Make a cache from `CacheSettings`, such as `CacheSettings.load()`.

        `timer` and `clock` are as for the constructor; they are not settings.
        """
        return cls(
            ttl=settings.ttl,
            maxsize=settings.maxsize,
            leeway=settings.leeway,
            refresh_ttl=settings.refresh_ttl,
            timer=timer,
            clock=clock,
        )

    def __repr__(self) -> str:
        return (
            f"TokenCache(ttl={self.ttl!r}, maxsize={self.maxsize!r}, "
            f"leeway={self.leeway!r}, size={len(self)})"
        )

    def __len__(self) -> int:
        with self._lock:
            self._tokens.expire()
            return len(self._tokens)

    @property
    def stats(self) -> CacheStats:
        """A snapshot of the cache's counters."""
        with self._lock:
            return CacheStats(**self._counts)

    def clear(self) -> None:
        """
        Forget every token and refresh token, and reset the statistics.

        Logins under way when it is called still answer their callers, but their
        tokens are not stored.
        """
        with self._lock:
            self._tokens.clear()
            self._refresh_tokens.clear()
            self._generation += 1
            self._counts = dict.fromkeys(self._counts, 0)

        logger.debug("token cache cleared")

    def invalidate(self, credentials: Hashable, source: object = None) -> int:
        """
        Forget the tokens of `credentials`, so that their next request logs in.

        Args:
            credentials: The credentials whose tokens to forget.
            source: Only the token of this source (a `LoginEndpoint`, a function,
                ...); by default the tokens of every source.

        Returns:
            How many tokens were forgotten.
        """
        with self._lock:
            keys = [
                key
                for key in {*self._tokens.keys(), *self._refresh_tokens.keys()}
                if _matches(key, credentials, source)
            ]
            for key in keys:
                self._tokens.pop(key, None)
                self._refresh_tokens.pop(key, None)
            # A login under way would store its token right after: it still
            # answers the requests waiting for it, but is not kept.
            for key, flight in self._flights.items():
                if _matches(key, credentials, source):
                    flight.stale = True

        for key in keys:
            logger.debug("token invalidated for %s", key.label)
        return len(keys)

    def reject(self, key: CacheKey, access_token: str) -> None:
        """
        Forget the token of `key` after the server refused it, if it is still cached.

        A 401 can arrive late, after another caller already replaced the refused
        token with a fresh one: that newer token is kept.
        """
        with self._lock:
            entry = self._tokens.get(key)
            evicted = entry is not None and entry.access_token == access_token
            if evicted:
                del self._tokens[key]

        if evicted:
            logger.debug("401 received for %s: token evicted", key.label)
        else:
            logger.debug("401 received for %s: token already replaced", key.label)

    def get(self, key: CacheKey) -> str | None:
        """Return the cached access token of `key` without logging in, if any."""
        with self._lock:
            entry = self._cached(key)
            if entry is None:
                return None
            self._count("hits")
            return entry.access_token

    def fetch(self, key: CacheKey, context: LoginContext) -> str:
        """
        Return the access token of `key`, logging in or refreshing once if needed.

        Blocks the calling thread while another caller's login for the same key
        is under way, then shares its outcome.

        Raises:
            Exception: Whatever the token source raised, typically `LoginError`;
                every caller waiting for that login gets the same error.
        """
        while True:
            access_token, flight, leads = self._join(key, loop=None)
            if access_token is not None:
                return access_token

            assert flight is not None  # noqa: S101 - _join returns one or the other
            if leads:
                return self._lead(flight, key, context)
            if flight.loop is not None and flight.loop == _current_loop():
                # A sync client used inside the event loop that runs this login:
                # waiting would block the loop the login needs, forever. This
                # caller logs in on its own instead.
                return self._lead(_Flight(flight.generation, None), key, context)

            flight.done.wait()
            if (outcome := self._outcome(flight)) is not None:
                return outcome

    async def afetch(self, key: CacheKey, context: LoginContext) -> str:
        """
        Return the access token of `key` from async code, without blocking the loop.

        The async twin of `fetch`: waiting for another caller's login suspends
        only the calling task.
        """
        while True:
            access_token, flight, leads = self._join(key, loop=_current_loop())
            if access_token is not None:
                return access_token

            assert flight is not None  # noqa: S101 - _join returns one or the other
            if leads:
                return await self._alead(flight, key, context)

            await flight.wait()
            if (outcome := self._outcome(flight)) is not None:
                return outcome

    def _join(
        self, key: CacheKey, *, loop: anyio.lowlevel.EventLoopToken | None
    ) -> tuple[str | None, _Flight | None, bool]:
        """Return a cached token, or the flight to wait for, or a new one to lead."""
        with self._lock:
            entry = self._cached(key)
            if entry is not None:
                self._count("hits")
                return entry.access_token, None, False

            flight = self._flights.get(key)
            if flight is not None:
                return None, flight, False

            self._count("misses")
            flight = self._flights[key] = _Flight(self._generation, loop)
            return None, flight, True

    def _cached(self, key: CacheKey) -> _Entry | None:
        # Indexing is TLRUCache's cheapest way to a live item: `get()` would add
        # a membership test and a timer context to every request.
        try:
            return self._tokens[key]
        except KeyError:
            return None

    def _outcome(self, flight: _Flight) -> str | None:
        """What a waiter takes from a finished flight; `None` means try again."""
        if flight.entry is not None:
            with self._lock:
                self._count("hits")
            return flight.entry.access_token
        error = flight.error
        if isinstance(error, LoginError):
            # Each waiter raises an error of its own, so that one shared object's
            # traceback does not grow with every waiter's frames, from many threads.
            copy = type(error)(
                str(error), request=error._request, response=error.response
            )
            raise copy from error.__cause__
        if error is not None:
            raise error
        # The leader was cancelled or interrupted: one of the waiters leads now.
        return None

    def _lead(self, flight: _Flight, key: CacheKey, context: LoginContext) -> str:
        try:
            with _logging_in(key):
                token, how = self._obtain(key, context)
            entry = self._entry_for(token, key)
        except BaseException as exc:
            self._abort(flight, key, exc)
            raise

        return self._land(flight, key, entry, token.refresh_token, how)

    async def _alead(
        self, flight: _Flight, key: CacheKey, context: LoginContext
    ) -> str:
        try:
            with _logging_in(key):
                token, how = await self._aobtain(key, context)
            entry = self._entry_for(token, key)
        except BaseException as exc:
            self._abort(flight, key, exc)
            raise

        return self._land(flight, key, entry, token.refresh_token, how)

    def _obtain(self, key: CacheKey, context: LoginContext) -> tuple[Token, str]:
        refresh_token = self._refresh_token_of(key)
        if refresh_token is not None:
            try:
                token = key.source.refresh(refresh_token, key.credentials, context)
            except LoginError as exc:
                self._refresh_failed(key, exc)
                token = None
            if token is not None:
                return token, "refreshes"
            self._forget_refresh_token(key)

        logger.debug("logging in for %s", key.label)
        return key.source.fetch(key.credentials, context), "logins"

    async def _aobtain(self, key: CacheKey, context: LoginContext) -> tuple[Token, str]:
        refresh_token = self._refresh_token_of(key)
        if refresh_token is not None:
            try:
                token = await key.source.arefresh(
                    refresh_token, key.credentials, context
                )
            except LoginError as exc:
                self._refresh_failed(key, exc)
                token = None
            if token is not None:
                return token, "refreshes"
            self._forget_refresh_token(key)

        logger.debug("logging in for %s", key.label)
        return await key.source.afetch(key.credentials, context), "logins"

    def _refresh_token_of(self, key: CacheKey) -> str | None:
        if not key.source.supports_refresh:
            return None
        with self._lock:
            refresh_token = self._refresh_tokens.get(key)
        if refresh_token is not None:
            logger.debug("refreshing the token of %s", key.label)
        return refresh_token

    def _refresh_failed(self, key: CacheKey, exc: LoginError) -> None:
        # Whatever made the refresh fail (a refused grant, a server error, an
        # unreachable endpoint), keeping the refresh token would fail every
        # request the same way: one full login is tried instead.
        with self._lock:
            self._count("failures")
        logger.debug(
            "refresh failed for %s (%s): logging in instead",
            key.label,
            type(exc).__name__,
        )

    def _forget_refresh_token(self, key: CacheKey) -> None:
        with self._lock:
            self._refresh_tokens.pop(key, None)
        logger.debug("refresh refused for %s: logging in again", key.label)

    def _land(
        self,
        flight: _Flight,
        key: CacheKey,
        entry: _Entry,
        refresh_token: SecretStr | None,
        how: str,
    ) -> str:
        """
        End a flight with a token: store it, count it, and wake the waiters.

        The token is stored and the flight removed under one lock, so that a new
        caller finds either the flight or the token, never neither. A flight
        that `clear()` or `invalidate()` made stale still answers its waiters,
        but stores nothing.
        """
        try:
            with self._lock:
                self._end(flight, key)
                if not flight.stale and flight.generation == self._generation:
                    self._store(key, entry, refresh_token)
                    self._count(how)
        finally:
            flight.entry = entry
            flight.finish()

        logger.debug(
            "token %s for %s, kept %.0fs",
            "refreshed" if how == "refreshes" else "fetched",
            key.label,
            max(entry.lifetime, 0.0),
        )
        return entry.access_token

    def _abort(self, flight: _Flight, key: CacheKey, exc: BaseException) -> None:
        """
        End a flight without a token, and wake the waiters.

        An `Exception` is handed to every waiter. Anything else (a cancellation,
        `KeyboardInterrupt`) concerns the leader alone: the waiters are woken with
        no outcome and one of them logs in instead, so that a cancelled request
        never wedges the others.
        """
        failed = isinstance(exc, Exception)

        with self._lock:
            self._end(flight, key)
            if failed and flight.generation == self._generation:
                self._count("failures")

        if failed:
            flight.error = exc
            logger.debug("login failed for %s: %s", key.label, type(exc).__name__)
        flight.finish()

    def _end(self, flight: _Flight, key: CacheKey) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]

    def _store(
        self, key: CacheKey, entry: _Entry, refresh_token: SecretStr | None
    ) -> None:
        if refresh_token is not None:
            self._refresh_tokens[key] = refresh_token.get_secret_value()
        # A lifetime of zero or less would be expired on arrival: the token is
        # used for the request that fetched it, and not kept.
        if entry.lifetime > 0:
            self._tokens[key] = entry
        else:
            self._tokens.pop(key, None)

    def _entry_for(self, token: Token, key: CacheKey) -> _Entry:
        access_token = token.access_token.get_secret_value()
        own_lifetime = token.expires_in
        if own_lifetime is None:
            own_lifetime = jwt_lifetime(access_token, now=self._clock())

        if own_lifetime is None:
            lifetime = self.ttl
        else:
            lifetime = min(self.ttl, own_lifetime - self._leeway_for(own_lifetime))

        if lifetime <= 0:
            self._warn_once(
                "short",
                "a token for %s arrived with no lifetime left (%.0fs); it is used "
                "once and not cached: check the server's clock and expires_in",
                key.label,
                own_lifetime,
            )
        return _Entry(access_token, lifetime)

    def _leeway_for(self, own_lifetime: float) -> float:
        if self.leeway <= own_lifetime / 2:
            return self.leeway
        if own_lifetime > 0:
            self._warn_once(
                "leeway",
                "leeway %.0fs is more than half of a %.0fs token lifetime; using "
                "%.0fs so the token is still reused: lower the leeway",
                self.leeway,
                own_lifetime,
                own_lifetime / 2,
            )
        return max(own_lifetime / 2, 0.0)

    def _count(self, event: str) -> None:
        # Called with self._lock held; the process-wide lock is always taken
        # second, so the two can never deadlock.
        self._counts[event] += 1
        with _process_lock:
            _process_counts[event] += 1

    def _warn_once(self, topic: str, message: str, *args: Any) -> None:
        with self._lock:
            if topic in self._warned:
                return
            self._warned.add(topic)
        logger.warning(message, *args)


# What every TokenCache of the process has done, for the pytest plugin's summary:
# caches come and go (a test's own, a reset default cache), their sum stays.
_process_counts: dict[str, int] = dict.fromkeys(CacheStats.__slots__, 0)
_process_lock = threading.Lock()


def process_stats() -> CacheStats:
    """What every `TokenCache` of this process has done since it started."""
    with _process_lock:
        return CacheStats(**_process_counts)


def _check_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}.")


def _expires_at(key: CacheKey, entry: _Entry, now: float) -> float:
    return now + entry.lifetime


def _matches(key: CacheKey, credentials: Hashable, source: object) -> bool:
    if key.credentials != credentials:
        return False
    return (
        source is None
        or key.source == source
        or getattr(key.source, "function", None) == source
    )


def _check_positive(name: str, value: float) -> None:
    _check_number(name, value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive number, not {value!r}.")
