"""`AssetScope`: where one account's assets live in Dagster (key prefix, group, pool, resources).

With one account (no `LIGHTSMS_ACCOUNTS_FILE`) the scope is `SINGLE_ACCOUNT`: no prefix, the
group `lightsms`, the pool `lightsms_api` and the resources `lightsms` and `dataset`, i.e. exactly
today's code location. With several, each account gets its own scope (`AssetScope.for_account`),
so its assets, checks and pool are its own and its resources hold its own key and data root.
Resources are looked up by key on the context instead of by parameter name, because Dagster binds
a typed parameter to the resource of the same name, and one code location cannot give two
accounts' assets two different `lightsms` resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dagster import AssetKey

from lightsms_pipeline.contract import GROUP, POOL, account_pool, account_scoped
from lightsms_pipeline.resources import LightSMSResource, ParquetDatasetResource

LIGHTSMS_RESOURCE = "lightsms"
DATASET_RESOURCE = "dataset"


@dataclass(frozen=True)
class AssetScope:
    """One account's place in the code location; `account` is None for the single account."""

    account: str | None = None
    prefix: tuple[str, ...] = ()
    group: str = GROUP
    pool: str = POOL
    lightsms_key: str = LIGHTSMS_RESOURCE
    dataset_key: str = DATASET_RESOURCE

    @classmethod
    def for_account(cls, name: str) -> AssetScope:
        return cls(
            account=name,
            prefix=(name,),
            group=account_scoped(GROUP, name),
            pool=account_pool(name),
            lightsms_key=account_scoped(LIGHTSMS_RESOURCE, name),
            dataset_key=account_scoped(DATASET_RESOURCE, name),
        )

    def key(self, asset: str) -> AssetKey:
        """The asset's key in this scope: `incoming_messages`, or `acme/incoming_messages`."""
        return AssetKey([*self.prefix, asset])

    def label(self, asset: str) -> str:
        """How failures name the asset: `incoming_messages`, or `account acme: incoming_messages`."""
        return asset if self.account is None else f"account {self.account}: {asset}"

    def lightsms(self, context: Any) -> LightSMSResource:
        resource: LightSMSResource = getattr(context.resources, self.lightsms_key)
        return resource

    def dataset(self, context: Any) -> ParquetDatasetResource:
        resource: ParquetDatasetResource = getattr(context.resources, self.dataset_key)
        return resource

    def resource_keys(self, *, lightsms: bool = False) -> set[str]:
        """`required_resource_keys` of an asset: the dataset, and the account when it calls LightSMS."""
        return {self.dataset_key, *([self.lightsms_key] if lightsms else [])}


SINGLE_ACCOUNT = AssetScope()
