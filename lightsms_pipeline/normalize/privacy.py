"""Pseudonymizing phone numbers in the published datasets (`LIGHTSMS_SENDER_HASH_SALT`)."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pyarrow.compute as pc

HASH_PREFIX = "h:"


def hash_value(value: str, salt: str) -> str:
    """Keyed hash (HMAC-SHA256) so numbers cannot be recovered by hashing every possible number
    without the salt; the same number always gives the same value, so joins and counts still work."""
    return HASH_PREFIX + hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def _hash_column(values: pa.Array, salt: str) -> pa.Array:
    encoded = pc.dictionary_encode(values)
    hashed = pa.array(
        [None if v is None else hash_value(v, salt) for v in encoded.dictionary.to_pylist()], pa.string()
    )
    return pc.take(hashed, encoded.indices)


def pseudonymize_senders(table: pa.Table, salt: str) -> pa.Table:
    """Replace `sender` and `sender_e164` by their salted hashes; everything else stays."""
    for name in ("sender", "sender_e164"):
        index = table.schema.get_field_index(name)
        column = pa.concat_arrays(table[name].chunks) if table.num_rows else table[name].combine_chunks()
        table = table.set_column(index, table.schema.field(name), _hash_column(column, salt))
    return table
