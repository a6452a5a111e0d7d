"""The single entry point that turns raw input into a validated document.

Owns `parse_document` (JSON text/bytes or an already-decoded mapping in, a
model instance out, or `DocumentInvalidError` with field-level errors),
`decode_json_payload` (size limit, UTF-8, strict JSON: no duplicate keys, no
NaN/Infinity, decimals kept exact) and the translation of pydantic validation
errors into `FieldError` records: JSON paths such as ``goods_items[2].hs_code``
and stable rule names.

Rule names produced here for pydantic's own checks:

=================================  =================================================
rule                               meaning
=================================  =================================================
field.required                     a required field is missing
field.unknown                      a field the schema does not define
type.string / type.integer /       wrong JSON type (or unparseable text) for the
type.number / type.boolean /       field
type.list / type.object /
type.date / type.datetime
datetime.timezone_required         a date-time without UTC offset
string.too_short / string.too_long text length outside the field's bounds
list.too_short / list.too_long     list length outside the field's bounds
number.not_positive                zero or negative where a positive number is needed
number.too_small / number.too_large
number.too_many_decimals /         decimal precision beyond the field's bounds
number.too_many_digits
number.not_finite                  NaN or infinity
value.not_allowed                  not one of the enumerated values
schema_version.unsupported         a schema_version this package does not implement
value.invalid                      any other pydantic failure (message says which)
=================================  =================================================

Payload rules: payload.too_large, payload.encoding, json.malformed,
json.duplicate_key. Every other rule name comes from the models' own
validators (see `manifests.datatypes` and the document modules).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, Literal, overload

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from manifests.document_type import DocumentType
from manifests.errors import DocumentInvalidError, FieldError, PayloadError
from manifests.origin import CertificateOfOrigin
from manifests.pre_arrival import PreArrivalManifest
from manifests.registry import Document, validate_document
from manifests.transit import TransitDeclaration

DEFAULT_MAX_PAYLOAD_BYTES: Final = 1 << 20
"""Default limit on raw input (1 MiB); larger payloads are rejected with ``payload.too_large``."""

MAX_JSON_DEPTH: Final = 64
"""Deepest nesting of arrays/objects accepted; documents need fewer than 10 levels."""

_IDENTIFIER_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# JSON strings (skipped whole) or brackets, for measuring nesting without parsing.
_JSON_NESTING_TOKEN_RE: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')

_RULES_BY_PYDANTIC_TYPE: Final[dict[str, str]] = {
    "missing": "field.required",
    "extra_forbidden": "field.unknown",
    "string_type": "type.string",
    "string_sub_type": "type.string",
    "string_unicode": "type.string",
    "int_type": "type.integer",
    "int_parsing": "type.integer",
    "int_parsing_size": "type.integer",
    "int_from_float": "type.integer",
    "float_type": "type.number",
    "float_parsing": "type.number",
    "decimal_type": "type.number",
    "decimal_parsing": "type.number",
    "bool_type": "type.boolean",
    "bool_parsing": "type.boolean",
    "list_type": "type.list",
    "tuple_type": "type.list",
    "dict_type": "type.object",
    "model_type": "type.object",
    "model_attributes_type": "type.object",
    "dataclass_type": "type.object",
    "date_type": "type.date",
    "date_parsing": "type.date",
    "date_from_datetime_parsing": "type.date",
    "date_from_datetime_inexact": "type.date",
    "datetime_type": "type.datetime",
    "datetime_parsing": "type.datetime",
    "datetime_from_date_parsing": "type.datetime",
    "datetime_object_invalid": "type.datetime",
    "timezone_aware": "datetime.timezone_required",
    "string_too_short": "string.too_short",
    "string_too_long": "string.too_long",
    "too_short": "list.too_short",
    "too_long": "list.too_long",
    "less_than": "number.too_large",
    "less_than_equal": "number.too_large",
    "decimal_max_places": "number.too_many_decimals",
    "decimal_max_digits": "number.too_many_digits",
    "decimal_whole_digits": "number.too_many_digits",
    "finite_number": "number.not_finite",
    "literal_error": "value.not_allowed",
    "enum": "value.not_allowed",
    "union_tag_invalid": "value.not_allowed",
    "union_tag_not_found": "field.required",
}


def field_path(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic location as a JSON path: ``("goods_items", 2, "hs_code")`` ->
    ``goods_items[2].hs_code``; keys that are not identifiers are quoted (``["a b"]``)."""
    parts: list[str] = []
    for element in loc:
        if isinstance(element, int):
            parts.append(f"[{element}]")
        elif _IDENTIFIER_RE.fullmatch(element):
            parts.append(f".{element}" if parts else element)
        else:
            parts.append(f"[{json.dumps(element, ensure_ascii=False)}]")
    return "".join(parts)


def _rule_for(error: ErrorDetails) -> str:
    kind = error["type"]
    if "." in kind:  # one of this package's own rules (PydanticCustomError)
        return kind
    if kind == "literal_error" and error["loc"][-1:] == ("schema_version",):
        return "schema_version.unsupported"
    if kind in {"greater_than", "greater_than_equal"}:
        bound = (error.get("ctx") or {}).get("gt", (error.get("ctx") or {}).get("ge"))
        positive_bound = (kind == "greater_than" and bound == 0) or (
            kind == "greater_than_equal" and bound == 1
        )
        return "number.not_positive" if positive_bound else "number.too_small"
    return _RULES_BY_PYDANTIC_TYPE.get(kind, "value.invalid")


def _message_for(error: ErrorDetails, rule: str, path: str) -> str:
    if rule == "field.required":
        return f"{path or 'the document'} is required but missing; add it"
    if rule == "field.unknown":
        return (
            f"{path} is not a field of this document; remove it or correct its spelling "
            "(the JSON schema lists the fields)"
        )
    if rule == "schema_version.unsupported":
        return f"{error['msg']}; this package reads only that version of the document"
    return error["msg"]


def located_field_errors(
    error: ValidationError,
) -> list[tuple[tuple[int | str, ...], FieldError]]:
    """Like `field_errors`, paired with each error's raw pydantic location (for callers,
    such as the CSV importer, that map locations back to their own coordinates)."""
    records: list[tuple[tuple[int | str, ...], FieldError]] = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        path = field_path(loc)
        rule = _rule_for(detail)
        records.append((loc, FieldError(path, rule, _message_for(detail, rule, path))))
    return records


def field_errors(error: ValidationError) -> list[FieldError]:
    """Translate a pydantic `ValidationError` into field-level records, in pydantic's order."""
    return [record for _, record in located_field_errors(error)]


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _nesting_exceeds(text: str, limit: int) -> bool:
    # json's C decoder recurses per level; with a raised recursion limit (some
    # libraries raise it) a deep enough payload overflows the C stack instead of
    # raising RecursionError, so depth is checked before decoding.
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _JSON_NESTING_TOKEN_RE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


def decode_json_payload(
    raw: bytes | str,
    *,
    max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    document_type: str = "document",
) -> Any:
    """Decode raw JSON strictly: at most `max_bytes` of UTF-8 (a leading BOM is ignored),
    no duplicate object keys, no NaN/Infinity, non-integers as exact `Decimal`.

    Raises `PayloadError` with one of the rules payload.too_large,
    payload.encoding, json.malformed, json.duplicate_key.
    """
    if isinstance(raw, str):
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError as error:
            raise PayloadError(
                document_type,
                FieldError(
                    "",
                    "payload.encoding",
                    f"the text contains a character that cannot be encoded as UTF-8 at "
                    f"position {error.start} (a lone surrogate?); send valid Unicode text",
                ),
            ) from error
    else:
        data = bytes(raw)
    if len(data) > max_bytes:
        raise PayloadError(
            document_type,
            FieldError(
                "",
                "payload.too_large",
                f"the payload is {len(data)} bytes, more than the limit of {max_bytes} bytes; "
                "split it into several documents or raise the limit deliberately",
            ),
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PayloadError(
            document_type,
            FieldError(
                "",
                "payload.encoding",
                f"the payload is not valid UTF-8 (byte {error.start}: {error.reason}); "
                "re-save it as UTF-8",
            ),
        ) from error
    if _nesting_exceeds(text, MAX_JSON_DEPTH):
        raise PayloadError(
            document_type,
            FieldError(
                "",
                "json.malformed",
                f"the JSON nests arrays/objects more than {MAX_JSON_DEPTH} levels deep; no "
                "document needs that, check how it was produced",
            ),
        )
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_reject_duplicate_keys,
        )
    except _DuplicateKeyError as error:
        raise PayloadError(
            document_type,
            FieldError(
                "",
                "json.duplicate_key",
                f"an object has the key {error.key!r} more than once; keep one "
                "(duplicate keys make the document ambiguous)",
            ),
        ) from error
    except json.JSONDecodeError as error:
        raise PayloadError(
            document_type,
            FieldError(
                "",
                "json.malformed",
                f"malformed JSON at line {error.lineno} column {error.colno} "
                f"(char {error.pos}): {error.msg}; fix the syntax",
            ),
            line=error.lineno,
            column=error.colno,
        ) from error
    except RecursionError as error:
        raise PayloadError(
            document_type,
            FieldError("", "json.malformed", "the JSON is nested too deeply to be a document"),
        ) from error
    except ValueError as error:  # NaN/Infinity, integers beyond Python's digit limit
        raise PayloadError(
            document_type,
            FieldError("", "json.malformed", f"malformed JSON: {error}; fix the value"),
        ) from error


@overload
def parse_document(
    doc_type: Literal[DocumentType.PRE_ARRIVAL_MANIFEST],
    data: Mapping[str, Any] | bytes | str,
    *,
    max_bytes: int = ...,
) -> PreArrivalManifest: ...
@overload
def parse_document(
    doc_type: Literal[DocumentType.TRANSIT_DECLARATION],
    data: Mapping[str, Any] | bytes | str,
    *,
    max_bytes: int = ...,
) -> TransitDeclaration: ...
@overload
def parse_document(
    doc_type: Literal[DocumentType.CERTIFICATE_OF_ORIGIN],
    data: Mapping[str, Any] | bytes | str,
    *,
    max_bytes: int = ...,
) -> CertificateOfOrigin: ...
@overload
def parse_document(
    doc_type: DocumentType | int | str,
    data: Mapping[str, Any] | bytes | str,
    *,
    max_bytes: int = ...,
) -> Document: ...


def parse_document(
    doc_type: DocumentType | int | str,
    data: Mapping[str, Any] | bytes | str,
    *,
    max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> Document:
    """Validate one document of `doc_type` (member, code or name) from JSON text, JSON
    bytes or a decoded mapping, and return its model instance.

    Raises `DocumentInvalidError` listing every field-level failure (its subclass
    `PayloadError` when the raw input is too large or not JSON), and
    `UnknownDocumentTypeError` for an unknown `doc_type`. Cross-field rules are
    checked once every field is individually valid, so a document with field
    errors may reveal more errors after they are fixed.
    """
    document_type = DocumentType.parse(doc_type)
    decoded: Any
    if isinstance(data, bytes | bytearray | memoryview | str):
        decoded = decode_json_payload(data, max_bytes=max_bytes, document_type=document_type.name)
    else:
        decoded = data
    try:
        return validate_document(document_type, decoded)
    except ValidationError as error:
        raise DocumentInvalidError(document_type.name, field_errors(error)) from None
