"""The morphology of the sample: the level-2 graph and skeleton of one real neuron.

``build_morphology(dataset_dir)`` reads the published inputs in ``inputs/morphology/`` beside
this file (see its PROVENANCE.md) and writes ``dataset_dir / "morphology"``:

- ``lvl2_graph_<root>.parquet``: the real level-2 graph (what ``level2_chunk_graph`` answers);
- ``l2_rep_coord_<root>.parquet``: the real L2-cache positions ``rep_coord_nm`` of its nodes;
- ``skeleton_<root>.json``: the skeleton pcg_skel makes of that graph, in the shape of the
  skeleton service's ``flatdict`` answer (vertices in nm, edges, root, compartment,
  ``lvl2_ids`` with ``mesh_to_skel_map``, meta), without ``radius`` (see below);
- ``skeleton_<root>.swc``: the same skeleton as the service's SWC (meshparty's export, µm);
- ``synapse_vertices_<root>.parquet``: every real synapse with its skeleton vertex;
- ``morphology.json``: this root, the parameters and the summary.

The proofread neuron 864691135273655569, whose skeleton and radius were published, is
written by ``real_neurons.py`` beside these files (``morphology_<root>.json`` and its own),
with numpy and pandas only, by every build.

How, as the skeleton service does it for skeleton version 4 (SkeletonService
``_generate_v4_skeleton``): ``pcg_skel.pcg_skeleton_direct`` (TEASAR on the level-2 graph,
invalidation 7.5 µm) rooted at the published soma point with soma collapse (7.5 µm); then
meshparty's synapse-flow split of axon and dendrite (``add_is_axon_annotation``, quality
threshold 0.5) from the real synapses, placed by their level-2 ids; compartments in SWC
numbering, 1 soma (the root vertex), 2 axon, 3 dendrite.

Radius: the service computes it from the L2 cache's ``size_nm3`` and ``area_nm2``, which were
not published for this neuron, so the sample has none: the dict has no ``radius`` and the SWC
carries the service's own fallback when it cannot compute radii (1 nm everywhere).

pcg_skel and meshparty are needed here only (``requirements-build.txt``), never by the package.
Run alone: ``python tools/sample_data/morphology.py [dataset_dir]``.
"""

from __future__ import annotations

import io
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

INPUTS = Path(__file__).resolve().parent / "inputs" / "morphology"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATASET = REPO / "microns_helpers" / "sample" / "dataset"

ROOT_ID = 864691136040432126
VERSION = 795  # the materialization version the inputs were taken at
VOXEL_NM = np.array([4, 4, 40])
SOMA_POINT_VOXELS = (177408, 157968, 21002)  # pcg_skel tests/conftest.py, center_pt
# The skeleton service's parameters (SkeletonService api.py: collapse_radius=7500) and
# pcg_skel's default invalidation distance.
COLLAPSE_RADIUS_NM = 7500
INVALIDATION_D_NM = 7500
AXON_SPLIT_QUALITY_THRESHOLD = 0.5
SOMA, AXON, DENDRITE = 1, 2, 3  # SWC structure identifiers
SKELETON_VERSION = 4  # the skeleton service version whose content this mirrors


def _inputs():
    graph = pd.read_parquet(INPUTS / f"lvl2_graph_{ROOT_ID}.parquet")
    coords = pd.read_parquet(INPUTS / f"l2_rep_coord_{ROOT_ID}.parquet")
    pre = pd.read_parquet(INPUTS / f"synapses_{ROOT_ID}_pre.parquet")
    post = pd.read_parquet(INPUTS / f"synapses_{ROOT_ID}_post.parquet")
    return graph, coords, pre, post


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    # No index, one row group, zstd: the same rows give the same bytes with the pinned pyarrow.
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


def _write_json(obj, path: Path) -> None:
    path.write_text(json.dumps(obj, separators=(",", ":")) + "\n")


def skeletonize(graph: pd.DataFrame, coords: pd.DataFrame):
    """The pcg_skel skeleton of a level-2 graph, and the mesh (graph) it was made on.

    Mesh vertex i is the i-th level-2 id in ascending order, as pcg_skel's ``pcg_graph``
    orders them (its ``*_pt_mesh_ind`` in the synapse files agree).
    """
    import pcg_skel
    from meshparty import trimesh_io

    l2_ids = np.unique(graph[["l2_id_a", "l2_id_b"]].to_numpy())
    xyz = ["rep_coord_nm_x", "rep_coord_nm_y", "rep_coord_nm_z"]
    vertices = coords.set_index("l2_id").loc[l2_ids, xyz].to_numpy(dtype=float)
    edges = np.searchsorted(l2_ids, graph[["l2_id_a", "l2_id_b"]].to_numpy())
    soma_nm = np.array(SOMA_POINT_VOXELS) * VOXEL_NM
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's deprecation notes from inside meshparty
        sk = pcg_skel.pcg_skeleton_direct(
            vertices,
            edges,
            invalidation_d=INVALIDATION_D_NM,
            root_point=soma_nm,
            collapse_soma=True,
            collapse_radius=COLLAPSE_RADIUS_NM,
            root_id=ROOT_ID,
        )
    mesh = trimesh_io.Mesh(vertices=vertices, faces=[[0, 0, 0]], link_edges=edges)
    return sk, mesh, l2_ids


def split_compartments(sk, mesh, l2_ids, pre: pd.DataFrame, post: pd.DataFrame):
    """Compartment of each skeleton vertex (1 soma, 2 axon, 3 dendrite) and the split quality.

    The skeleton service's own method: synapse-flow centrality over the real outputs and
    inputs (meshparty), mesh mask -> skeleton by median, the root vertex is the soma.
    """
    import pcg_skel.features
    from meshparty import meshwork

    nrn = meshwork.Meshwork(mesh, seg_id=ROOT_ID, skeleton=sk)
    for name, df, side in (("pre_syn", pre, "pre"), ("post_syn", post, "post")):
        anchored = pd.DataFrame(
            {
                "id": df["id"].to_numpy(),
                "mesh_ind": np.searchsorted(l2_ids, df[f"{side}_pt_level2_id"].astype(np.int64)),
            }
        )
        nrn.anno.add_annotations(name, anchored, index_column="mesh_ind")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quality = pcg_skel.features.add_is_axon_annotation(
            nrn,
            pre_anno="pre_syn",
            post_anno="post_syn",
            annotation_name="is_axon",
            threshold_quality=AXON_SPLIT_QUALITY_THRESHOLD,
            extend_to_segment=True,
            n_times=1,
            return_quality=True,
        )
    is_axon = nrn.mesh_property_to_skeleton(nrn.anno.is_axon.mesh_mask, aggfunc="median")
    compartment = np.where(is_axon == 1, AXON, DENDRITE).astype(np.uint8)
    compartment[int(sk.root)] = SOMA
    return compartment, float(quality)


def place_synapses(sk, l2_ids, pre: pd.DataFrame, post: pd.DataFrame, compartment):
    """Each synapse's skeleton vertex (from its level-2 id) and its distance to it in nm."""

    def vertex_of(level2_ids):
        return sk.mesh_to_skel_map[np.searchsorted(l2_ids, level2_ids.astype(np.int64))]

    return synapse_vertices(vertex_of, sk.vertices, compartment, pre, post)


def synapse_vertices(vertex_of, vertices, compartment, pre, post) -> pd.DataFrame:
    """One row per synapse of ``pre`` (outputs) and ``post`` (inputs): its level-2 id, the
    skeleton vertex ``vertex_of(level2_ids)`` gives, that vertex's compartment and the
    distance in nm from the synapse's point on this neuron's side to the vertex. Shared by
    the pcg_skel neuron (here) and the proofread neuron (real_neurons.py)."""
    frames = []
    for side, df, direction in (("pre", pre, "output"), ("post", post, "input")):
        vertex = vertex_of(df[f"{side}_pt_level2_id"])
        # The point on this neuron's side of the synapse, voxels -> nm.
        position_nm = np.stack(df[f"{side}_pt_position"].to_numpy()) * VOXEL_NM
        distance = np.linalg.norm(position_nm - np.asarray(vertices)[vertex], axis=1)
        frames.append(
            pd.DataFrame(
                {
                    "id": df["id"].to_numpy(dtype=np.int64),
                    "direction": direction,
                    "level2_id": df[f"{side}_pt_level2_id"].to_numpy(dtype=np.int64),
                    "skeleton_vertex": vertex.astype(np.int64),
                    "compartment": compartment[vertex].astype(np.int64),
                    "distance_to_vertex_nm": np.round(distance, 1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True).sort_values(["direction", "id"], ignore_index=True)


def compartment_path_length_nm(vertices, edges, compartment, which: int) -> float:
    """Length of the edges whose child (the end away from the soma) is in compartment ``which``."""
    child, parent = edges[:, 0], edges[:, 1]
    lengths = np.linalg.norm(vertices[child] - vertices[parent], axis=1)
    return float(lengths[compartment[child] == which].sum())


def _distances(synapses: pd.DataFrame) -> dict:
    """How far synapses sit from their vertex (nm): overall, and apart from the soma, whose
    synapses all go to the one collapsed soma vertex at its centre."""
    d = synapses["distance_to_vertex_nm"]
    on_soma = synapses["compartment"] == SOMA
    return {
        "median": round(float(d.median()), 1),
        "p95": round(float(d.quantile(0.95)), 1),
        "max": round(float(d.max()), 1),
        "max_off_soma": round(float(d[~on_soma].max()), 1),
        "max_on_soma": round(float(d[on_soma].max()), 1),
    }


def skeleton_dict(sk, l2_ids, compartment, quality: float) -> dict:
    """The skeleton in the shape of the service's flatdict (its ``_skeleton_to_flatdict``)."""
    m = sk.meta
    meta = {
        "root_id": ROOT_ID,
        "soma_pt_x": int(m.soma_pt_x),
        "soma_pt_y": int(m.soma_pt_y),
        "soma_pt_z": int(m.soma_pt_z),
        "soma_radius": m.soma_radius,
        "collapse_soma": m.collapse_soma,
        "collapse_function": m.collapse_function,
        "invalidation_d": m.invalidation_d,
        "smooth_vertices": m.smooth_vertices,
        "compute_radius": m.compute_radius,
        "shape_function": m.shape_function,
        "smooth_iterations": m.smooth_iterations,
        "smooth_neighborhood": m.smooth_neighborhood,
        "smooth_r": m.smooth_r,
        "cc_vertex_thresh": m.cc_vertex_thresh,
        "remove_zero_length_edges": m.remove_zero_length_edges,
        "collapse_params": m.collapse_params,
        # The service stamps the moment it skeletonized; a fixed build has no such moment.
        "timestamp": None,
        "skeleton_type": m.skeleton_type,
        "meta": {"datastack": "minnie65_public", "space": "l2cache"},
        "skeleton_version": SKELETON_VERSION,
        "sample_note": (
            "Built by the book's sample from the real level-2 graph of this root "
            f"(materialization {VERSION}, pcg_skel's test data) with pcg_skel, as the skeleton "
            "service does; compartments from the real synapses by meshparty's synapse-flow "
            f"split (quality {quality:.3f}). No radius: the L2 cache's size_nm3 and area_nm2 "
            "were not published for this neuron."
        ),
    }
    return {
        "meta": meta,
        "edges": sk.edges.astype(int).tolist(),
        "mesh_to_skel_map": sk.mesh_to_skel_map.astype(int).tolist(),
        "root": int(sk.root),
        "vertices": np.asarray(sk.vertices, dtype=float).tolist(),
        "compartment": compartment.astype(int).tolist(),
        "lvl2_ids": l2_ids.astype(np.int64).tolist(),
    }


def skeleton_swc(sk, compartment) -> str:
    """The SWC text the service sends (meshparty export_to_swc, µm), radius its 1 nm fallback."""
    from meshparty import skeleton_io

    buffer = io.BytesIO()
    skeleton_io.export_to_swc(
        sk, buffer, node_labels=compartment.astype(int), radius=np.ones(len(sk.vertices))
    )
    return buffer.getvalue().decode()


def build_morphology(out_dir: Path) -> dict:
    """Write ``out_dir / "morphology"`` (``out_dir`` is the dataset folder); return the summary.

    Example::

        summary = build_morphology(Path("microns_helpers/sample/dataset"))
        summary["n_vertices"], summary["path_length_um"]
    """
    started = time.perf_counter()
    graph, coords, pre, post = _inputs()
    sk, mesh, l2_ids = skeletonize(graph, coords)
    compartment, quality = split_compartments(sk, mesh, l2_ids, pre, post)
    synapses = place_synapses(sk, l2_ids, pre, post, compartment)

    target = Path(out_dir) / "morphology"
    target.mkdir(parents=True, exist_ok=True)
    graph = graph.sort_values(["l2_id_a", "l2_id_b"], ignore_index=True)
    _write_parquet(graph, target / f"lvl2_graph_{ROOT_ID}.parquet")
    _write_parquet(
        coords.sort_values("l2_id", ignore_index=True), target / f"l2_rep_coord_{ROOT_ID}.parquet"
    )
    skeleton = skeleton_dict(sk, l2_ids, compartment, quality)
    _write_json(skeleton, target / f"skeleton_{ROOT_ID}.json")
    (target / f"skeleton_{ROOT_ID}.swc").write_text(skeleton_swc(sk, compartment))
    _write_parquet(synapses, target / f"synapse_vertices_{ROOT_ID}.parquet")

    vertices, edges = np.asarray(sk.vertices, dtype=float), np.asarray(sk.edges)
    arbor = (vertices, edges, compartment)
    outputs = synapses[synapses["direction"] == "output"]
    inputs = synapses[synapses["direction"] == "input"]
    summary = {
        "root_id": ROOT_ID,
        "n_vertices": int(sk.n_vertices),
        "n_edges": int(len(edges)),
        "path_length_um": round(float(sk.path_length()) / 1000, 3),
        "axon_path_length_um": round(compartment_path_length_nm(*arbor, AXON) / 1000, 3),
        "dendrite_path_length_um": round(compartment_path_length_nm(*arbor, DENDRITE) / 1000, 3),
        "n_end_points": int(len(sk.end_points)),
        "n_branch_points": int(len(sk.branch_points)),
        "n_axon_vertices": int((compartment == AXON).sum()),
        "n_dendrite_vertices": int((compartment == DENDRITE).sum()),
        "axon_split_quality": round(quality, 4),
        "n_synapses": int(len(synapses)),
        "synapse_distance_to_vertex_nm": _distances(synapses),
        "outputs_on_axon": round(float((outputs["compartment"] == AXON).mean()), 4),
        "inputs_on_dendrite": round(float((inputs["compartment"] == DENDRITE).mean()), 4),
        "inputs_on_soma": round(float((inputs["compartment"] == SOMA).mean()), 4),
    }
    record = {
        "roots": [ROOT_ID],
        "materialization_version": VERSION,
        "soma_point_voxels": list(SOMA_POINT_VOXELS),
        "voxel_resolution_nm": VOXEL_NM.tolist(),
        "parameters": {
            "method": "pcg_skel.pcg_skeleton_direct + pcg_skel.features.add_is_axon_annotation",
            "invalidation_d_nm": INVALIDATION_D_NM,
            "collapse_radius_nm": COLLAPSE_RADIUS_NM,
            "axon_split_quality_threshold": AXON_SPLIT_QUALITY_THRESHOLD,
            "radius": None,
        },
        "l2cache_attributes": ["rep_coord_nm"],
        "summary": summary,
    }
    _write_json(record, target / "morphology.json")
    summary["build_seconds"] = round(time.perf_counter() - started, 2)
    return summary


if __name__ == "__main__":
    dataset = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATASET
    print(json.dumps(build_morphology(dataset), indent=1))
