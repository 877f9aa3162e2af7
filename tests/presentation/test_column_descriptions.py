"""In the Dagster UI every column of every asset says what it means, not only that it is never null."""

from __future__ import annotations

import pytest
from dagster import TableSchema

from lightsms_pipeline.contract import (
    CLASSIFIED,
    INCOMING,
    OPT_OUT_LIST,
    POLL_RESULTS,
    REPLIES,
    STOP_LIST_SYNC,
    SUPPORT_INBOX,
)
from lightsms_pipeline.definitions import build_definitions
from lightsms_pipeline.presentation.previews import NEVER_NULL
from lightsms_pipeline.settings import Settings

ASSETS = (INCOMING, CLASSIFIED, SUPPORT_INBOX, OPT_OUT_LIST, POLL_RESULTS, STOP_LIST_SYNC, REPLIES)


def column_schemas() -> dict[str, TableSchema]:
    """Each asset's `dagster/column_schema`, as the UI reads it from the loaded definitions."""
    defs = build_definitions(Settings())
    return {
        spec.key.to_user_string(): spec.metadata["dagster/column_schema"]
        for spec in defs.resolve_all_asset_specs()
        if "dagster/column_schema" in spec.metadata
    }


def meaning(description: str | None) -> str:
    """The description without its constraint wording: what is left must say something."""
    return (description or "").replace(NEVER_NULL, "").strip(" ;,.")


def test_every_asset_publishes_a_column_schema():
    assert sorted(column_schemas()) == sorted(ASSETS)


@pytest.mark.parametrize("asset", ASSETS)
def test_every_column_of_the_asset_says_what_it_means(asset: str):
    schema = column_schemas()[asset]
    undescribed = [c.name for c in schema.columns if len(meaning(c.description)) < 10]
    assert undescribed == [], f"{asset}: columns without a meaning in the UI: {undescribed}"


def test_a_never_null_column_keeps_its_constraint_beside_its_meaning():
    columns = {c.name: c.description or "" for c in column_schemas()[INCOMING].columns}
    assert columns["id_sms"].endswith(NEVER_NULL) and "message id" in columns["id_sms"]
    assert NEVER_NULL not in columns["sender_e164"] and "E.164" in columns["sender_e164"]


def test_the_opt_out_list_describes_its_row_as_a_subscriber_not_a_message():
    columns = {c.name: c.description or "" for c in column_schemas()[OPT_OUT_LIST].columns}
    assert "latest opt-out" in columns["id_sms"]
