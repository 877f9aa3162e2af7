"""docs/rules.md §3: ids are integers of any size, ordered by length after leading zeros, then digits."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lightsms_pipeline.rules.tables import count_distinct_ids, id_order, in_time_order, unique_messages

BIG = str(10**21 + 1)  # 22 digits


def order_of(ids: list[str]) -> list[str]:
    keys = id_order(pa.array(ids, pa.string()))
    return [ids[i] for i in pc.sort_indices(keys).to_pylist()]


def test_ids_that_fit_64_bits_take_the_int64_fast_path() -> None:
    assert id_order(pa.array(["10", "9"])).type == pa.int64()


def test_a_22_digit_id_sorts_after_a_20_digit_one_though_not_as_text() -> None:
    assert order_of([BIG, "9" * 20, "10", "9"]) == ["9", "10", "9" * 20, BIG]


def test_leading_zeros_do_not_change_an_ids_place() -> None:
    assert order_of(["0010", "9", "0" * 25 + "8", BIG]) == ["0" * 25 + "8", "9", "0010", BIG]


def test_equal_integers_give_equal_keys_whatever_their_zeros() -> None:
    for ids in (["007", "7", "8"], ["007", "7", BIG]):
        assert count_distinct_ids(id_order(pa.array(ids))) == 2


def test_an_id_of_only_zeros_is_zero() -> None:
    assert order_of([BIG, "000", "1"]) == ["000", "1", BIG]


def test_chunked_big_ids_work_like_one_chunk() -> None:
    chunked = pa.chunked_array([[BIG, "5"], ["9" * 20]])
    assert id_order(chunked).to_pylist() == id_order(chunked.combine_chunks()).to_pylist()


@pytest.mark.parametrize("bad", ["12a", "1 2", "", BIG + "x"])
def test_an_id_that_is_not_digits_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="id_sms must be decimal digits"):
        id_order(pa.array([BIG, bad]))


def test_unique_messages_and_time_order_accept_big_ids() -> None:
    when = pa.array([0, 0, 0], pa.timestamp("us", tz="UTC"))
    table = pa.table({"id_sms": [BIG, "9" * 20, BIG], "received_at": when, "text": ["a", "b", "a"]})
    unique = unique_messages(table)
    assert unique.num_rows == 2
    assert in_time_order(unique)["id_sms"].to_pylist() == ["9" * 20, BIG]
