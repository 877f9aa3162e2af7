"""The support inbox (docs/rules.md §5): every `other` message, one row each, for a ticketing import.

`possible_opt_out` rides along so that free-text revocations ("please stop texting me") reach a
person well within the FCC's 10 business days.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from lightsms_pipeline.rules.classify import MESSAGE_COLUMNS, classified_fields
from lightsms_pipeline.rules.model import OTHER
from lightsms_pipeline.rules.subscriptions import SUBSCRIBER_FIELD, subscriber
from lightsms_pipeline.rules.tables import in_time_order, messages_of_class


def support_inbox_schema(timezone: str) -> pa.Schema:
    """The inbox columns: who wrote, to which number, the raw text, and the review flag."""
    return pa.schema(
        [
            *classified_fields(timezone, ["id_sms", "received_at", "sender", "sender_e164"]),
            SUBSCRIBER_FIELD,
            *classified_fields(timezone, ["phone", "prefix", "text", "possible_opt_out"]),
        ]
    )


def support_inbox_columns() -> tuple[str, ...]:
    """The `classified_messages` columns `support_inbox` reads: project the Parquet read to these."""
    return (*MESSAGE_COLUMNS, "text", "class", "possible_opt_out")


def support_inbox_filter() -> pc.Expression:
    """A Parquet read filter keeping only the rows `support_inbox` shows."""
    return pc.field("class") == OTHER


def support_inbox(classified: pa.Table) -> pa.Table:
    """The `other` messages, oldest first (received_at, then id_sms as an integer).

    The time zone of `received_at` is kept as it comes from `classified_messages`.
    """
    messages = messages_of_class(classified, support_inbox_columns(), [OTHER])
    messages = in_time_order(messages.append_column("subscriber", subscriber(messages)))
    schema = support_inbox_schema(messages.schema.field("received_at").type.tz)
    return messages.select(schema.names).cast(schema)
