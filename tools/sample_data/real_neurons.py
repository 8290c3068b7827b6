"""Two more real neurons, from the test data of packages on the package index.

- 864691135273655569, a proofread layer-5 extratelencephalic cell (``5P-ET``, area RL,
  ``axon_fully_extended`` at v1300: ``inputs/FACTS.md``): ``tests/data/test_neuron.h5`` of
  the ``pcg-skel==1.3.1`` sdist, a meshparty meshwork made on 2024-09-18 with its level-2
  graph (17,656 nodes, 21,200 edges), pcg_skel's skeleton (7,710 vertices), the synapse-flow
  axon labels (``is_axon``), 11,823 input and 585 output synapses with their level-2 ids, the
  L2 cache's volume properties of every node (``area_nm2``, ``size_nm3``, ``max_dt_nm``,
  ``mean_dt_nm``) and pcg_skel's segment properties (``r_eff``, the radius the skeleton
  service gives each vertex).
- 864691136362774498 (``5P-ET``, V1): ``tests/testdata/{post,pre}_df_helper.feather`` of the
  ``nglui==4.9.0`` sdist, 4,944 input and 149 output synapse rows of the synapse table.

Two steps:

``python -m tools.sample_data.real_neurons fetch``
    downloads both sdists with pip by version (``pip download --no-deps --no-binary :all:``),
    checks their sha256 against :data:`SDISTS`, reads what the sample needs (h5py, from
    ``requirements-build.txt``) and writes compact copies into ``inputs/morphology/``
    (``PROVENANCE.md`` there says what each file holds). Run it only to renew the inputs.

the ordinary build (``tools/build_sample_data.py``)
    reads those inputs with numpy and pandas only: :func:`build_real_neuron_morphology`
    writes the dataset's ``morphology/`` files of 864691135273655569 (level-2 graph, L2-cache
    attributes, skeleton with radius in the service's shape, SWC, each synapse's vertex),
    and :func:`real_neuron_synapses` gives the synapse rows of both neurons.

What is not in the sources, and so not real in the sample: the presynaptic root ids of
864691135273655569's inputs and the postsynaptic root ids of its outputs (the meshwork keeps
the partners' supervoxels, not their roots), and the creation times of its synapses. The
sample draws partner roots that no other row uses (one partner per few synapses, most
contacts single; one input and one output partner among the cells with a proofread axon:
:func:`link_to_proofread_cells`) and creation times from the other rows, seeded by the root
id. Of nglui's rows, the 4 inputs from the example neuron are left out: the sample keeps that
neuron's published output count.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

INPUTS = Path(__file__).resolve().parent / "inputs" / "morphology"

PROOFREAD_NEURON = 864691135273655569  # pcg_skel's test_neuron.h5
NGLUI_NEURON = 864691136362774498  # nglui's synapse test data
VOXEL_NM = np.array([4, 4, 40])
SOMA, AXON, DENDRITE = 1, 2, 3  # SWC structure identifiers, as the skeleton service uses them
SKELETON_VERSION = 4

# sha256 of the sdists as downloaded from PyPI on 2026-12-06 (measured with sha256sum).
SDISTS = {
    "pcg-skel": (
        "1.3.1",
        "pcg_skel-1.3.1.tar.gz",
        "8b48d8c057c0392c2a283ce1d679b186440f09bbcdb66e6538299ec5f9b0af29",
    ),
    "nglui": (
        "4.9.0",
        "nglui-4.9.0.tar.gz",
        "2f73bf0bd5e29257b76f816442b30afdd63dc087551e147bd6afb1cddb87fd59",
    ),
}
L2_ATTRIBUTES = ("area_nm2", "size_nm3", "max_dt_nm", "mean_dt_nm")  # besides rep_coord_nm


# -- fetch: sdists -> compact inputs ----------------------------------------------------------


def download_sdist(name: str, folder: Path) -> Path:
    """``pip download`` one pinned sdist into ``folder`` and check its sha256."""
    version, filename, sha256 = SDISTS[name]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        + ["--no-binary", ":all:", f"{name}=={version}", "-d", str(folder)],
        check=True,
    )
    path = folder / filename
    measured = hashlib.sha256(path.read_bytes()).hexdigest()
    if measured != sha256:
        raise SystemExit(
            f"{filename}: sha256 {measured} is not the recorded {sha256}; the package index "
            "served other bytes than the ones the sample was built from. Do not use them."
        )
    return path


def _member(sdist: Path, path_in_sdist: str) -> bytes:
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(path_in_sdist))
        return tar.extractfile(member).read()


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    # No index, one row group, zstd: the same rows give the same bytes with the pinned pyarrow.
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, compression="zstd")


def _voxels(points) -> list[list[int]]:
    """nm positions (pcg_skel's) -> the synapse table's 4 x 4 x 40 nm voxels, exactly."""
    v = np.stack(list(points)) / VOXEL_NM
    if np.abs(v - np.round(v)).max() > 0:
        raise SystemExit("a synapse position is not on the voxel grid; the source changed")
    return np.round(v).astype(np.int64).tolist()


def extract_meshwork(h5_bytes: bytes, out: Path) -> dict:
    """The parts of pcg_skel's test meshwork the sample uses, as parquet and JSON in ``out``."""
    import h5py

    with h5py.File(io.BytesIO(h5_bytes), "r") as f:
        seg_id = int(f.attrs["seg_id"])
        if seg_id != PROOFREAD_NEURON:
            raise SystemExit(f"test_neuron.h5 holds {seg_id}, not {PROOFREAD_NEURON}")

        def anno(name):
            return pd.read_json(io.StringIO(f[f"annotations/{name}/data"][()].decode()))

        mesh_vertices = f["mesh/vertices"][()]
        link_edges = f["mesh/link_edges"][()]
        skeleton = {
            "vertices": f["skeleton/vertices"][()].tolist(),
            "edges": f["skeleton/edges"][()].tolist(),
            "root": int(f["skeleton/root"][()]),
            "mesh_to_skel_map": f["skeleton/mesh_to_skel_map"][()].tolist(),
            "meta": json.loads(f["skeleton/meta"][()]),
        }
        lvl2 = anno("lvl2_ids").sort_values("mesh_ind")
        vol = anno("vol_prop").sort_values("mesh_ind")
        seg = anno("segment_properties").sort_values("mesh_ind")
        axon = anno("is_axon")["mesh_index"].to_numpy()
        pre, post = anno("pre_syn"), anno("post_syn")

    n = len(mesh_vertices)
    for frame in (lvl2, vol, seg):
        if not (frame["mesh_ind"].to_numpy() == np.arange(n)).all():
            raise SystemExit("an annotation of test_neuron.h5 does not cover every node once")
    l2_ids = lvl2["lvl2_id"].to_numpy(dtype=np.int64)
    is_axon = np.zeros(n, dtype=bool)
    is_axon[axon] = True
    # The meshwork's node positions are the L2 cache's rep_coord_nm (pcg_skel builds the
    # level-2 graph's vertices from them); they are whole nm.
    rep = np.rint(mesh_vertices).astype(np.int64)
    nodes = pd.DataFrame(
        {
            "mesh_ind": np.arange(n),
            "l2_id": l2_ids,
            "rep_coord_nm_x": rep[:, 0],
            "rep_coord_nm_y": rep[:, 1],
            "rep_coord_nm_z": rep[:, 2],
            **{a: vol[a].to_numpy() for a in L2_ATTRIBUTES},
            "r_eff": seg["r_eff"].to_numpy(dtype=float),
            "is_axon": is_axon,
        }
    )
    graph = pd.DataFrame(l2_ids[link_edges], columns=["l2_id_a", "l2_id_b"])
    graph = graph.sort_values(["l2_id_a", "l2_id_b"], ignore_index=True)

    def synapses(df, side):
        return pd.DataFrame(
            {
                "id": df["id"].astype(np.int64),
                "size": df["size"].astype(np.int64),
                "pre_pt_position": _voxels(df["pre_pt_position"]),
                "post_pt_position": _voxels(df["post_pt_position"]),
                "ctr_pt_position": _voxels(df["ctr_pt_position"]),
                "pre_pt_supervoxel_id": df["pre_pt_supervoxel_id"].astype(np.int64),
                "post_pt_supervoxel_id": df["post_pt_supervoxel_id"].astype(np.int64),
                f"{side}_pt_root_id": df[f"{side}_pt_root_id"].astype(np.int64),
                f"{side}_pt_level2_id": df[f"{side}_pt_level2_id"].astype(np.int64),
            }
        ).sort_values("id", ignore_index=True)

    root = PROOFREAD_NEURON
    _write_parquet(nodes, out / f"l2_nodes_{root}.parquet")
    _write_parquet(graph, out / f"lvl2_graph_{root}.parquet")
    (out / f"skeleton_{root}_meshwork.json").write_text(
        json.dumps(skeleton, separators=(",", ":")) + "\n"
    )
    _write_parquet(synapses(pre, "pre"), out / f"synapses_{root}_pre.parquet")
    _write_parquet(synapses(post, "post"), out / f"synapses_{root}_post.parquet")
    return {
        "nodes": n,
        "edges": len(graph),
        "skeleton_vertices": len(skeleton["vertices"]),
        "outputs": len(pre),
        "inputs": len(post),
    }


def extract_nglui(sdist: Path, out: Path) -> dict:
    """nglui's test synapse rows of 864691136362774498, without its split position columns."""
    counts = {}
    for direction, side in (("post", "inputs"), ("pre", "outputs")):
        df = pd.read_feather(io.BytesIO(_member(sdist, f"testdata/{direction}_df_helper.feather")))
        df = df.drop(columns=[c for c in df.columns if c.startswith("ctr_pt_position_")])
        if not (df[f"{direction}_pt_root_id"] == NGLUI_NEURON).all():
            raise SystemExit(f"{direction}_df_helper.feather is not all {NGLUI_NEURON}")
        df["valid"] = df["valid"].eq("t")
        for col in ("pre_pt_position", "post_pt_position", "ctr_pt_position"):
            df[col] = [list(map(int, p)) for p in df[col]]
        df = df.sort_values("id", ignore_index=True)
        _write_parquet(df, out / f"synapses_{NGLUI_NEURON}_{direction}.parquet")
        counts[side] = len(df)
    return counts


def fetch(out: Path = INPUTS) -> dict:
    """Download both sdists, check them, and write the compact inputs into ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        pcg = download_sdist("pcg-skel", Path(tmp))
        nglui = download_sdist("nglui", Path(tmp))
        counts = {
            str(PROOFREAD_NEURON): extract_meshwork(_member(pcg, "tests/data/test_neuron.h5"), out),
            str(NGLUI_NEURON): extract_nglui(nglui, out),
        }
    return counts


# -- build: compact inputs -> the dataset --------------------------------------------------------


def _inputs(root=PROOFREAD_NEURON):
    nodes = pd.read_parquet(INPUTS / f"l2_nodes_{root}.parquet")
    graph = pd.read_parquet(INPUTS / f"lvl2_graph_{root}.parquet")
    skeleton = json.loads((INPUTS / f"skeleton_{root}_meshwork.json").read_text())
    pre = pd.read_parquet(INPUTS / f"synapses_{root}_pre.parquet")
    post = pd.read_parquet(INPUTS / f"synapses_{root}_post.parquet")
    return nodes, graph, skeleton, pre, post


def to_skeleton(values: np.ndarray, mesh_to_skel_map: np.ndarray, n_vertices: int, how: str):
    """A per-node value onto the skeleton, as meshparty's ``mesh_property_to_skeleton``:
    for each vertex, ``how`` ('mean' or 'median') of the nodes that became it."""
    series = pd.Series(values).groupby(mesh_to_skel_map).agg(how)
    return series.reindex(np.arange(n_vertices)).to_numpy()


def compartments(nodes: pd.DataFrame, skeleton: dict) -> np.ndarray:
    """The service's labels (SkeletonService ``_generate_v4_skeleton``): the median of the
    nodes' ``is_axon`` per vertex, 2 where it is 1, 3 elsewhere, and 1 at the root."""
    m2s = np.asarray(skeleton["mesh_to_skel_map"])
    n = len(skeleton["vertices"])
    is_axon = to_skeleton(nodes["is_axon"].astype(float).to_numpy(), m2s, n, "median")
    compartment = np.where(is_axon == 1, AXON, DENDRITE).astype(np.uint8)
    compartment[skeleton["root"]] = SOMA
    return compartment


def radii(nodes: pd.DataFrame, skeleton: dict) -> np.ndarray:
    """The service's radius (nm): the mean ``r_eff`` of the nodes that became each vertex."""
    m2s = np.asarray(skeleton["mesh_to_skel_map"])
    return to_skeleton(nodes["r_eff"].to_numpy(), m2s, len(skeleton["vertices"]), "mean")


def _parents(n_vertices: int, edges: np.ndarray) -> np.ndarray:
    parent = np.full(n_vertices, -1, dtype=np.int64)
    parent[edges[:, 0]] = edges[:, 1]
    return parent


def swc_text(vertices, edges, root: int, labels, radius) -> str:
    """The SWC text meshparty's ``export_to_swc`` writes (the service's SWC), µm.

    Rows follow meshparty's cover paths: the end points from the furthest from the root,
    each with its path towards the root up to a vertex already taken, each path written
    from the root outwards; ids are row numbers, a parent is its row (the root's -1).
    """
    vertices = np.asarray(vertices, dtype=float)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    n = len(vertices)
    parent = _parents(n, edges)
    children = np.bincount(edges[:, 1], minlength=n)
    step = np.zeros(n)
    step[edges[:, 0]] = np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1)
    # distance to root, each vertex after its parent
    order = [root]
    kids = pd.Series(edges[:, 0]).groupby(edges[:, 1]).agg(list).to_dict()
    for v in order:
        order.extend(kids.get(v, ()))
    distance = np.zeros(n)
    for v in order[1:]:
        distance[v] = distance[parent[v]] + step[v]
    tips = np.flatnonzero(children == 0)
    seen = np.zeros(n, dtype=bool)
    rows = []
    for tip in tips[np.argsort(distance[tips])[::-1]]:
        path = []
        v = tip
        while v != -1:
            path.append(v)
            v = parent[v]
        path = np.array(path)
        rows.append(path[~seen[path]][::-1])
        seen[path] = True
    old = np.concatenate(rows)
    new_of = np.full(n, -1, dtype=np.int64)
    new_of[old] = np.arange(n)
    lines = []
    labels, radius = np.asarray(labels), np.asarray(radius, dtype=float)
    for new, v in enumerate(old):
        x, y, z = vertices[v] / 1000
        p = new_of[parent[v]] if parent[v] >= 0 else -1
        lines.append(f"{new} {int(labels[v])} {x:.3f} {y:.3f} {z:.3f} {radius[v] / 1000:.3f} {p}")
    return "\n".join(lines) + "\n"


def place_synapses(nodes, skeleton, compartment, pre, post) -> pd.DataFrame:
    """Each real synapse's skeleton vertex (from its level-2 id) and its distance to it, nm."""
    from .morphology import synapse_vertices

    node_of = pd.Series(np.arange(len(nodes)), index=nodes["l2_id"].to_numpy())
    m2s = np.asarray(skeleton["mesh_to_skel_map"])

    def vertex_of(level2_ids):
        return m2s[node_of.loc[level2_ids.to_numpy()].to_numpy()]

    vertices = np.asarray(skeleton["vertices"], dtype=float)
    return synapse_vertices(vertex_of, vertices, compartment, pre, post)


def _length_nm(vertices, edges, mask_of_child) -> float:
    lengths = np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1)
    return float(lengths[mask_of_child[edges[:, 0]]].sum())


def build_real_neuron_morphology(dataset_dir: Path) -> dict:
    """Write the morphology files of 864691135273655569 into ``dataset_dir / "morphology"``
    and its record ``morphology_<root>.json``; return the summary."""
    root = PROOFREAD_NEURON
    nodes, graph, sk, pre, post = _inputs()
    target = Path(dataset_dir) / "morphology"
    target.mkdir(parents=True, exist_ok=True)
    compartment = compartments(nodes, sk)
    radius = np.round(radii(nodes, sk), 3)
    vertices = np.asarray(sk["vertices"], dtype=float)
    edges = np.asarray(sk["edges"], dtype=np.int64)
    meta = dict(sk["meta"])
    meta["skeleton_version"] = SKELETON_VERSION
    meta["sample_note"] = (
        "pcg_skel's skeleton of this root from its test meshwork (pcg-skel 1.3.1 sdist, made "
        f"{pd.Timestamp(meta['timestamp'], unit='s'):%Y-%m-%d}); compartment and radius "
        "derived from the meshwork's is_axon and r_eff as the skeleton service derives them."
    )
    stored = {
        "meta": meta,
        "edges": edges.tolist(),
        "mesh_to_skel_map": sk["mesh_to_skel_map"],
        "root": int(sk["root"]),
        "vertices": vertices.tolist(),
        "compartment": compartment.astype(int).tolist(),
        "radius": radius.tolist(),
        "lvl2_ids": nodes["l2_id"].astype(np.int64).tolist(),
    }
    _write_parquet(graph, target / f"lvl2_graph_{root}.parquet")
    attributes = nodes[["l2_id", "rep_coord_nm_x", "rep_coord_nm_y", "rep_coord_nm_z"]].copy()
    for a in L2_ATTRIBUTES:
        attributes[a] = nodes[a]
    _write_parquet(
        attributes.sort_values("l2_id", ignore_index=True), target / f"l2_attributes_{root}.parquet"
    )
    (target / f"skeleton_{root}.json").write_text(json.dumps(stored, separators=(",", ":")) + "\n")
    (target / f"skeleton_{root}.swc").write_text(
        swc_text(vertices, edges, stored["root"], compartment, radius)
    )
    synapses = place_synapses(nodes, sk, compartment, pre, post)
    _write_parquet(synapses, target / f"synapse_vertices_{root}.parquet")

    outputs = synapses[synapses["direction"] == "output"]
    inputs = synapses[synapses["direction"] == "input"]
    children = np.bincount(edges[:, 1], minlength=len(vertices))
    summary = {
        "root_id": root,
        "n_level2_nodes": len(nodes),
        "n_level2_edges": len(graph),
        "n_vertices": len(vertices),
        "n_edges": len(edges),
        "path_length_um": round(
            _length_nm(vertices, edges, np.ones(len(vertices), bool)) / 1000, 3
        ),
        "axon_path_length_um": round(_length_nm(vertices, edges, compartment == AXON) / 1000, 3),
        "dendrite_path_length_um": round(
            _length_nm(vertices, edges, compartment == DENDRITE) / 1000, 3
        ),
        "n_end_points": int(((children == 0) & (np.arange(len(vertices)) != stored["root"])).sum()),
        "n_branch_points": int((children > 1).sum()),
        "n_axon_vertices": int((compartment == AXON).sum()),
        "n_dendrite_vertices": int((compartment == DENDRITE).sum()),
        "median_radius_nm": round(float(np.median(radius)), 1),
        "n_inputs": len(inputs),
        "n_outputs": len(outputs),
        "outputs_on_axon": round(float((outputs["compartment"] == AXON).mean()), 4),
        "inputs_on_dendrite": round(float((inputs["compartment"] == DENDRITE).mean()), 4),
        "inputs_on_soma": round(float((inputs["compartment"] == SOMA).mean()), 4),
        "synapse_distance_to_vertex_nm": {
            "median": round(float(synapses["distance_to_vertex_nm"].median()), 1),
            "max_off_soma": round(
                float(synapses.loc[synapses["compartment"] != SOMA, "distance_to_vertex_nm"].max()),
                1,
            ),
        },
    }
    record = {
        "roots": [root],
        "source": "pcg-skel 1.3.1 sdist, tests/data/test_neuron.h5",
        "soma_point_nm": [meta["soma_pt_x"], meta["soma_pt_y"], meta["soma_pt_z"]],
        "l2cache_attributes": ["rep_coord_nm", *L2_ATTRIBUTES],
        "summary": summary,
    }
    (target / f"morphology_{root}.json").write_text(
        json.dumps(record, separators=(",", ":")) + "\n"
    )
    return summary


# -- its row in the proofreading table -------------------------------------------------------------


def with_proofread_neuron(rows: list[dict]) -> list[dict]:
    """The proofreading rows with 864691135273655569 in one row that is ``axon_fully_extended``
    at v1300 (its real strategy, FACTS.md), in place of the sample cell that held it, so the
    published counts stay. The point is this neuron's own: the input synapse nearest its
    soma (position and supervoxel from the meshwork; the table's own point was not published).
    """
    _, _, sk, _, post = _inputs()
    soma_nm = np.array([sk["meta"][f"soma_pt_{a}"] for a in "xyz"], dtype=float)
    positions = np.stack(post["post_pt_position"].to_numpy())
    nearest = int(np.argmin(np.linalg.norm(positions * VOXEL_NM - soma_nm, axis=1)))
    row = next(
        r
        for r in rows
        if r["strategy_axon"] == "axon_fully_extended"
        and r["status_axon"]
        and r["_deleted"] is None
    )
    row.update(
        valid_id=PROOFREAD_NEURON,
        pt_root_id=PROOFREAD_NEURON,
        pt_position=[int(v) for v in positions[nearest]],
        pt_supervoxel_id=int(post["post_pt_supervoxel_id"].iloc[nearest]),
    )
    return rows


def link_to_proofread_cells(synapses: list[dict], proofreading: list[dict], moment) -> None:
    """Give the proofread neuron one synthetic input partner and one synthetic output partner
    among the other cells with a proofread axon at ``moment``, real neurons aside (its real
    partners' roots are not in the source), so that it has a row and a column in the proofread
    network, as every cell with a proofread axon has in the sample. Counts do not change: two
    rows get another synthetic partner root, and the network drawn after them counts them."""
    from .common import EXAMPLE_NEURON, PCG_NEURON
    from .synapses import proofread_axon_roots

    others = [
        r
        for r in proofread_axon_roots(proofreading, moment)
        if r not in (EXAMPLE_NEURON, PCG_NEURON, PROOFREAD_NEURON, NGLUI_NEURON)
    ]
    mine = [r for r in synapses if PROOFREAD_NEURON in (r["pre_pt_root_id"], r["post_pt_root_id"])]
    first_input = min((r for r in mine if r["post_pt_root_id"] == PROOFREAD_NEURON), key=_id)
    first_output = min((r for r in mine if r["pre_pt_root_id"] == PROOFREAD_NEURON), key=_id)
    first_input["pre_pt_root_id"] = others[0]
    first_output["post_pt_root_id"] = others[1]


def _id(row: dict) -> int:
    return row["id"]


# -- the synapse rows -----------------------------------------------------------------------------


def _fresh_roots(rng, n: int, taken: set) -> list[int]:
    out = []
    while len(out) < n:
        r = int(rng.integers(864691131_000_000_000, 864691137_300_000_000))
        if r not in taken:
            taken.add(r)
            out.append(r)
    return out


def real_neuron_synapses(existing: dict) -> list[dict]:
    """The synapse rows of both neurons for ``synapses_pni_2``, given the rows built so far
    (``id -> row``): their ids must not be taken, and drawn partners avoid their roots."""
    from .common import EXAMPLE_NEURON, PCG_NEURON
    from .synapses import synapse_row

    rows = []
    for direction in ("post", "pre"):  # nglui's rows are whole
        df = pd.read_parquet(INPUTS / f"synapses_{NGLUI_NEURON}_{direction}.parquet")
        # 4 of its inputs came from the example neuron (2020 roots): left out, so that the
        # example neuron keeps its published output count at 1300 (common.N_OUTPUTS).
        for other in ("pre_pt_root_id", "post_pt_root_id"):
            df = df[~df[other].isin([EXAMPLE_NEURON, PCG_NEURON])]
        for r in df.itertuples():
            rows.append(
                synapse_row(
                    r.id,
                    r.created,
                    r.size,
                    r.pre_pt_position,
                    r.post_pt_position,
                    r.ctr_pt_position,
                    r.pre_pt_supervoxel_id,
                    r.pre_pt_root_id,
                    r.post_pt_supervoxel_id,
                    r.post_pt_root_id,
                )
            )
    # 864691135273655569: partners' roots and creation times are not in the source.
    rng = np.random.default_rng(PROOFREAD_NEURON % 2**32)
    created_pool = sorted({r["created"] for r in existing.values()})
    taken = {r[k] for r in existing.values() for k in ("pre_pt_root_id", "post_pt_root_id")}
    taken |= {r[k] for r in rows for k in ("pre_pt_root_id", "post_pt_root_id")}
    _, _, _, pre, post = _inputs()
    for df, side in ((post, "post"), (pre, "pre")):
        # about 1.3 synapses per partner, as for most connections onto or from one cell
        partners = _fresh_roots(rng, int(round(len(df) / 1.3)), taken)
        pick = rng.integers(len(partners), size=len(df))
        for r, k in zip(df.itertuples(), pick):
            own, other = PROOFREAD_NEURON, partners[k]
            pre_root, post_root = (other, own) if side == "post" else (own, other)
            rows.append(
                synapse_row(
                    r.id,
                    created_pool[int(rng.integers(len(created_pool)))],
                    r.size,
                    r.pre_pt_position,
                    r.post_pt_position,
                    r.ctr_pt_position,
                    r.pre_pt_supervoxel_id,
                    pre_root,
                    r.post_pt_supervoxel_id,
                    post_root,
                )
            )
    clash = {r["id"] for r in rows} & set(existing)
    if clash or len({r["id"] for r in rows}) != len(rows):
        raise SystemExit(f"real synapse ids already taken in the sample: {sorted(clash)[:5]}")
    return rows


if __name__ == "__main__":
    if sys.argv[1:] == ["fetch"]:
        print(json.dumps(fetch(), indent=1))
    else:
        raise SystemExit("usage: python -m tools.sample_data.real_neurons fetch")
