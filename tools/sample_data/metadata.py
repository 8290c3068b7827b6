"""Table metadata of every table the versions list."""

from __future__ import annotations

import json

from .common import (
    shared,
)

NOTICES = {  # FACTS.md, "Table Owner Notice"
    "proofreading_status_and_strategy": "NOTE: this table supercedes "
    "'proofreading_status_public_release'. For more details, see: "
    "www.microns-explorer.org/manifests/mm3-proofreading.",
    "proofreading_status_public_release": "NOTE: this table is deprecated and no longer "
    "receiving updates; please use 'proofreading_status_and_strategy' which is available in "
    "datastack version >= 1078 (datastack = minnie65_public or minnie65_phase3_v1).",
    "vortex_manual_myelination_v0": "Myelination status assessed for the axon of the VALID_ID, "
    "not the pt_root_id.",
    "vortex_manual_nodes_of_ranvier": "Nodes and myelination assessed for the VALID_ID; if "
    "pt_root_id does not match valid_id, the segment has undergone proofreading. Proceed with "
    "caution.",
}
CELL_TYPE_REFERENCE_TABLES = (  # reference tables on nucleus_detection_v0
    "aibs_metamodel_celltypes_v661",
    "aibs_metamodel_mtypes_v661_v2",
    "allen_v1_column_types_slanted_ref",
    "aibs_column_nonneuronal_ref",
    "nucleus_ref_neuron_svm",
)
KNOWN_SCHEMA = {  # tables built by their own modules (the others: table_specs.json)
    "nucleus_detection_v0": "nucleus_detection",
    "synapses_pni_2": "synapse",
    "proofreading_status_and_strategy": "proofreading_status_and_strategy",
    "proofreading_status_public_release": "compartment_proofread_status",
    "aibs_metamodel_celltypes_v661": "cell_type_reference",
}
PLACEHOLDER = (
    "Sample service: this table is listed as the real service lists it, but the sample has no "
    "rows for it and its metadata is made up (none was published). Query it live: "
    "MICRONS_MODE=live with a CAVE token."
)
PLACEHOLDER_KNOWN_SCHEMA = (
    "Sample service: no metadata for this table was published. The schema type and reference "
    "table match its published query results; this description, id and dates are made up "
    "for the sample."
)


def server_form(md: dict) -> dict:
    """Client-printed metadata (``voxel_resolution`` list) -> the server's JSON."""
    md = dict(md)
    vx, vy, vz = md.pop("voxel_resolution")
    md.update(voxel_resolution_x=vx, voxel_resolution_y=vy, voxel_resolution_z=vz)
    return md


def build_metadata(tables_by_version: dict[int, list[str]], specs: dict, notes: dict):
    """Server-form metadata of every table; ``specs`` (table_specs.json) give the schema type,
    reference table and description of the documented ones, ``notes`` what the sample holds."""
    real = {
        v: server_form(
            json.loads(shared(f"table_metadata_nucleus_detection_v0_v{v}.json").read_text())
        )
        for v in (795, 1078, 1181, 1300, 1507, 1718)
    }
    nucleus = real[1078]
    all_tables = sorted({t for names in tables_by_version.values() for t in names})
    metadata = {}
    for k, t in enumerate(all_tables):
        if t == "nucleus_detection_v0":
            metadata[t] = nucleus
            continue
        spec = specs.get(t)
        schema = KNOWN_SCHEMA.get(t) or (spec["schema_type"] if spec else "bound_tag")
        if spec and t not in KNOWN_SCHEMA:
            page = spec["source"][0] if isinstance(spec["source"], list) else spec["source"]
            description = (
                f"Sample service: {spec['description']} {notes.get(t, '')} Documented at {page}."
            )
            reference = spec.get("reference_table")
            if reference == "nucleus_neuron_svm":  # not listed at 1300: the same nucleus ids
                reference = "nucleus_detection_v0"
        else:
            description = PLACEHOLDER_KNOWN_SCHEMA if t in KNOWN_SCHEMA else PLACEHOLDER
            reference = "nucleus_detection_v0" if t in CELL_TYPE_REFERENCE_TABLES else None
        metadata[t] = {
            "created": "2023-12-19T22:37:58.000000",
            "schema": schema,
            "table_name": t,
            "id": 38200 + k,
            "aligned_volume": "minnie65_phase3",
            "valid": True,
            "schema_type": schema,
            "user_id": "0",
            "description": description,
            "notice_text": NOTICES.get(t),
            "reference_table": reference,
            "flat_segmentation_source": None,
            "write_permission": "PRIVATE",
            "read_permission": "PUBLIC",
            "last_modified": "2024-06-05T10:00:00.000000",
            "segmentation_source": "",
            "pcg_table_name": nucleus["pcg_table_name"],
            "last_updated": nucleus["last_updated"],
            "voxel_resolution_x": 4.0,
            "voxel_resolution_y": 4.0,
            "voxel_resolution_z": 40.0,
        }
    by_version = {str(v): {"nucleus_detection_v0": md} for v, md in real.items() if v != 1078}
    return {"all_versions": metadata, "by_version": by_version}
