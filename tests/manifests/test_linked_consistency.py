"""check_linked_consistency: a certificate against the manifest it covers."""

from __future__ import annotations

from datetime import timedelta

from manifests import Issue, check_linked_consistency
from manifests.consistency import normalise_name
from manifests.generate import DocumentGenerator, generate_linked_co


def _pair(seed: int = 3) -> tuple:  # type: ignore[type-arg]
    manifest = DocumentGenerator(seed).manifest()
    return manifest, generate_linked_co(manifest)


def test_consistent_pair_has_no_issues() -> None:
    manifest, certificate = _pair()
    assert check_linked_consistency(certificate, manifest) == []


def test_hs_mismatch_names_the_item() -> None:
    manifest, certificate = _pair()
    items = list(certificate.items)
    items[-1] = items[-1].model_copy(update={"hs_code": "999999"})
    changed = certificate.model_copy(update={"items": items})
    assert check_linked_consistency(changed, manifest) == [
        Issue(
            f"items[{len(items) - 1}].hs_code",
            "linked.hs_code_not_in_manifest",
            f"HS subheading 999999 of certificate item {len(items)} is not among the "
            f"manifest's goods ({', '.join(sorted({i.hs_code[:6] for i in manifest.goods_items}))})",  # noqa: E501
        )
    ]


def test_national_extensions_do_not_matter() -> None:
    manifest, certificate = _pair()
    items = [
        item.model_copy(update={"hs_code": item.hs_code[:6] + "9999"}) for item in certificate.items
    ]
    assert check_linked_consistency(certificate.model_copy(update={"items": items}), manifest) == []


def test_consignee_name_and_country() -> None:
    manifest, certificate = _pair()
    other = certificate.consignee.model_copy(update={"name": "Completely Different LLC"})
    issues = check_linked_consistency(certificate.model_copy(update={"consignee": other}), manifest)
    assert [(i.field, i.rule) for i in issues] == [
        ("consignee.name", "linked.consignee_name_mismatch")
    ]

    moved = certificate.consignee.address.model_copy(update={"country": "FR"})
    relocated = certificate.consignee.model_copy(update={"address": moved})
    issues = check_linked_consistency(
        certificate.model_copy(update={"consignee": relocated}), manifest
    )
    assert [(i.field, i.rule) for i in issues] == [
        ("consignee.address.country", "linked.consignee_country_mismatch")
    ]


def test_consignee_names_compare_without_case_and_punctuation() -> None:
    assert normalise_name("HANIL TRADE CO., LTD.") == normalise_name("Hanil Trade Co Ltd")
    fullwidth = "\uff28\uff41\uff4e\uff49\uff4c  Trade"  # "Hanil" in full-width letters
    assert normalise_name(fullwidth) == normalise_name("hanil trade")
    assert normalise_name("Hanil Trade") != normalise_name("Hanil Traders")
    manifest, certificate = _pair()
    shouted = certificate.consignee.model_copy(
        update={"name": certificate.consignee.name.upper() + "."}
    )
    assert (
        check_linked_consistency(certificate.model_copy(update={"consignee": shouted}), manifest)
        == []
    )


def test_missing_link() -> None:
    manifest, certificate = _pair()
    issues = check_linked_consistency(certificate.model_copy(update={"links": []}), manifest)
    assert [(i.field, i.rule) for i in issues] == [("links", "linked.not_referenced")]


def test_link_to_another_manifest_does_not_count() -> None:
    manifest, certificate = _pair()
    other = certificate.links[0].model_copy(update={"reference": manifest.reference + "-X"})
    issues = check_linked_consistency(certificate.model_copy(update={"links": [other]}), manifest)
    assert [i.rule for i in issues] == ["linked.not_referenced"]


def test_port_and_departure_date() -> None:
    manifest, certificate = _pair()
    changed = certificate.model_copy(
        update={
            "port_of_discharge": "XXZZZ",
            "departure_date": certificate.departure_date + timedelta(days=2),
        }
    )
    assert [(i.field, i.rule) for i in check_linked_consistency(changed, manifest)] == [
        ("port_of_discharge", "linked.port_of_discharge_mismatch"),
        ("departure_date", "linked.departure_date_mismatch"),
    ]
    one_day = certificate.model_copy(
        update={"departure_date": certificate.departure_date + timedelta(days=1)}
    )
    assert check_linked_consistency(one_day, manifest) == []
