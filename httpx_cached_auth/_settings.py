"""
Settings read from the environment, and the process-wide default cache.
"""

from __future__ import annotations

import threading

from ._cache import TokenCache

__all__ = ["default_token_cache", "reset_default_token_cache"]

_default_cache: TokenCache | None = None
_default_cache_lock = threading.Lock()


def default_token_cache() -> TokenCache:
    """
    The cache shared by every `CachedTokenAuth` built without `cache=`.

    Made on first use from the `HTTPX_CACHED_AUTH_*` environment variables.
    """
    global _default_cache

    cache = _default_cache
    if cache is not None:
        return cache

    with _default_cache_lock:
        if _default_cache is None:
            _default_cache = TokenCache()
        return _default_cache


def reset_default_token_cache() -> None:
    """
    Drop the default cache; the next request makes a new one from the environment.
    """
    global _default_cache

    with _default_cache_lock:
        _default_cache = None
