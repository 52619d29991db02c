"""
The pytest plugin of `httpx_cached_auth`, installed with the package.
"""

from __future__ import annotations
