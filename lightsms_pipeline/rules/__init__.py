"""The rules core: classification, subscription state, polls and the support inbox, no Dagster.

Every decision of docs/rules.md is a plain function of Arrow tables and a validated `Rules`, so
it can be called and tested without Dagster; the assets only read, call these, and write.
"""

from lightsms_pipeline.rules.classify import classified_schema, classify
from lightsms_pipeline.rules.errors import RulesFileError
from lightsms_pipeline.rules.inbox import (
    support_inbox,
    support_inbox_columns,
    support_inbox_filter,
    support_inbox_schema,
)
from lightsms_pipeline.rules.loading import load_rules, rules_from_mapping
from lightsms_pipeline.rules.model import Poll, Rules
from lightsms_pipeline.rules.polls import (
    POLL_RESULTS_SCHEMA,
    poll_results,
    poll_results_columns,
    poll_results_filter,
    poll_vote_details,
    poll_vote_details_schema,
)
from lightsms_pipeline.rules.subscriptions import (
    OPT_OUT_COLUMNS,
    opt_out_events_filter,
    opt_out_list,
    opt_out_list_columns,
    opt_out_schema,
    subscriber,
)
from lightsms_pipeline.rules.text import normalize_text, normalize_texts

__all__ = [
    "OPT_OUT_COLUMNS",
    "POLL_RESULTS_SCHEMA",
    "Poll",
    "Rules",
    "RulesFileError",
    "classified_schema",
    "classify",
    "load_rules",
    "normalize_text",
    "normalize_texts",
    "opt_out_events_filter",
    "opt_out_list",
    "opt_out_list_columns",
    "opt_out_schema",
    "poll_results",
    "poll_results_columns",
    "poll_results_filter",
    "poll_vote_details",
    "poll_vote_details_schema",
    "rules_from_mapping",
    "subscriber",
    "support_inbox",
    "support_inbox_columns",
    "support_inbox_filter",
    "support_inbox_schema",
]
