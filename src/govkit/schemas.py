"""JSON Schemas of the files users write, generated from the validating models, and a check by `kind:`.

The schemas are committed under schemas/ (tests/test_packaging.py keeps them equal to what this
module generates) so editors can point a YAML language server at them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports KINDS; pydantic stays out of `govkit --help`
    from pydantic import BaseModel

SCHEMA_BASE = "https://govkit.example.org/schemas/v1/"
KINDS = ("manifest", "policy-set", "policy-overlay", "waivers")
# the `kind:` each file declares -> the schema it is checked against
KIND_OF_DOCUMENT = {
    "ModelManifest": "manifest",
    "PolicySet": "policy-set",
    "PolicyOverlay": "policy-overlay",
    "Waivers": "waivers",
}


def _models() -> dict[str, type[BaseModel]]:
    from govkit.manifest import Manifest
    from govkit.policy.schema import PolicyOverlay, PolicySet
    from govkit.policy.waivers import WaiverFile

    return {"manifest": Manifest, "policy-set": PolicySet, "policy-overlay": PolicyOverlay, "waivers": WaiverFile}


def json_schema(kind: str) -> dict[str, Any]:
    schema = _models()[kind].model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{SCHEMA_BASE}{kind}.json", **schema}


def validate_file(path: Path) -> str:
    """Validate one govkit file against the schema its `kind:` names; return the kind.

    Only the document is checked (no data is read), so it suits pre-commit hooks; a policy
    overlay's base and a manifest's data are checked by `govkit policy validate` and `govkit check`.
    """
    from govkit.errors import GovkitError, ManifestError, PolicyError
    from govkit.policy.waivers import load_waivers
    from govkit.validation import validate_document
    from govkit.yamlio import load_yaml

    doc = load_yaml(path)
    declared = doc.data.get("kind") if isinstance(doc.data, dict) else None
    kind = KIND_OF_DOCUMENT.get(declared) if isinstance(declared, str) else None
    if kind is None:
        raise GovkitError(
            f"kind must be one of {', '.join(KIND_OF_DOCUMENT)}", file=path, field="kind", line=doc.line_of(("kind",))
        )
    if kind == "waivers":
        load_waivers(path)  # also refuses duplicate waiver ids
    else:
        error = ManifestError if kind == "manifest" else PolicyError
        validate_document(_models()[kind], doc.data, doc=doc, error=error)
    return kind
