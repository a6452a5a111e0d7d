"""Importers of document files into the models (JSON and CSV; XML is not covered here).

`json_documents` reads one document or an array of documents; `csv_documents`
reads (and writes) tables with one row per goods item. Both are
all-or-nothing and report problems as `FileError` records by row, column,
document and field.
"""

from manifests.importers.csv_documents import (
    ITEM_FIELDS,
    export_csv,
    import_csv_file,
    import_csv_text,
)
from manifests.importers.file_input import DEFAULT_MAX_IMPORT_BYTES
from manifests.importers.json_documents import import_json_file, import_json_text

__all__ = [
    "DEFAULT_MAX_IMPORT_BYTES",
    "ITEM_FIELDS",
    "export_csv",
    "import_csv_file",
    "import_csv_text",
    "import_json_file",
    "import_json_text",
]
