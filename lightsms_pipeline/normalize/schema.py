"""The Arrow schemas of the published datasets: the column contract analysts depend on."""

from __future__ import annotations

import pyarrow as pa


def incoming_schema(timezone: str) -> pa.Schema:
    """`incoming_messages`: one row per message exactly as LightSMS sent it, plus typed helpers.

    `date` is not a column of the files: it is the hive partition (`date=YYYY-MM-DD`), which
    readers of the dataset directory get back as a column.
    """
    return pa.schema(
        [
            pa.field("id_sms", pa.string(), nullable=False),
            pa.field("received_at", pa.timestamp("us", tz=timezone), nullable=False),
            pa.field("sender", pa.string(), nullable=False),
            pa.field("sender_e164", pa.string()),
            pa.field("phone", pa.string()),
            pa.field("prefix", pa.string()),
            pa.field("text", pa.string(), nullable=False),
            pa.field("account", pa.string(), nullable=False),
            pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
        ]
    )


REQUIRED_INCOMING_COLUMNS = ("id_sms", "received_at", "sender", "text", "account", "fetched_at")
