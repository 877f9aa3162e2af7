"""The `replies` asset: answers to the senders, sent once (docs/rules.md §9), and the check that
shows every reply whose fate is unknown.

Built in every mode, so the code location and the asset graph look the same whatever
`LIGHTSMS_REPLIES` says: `off` decides nothing and writes nothing, `dry-run` records what would
be sent (no call to LightSMS at all), `on` sends, if the rules file names a `sender`.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetsDefinition,
    AutomationCondition,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
)

from lightsms_pipeline.assets.scope import SINGLE_ACCOUNT, AssetScope
from lightsms_pipeline.contract import CLASSIFIED, NO_UNKNOWN_REPLIES_CHECK, OPT_OUT_LIST, REPLIES
from lightsms_pipeline.datasets.replies import RepliesOptions, RepliesOutcome, answer_messages, record_cost
from lightsms_pipeline.datasets.upstream import MissingUpstreamError
from lightsms_pipeline.presentation.previews import column_schema, table_preview
from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.rules.replies import (
    DRY_RUN,
    NOT_SENT,
    RECORD_SCHEMA,
    REFUSED,
    SENDING,
    SENT,
    SKIPPED_CAP,
    SKIPPED_LATE,
    SKIPPED_NOT_A_PHONE,
    SKIPPED_OPTED_OUT,
    SKIPPED_RATE,
    SKIPPED_SUPERSEDED,
    UNKNOWN,
    rows_in,
    text_costs,
)
from lightsms_pipeline.settings import Settings

PREVIEW_ROWS = 10
SHOWN_UNKNOWN = 20  # in the check's description; its `unknown_replies` table lists every one
STATES = (
    SENT,
    REFUSED,
    UNKNOWN,
    NOT_SENT,
    DRY_RUN,
    SKIPPED_LATE,
    SKIPPED_OPTED_OUT,
    SKIPPED_NOT_A_PHONE,
    SKIPPED_RATE,
    SKIPPED_CAP,
    SKIPPED_SUPERSEDED,
)
NO_SENDER = "not set: nothing is sent (set replies.sender in the rules file)"


def build_replies(settings: Settings, rules: Rules, scope: AssetScope = SINGLE_ACCOUNT) -> AssetsDefinition:
    options = RepliesOptions(mode=settings.replies, rules=rules, sender_hash_salt=settings.salt)

    @asset(
        key=scope.key(REPLIES),
        # opt_out_list is upstream for the order of a run, not read: the opt-out state is
        # computed from the same messages the replies are decided on (rules/replies.py).
        deps=[scope.key(CLASSIFIED), scope.key(OPT_OUT_LIST)],
        pool=scope.pool,  # it calls LightSMS
        required_resource_keys=scope.resource_keys(lightsms=True),
        kinds={"parquet"},
        group_name=scope.group,
        code_version=rules.replies_fingerprint(),
        automation_condition=AutomationCondition.eager(),
        description=(
            f"Replies to the senders (mode {settings.replies!r}, LIGHTSMS_REPLIES), with the rules "
            "file's replies: texts: at most one per message and class, ever; recorded before each "
            "send.php request; only fresh messages are answered (a backfill answers nothing)."
        ),
        metadata={"dagster/column_schema": column_schema(RECORD_SCHEMA, REPLIES)},
        check_specs=[
            AssetCheckSpec(
                NO_UNKNOWN_REPLIES_CHECK,
                asset=scope.key(REPLIES),
                description=(
                    "Lists every reply whose answer from LightSMS was lost (state unknown): it may "
                    "have reached the phone and is never sent again; a person decides. Warns: "
                    "nothing can settle such a reply, so the warning stays while they exist."
                ),
            )
        ],
    )
    def replies(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
        store = scope.dataset(context).get_dataset()
        client = scope.lightsms(context).get_client() if options.sending else None
        try:
            outcome = answer_messages(store, client, options, datetime.now(UTC))
        except MissingUpstreamError as exc:
            raise Failure(description=f"{scope.label(REPLIES)}: {exc}") from None
        if options.mode == "on" and not outcome.sender_set:
            context.log.warning("replies: LIGHTSMS_REPLIES=on but %s", NO_SENDER)
        yield MaterializeResult(
            metadata=_metadata(outcome, rules, store.uri), check_results=[_unknown_check(outcome)]
        )

    return replies


def _metadata(outcome: RepliesOutcome, rules: Rules, uri: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "mode": outcome.mode,
        "sender": rules.replies.sender or NO_SENDER,
        **{state: outcome.count(state) for state in STATES},
        "unknown_found_at_start": outcome.settled,
        "left_for_next_run": outcome.deferred,
        "parts_sent": sum(row.count_sms or 0 for row in outcome.new_rows if row.state == SENT),
        "cost": MetadataValue.float(float(outcome.cost())),
        "cost_all_time": MetadataValue.float(float(record_cost(outcome.record))),
        "texts": _texts_table(rules),
        "dagster/row_count": outcome.record.num_rows,
    }
    if outcome.history is not None:
        meta.update(outcome.history.metadata())
    if outcome.path is not None:
        meta["path"] = MetadataValue.path(uri(outcome.path))
    if outcome.new_rows:
        recent = outcome.record.slice(max(0, outcome.record.num_rows - PREVIEW_ROWS))
        meta["preview"] = table_preview(recent, PREVIEW_ROWS)
    return meta


def _texts_table(rules: Rules) -> MetadataValue:
    """Every configured text and the SMS parts it is billed as: a text longer than one part is
    allowed, and this is where its cost shows."""
    schema = TableSchema(
        columns=[
            TableColumn("answers", "string"),
            TableColumn("characters", "int"),
            TableColumn("encoding", "string"),
            TableColumn("parts", "int"),
        ]
    )
    records = [
        TableRecord({name: getattr(cost, name) for name in ("answers", "characters", "encoding", "parts")})
        for cost in text_costs(rules.replies)
    ]
    return MetadataValue.table(records, schema)


def _unknown_check(outcome: RepliesOutcome) -> AssetCheckResult:
    # A `sending` row outlives a run only when it was killed mid-request (settled into unknown
    # by the next run that decides; `off` decides nothing): as unknown to a person.
    unknown = rows_in(outcome.record, UNKNOWN) + rows_in(outcome.record, SENDING)
    meta: dict[str, Any] = {"unknown": len(unknown), "mode": outcome.mode}
    if not unknown:
        return AssetCheckResult(
            check_name=NO_UNKNOWN_REPLIES_CHECK,
            passed=True,
            metadata=meta,
            description="every reply is settled: sent, refused, skipped or planned",
        )
    lines = [
        "| id_sms | subscriber | class | decided_at (UTC) | detail |",
        "|---|---|---|---|---|",
        *(
            f"| {r['id_sms']} | {r['subscriber']} | {r['class']} | "
            f"{r['decided_at']:%Y-%m-%d %H:%M:%S} | {str(r['detail']).replace('|', '/')} |"
            for r in unknown
        ),
    ]
    meta["unknown_replies"] = MetadataValue.md("\n".join(lines))
    return AssetCheckResult(
        check_name=NO_UNKNOWN_REPLIES_CHECK,
        passed=False,
        severity=AssetCheckSeverity.WARN,
        metadata=meta,
        description=(
            f"{len(unknown)} reply(ies) may or may not have reached the phone (LightSMS's answer was "
            "lost); they are never sent again. Ask the recipient or LightSMS support: "
            + ", ".join(f"id_sms {r['id_sms']} ({r['class']})" for r in unknown[:SHOWN_UNKNOWN])
            + (
                f" and {len(unknown) - SHOWN_UNKNOWN} more (see unknown_replies)"
                if len(unknown) > SHOWN_UNKNOWN
                else ""
            )
        ),
    )
