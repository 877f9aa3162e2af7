"""`LightSMSResource`: the API client as a Dagster resource; the key comes from `EnvVar`."""

from __future__ import annotations

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from lightsms_pipeline.client import LightSMSClient, RetryPolicy
from lightsms_pipeline.contract import DEFAULT_BASE_URL


class LightSMSResource(ConfigurableResource):  # type: ignore[type-arg]
    """Credentials and transport settings of one LightSMS account.

    Configure `api_key` with `EnvVar("LIGHTSMS_API_KEY")` so that Dagster stores the variable's
    name, never its value, in run configs and the UI.
    """

    login: str
    api_key: str = Field(repr=False)  # pydantic would print it in repr() and str() of the resource
    base_url: str = DEFAULT_BASE_URL
    response_format: str = "json"
    max_attempts: int = 6
    timeout_seconds: float = 30.0
    pool_size: int = 16

    _client: LightSMSClient | None = PrivateAttr(default=None)

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
            )
        return self._client
