"""
Settings from the environment, and the process-wide default cache.

The environment variables share one prefix, `HTTPX_CACHED_AUTH_`, so the same
code reads 5-minute tokens in dev and 12-hour tokens in prod from its
deployment. Values come, highest first, from: arguments given in code, the
process environment, a `.env`-style file, then the defaults.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ._cache import TokenCache
from ._exceptions import SettingsError

__all__ = [
    "ENV_PREFIX",
    "CacheSettings",
    "default_token_cache",
    "reset_default_token_cache",
]

ENV_PREFIX = "HTTPX_CACHED_AUTH_"


class CacheSettings(BaseSettings):
    """
    The settings of a `TokenCache`, read from `HTTPX_CACHED_AUTH_*` variables.

    Build it with `CacheSettings.load()`, which names the variable at fault when a
    value is wrong, and turn it into a cache with `TokenCache.from_settings()`.

    Attributes:
        ttl: `HTTPX_CACHED_AUTH_TTL`, the longest a token is kept, in seconds.
        leeway: `HTTPX_CACHED_AUTH_LEEWAY`, seconds before its own expiry that a
            token stops being used; `0` means none.
        maxsize: `HTTPX_CACHED_AUTH_MAXSIZE`, how many tokens are kept at most.
        refresh_ttl: `HTTPX_CACHED_AUTH_REFRESH_TTL`, how long a refresh token
            is kept, in seconds; unset keeps it while `maxsize` allows.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,  # `HTTPX_CACHED_AUTH_REFRESH_TTL=` means unset
        extra="ignore",
        frozen=True,
        validate_default=True,
    )

    ttl: float = Field(default=300.0, gt=0, allow_inf_nan=False)
    leeway: float = Field(default=30.0, ge=0, allow_inf_nan=False)
    maxsize: int = Field(default=1024, gt=0)
    refresh_ttl: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @classmethod
    def load(
        cls, *, env_file: str | Path | None = None, **overrides: Any
    ) -> CacheSettings:
        """
        Read the settings: `overrides`, then the environment, then `env_file`.

        Args:
            env_file: A `.env`-style file of `HTTPX_CACHED_AUTH_*=value` lines,
                such as `".env.stage"`.
            overrides: Values set in code, such as `ttl=60`; they win over
                the environment.

        Raises:
            SettingsError: If a value is invalid, the message naming the
                variable (or argument) and what is wrong with it; or if
                `env_file` does not exist or is not UTF-8 text.
            TypeError: If an override is not one of the settings.
        """
        unknown = sorted(set(overrides) - set(cls.model_fields))
        if unknown:
            raise TypeError(
                f"CacheSettings.load() got unknown settings {', '.join(unknown)}; "
                f"the settings are {', '.join(cls.model_fields)}."
            )
        if env_file is not None and not Path(env_file).is_file():
            # A mistyped deployment name must not quietly fall back to defaults.
            raise SettingsError(
                f"The settings file {str(env_file)!r} does not exist; check its "
                "name, or leave env_file out to read the environment only.",
                errors={"env_file": "no such file"},
            )

        try:
            # _env_file is pydantic-settings' own init argument, unknown to mypy.
            return cls(_env_file=env_file, **overrides)  # type: ignore[call-arg]
        except UnicodeDecodeError:
            raise SettingsError(
                f"The settings file {str(env_file)!r} is not UTF-8 text.",
                errors={"env_file": "not UTF-8"},
            ) from None
        except ValidationError as exc:
            problems = {
                _variable_name(error["loc"]): error["msg"] for error in exc.errors()
            }
            listed = "; ".join(
                f"{name}: {problem}" for name, problem in problems.items()
            )
            raise SettingsError(
                f"Invalid httpx_cached_auth settings ({listed}); fix the variable "
                f"where it is set, or pass the value in code.",
                errors=problems,
            ) from None


def _variable_name(location: tuple[int | str, ...]) -> str:
    field = str(location[0]) if location else "?"
    return f"{ENV_PREFIX}{field.upper()}"


_default_cache: TokenCache | None = None
_default_cache_lock = threading.Lock()


def default_token_cache() -> TokenCache:
    """
    The cache shared by every `CachedTokenAuth` built without `cache=`.

    Made on first use from `CacheSettings.load()`, so the `HTTPX_CACHED_AUTH_*`
    variables configure it. It is the one piece of global state in the package.

    Raises:
        SettingsError: If an environment variable holds an invalid value.
    """
    global _default_cache

    cache = _default_cache
    if cache is not None:
        return cache

    with _default_cache_lock:
        if _default_cache is None:
            _default_cache = TokenCache.from_settings(CacheSettings.load())
        return _default_cache


def reset_default_token_cache() -> None:
    """
    Forget the default cache and its tokens.

    The next request makes a new one, reading the environment again. Auths
    built without `cache=` follow: they look the default cache up per request.
    """
    global _default_cache

    with _default_cache_lock:
        _default_cache = None
