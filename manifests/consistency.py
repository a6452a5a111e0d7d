"""Consistency checks between documents that arrive separately.

Owns `check_linked_consistency`, which compares a certificate of origin with
the pre-arrival manifest it covers and reports each disagreement as an
`Issue` (field path in the certificate, stable rule name, message). Both
documents are individually valid; an issue is a finding for risk engines and
officers, not a validation failure.

Rules: linked.not_referenced (the certificate does not link the manifest),
linked.consignee_name_mismatch and linked.consignee_country_mismatch,
linked.hs_code_not_in_manifest (compared at the 6-digit HS subheading, since
national 8/10-digit extensions differ between economies),
linked.port_of_discharge_mismatch (against the manifest's place of unloading)
and linked.departure_date_mismatch (more than one day apart, allowing for time
zones).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from manifests.document_type import DocumentType
from manifests.origin import CertificateOfOrigin
from manifests.pre_arrival import PreArrivalManifest

DEPARTURE_TOLERANCE: Final = timedelta(days=1)
"""How far the certificate's departure date may be from the manifest's departure (UTC)."""

_NOT_ALPHANUMERIC: Final = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Issue:
    """One disagreement between linked documents; `field` is a path in the certificate."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field or '<document>'}: {self.message} [{self.rule}]"


def normalise_name(name: str) -> str:
    """Compare-friendly form of a party name: compatibility-normalised, case-folded,
    punctuation and repeated white space removed ("Hanil Co., Ltd." -> "hanil co ltd")."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return " ".join(_NOT_ALPHANUMERIC.sub(" ", folded).split())


def check_linked_consistency(co: CertificateOfOrigin, manifest: PreArrivalManifest) -> list[Issue]:
    """Compare a certificate of origin with the manifest it covers; [] when consistent."""
    issues: list[Issue] = []
    manifest_key = (
        DocumentType.PRE_ARRIVAL_MANIFEST.name,
        manifest.issuer_economy,
        manifest.reference,
    )
    if not any(
        (link.document_type, link.issuer_economy, link.reference) == manifest_key
        for link in co.links
    ):
        issues.append(
            Issue(
                "links",
                "linked.not_referenced",
                f"the certificate does not link manifest {manifest.issuer_economy}/"
                f"{manifest.reference}; it may cover another shipment",
            )
        )
    if normalise_name(co.consignee.name) != normalise_name(manifest.consignee.name):
        issues.append(
            Issue(
                "consignee.name",
                "linked.consignee_name_mismatch",
                f"the certificate's consignee {co.consignee.name!r} is not the manifest's "
                f"consignee {manifest.consignee.name!r}",
            )
        )
    if co.consignee.address.country != manifest.consignee.address.country:
        issues.append(
            Issue(
                "consignee.address.country",
                "linked.consignee_country_mismatch",
                f"the certificate's consignee is in {co.consignee.address.country} but the "
                f"manifest's consignee is in {manifest.consignee.address.country}",
            )
        )
    manifest_subheadings = {item.hs_code[:6] for item in manifest.goods_items}
    for index, item in enumerate(co.items):
        if item.hs_code[:6] not in manifest_subheadings:
            issues.append(
                Issue(
                    f"items[{index}].hs_code",
                    "linked.hs_code_not_in_manifest",
                    f"HS subheading {item.hs_code[:6]} of certificate item {index + 1} is not "
                    f"among the manifest's goods ({', '.join(sorted(manifest_subheadings))})",
                )
            )
    if co.port_of_discharge != manifest.place_of_unloading:
        issues.append(
            Issue(
                "port_of_discharge",
                "linked.port_of_discharge_mismatch",
                f"the certificate's port of discharge {co.port_of_discharge} is not the "
                f"manifest's place of unloading {manifest.place_of_unloading}",
            )
        )
    manifest_day = manifest.departure.date()
    if abs(co.departure_date - manifest_day) > DEPARTURE_TOLERANCE:
        issues.append(
            Issue(
                "departure_date",
                "linked.departure_date_mismatch",
                f"the certificate's departure date {co.departure_date} is more than "
                f"{DEPARTURE_TOLERANCE.days} day from the manifest's departure {manifest_day}",
            )
        )
    return issues
