"""JSON Schemas of the files users write, generated from the validating models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def json_schema(kind: str) -> dict[str, Any]:
    from govkit.manifest import Manifest
    from govkit.policy.schema import PolicyOverlay, PolicySet
    from govkit.policy.waivers import WaiverFile

    models: dict[str, type[BaseModel]] = {
        "manifest": Manifest,
        "policy-set": PolicySet,
        "policy-overlay": PolicyOverlay,
        "waivers": WaiverFile,
    }
    schema = models[kind].model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://govkit.example.org/schema/v1/{kind}.json"
    return schema
