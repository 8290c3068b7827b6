"""The JSON schemas the sample's schema service sends, trimmed to what clients read."""

from __future__ import annotations


def _point(bound: bool) -> dict:
    props = {
        "position": {
            "title": "position",
            "type": "array",
            "description": "spatial position in voxels of x,y,z of annotation",
        }
    }
    if bound:
        props["supervoxel_id"] = {
            "title": "supervoxel_id",
            "type": "integer",
            "description": "supervoxel id of this point",
        }
        props["root_id"] = {
            "title": "root_id",
            "type": "integer",
            "description": "root id of the bound point",
        }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": props,
        "required": ["position"],
    }


def _schema(class_name: str, fields: dict) -> dict:
    kinds = {
        "float": {"type": "number", "format": "float"},
        "integer": {"type": "integer"},
        "string": {"type": "string"},
        "boolean": {"type": "boolean"},
    }
    props = {
        "valid": {"title": "valid", "type": "boolean", "description": "is this annotation valid"}
    }
    for name, kind in fields.items():
        if kind in ("BoundSpatialPoint", "SpatialPoint"):
            props[name] = {"type": "object", "$ref": f"#/definitions/{kind}"}
        else:
            props[name] = {"title": name, **kinds[kind]}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {
            class_name: {
                "type": "object",
                "additionalProperties": True,
                "properties": props,
                "required": [n for n in fields if n != "valid"],
            },
            "BoundSpatialPoint": _point(True),
            "SpatialPoint": _point(False),
        },
        "$ref": f"#/definitions/{class_name}",
    }


SCHEMAS = {
    "nucleus_detection": _schema(
        "NucleusDetection",
        {
            "volume": "float",
            "pt": "BoundSpatialPoint",
            "bb_start": "SpatialPoint",
            "bb_end": "SpatialPoint",
        },
    ),
    "cell_type_reference": _schema(
        "CellTypeReference",
        {"target_id": "integer", "classification_system": "string", "cell_type": "string"},
    ),
    "synapse": _schema(
        "SynapseSchema",
        {
            "pre_pt": "BoundSpatialPoint",
            "post_pt": "BoundSpatialPoint",
            "ctr_pt": "SpatialPoint",
            "size": "integer",
        },
    ),
    "proofreading_status_and_strategy": _schema(
        "ProofreadingStatusAndStrategy",
        {
            "valid_id": "integer",
            "status_dendrite": "boolean",
            "status_axon": "boolean",
            "strategy_dendrite": "string",
            "strategy_axon": "string",
            "pt": "BoundSpatialPoint",
        },
    ),
    "compartment_proofread_status": _schema(
        "CompartmentProofreadStatus",
        {
            "pt": "BoundSpatialPoint",
            "valid_id": "integer",
            "status_dendrite": "string",
            "status_axon": "string",
        },
    ),
    "bound_tag": _schema("BoundTagAnnotation", {"tag": "string", "pt": "BoundSpatialPoint"}),
}


_KIND = {
    "int64": "integer",
    "float64": "float",
    "bool": "boolean",
    "string": "string",
    "position(bound)": "BoundSpatialPoint",
    "position(unbound)": "SpatialPoint",
}


def schema_from_spec(spec: dict) -> dict:
    """The JSON schema of a table specification's schema type (inputs/table_specs.json)."""
    name = "".join(part.capitalize() for part in spec["schema_type"].split("_"))
    return _schema(name, {c["name"]: _KIND[c["type"]] for c in spec["columns"]})


def _add_documented_schemas() -> None:
    # Every schema type the documented tables use, beside the hand-written ones above.
    import json
    from pathlib import Path

    specs = json.loads((Path(__file__).parent / "inputs" / "table_specs.json").read_text())
    for spec in specs["tables"]:
        SCHEMAS.setdefault(spec["schema_type"], schema_from_spec(spec))


_add_documented_schemas()
