"""incoming.php bodies for property tests, and the documented reading of each body (the oracle).

The oracle is written from the contract (docs/lightsms-api.md §4-5, the docstrings of
`responses` and `normalize`), not from the pipeline's code paths:
- an empty body, `null`, `[]`, `{}` and error 19 are a day without messages;
- `{"error": N}` (N an int or a string of ASCII digits), `{"": {"error": N}}` or a phone-keyed
  `{"<phone>": {"error": N}}` is API error N; an `error` key beside others is unreadable;
- otherwise an object keyed by decimal ids whose values are objects with string `date`,
  `sender`, `text`, and optional string-or-null `phone`, `prefix`; other fields are ignored;
- `date` is `YYYY-MM-DD HH:MM:SS` naming a real provider-local time from 0001-01-02 to
  9999-12-30; a time in the spring-forward gap moves to the gap's end, a repeated autumn time is
  its first occurrence;
- the same id twice is kept once when both copies agree and refused when they differ; an object
  naming a field twice is refused (which copy would be the message?);
- strings must be Unicode text (no lone surrogates), the body valid UTF-8; text is kept exactly;
- XML: `<response>` holding only `<sms id_sms=... />` elements, or only `<error>N</error>`; no
  DTD, hence no entities. Rows come sorted by (time, id as a number).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
from hypothesis import strategies as st

from lightsms_pipeline.api.responses import ApiErrorCode, ResponseProblem, parse_body
from lightsms_pipeline.errors import MalformedResponseError
from lightsms_pipeline.ingest.engine import check_partition
from lightsms_pipeline.normalize.incoming import to_incoming_table
from lightsms_pipeline.normalize.schema import incoming_schema
from lightsms_pipeline.simulator.encoding import xml_attribute

TIMEZONE = "Europe/Vilnius"
ZONE = ZoneInfo(TIMEZONE)
DAY = date(2025, 1, 15)
FETCHED_AT = datetime(2025, 1, 16, 3, 0, tzinfo=UTC)
FIELDS = ("date", "sender", "phone", "prefix", "text")
REQUIRED = ("date", "sender", "text")
DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
EARLIEST = datetime(1, 1, 2)
LATEST = datetime(9999, 12, 30, 23, 59, 59)

# (id_sms, local time as written back, sender, phone, prefix, text)
Row = tuple[str, str, str, str | None, str | None, str]


@dataclass(frozen=True)
class Refused:
    """The body must be refused (ResponseProblem, or MalformedResponseError once typed)."""

    reason: str = field(default="", compare=False)


@dataclass(frozen=True)
class Code:
    """The body is API error `code` (19, the empty day, reads as no rows instead)."""

    code: int


Reading = list[Row] | Refused | Code


# --- the oracle -------------------------------------------------------------------------------


class _Obj(list[tuple[str, Any]]):
    """A JSON object as its members in order, repeated keys kept."""


def _text_value(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _exists(local: datetime) -> bool:
    back = local.replace(tzinfo=ZONE).astimezone(UTC).astimezone(ZONE).replace(tzinfo=None)
    return back == local


def local_time(text: object) -> tuple[datetime, str] | None:
    """The instant a `date` string names and how it reads back in local time; None if invalid."""
    if not isinstance(text, str) or not DATE_SHAPE.fullmatch(text):
        return None
    try:
        naive = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    if not EARLIEST <= naive <= LATEST:
        return None
    if not _exists(naive):
        # The spring-forward gap: the first local minute that exists (gaps are whole hours here).
        probe = naive.replace(second=0)
        for _ in range(24 * 60):
            probe += timedelta(minutes=1)
            if _exists(probe):
                break
        naive = probe
    aware = naive.replace(tzinfo=ZONE)  # fold=0: the first of a repeated autumn time
    return aware.astimezone(UTC), render(aware)


def render(t: datetime) -> str:
    local = t.astimezone(ZONE)
    return (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d} "
        f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
    )


def records_reading(members: list[tuple[str, dict[str, Any]]]) -> Reading:
    """Messages (id, fields) to sorted, de-duplicated rows, or Refused."""
    found = []
    for key, rec in members:
        if not (_text_value(key) and re.fullmatch(r"[0-9]+", key)):
            return Refused(f"id {key!r}")
        if any(f not in rec for f in REQUIRED):
            return Refused(f"{key}: a required field is missing")
        if not all(_text_value(rec[f]) for f in REQUIRED):
            return Refused(f"{key}: a required field is not text")
        if not all(rec.get(f) is None or _text_value(rec[f]) for f in ("phone", "prefix")):
            return Refused(f"{key}: phone or prefix is not text")
        when = local_time(rec["date"])
        if when is None:
            return Refused(f"{key}: date {rec['date']!r}")
        instant, shown = when
        found.append(((key, instant, rec["sender"], rec.get("phone"), rec.get("prefix"), rec["text"]), shown))
    contents: dict[str, set[tuple[Any, ...]]] = {}
    for content, _ in found:
        contents.setdefault(content[0], set()).add(content)
    if any(len(versions) > 1 for versions in contents.values()):
        return Refused("one id, two different messages")
    unique = {content: shown for content, shown in found}
    # The id as an integer: (length, digits) after leading zeros; equal integers by the raw id.
    ordered = sorted(unique, key=lambda c: (c[1], len(c[0].lstrip("0")), c[0].lstrip("0"), len(c[0]), c[0]))
    return [(c[0], unique[c], c[2], c[3], c[4], c[5]) for c in ordered]


def _code(value: object) -> Reading:
    if isinstance(value, bool):
        return Refused("boolean error code")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        number = int(value.strip())
    else:
        return Refused(f"error code {value!r}")
    return [] if number == 19 else Code(number)


def read_json_body(body: bytes) -> Reading:
    """The documented reading of a JSON incoming.php body."""
    stripped = body.strip()
    if not stripped:
        return []
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        return Refused("not UTF-8")
    try:
        data = json.loads(text, object_pairs_hook=_Obj)
    except (ValueError, RecursionError):
        return Refused("not JSON")
    if data is None or data == []:  # `{}` is an empty _Obj, which equals [] too
        return []
    if not isinstance(data, _Obj):
        return Refused("not an object")
    keys = [k for k, _ in data]
    if "error" in keys:
        return _code(data[0][1]) if len(data) == 1 else Refused("error beside other keys")
    if len(data) == 1:
        value = data[0][1]
        if isinstance(value, _Obj) and value and {k for k, _ in value} == {"error"}:
            return _code(value[0][1]) if len(value) == 1 else Refused("error named twice")
    members = []
    for key, rec in data:
        if not isinstance(rec, _Obj):
            return Refused(f"{key}: not an object")
        if len({k for k, _ in rec}) != len(rec):
            return Refused(f"{key}: a field named twice")
        members.append((key, dict(rec)))
    return records_reading(members)


def reading_for_format(body: bytes, fmt: str, reading: Reading) -> Reading:
    """What a client asking for `fmt` must make of `body`, read as `reading` by its content."""
    stripped = body.strip()
    if fmt == "xml" and stripped and stripped[:1] not in (b"<", b"{", b"["):
        return Refused("neither XML nor JSON")
    return reading


# --- the pipeline's reading, for comparison -------------------------------------------------


def table_rows(table: pa.Table) -> list[Row]:
    local = [render(t) for t in table["received_at"].to_pylist()]
    cols = [table[c].to_pylist() for c in ("id_sms", "sender", "phone", "prefix", "text")]
    return list(zip(cols[0], local, cols[1], cols[2], cols[3], cols[4], strict=True))


def pipeline_reading(body: bytes, fmt: str = "json") -> Reading:
    """`parse_body` then `to_incoming_table`; any exception but the typed two propagates."""
    try:
        raw = parse_body(body, fmt)
    except ResponseProblem as exc:
        return Refused(str(exc))
    if isinstance(raw, ApiErrorCode):
        return Code(raw.code)
    try:
        table = to_incoming_table(
            raw, account="acct", timezone=TIMEZONE, region="LT", fetched_at=FETCHED_AT, window=str(DAY)
        )
    except MalformedResponseError as exc:
        return Refused(str(exc))
    assert table.schema == incoming_schema(TIMEZONE)
    rows = table_rows(table)
    findings = check_partition(table, DAY, TIMEZONE)
    assert findings.duplicate_ids == () and findings.null_columns == ()
    assert list(findings.outside_day_ids) == [r[0] for r in rows if r[1][:10] != DAY.isoformat()]
    return rows


# --- strategies: JSON -------------------------------------------------------------------------

WEIRD_TEXTS = (
    "",
    " ",
    "\x00",
    "STOP\x00",
    "a\x00b\x00",
    "\ud800",  # a lone surrogate: legal as a JSON escape, not Unicode text
    "x\udfffy",
    "\ufeff",
    "\u2028\u2029",
    "<b>&amp;</b>",
    '"quoted" \\ back',
    'key":"value", "text":',  # JSON punctuation inside a text, escaped
    "line\nbreak\r\ttab",
    "стоп 🙏 👨‍👩‍👧‍👦",
    "\ue000",  # becomes invalid UTF-8 when a body is corrupted on purpose
)
HUGE_TEXTS = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from(["a", "ž", "😀", "\x00", "<&>\"'", "STOP "]),
    st.sampled_from([70_000, 300_000]),
)


def _roll(draw: st.DrawFn, n: int) -> int:
    """A number in [0, n) for choosing a branch; Hypothesis favours the ends of a range, so they
    are moved to its middle, keeping rare branches rare."""
    return (draw(st.integers(0, n - 1)) + n // 2) % n


@st.composite
def _texts(draw: st.DrawFn, alphabet: st.SearchStrategy[str], weird: tuple[str, ...]) -> str:
    roll = _roll(draw, 200)
    if roll == 0:
        return draw(HUGE_TEXTS)
    if roll < 40:
        return draw(st.sampled_from(weird))
    return draw(st.text(alphabet, max_size=12 if roll < 150 else 40))


TEXTS = _texts(st.characters(), WEIRD_TEXTS)
# Up to 2037: beyond it Arrow's time zone database stops applying summer time, where Python's
# zoneinfo follows the rule (2038-04-01 00:00 local reads back as 01:00).
VALID_DATES = st.one_of(
    st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2037, 12, 31, 23, 59, 59)).map(
        lambda t: t.strftime("%Y-%m-%d %H:%M:%S")
    ),
    st.datetimes(min_value=datetime(2025, 1, 14), max_value=datetime(2025, 1, 16, 23, 59, 59)).map(
        lambda t: t.strftime("%Y-%m-%d %H:%M:%S")
    ),
    st.sampled_from(
        [
            "2024-02-29 00:00:00",
            "2025-03-30 03:30:00",  # inside the spring-forward gap
            "2024-10-27 03:30:00",  # the repeated autumn hour
            "1900-01-01 00:00:00",
            "0001-01-02 00:00:00",
            "9999-12-30 23:59:59",
            "2025-01-15 00:00:00",
            "2025-01-15 23:59:59",
        ]
    ),
)
INVALID_DATES = st.one_of(
    st.sampled_from(
        [
            "2025-02-30 00:00:00",
            "2025-02-29 12:00:00",
            "2025-04-31 10:00:00",
            "2025-01-01 23:59:60",
            "2025-01-01 24:00:00",
            "2025-13-01 00:00:00",
            "2025-00-10 10:00:00",
            "0000-01-01 00:00:00",
            "0001-01-01 00:00:00",
            "9999-12-31 23:59:59",
            "2025-1-5 01:02:03",
            "2025-01-05T01:02:03",
            "2025-01-05",
            "",
            "2025-01-05 01:02:03 ",
            " 2025-01-05 01:02:03",
            "2025-01-05 01:02:03\n",
            "2025-01-05 01:02:03.5",
            "２０２５-01-05 01:02:03",
            "2025-01-05 01:02:03+02:00",
            "yesterday",
        ]
    ),
    st.text(max_size=20),
)
WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
VALID_IDS = st.integers(1, 40).map(str) | st.integers(1, 10**15).map(str) | st.just("007")
UNIQUE_IDS = st.lists(VALID_IDS, min_size=1, max_size=5, unique=True)  # repeats come on purpose
EXTRA_VALUES = st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=2)
INVALID_IDS = st.sampled_from(
    ["", "abc", "12a", "-1", "1.5", " 12", "12 ", "١٢٣", "１２", "²", "0x1F", "1e3", "+7", "1\n", "\ud800"]
)


def _mostly(draw: st.DrawFn, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any], one_in: int) -> Any:
    """A draw from `bad` once in `one_in` times, else from `good`."""
    return draw(bad if _roll(draw, one_in) == 0 else good)


@st.composite
def json_records(draw: st.DrawFn) -> str:
    """One message object as JSON text: fields valid, wrong, missing, extra or named twice."""
    members: list[tuple[str, Any]] = []
    for name in FIELDS:
        roll = _roll(draw, 60)
        if roll == 0 or (name in ("phone", "prefix") and roll < 12):
            continue  # missing
        if roll == 1:
            members.append((name, draw(WRONG_TYPES)))
        elif name == "date":
            members.append((name, _mostly(draw, VALID_DATES, INVALID_DATES, 15)))
        elif name in ("phone", "prefix") and roll < 16:
            members.append((name, None))
        else:
            members.append((name, draw(TEXTS)))
    extras = draw(
        st.dictionaries(st.text(max_size=6).filter(lambda k: k not in FIELDS), EXTRA_VALUES, max_size=2)
    )
    members.extend(extras.items())
    members = draw(st.permutations(members))
    if members and _roll(draw, 40) == 0:
        members.append((members[0][0], draw(TEXTS)))  # a field named twice
    ascii_only = draw(st.booleans())
    colon, comma = draw(COLONS), draw(COMMAS)
    return (
        "{"
        + comma.join(f"{json.dumps(k)}{colon}{json.dumps(v, ensure_ascii=ascii_only)}" for k, v in members)
        + "}"
    )


# Whitespace JSON allows around its punctuation: no PHP server writes it, a proxy might.
COLONS = st.sampled_from([":", ": ", " :", " : ", "\n:\t"])
COMMAS = st.sampled_from([",", ", ", ",\n  ", " ,"])
NOT_OBJECTS = st.sampled_from(["[]", '"text"', "1", "null", "true", '[{"date": "2025-01-15 10:00:00"}]'])
ERROR_VALUES = st.one_of(
    st.integers(-2, 40),
    st.integers(0, 40).map(str),
    st.sampled_from([" 30 ", "19", "6", "abc", "", "²", "١٩", "1.0", "-1"]),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    """Bodies a LightSMS server, a proxy or a bug might send for one day, valid or not."""
    kind = draw(st.sampled_from(["messages"] * 7 + ["error", "empty", "hostile"]))
    if kind == "empty":
        return draw(st.sampled_from([b"", b"  \n", b"[]", b"{}", b"null", b" {} \n", b"[ ]"]))
    if kind == "error":
        value = json.dumps(draw(ERROR_VALUES))
        shape = draw(st.sampled_from(['{"error":%s}', '{"":{"error":%s}}', '{"37061234567":{"error":%s}}',
                                      '{"error":%s,"5":{}}', '{"error":%s,"error":19}',
                                      '{"":{"error":%s,"error":7}}']))  # fmt: skip
        return (shape % value).encode()
    if kind == "hostile":
        return draw(
            st.sampled_from(
                [
                    b"[" * 50_000,
                    b'{"a":' * 50_000,
                    b'{"error": 1' + b"0" * 5000 + b"}",
                    b'{"1": {"date": "2025-01-15 10:00:00", "sender": "1", "text": NaN}}',
                    b"\xef\xbb\xbf{}",  # a UTF-8 byte-order mark before the JSON
                    b'{"1": {"date": "2025-01-15 10:00:00", "sender": "1", "text": "a"}} trailing',
                    b"{'1': {}}",
                    b'{"1": {"date": "2025-01-15 10:00:00", "sender": "1", "text": "a",}}',
                    b"// comment\n{}",
                    b'{"1": {"date": "2025-01-15 10:00:00", "sender": "1", "text": "a"',  # truncated
                ]
            )
        )
    members: list[tuple[str, str]] = []
    for valid_key in draw(UNIQUE_IDS):
        key = _mostly(draw, st.just(valid_key), INVALID_IDS, 30)
        value = _mostly(draw, json_records(), NOT_OBJECTS, 40)
        members.append((key, value))
    roll = _roll(draw, 10)
    if roll == 0:
        members.append(draw(st.sampled_from(members)))  # the same message twice, identical
    elif roll == 1:
        key = draw(st.sampled_from(members))[0]
        members.append((key, draw(json_records())))  # one id, maybe another message
    colon, comma = draw(COLONS), draw(COMMAS)
    text = "{" + comma.join(f"{json.dumps(k)}{colon}{v}" for k, v in members) + "}"
    body = text.encode("utf-8", "surrogatepass")  # a lone surrogate unescaped: invalid UTF-8
    if _roll(draw, 15) == 0:
        body = body.replace("\ue000".encode(), b"\xff", 1)
    if _roll(draw, 15) == 0:
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf"])) + body[at:]
    padding = draw(st.sampled_from([b"", b"\n", b"  ", b"\r\n"]))
    return padding + body + padding


# --- strategies: XML --------------------------------------------------------------------------


def _xml_char(c: str) -> bool:
    n = ord(c)
    return n in (0x9, 0xA, 0xD) or 0x20 <= n <= 0xD7FF or 0xE000 <= n <= 0xFFFD or n >= 0x10000


XML_TEXTS = _texts(
    st.characters(codec="utf-8").filter(_xml_char), tuple(t for t in WEIRD_TEXTS if all(map(_xml_char, t)))
).filter(lambda t: "\x00" not in t)
XML_INVALID_IDS = INVALID_IDS.filter(lambda i: all(map(_xml_char, i)))
XML_INVALID_DATES = INVALID_DATES.filter(lambda d: all(map(_xml_char, d)))


@st.composite
def xml_messages(draw: st.DrawFn, valid_id: str) -> tuple[str, dict[str, str]]:
    """One `<sms>` element's attributes: id and fields valid, missing or extra."""
    attrs: dict[str, str] = {}
    attrs["id_sms"] = _mostly(draw, st.just(valid_id), XML_INVALID_IDS, 30)
    for name in FIELDS:
        roll = _roll(draw, 60)
        if roll == 0 or (name in ("phone", "prefix") and roll < 12):
            continue
        if name == "date":
            attrs[name] = _mostly(draw, VALID_DATES, XML_INVALID_DATES, 15)
        else:
            attrs[name] = draw(XML_TEXTS)
    if _roll(draw, 5) == 0:
        attrs["status"] = draw(XML_TEXTS)  # an extra attribute
    return attrs["id_sms"], attrs


def _sms_element(attrs: dict[str, str], order: list[str]) -> str:
    return "<sms " + " ".join(f'{k}="{xml_attribute(attrs[k])}"' for k in order) + " />"


HOSTILE_XML = (
    # Billion laughs: ten levels of ten references.
    b'<?xml version="1.0"?>\n<!DOCTYPE response [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b']>\n<response><sms id_sms="1" date="2025-01-15 10:00:00" sender="1" text="&lol9;" /></response>',
    b'<?xml version="1.0"?>\n<!DOCTYPE response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<response><sms id_sms="1" date="2025-01-15 10:00:00" sender="1" text="&xxe;" /></response>',
    b'<?xml version="1.0"?>\n<!DOCTYPE response SYSTEM "http://127.0.0.1:9/evil.dtd">\n<response></response>',
    b'<?xml version="1.0"?>\n<!DOCTYPE response [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>\n'
    b"<response></response>",
    b'<!DOCTYPE response [<!ENTITY a "' + b"x" * 10_000 + b'">]>\n<response><sms id_sms="1" '
    b'date="2025-01-15 10:00:00" sender="1" text="' + b"&a;" * 1000 + b'" /></response>',
    b'<response xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd" '
    b'parse="text"/></response>',
)
BROKEN_XML = (
    b'<response><sms id_sms="1" date="2025-01-15 10:00:00" sender="1" text="a\x00b" /></response>',
    b'<response><sms id_sms="1" date="2025-01-15 10:00:00" sender="1" text="&#0;" /></response>',
    b'<response><sms id_sms="1" date="2025-01-15 10:00:00" sender="1" text="&nbsp;" /></response>',
    b'<response><sms id_sms="1" date="2025-01-15 10:00:00" sender="1" text="\xff\xfe" /></response>',
    b'<response><sms id_sms="1" date="2025-01-15 10:00:00" sender="1" text="a" text="b" /></response>',
    b'<response><sms id_sms="1" date="2025-01-15 10:00:00" sender="1" text="a"></response>',
    b"<response><error>30</error><error>19</error></response>",
)


@st.composite
def xml_bodies(draw: st.DrawFn) -> tuple[bytes, Reading]:
    """An XML body and, known by construction, how it must be read."""
    kind = draw(st.sampled_from(["messages"] * 6 + ["error", "empty", "hostile", "broken"]))
    declaration = draw(st.sampled_from(['<?xml version="1.0" encoding="utf-8"?>\n', ""]))
    if kind == "empty":
        body = draw(st.sampled_from(["<response></response>", "<response/>", "<response>\n</response>"]))
        return (declaration + body).encode(), []
    if kind == "hostile":
        return draw(st.sampled_from(HOSTILE_XML)), Refused("DTD, entity or include")
    if kind == "broken":
        return draw(st.sampled_from(BROKEN_XML)), Refused("not well-formed")
    if kind == "error":
        value = draw(st.sampled_from(["19", "30", " 7 ", "6", "abc", "", "²", "1.5"]))
        beside = draw(
            st.sampled_from(["", '<sms id_sms="1" date="2025-01-15 10:00:00" sender="1" text="a" />'])
        )
        body = f"{declaration}<response><error>{value}</error>{beside}</response>".encode()
        return body, (_code(value) if not beside else Refused("error beside messages"))
    messages = [draw(xml_messages(valid_id)) for valid_id in draw(UNIQUE_IDS)]
    if _roll(draw, 6) == 0:
        messages.append(draw(st.sampled_from(messages)))  # the same record twice
    elements = [_sms_element(attrs, draw(st.permutations(list(attrs)))) for _, attrs in messages]
    expected: Reading = records_reading(messages)
    noise = _roll(draw, 10)
    if noise == 0:
        elements.insert(draw(st.integers(0, len(elements))), "<!-- a comment is not a message -->")
    elif noise == 1:
        elements.insert(draw(st.integers(0, len(elements))), '<status code="0" />')
        expected = Refused("an element other than <sms>")
    root = draw(st.sampled_from(["response"] * 9 + ["responses"]))
    if root != "response":
        expected = Refused("root")
    text = f"{declaration}<{root}>\n" + "\n".join(elements) + f"\n</{root}>"
    body = text.encode("utf-8")
    if _roll(draw, 10) == 0:
        # Cut off by the network: every proper prefix leaves <response> open.
        body = body[: draw(st.integers(1, len(body) - 1))]
        expected = Refused("truncated")
    return body, expected
