"""The XML form of every document type, and its published XML Schemas (XSD 1.0).

Owns `document_to_xml`, `parse_xml_document`, `xml_schema_text`, `export_xsds`
and the XSD files in ``manifests/xml/schemas/`` (regenerate with
``python -m manifests.xml.schemas DIRECTORY``; a test checks they are current).

The XML form is a mechanical image of the JSON form (``model_dump(mode="json")``):

* the root element names the document type and, for certificates, the form:
  ``PreArrivalManifest``, ``TransitDeclaration``, ``FormD``, ``FormAK``,
  ``GenericCertificate``; no namespace;
* each JSON property is a child element of the same name, in the model's field
  order; an absent or null value is an absent element;
* a list is an element holding one ``<item>`` per element (an empty list is an
  empty element);
* scalars are written as in JSON: ``true``/``false``, ``1200.5``,
  ``2025-03-01T08:00:00Z``.

The XSDs carry the shapes (elements, order, cardinality, enumerations, integer
and boolean types, lengths); as with the JSON Schemas, check digits, code lists,
patterns and cross-field rules are enforced by `manifests.parse_document`, which
every XML file also goes through.
"""

from manifests.xml.codec import (
    ROOT_ELEMENTS,
    document_to_xml,
    parse_xml_document,
    read_xml_documents,
)
from manifests.xml.schemas import export_xsds, xml_schema_text, xsd_file_name

__all__ = [
    "ROOT_ELEMENTS",
    "document_to_xml",
    "export_xsds",
    "parse_xml_document",
    "read_xml_documents",
    "xml_schema_text",
    "xsd_file_name",
]
