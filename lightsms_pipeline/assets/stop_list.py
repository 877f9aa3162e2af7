"""The `stop_list_sync` asset: opt-outs pushed to LightSMS's stop list, and the 10-day clock.

Built in every mode, so the code location, the asset graph and the clock's check look the same
whatever `LIGHTSMS_STOP_LIST_SYNC` says: `off` calls nothing and writes nothing, `dry-run`
looks numbers up (read-only) and records what would be pushed, `on` pushes.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetsDefinition,
    Failure,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from lightsms_pipeline.assets.derived import derived_options
from lightsms_pipeline.assets.scope import SINGLE_ACCOUNT, AssetScope
from lightsms_pipeline.contract import OPT_OUT_LIST, REPLIES, STOP_LIST_CLOCK_CHECK, STOP_LIST_SYNC
from lightsms_pipeline.datasets.stop_list import SyncOptions, SyncOutcome, sync_stop_list
from lightsms_pipeline.datasets.upstream import MissingUpstreamError
from lightsms_pipeline.presentation.previews import column_schema, table_preview
from lightsms_pipeline.rules.model import Rules
from lightsms_pipeline.rules.stop_list import ALREADY_LISTED, PUSHED, WOULD_PUSH, record_schema
from lightsms_pipeline.settings import Settings

PREVIEW_ROWS = 10
SHOWN_FAILURES = 3


def build_stop_list_sync(
    settings: Settings, rules: Rules, scope: AssetScope = SINGLE_ACCOUNT
) -> AssetsDefinition:
    options = SyncOptions(
        mode=settings.stop_list_sync,
        timezone=rules.timezone,
        region=rules.default_region,
        max_delay=timedelta(hours=settings.opt_out_max_delay_hours),
        sender_hash_salt=settings.salt,
    )
    limit = f"{settings.opt_out_max_delay_hours:g} h"

    @asset(
        key=scope.key(STOP_LIST_SYNC),
        # After the replies: an opt-out's confirmation must leave before its number is on the
        # stop list, where send.php refuses it with 34 (docs/rules.md §9). In one run (the live
        # pick-up's, a daily one) the order is then the confirmation, then the push.
        deps=[scope.key(OPT_OUT_LIST), scope.key(REPLIES)],
        pool=scope.pool,  # it calls LightSMS
        required_resource_keys=scope.resource_keys(lightsms=True),
        kinds={"parquet"},
        description=(
            f"Opt-outs pushed to LightSMS's stop list (mode {settings.stop_list_sync!r}, "
            "LIGHTSMS_STOP_LIST_SYNC): each number looked up, then added once; the record holds "
            "every push, lookup and dry-run plan with the opt-out's id_sms. Conflicts for a "
            "person (opted back in after a push, senders that cannot be pushed) beside it."
        ),
        metadata={"dagster/column_schema": column_schema(record_schema(rules.timezone), STOP_LIST_SYNC)},
        check_specs=[
            AssetCheckSpec(
                STOP_LIST_CLOCK_CHECK,
                asset=scope.key(STOP_LIST_SYNC),
                description=(
                    f"No opt-out waits longer than {limit} (LIGHTSMS_OPT_OUT_MAX_DELAY_HOURS) since "
                    "its first_opted_out_at without reaching the stop list; fails in mode on, "
                    "warns otherwise (nothing is pushed then)."
                ),
            )
        ],
        **derived_options(rules, scope),
    )
    def stop_list_sync(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
        store = scope.dataset(context).get_dataset()
        client = scope.lightsms(context).get_client() if options.mode != "off" else None
        try:
            outcome = sync_stop_list(store, client, options, datetime.now(UTC))
        except MissingUpstreamError as exc:
            raise Failure(description=f"{scope.label(STOP_LIST_SYNC)}: {exc}") from None
        yield MaterializeResult(
            metadata=_metadata(outcome, store.uri), check_results=[_clock(outcome, limit)]
        )
        if outcome.failures:
            # The others are pushed and recorded; the run fails so that someone looks.
            shown = "; ".join(f.error for f in outcome.failures[:SHOWN_FAILURES])
            more = len(outcome.failures) - SHOWN_FAILURES
            raise Failure(
                description=(
                    f"{scope.label(STOP_LIST_SYNC)}: {len(outcome.failures)} number(s) did not reach "
                    f"the stop list (the others are recorded): {shown}"
                    + (f"; and {more} more" if more > 0 else "")
                )
            )

    return stop_list_sync


def opt_out_freshness(settings: Settings) -> FreshnessPolicy:
    """How fresh `incoming_messages` and `opt_out_list` must be for the clock to be kept: an
    opt-out cannot reach the stop list before the list that holds it is rebuilt. Warns at half
    of LIGHTSMS_OPT_OUT_MAX_DELAY_HOURS without a materialization, fails at all of it."""
    limit = timedelta(hours=settings.opt_out_max_delay_hours)
    return FreshnessPolicy.time_window(fail_window=limit, warn_window=limit / 2)


def _metadata(outcome: SyncOutcome, uri: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "mode": outcome.mode,
        "opted_out": outcome.opted_out,
        "already_recorded": outcome.already_recorded,
        "pushed": outcome.count(PUSHED),
        "already_listed": outcome.count(ALREADY_LISTED),
        "would_push": outcome.count(WOULD_PUSH),
        "failed": len(outcome.failures),
        "conflicts": outcome.conflicts.num_rows,
        "waiting_too_long": outcome.waiting.count,
        "dagster/row_count": outcome.record.num_rows,
    }
    if outcome.paths:
        meta["path"] = MetadataValue.path(uri(outcome.paths[0]))
        meta["conflicts_path"] = MetadataValue.path(uri(outcome.paths[1]))
    if outcome.conflicts.num_rows:
        meta["conflicts_preview"] = table_preview(outcome.conflicts, PREVIEW_ROWS)
    if outcome.new_rows:
        recent = outcome.record.slice(max(0, outcome.record.num_rows - PREVIEW_ROWS))
        meta["preview"] = table_preview(recent, PREVIEW_ROWS)
    return meta


def _clock(outcome: SyncOutcome, limit: str) -> AssetCheckResult:
    waiting = outcome.waiting
    meta: dict[str, Any] = {"waiting_too_long": waiting.count, "mode": outcome.mode, "limit": limit}
    if waiting.oldest is None:
        return AssetCheckResult(
            check_name=STOP_LIST_CLOCK_CHECK,
            passed=True,
            metadata=meta,
            description=f"no opt-out has waited longer than {limit} for the stop list",
        )
    oldest = waiting.oldest
    meta.update(
        oldest_subscriber=oldest.subscriber,
        oldest_first_opted_out_at=oldest.first_opted_out_at.isoformat(),
        oldest_id_sms=oldest.id_sms,
    )
    not_pushing = (
        "" if outcome.mode == "on" else f" (LIGHTSMS_STOP_LIST_SYNC={outcome.mode}: nothing is pushed)"
    )
    return AssetCheckResult(
        check_name=STOP_LIST_CLOCK_CHECK,
        passed=False,
        severity=AssetCheckSeverity.ERROR if outcome.mode == "on" else AssetCheckSeverity.WARN,
        metadata=meta,
        description=(
            f"{waiting.count} opt-out(s) waited longer than {limit} without reaching the stop list"
            f"{not_pushing}; the oldest since {oldest.first_opted_out_at:%Y-%m-%d %H:%M:%S %Z} "
            f"(subscriber {oldest.subscriber}, id_sms {oldest.id_sms})"
        ),
    )
