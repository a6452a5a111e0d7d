"""Hypothesis strategies that produce valid documents of every type.

Owns `manifests_`, `transit_declarations`, `certificates_of_origin`,
`documents`, `linked_pairs` and the text strategies they use. Each draws a
seed for `manifests.generate.DocumentGenerator` and then varies fields the
generator keeps plain: Unicode party names and goods descriptions (any script,
combining marks, symbols, emoji), shipping marks, and the UTC offset in which
times are written. Every drawn document is validated, so the strategies only
produce documents `parse_document` accepts.

Requires `hypothesis` (the project's `dev` extra); import it from tests only.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from manifests.datatypes import BIDI_CONTROLS
from manifests.document_type import DocumentType
from manifests.generate import DocumentGenerator
from manifests.origin import CertificateOfOrigin, OriginForm
from manifests.pre_arrival import PreArrivalManifest, TransportMode
from manifests.registry import Document
from manifests.sample_catalog import DEFAULT_ECONOMIES
from manifests.transit import TransitDeclaration

_SEEDS = st.integers(min_value=0, max_value=2**32 - 1)

# Control characters, lone surrogates and bidirectional controls are what the text types reject.
_CHARACTERS = st.characters(
    exclude_categories=("Cc", "Cs"),
    exclude_characters=BIDI_CONTROLS,
)


def _fits(max_size: int) -> Any:
    def check(value: str) -> bool:
        return 1 <= len(value) <= max_size and value == value.strip()

    return check


def unicode_names(max_size: int = 70) -> st.SearchStrategy[str]:
    """Single-line Unicode text valid as a name: NFC, trimmed, 1..max_size code points."""
    return (
        st.text(_CHARACTERS, min_size=1, max_size=max_size)
        .map(lambda value: unicodedata.normalize("NFC", value))
        .filter(_fits(max_size))
    )


def unicode_free_text(max_size: int = 120) -> st.SearchStrategy[str]:
    """Unicode text that may contain line feeds, valid as a description or marks."""
    lines = st.lists(unicode_names(max_size), min_size=1, max_size=3)
    return lines.map("\n".join).filter(_fits(max_size))


_OFFSETS = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=5)),
        timezone(timedelta(hours=9)),
        timezone(timedelta(hours=-3, minutes=-30)),
        timezone(timedelta(hours=5, minutes=45)),
    ]
)


def _reoffset(draw: st.DrawFn, value: str) -> str:
    return datetime.fromisoformat(value).astimezone(draw(_OFFSETS)).isoformat()


def _vary_party(draw: st.DrawFn, party: dict[str, Any]) -> None:
    if draw(st.booleans()):
        party["name"] = draw(unicode_names())
    if draw(st.booleans()):
        party["address"]["street"] = draw(unicode_names())


def _vary_items(draw: st.DrawFn, items: list[dict[str, Any]]) -> None:
    for item in items:
        if draw(st.booleans()):
            item["description"] = draw(unicode_free_text())
        if draw(st.booleans()):
            item["packages"]["marks"] = draw(unicode_free_text(60))


@st.composite
def manifests_(
    draw: st.DrawFn,
    economies: tuple[str, ...] = DEFAULT_ECONOMIES,
    mode: TransportMode | None = None,
) -> PreArrivalManifest:
    """Valid pre-arrival manifests (trailing underscore: `manifests` is the package's name)."""
    manifest = DocumentGenerator(draw(_SEEDS), economies=economies).manifest(mode=mode)
    data = manifest.model_dump(mode="json")
    _vary_party(draw, data["consignor"])
    _vary_party(draw, data["consignee"])
    _vary_items(draw, data["goods_items"])
    data["departure"] = _reoffset(draw, data["departure"])
    data["expected_arrival"] = _reoffset(draw, data["expected_arrival"])
    return PreArrivalManifest.model_validate(data)


@st.composite
def transit_declarations(
    draw: st.DrawFn, economies: tuple[str, ...] = DEFAULT_ECONOMIES
) -> TransitDeclaration:
    """Valid transit declarations."""
    declaration = DocumentGenerator(draw(_SEEDS), economies=economies).transit_declaration()
    data = declaration.model_dump(mode="json")
    _vary_party(draw, data["holder"])
    _vary_items(draw, data["goods_items"])
    data["departure"] = _reoffset(draw, data["departure"])
    data["arrival_time_limit"] = _reoffset(draw, data["arrival_time_limit"])
    return TransitDeclaration.model_validate(data)


@st.composite
def certificates_of_origin(
    draw: st.DrawFn,
    form: OriginForm | None = None,
    economies: tuple[str, ...] = DEFAULT_ECONOMIES,
) -> CertificateOfOrigin:
    """Valid certificates of origin, of `form` or of any form the economies allow."""
    certificate = DocumentGenerator(draw(_SEEDS), economies=economies).certificate_of_origin(
        form=form
    )
    data = certificate.model_dump(mode="json")
    _vary_party(draw, data["exporter"])
    _vary_party(draw, data["consignee"])
    _vary_items(draw, data["items"])
    return CertificateOfOrigin.model_validate(data)


def documents(doc_type: DocumentType | None = None) -> st.SearchStrategy[Document]:
    """Valid documents of `doc_type`, or of every type."""
    makers: dict[DocumentType, st.SearchStrategy[Any]] = {
        DocumentType.PRE_ARRIVAL_MANIFEST: manifests_(),
        DocumentType.TRANSIT_DECLARATION: transit_declarations(),
        DocumentType.CERTIFICATE_OF_ORIGIN: certificates_of_origin(),
    }
    if doc_type is not None:
        return makers[doc_type]
    return st.one_of(*makers.values())


@st.composite
def linked_pairs(draw: st.DrawFn) -> tuple[PreArrivalManifest, CertificateOfOrigin]:
    """A manifest and a consistent certificate of origin linking it."""
    manifest = draw(manifests_())
    return manifest, DocumentGenerator(draw(_SEEDS)).linked_certificate(manifest)
