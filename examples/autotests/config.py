"""
Where the API under test is, read from `AUTOTESTS_*` environment variables.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """
    The settings of the test run.

    Attributes:
        api_url: `AUTOTESTS_API_URL`, the base URL of the API.
        timeout: `AUTOTESTS_TIMEOUT`, seconds a request may take.
    """

    model_config = SettingsConfigDict(env_prefix="AUTOTESTS_")

    api_url: str = "http://localhost:8000"
    timeout: float = 10.0


settings = Settings()
