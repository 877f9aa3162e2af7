"""Reading LightSMS response bodies: every undocumented quirk of incoming.php is handled here, and the
reading primitives the stop list's answers share (`api/stop_list.py`) are public here for it.

The quirks (docs/lightsms-api.md §4-5), each pinned by a test named after it:
- an empty day comes back as error 19, `[]`, `{}`, `null` or an empty body: zero messages;
- error codes arrive as int or numeric string, at the top level, under a `""` key (host without
  `www.`) or keyed by a phone number;
- `phone` may be missing and `prefix` may be `""`;
- bodies are parsed by their content, never by the Content-Type header; XML goes through
  defusedxml because the body comes from the network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

EMPTY_DAY_CODE = 19
REQUIRED_FIELDS = ("date", "sender", "text")
ASCII_NUMBER = re.compile(r"[0-9]+")
# One message of a JSON body as Arrow reads it: absent or null fields come out null.
_RECORD = pa.struct([pa.field(name, pa.string()) for name in ("date", "sender", "phone", "prefix", "text")])
# The fast path (`_records_read_by_arrow`): the body cut into ids and records by Arrow's string
# kernels, the records read by Arrow's JSON reader straight into columns.
_MEMBER_SEPARATOR = b'},"'  # one record's end, the next id's start
_ID_END = b'":{'  # an id's end, its record's start
_RECORD_SCHEMA = pa.schema(list(_RECORD))
_ARROW_PARSE = pa_json.ParseOptions(explicit_schema=_RECORD_SCHEMA, unexpected_field_behavior="error")
_ARROW_MAX_BLOCK = 2**31 - 2  # Arrow's block size is an int32, and the records must fit one block


class ResponseProblem(ValueError):
    """The body is unreadable; `retryable` tells whether it looks like a passing fault (an HTML
    maintenance page, a truncated body) rather than a server that answers the wrong shape."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class ApiErrorCode:
    """A request-level error answer, e.g. `{"error": 30}`."""

    code: int


@dataclass(frozen=True)
class RawMessages:
    """Incoming messages exactly as received, one Arrow string column per field.

    `phone` and `prefix` are null where the record did not carry them; every other column is
    non-null. Columns, not per-message objects: a day can hold tens of thousands of messages.
    """

    id_sms: pa.StringArray
    date: pa.StringArray
    sender: pa.StringArray
    phone: pa.StringArray
    prefix: pa.StringArray
    text: pa.StringArray

    def __len__(self) -> int:
        return len(self.id_sms)

    @classmethod
    def empty(cls) -> RawMessages:
        e = pa.array([], pa.string())
        return cls(e, e, e, e, e, e)

    def filter(self, mask: pa.BooleanArray) -> RawMessages:
        """The messages where `mask` is true, in the order received."""
        names = ("id_sms", "date", "sender", "phone", "prefix", "text")
        return RawMessages(*(getattr(self, name).filter(mask) for name in names))

    @classmethod
    def concat(cls, parts: list[RawMessages]) -> RawMessages:
        """The messages of several answers (a day's windows) one after the other, as received."""
        if not parts:
            return cls.empty()
        names = ("id_sms", "date", "sender", "phone", "prefix", "text")
        return cls(*(pa.concat_arrays([getattr(p, name) for p in parts]) for name in names))


def parse_body(body: bytes, fmt: str) -> RawMessages | ApiErrorCode:
    """Parse one incoming.php body into messages or an API error code; raise ResponseProblem."""
    stripped = body.strip()
    if not stripped:
        return RawMessages.empty()
    if stripped[:1] == b"<":
        if looks_like_html(stripped):
            raise ResponseProblem("got an HTML page instead of data", retryable=True)
        return _parse_xml(stripped)
    if fmt == "xml" and stripped[:1] not in (b"{", b"["):
        raise ResponseProblem(f"body is neither XML nor JSON: {excerpt(stripped)}", retryable=True)
    return _parse_json(stripped)


def looks_like_html(body: bytes) -> bool:
    head = body[:512].lower()
    return b"<html" in head or b"<!doctype html" in head


def excerpt(body: bytes, limit: int = 60) -> str:
    return repr(body[:limit].decode("utf-8", errors="replace"))


def error_code(value: object) -> int:
    # Same-platform fixtures use ints ({"error": 19}), the docs show strings ("6"): accept both.
    if isinstance(value, bool):
        raise ResponseProblem(f"error code is not a number: {value!r}")
    if isinstance(value, int):
        return value
    # ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
    if isinstance(value, str) and ASCII_NUMBER.fullmatch(value.strip()):
        return int(value.strip())
    raise ResponseProblem(f"error code is not a number: {value!r}")


class RepeatedKeys(list[tuple[str, Any]]):
    """A JSON object that names a key twice, members in order; a plain dict would silently keep
    only the last one, and with it lose a message."""


def json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any] | RepeatedKeys:
    obj = dict(pairs)
    return obj if len(obj) == len(pairs) else RepeatedKeys(pairs)


@contextmanager
def refusing_bad_json() -> Iterator[None]:
    """Why a body could not be read as JSON, as a `ResponseProblem`: the one wording every
    endpoint's JSON reader gives for bad UTF-8, deep nesting and malformed JSON."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise ResponseProblem(f"body is not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except RecursionError:
        raise ResponseProblem("body is nested too deeply to be a LightSMS answer") from None
    except ValueError as exc:
        # A body cut off mid-way by the network is the usual cause; the retry budget decides.
        raise ResponseProblem(f"body is not valid JSON ({exc})", retryable=True) from exc


def _parse_json(body: bytes) -> RawMessages | ApiErrorCode:
    """Two readers, and why two: the fast one pays, and only the exact one can vouch for every body.

    Issue 20 keeps a faster reader only where a same-run A/B shows it buys at least 15% on a
    figure a user sees. The million-message day end to end (benchmarks/million_day.py: fetch
    from the simulator, normalize, check, write), 15 runs of each reader interleaved on the
    shared 2-core machine: median 5.05 s (2.81-13.91) with the Arrow reader, 8.06 s (5.93-16.97)
    with the exact reader alone, 1.60x; 1.62x median of the paired runs; 1.66x (4.24 s against
    7.02 s) in the quietest series of six pairs. CPU 3.2 s against 5.8 s, peak memory 616 MB
    against 674 MB. That exact reader was the faster one of then (plain `json.loads`, the hook
    only when a count of `":` showed a member lost); the exact reader of now, the hook on every
    body, is slower still (CPU 10.9 s). So `_records_read_by_arrow` stays for the compact
    answers PHP writes, and every body it hands back goes to `_parse_json_exact`. msgspec, a
    third reader between them, went: one reader fewer to keep exact.
    """
    fast = _records_read_by_arrow(body)
    return fast if fast is not None else _parse_json_exact(body)


def _records_read_by_arrow(body: bytes) -> RawMessages | None:
    """The messages of a plain, compact answer, read without a Python object per message; None
    for any body this path cannot vouch for, which `_parse_json_exact` then reads or refuses.

    A day of messages is what PHP's `json_encode` writes: `{"<id>":{...},"<id>":{...}}`. Arrow's
    string kernels cut it at each `},"` and each piece once at its first `":{`, into an id and
    the fields of one record; the records, each written back between `{` and `}` on a line of
    its own, go to Arrow's JSON reader, which turns them into the five string columns. The
    body as a whole is never parsed as JSON.

    Why a cut in the wrong place cannot pass: the body is by construction exactly
    `{` + `"<id>":{<fields>}` joined by `,` + `}`, so if every id is ASCII digits and every
    line is one JSON object, the body is a JSON object whose members are those ids and records,
    in that order, and nothing else (JSON's grammar reads a text one way only). A cut inside a
    text (one ending in `},`) leaves a line that is no object, and the body goes back. Each line
    holds at least one JSON value: a line ends with a `}` that can close neither a string (no
    raw line break may follow inside one) nor a nested object (the schema refuses any); so
    exactly as many rows as ids means exactly one object a line. The other checks:
    - a field named twice (escaped or not), a value that is no string, an unknown field: Arrow
      refuses them; a missing or null date, sender or text: checked below;
    - a blank between tokens outside the records, an escaped id, an id that is no decimal
      number (`error` among them): no id of digits, the body goes back;
    - the same id twice is kept twice, in order, as the exact path keeps it (normalize then
      keeps identical copies once and refuses different ones);
    - no `null` starts the block (pyarrow 26's reader crashes on a first row of `null`): every
      line starts with `{`;
    - lone surrogates (`\\ud800`): Arrow refuses them; invalid UTF-8: Arrow's reader only in
      places (`\\xc0\\xaf` inside a text passes it), so the columns of a body that is not
      plain ASCII (PHP's answers are) are validated as UTF-8.
    """
    cut = _ids_and_records(body)
    if cut is None:
        return None
    id_column, records = cut
    one_block = pa_json.ReadOptions(use_threads=False, block_size=records.size + 1)
    try:
        table = pa_json.read_json(pa.BufferReader(records), one_block, _ARROW_PARSE)
    except Exception:  # ArrowInvalid, or a UnicodeDecodeError pyarrow meets wording the bad bytes
        return None
    if table.num_rows != len(id_column):
        return None
    columns = {field.name: _one_array(table.column(field.name)) for field in _RECORD}
    if any(columns[name].null_count for name in REQUIRED_FIELDS):
        return None
    if not body.isascii():
        try:
            table.validate(full=True)
        except pa.ArrowInvalid:
            return None
    return RawMessages(id_column, **columns)  # type: ignore[arg-type]


def _ids_and_records(body: bytes) -> tuple[pa.StringArray, pa.Buffer] | None:
    """A compact body's ids (each ASCII digits) and its records, `{<fields>}` a line each; None
    when it is not cut that way (see `_records_read_by_arrow`). Each step's copy of the body is
    dropped as soon as the next is made: a huge day's windows are cut four at a time."""
    if not (body.startswith(b'{"') and body.endswith(b"}}")) or len(body) >= _ARROW_MAX_BLOCK:
        return None
    # The body between its first `{"` and last `}}`, as one binary value, without a copy.
    inside = pa.Array.from_buffers(
        pa.binary(), 1, [None, pa.py_buffer(np.array([2, len(body) - 2], np.int32)), pa.py_buffer(body)]
    )
    halves = pc.split_pattern(pc.split_pattern(inside, _MEMBER_SEPARATOR).flatten(), _ID_END, max_splits=1)
    if not pc.all(pc.equal(pc.list_value_length(halves), 2)).as_py():
        return None
    try:
        id_column = pc.list_element(halves, 0).cast(pa.string())
    except pa.ArrowInvalid:  # not UTF-8
        return None
    if not pc.all(pc.ascii_is_decimal(id_column)).as_py():
        return None
    fields = pc.list_element(halves, 1)
    del halves
    records = pc.binary_join_element_wise(b"{", fields, b"}\n", b"")
    del fields
    size = pc.sum(pc.binary_length(records)).as_py()
    if size >= _ARROW_MAX_BLOCK:
        return None
    return id_column, records.buffers()[2][:size]


def _one_array(column: pa.ChunkedArray) -> pa.Array:
    """A column as one array; its only chunk as it is (concatenating one array copies it)."""
    return column.chunk(0) if column.num_chunks == 1 else pa.concat_arrays(column.chunks)


def _parse_json_exact(body: bytes) -> RawMessages | ApiErrorCode:
    """Any JSON body, read by `json.loads` keeping every member, and refused with the reason when it
    is no answer of messages or error: the reference `_records_read_by_arrow` is held to, and the
    reader of every body it hands back (error answers, empty days, anything not PHP-compact).

    `object_pairs_hook` sees a key named twice, which a plain dict would drop with a message. It
    costs about twice a plain `json.loads`, and no speed trick is kept for it: the answers a day's
    figures depend on take the fast path (see `_parse_json`)."""
    with refusing_bad_json():
        data = json.loads(body.decode("utf-8"), object_pairs_hook=json_object)
    if data is None or data == [] or data == {}:
        return RawMessages.empty()
    if isinstance(data, RepeatedKeys):
        if any(key == "error" for key, _ in data):
            raise ResponseProblem("object names 'error' more than once")
        # The same message id twice: normalize keeps identical copies once and refuses
        # different ones, exactly as for a repeated XML record.
        return _records_from_json(list(data))
    if not isinstance(data, dict):
        raise ResponseProblem(f"expected a JSON object, got {type(data).__name__}")
    code = json_error(data)
    if code is not None:
        return RawMessages.empty() if code == EMPTY_DAY_CODE else ApiErrorCode(code)
    return _records_from_json(list(data.items()))


def json_error(data: dict[str, object]) -> int | None:
    if "error" in data:
        if len(data) != 1:
            raise ResponseProblem("object has an 'error' key beside other keys")
        return error_code(data["error"])
    # `{"": {"error": N}}` (host without www.) and `{"37061234567": {"error": "6"}}` (phone-keyed).
    if len(data) == 1:
        (value,) = data.values()
        if isinstance(value, dict) and set(value) == {"error"}:
            return error_code(value["error"])
    return None


def _records_from_json(members: list[tuple[str, object]]) -> RawMessages:
    ids = [key for key, _ in members]
    records = [rec for _, rec in members]
    for key, rec in zip(ids, records, strict=True):
        if isinstance(rec, RepeatedKeys):
            raise ResponseProblem(f"message {key!r} names a field more than once")
        if not isinstance(rec, dict):
            raise ResponseProblem(f"message {key!r} is a {type(rec).__name__}, not an object")
    try:
        dates = [r["date"] for r in records]  # type: ignore[index]
        senders = [r["sender"] for r in records]  # type: ignore[index]
        texts = [r["text"] for r in records]  # type: ignore[index]
    except KeyError:
        raise _missing_field(ids, records) from None
    phones = [r.get("phone") for r in records]  # type: ignore[attr-defined]
    prefixes = [r.get("prefix") for r in records]  # type: ignore[attr-defined]
    return _columns(ids, dates, senders, phones, prefixes, texts)


def _missing_field(ids: list[str], records: list[object]) -> ResponseProblem:
    for key, rec in zip(ids, records, strict=True):
        assert isinstance(rec, dict)
        missing = [f for f in REQUIRED_FIELDS if f not in rec]
        if missing:
            return ResponseProblem(f"message {key!r} has no {', '.join(missing)}")
    return ResponseProblem("a message lacks a required field")


def response_root(body: bytes) -> Any:
    """The `<response>` element of an XML answer, parsed by defusedxml (no DTDs, no entities):
    the one way every endpoint's XML is read, so each refuses the same bodies the same way."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ResponseProblem(f"XML refused: {type(exc).__name__} (DTDs and entities are forbidden)") from exc
    except SafeET.ParseError as exc:
        raise ResponseProblem(f"body is not well-formed XML ({exc})", retryable=True) from exc
    if root.tag != "response":
        raise ResponseProblem(f"XML root is <{root.tag}>, expected <response>")
    return root


def _parse_xml(body: bytes) -> RawMessages | ApiErrorCode:
    root = response_root(body)
    error = root.find("error")
    if error is not None:
        if len(root) != 1:
            # Read as an error, the messages beside it would be dropped (all of them, for 19).
            raise ResponseProblem("XML <response> holds <error> beside other elements")
        code = error_code(error.text or "")
        return RawMessages.empty() if code == EMPTY_DAY_CODE else ApiErrorCode(code)
    smses = root.findall("sms")
    if len(smses) != len(root):
        raise ResponseProblem("XML <response> holds elements other than <sms>")
    ids: list[object] = []
    dates: list[object] = []
    senders: list[object] = []
    texts: list[object] = []
    for n, el in enumerate(smses):
        a = el.attrib
        missing = [f for f in ("id_sms", *REQUIRED_FIELDS) if f not in a]
        if missing:
            raise ResponseProblem(f"<sms> number {n + 1} has no {', '.join(missing)}")
        ids.append(a["id_sms"])
        dates.append(a["date"])
        senders.append(a["sender"])
        texts.append(a["text"])
    phones = [el.attrib.get("phone") for el in smses]
    prefixes = [el.attrib.get("prefix") for el in smses]
    return _columns(ids, dates, senders, phones, prefixes, texts)  # type: ignore[arg-type]


def _string_column(name: str, values: list[object], ids: list[str], nullable: bool) -> pa.StringArray:
    try:
        arr = pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError) as exc:
        bad = next(
            (
                i
                for i, v in zip(ids, values, strict=True)
                if not (isinstance(v, str) or (nullable and v is None)) or not _encodable(v)
            ),
            "?",
        )
        raise ResponseProblem(f"message {bad!r}: field {name!r} is not a text value ({exc})") from exc
    if not nullable and arr.null_count:
        bad = next(i for i, v in zip(ids, values, strict=True) if v is None)
        raise ResponseProblem(f"message {bad!r}: field {name!r} is null")
    return arr  # type: ignore[return-value]


def _encodable(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _columns(
    ids: list[str],
    dates: list[object],
    senders: list[object],
    phones: list[object],
    prefixes: list[object],
    texts: list[object],
) -> RawMessages:
    return RawMessages(
        id_sms=_id_column(ids),
        date=_string_column("date", dates, ids, nullable=False),
        sender=_string_column("sender", senders, ids, nullable=False),
        phone=_string_column("phone", phones, ids, nullable=True),
        prefix=_string_column("prefix", prefixes, ids, nullable=True),
        text=_string_column("text", texts, ids, nullable=False),
    )


def _id_column(ids: list[str]) -> pa.StringArray:
    id_arr = _string_column("id_sms", ids, ids, nullable=False)  # type: ignore[arg-type]
    # ASCII digits only, like the regex ^[0-9]+$ (Unicode digits such as "٣" are refused).
    if len(id_arr) and not pc.all(pc.ascii_is_decimal(id_arr)).as_py():
        bad = next(i for i in ids if not (isinstance(i, str) and i.isascii() and i.isdigit()))
        raise ResponseProblem(f"message id {bad!r} is not a decimal number")
    return id_arr
