"""LIGHTSMS_DATA_DIR=s3://bucket/prefix against a real S3-compatible server (moto's standalone
server on 127.0.0.1), through s3fs and the standard AWS variables, as a deployment configures it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import boto3
import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import s3fs
from moto.server import ThreadedMotoServer
from pipeline import Pipeline
from reliability.partition_files import day_range, expected_rows, file_rows
from reliability.test_secrets import leak_forms

from lightsms_pipeline.contract import (
    CLASSIFIED,
    INCOMING,
    OPT_OUT_PARQUET,
    POLL_RESULTS_PARQUET,
    SUPPORT_INBOX,
)
from lightsms_pipeline.simulator.server import SimulatorServer
from lightsms_pipeline.simulator.traffic import Traffic
from production.postgres_server import free_port

pytestmark = pytest.mark.slow

BUCKET, PREFIX = "lightsms-test", "datasets/prod"
# Distinctive, so that a leak is easy to find; moto accepts any credentials.
ACCESS_KEY = "AKIALIGHTSMSTEST7Q2Z"
SECRET_KEY = "s3-secret-lightsms-3f9a1c7e5b2d4f6a8c0e"
START, END = date(2025, 1, 13), date(2025, 1, 19)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_pipeline(s3_endpoint: str, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    """The pipeline writing to `s3://bucket/prefix`, with the standard AWS variables a deployment
    sets for s3fs (deploy/dagster.env: credentials are the environment's), and a fresh bucket."""
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    s3fs.S3FileSystem.clear_instance_cache()
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield pipeline.with_settings(data_dir=f"s3://{BUCKET}/{PREFIX}")
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)
    s3fs.S3FileSystem.clear_instance_cache()


def object_rows(fs: s3fs.S3FileSystem, asset: str, day: date) -> list[tuple[object, ...]]:
    with fs.open(f"{BUCKET}/{PREFIX}/{asset}/date={day}/part-0.parquet", "rb") as fh:
        return file_rows(io.BytesIO(fh.read()))  # type: ignore[arg-type]


def every_object(fs: s3fs.S3FileSystem) -> dict[str, bytes]:
    return {key: fs.cat_file(key) for key in fs.find(BUCKET)}


def test_backfill_rerun_and_downstream_land_in_s3_and_read_back_with_pyarrow_pandas_and_duckdb(
    s3_pipeline: Pipeline, simulator: SimulatorServer, traffic: Traffic, dagster_home: Path
) -> None:
    days = day_range(START, END)
    assert s3_pipeline.materialize(START, END, assets=None).success
    fs = s3fs.S3FileSystem()
    for day in days:
        assert object_rows(fs, INCOMING, day) == expected_rows(traffic, day), day
    for asset in (CLASSIFIED, SUPPORT_INBOX):
        assert sorted(fs.ls(f"{BUCKET}/{PREFIX}/{asset}")) == [
            f"{BUCKET}/{PREFIX}/{asset}/date={d}" for d in days
        ]
    first_opt_out = fs.cat_file(f"{BUCKET}/{PREFIX}/{OPT_OUT_PARQUET}")
    assert fs.exists(f"{BUCKET}/{PREFIX}/{POLL_RESULTS_PARQUET}")

    # A re-run of two days against a changed history replaces those objects, and only those.
    changed = Traffic(seed=8, per_day=60)
    simulator.traffic = changed
    rerun = day_range(date(2025, 1, 15), date(2025, 1, 16))
    assert s3_pipeline.materialize(rerun[0], rerun[-1], assets=None).success
    fs.invalidate_cache()
    for day in days:
        truth = changed if day in rerun else traffic
        assert object_rows(fs, INCOMING, day) == expected_rows(truth, day), day
    assert fs.cat_file(f"{BUCKET}/{PREFIX}/{OPT_OUT_PARQUET}") != first_opt_out  # rebuilt downstream
    expected_total = sum(len(expected_rows(changed if d in rerun else traffic, d)) for d in days)
    classified = pq.read_table(f"{BUCKET}/{PREFIX}/{CLASSIFIED}", filesystem=fs)
    assert classified.num_rows == expected_total

    # As an analyst reads it: pyarrow datasets, pandas, DuckDB (through s3fs: DuckDB's own httpfs
    # extension is a download, which these machines cannot make).
    table = ds.dataset(f"{BUCKET}/{PREFIX}/{INCOMING}", filesystem=fs, partitioning="hive").to_table(
        columns=["id_sms", "date"], filter=ds.field("date") >= "2025-01-15"
    )
    assert table.num_rows == sum(len(expected_rows(changed if d in rerun else traffic, d)) for d in days[2:])
    frame = pd.read_parquet(f"s3://{BUCKET}/{PREFIX}/{INCOMING}")
    assert len(frame) == expected_total and frame["id_sms"].is_unique
    con = duckdb.connect()
    con.register_filesystem(fs)
    per_day = con.sql(
        f"SELECT date, count(*) FROM read_parquet('s3://{BUCKET}/{PREFIX}/{INCOMING}/*/*.parquet', "
        "hive_partitioning = true) GROUP BY date ORDER BY date"
    ).fetchall()
    assert [(str(d), n) for d, n in per_day] == [
        (str(d), len(expected_rows(changed if d in rerun else traffic, d))) for d in days
    ]

    # The credentials are in no object, no file of the Dagster instance.
    needles = leak_forms(ACCESS_KEY) | leak_forms(SECRET_KEY)
    objects = every_object(fs)
    assert not [k for k, body in objects.items() if any(n in body for n in needles)]
    files = [p for p in dagster_home.rglob("*") if p.is_file()]
    assert files and not [p for p in files if any(n in p.read_bytes() for n in needles)]
    print(f"\ns3: {len(objects)} objects, {expected_total} messages read back three ways, no credential")


def test_a_bucket_that_does_not_exist_fails_the_days_naming_it_and_creates_nothing(
    s3_pipeline: Pipeline, simulator: SimulatorServer, dagster_home: Path
) -> None:
    missing = "lightsms-no-such-bucket"
    elsewhere = s3_pipeline.with_settings(data_dir=f"s3://{missing}/{PREFIX}")
    result = elsewhere.materialize(START, date(2025, 1, 15), raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    text = "\n".join(str(e.event_specific_data.error.message) for e in failures)  # type: ignore[union-attr]
    assert f"s3://{missing}/{PREFIX}/{INCOMING}/date={START}/part-0.parquet" in text, text
    assert "the bucket does not exist" in text and "LIGHTSMS_DATA_DIR" in text, text
    assert ACCESS_KEY not in text and SECRET_KEY not in text
    # Nothing was created on the way: no bucket, no object.
    buckets = [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    assert missing not in buckets, buckets


# A bucket policy that refuses every object write. moto's server enforces a bucket policy's Deny
# on object requests by itself, without IAM authentication set up (moto/s3/responses.py,
# `_key_response`; getmoto/moto#7837): the PUT is answered 403, as AWS answers a read-only bucket.
DENY_WRITES = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        }
    ],
}


def test_a_bucket_that_refuses_writes_fails_the_days_naming_it_and_keeps_every_object_as_it_was(
    s3_pipeline: Pipeline, simulator: SimulatorServer, dagster_home: Path
) -> None:
    assert s3_pipeline.materialize(START, date(2025, 1, 14)).success
    fs = s3fs.S3FileSystem()
    before = every_object(fs)
    assert len(before) == 2
    client = boto3.client("s3")
    client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(DENY_WRITES))
    simulator.traffic = Traffic(seed=8, per_day=60)  # a changed history: any write would show

    result = s3_pipeline.materialize(START, date(2025, 1, 15), raise_on_error=False)
    client.delete_bucket_policy(Bucket=BUCKET)  # the fixture's clean-up deletes; writes are denied

    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    text = "\n".join(str(e.event_specific_data.error.message) for e in failures)  # type: ignore[union-attr]
    assert f"cannot write s3://{BUCKET}/{PREFIX}/{INCOMING}/date=" in text, text
    assert "access denied" in text and "LIGHTSMS_DATA_DIR" in text, text
    # Nothing half-written: the two earlier objects byte for byte, no third day, no temporary.
    fs.invalidate_cache()
    assert every_object(fs) == before
    # No credential in the failure or any event of the run.
    needles = leak_forms(ACCESS_KEY) | leak_forms(SECRET_KEY)
    events = "\n".join(repr(e) for e in result.all_events).encode()
    assert not [n for n in needles if n in text.encode() or n in events]
