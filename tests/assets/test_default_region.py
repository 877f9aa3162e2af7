"""A rules file's `default_region` decides how national-format senders are read, end to end: the
simulator serves them over HTTP, Dagster materializes `incoming_messages`, the Parquet file holds
their E.164 numbers read in that region."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import JAN_15
from pipeline import OneDayTraffic
from reliability.partition_files import part_path

from lightsms_pipeline.simulator.traffic import SimMessage

# Senders as a gateway may pass them: a UK mobile and a German mobile written nationally (no +,
# no country code), a Lithuanian one likewise, an international one and an alphanumeric name.
SENDERS = ["07911123456", "015123456789", "861234567", "37061234567", "PAYSERA"]
# What `sender_e164` holds for them in each region (phonenumbers' verdicts). The international
# number reads the same everywhere; a national one only where its region says it is valid.
E164_BY_REGION = {
    "GB": ["+447911123456", None, None, "+37061234567", None],
    "DE": ["+497911123456", "+4915123456789", "+49861234567", "+37061234567", None],
    # The packaged default (rules.yaml leaves `default_region` unset): Lithuania.
    None: [None, None, "+37061234567", "+37061234567", None],
}


@pytest.mark.parametrize("region", ["GB", "DE", None], ids=["GB", "DE", "default"])
def test_national_senders_are_read_in_the_rules_files_default_region(
    pipeline, data_dir, simulator, tmp_path: Path, region: str | None
):
    messages = [
        SimMessage(str(n), f"{JAN_15.isoformat()} 12:00:{n:02d}", sender, "37060000000", "51632", "hi")
        for n, sender in enumerate(SENDERS, start=1)
    ]
    simulator.traffic = OneDayTraffic(JAN_15, messages)
    if region is not None:
        rules = tmp_path / "rules.yaml"
        rules.write_text(f"default_region: {region}\n")
        pipeline = pipeline.with_settings(rules_file=str(rules))
    assert pipeline.materialize(JAN_15).success
    table = pq.read_table(part_path(data_dir, JAN_15))
    assert table["sender_e164"].to_pylist() == E164_BY_REGION[region]
    # The region reads senders only: the raw sender and the receiving phone and prefix are kept
    # as the API sent them.
    assert table["sender"].to_pylist() == SENDERS
    assert table["phone"].to_pylist() == ["37060000000"] * len(SENDERS)
    assert table["prefix"].to_pylist() == ["51632"] * len(SENDERS)
