"""`LightSMSResource`: the API client as a Dagster resource; the key comes from `EnvVar`."""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from lightsms_pipeline.api.client import LightSMSClient, RetryPolicy, WindowPolicy
from lightsms_pipeline.settings import API_KEY_VARIABLE, LOGIN_VARIABLE, Settings

_DEFAULTS = Settings()


class LightSMSResource(ConfigurableResource):  # type: ignore[type-arg]
    """Credentials and transport settings of one LightSMS account.

    Configure `api_key` with `EnvVar("LIGHTSMS_API_KEY")` so that Dagster stores the variable's
    name, never its value, in run configs and the UI.
    """

    login: str
    api_key: str = Field(repr=False)  # pydantic would print it in repr() and str() of the resource
    # Defaults are the settings' own (one place): built without settings, the resource behaves
    # as `build_definitions(Settings())` configures it.
    base_url: str = _DEFAULTS.base_url
    response_format: str = _DEFAULTS.response_format
    max_attempts: int = _DEFAULTS.max_attempts
    timeout_seconds: float = _DEFAULTS.timeout_seconds
    pool_size: int = _DEFAULTS.parallelism
    window_max_bytes: int = _DEFAULTS.window_max_bytes
    window_split_after_attempts: int = _DEFAULTS.window_split_after_attempts
    # Where a refused login or key is fixed, named in the error (an account's own variable).
    login_source: str = LOGIN_VARIABLE
    key_source: str = API_KEY_VARIABLE

    _client: LightSMSClient | None = PrivateAttr(default=None)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        login: Any,
        api_key: Any,
        login_source: str = LOGIN_VARIABLE,
        key_source: str = API_KEY_VARIABLE,
    ) -> LightSMSResource:
        """The account with the transport `settings`; `login`/`api_key` as `EnvVar` in a
        deployment (the demo passes its throw-away simulator key as a plain value)."""
        return cls(
            login=login,
            api_key=api_key,
            login_source=login_source,
            key_source=key_source,
            base_url=settings.base_url,
            response_format=settings.response_format,
            max_attempts=settings.max_attempts,
            timeout_seconds=settings.timeout_seconds,
            pool_size=settings.parallelism,
            window_max_bytes=settings.window_max_bytes,
            window_split_after_attempts=settings.window_split_after_attempts,
        )

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._client = None

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def get_client(self) -> LightSMSClient:
        """One pooled client per run, shared by the threads of a backfill."""
        if self._client is None:
            self._client = LightSMSClient(
                self.base_url,
                self.login,
                self.api_key,
                response_format=self.response_format,  # type: ignore[arg-type]
                retry=RetryPolicy(attempts=self.max_attempts, read_timeout=self.timeout_seconds),
                pool_size=self.pool_size,
                window=WindowPolicy(
                    max_bytes=self.window_max_bytes, split_after_attempts=self.window_split_after_attempts
                ),
                credential_names=(self.login_source, self.key_source),
            )
        return self._client
