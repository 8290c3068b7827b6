"""Measuring a skeleton: path lengths, distance to the soma, end and branch points.

Works on the dict ``client.skeleton.get_skeleton(root_id)`` returns (``vertices`` in nm,
``edges`` as (child, parent) vertex pairs pointing towards ``root``, the soma, and, when the
service sends it, ``compartment`` in SWC numbering: 1 soma, 2 axon, 3 dendrite). numpy and
pandas only: no pcg_skel or meshparty needed.

caveclient 7.0 and newer call that answer ``output_format="dict"`` (the default); 5.26 to
6.x, the first releases with a skeleton client, call it ``"json"`` and keep ``compartment``
under ``vertex_properties``. :data:`DICT_FORMAT` is the name the installed release uses, and
:func:`as_dict` gives both answers the same shape.

Example::

    sk = as_dict(client.skeleton.get_skeleton(864691136040432126, output_format=DICT_FORMAT))
    path_length_um(sk)                 # total cable, µm
    path_length_by_compartment_um(sk)  # {'soma': 0.0, 'axon': ..., 'dendrite': ...}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._compat import installed_version, version_tuple

COMPARTMENT_NAMES = {1: "soma", 2: "axon", 3: "dendrite"}
# The first caveclient that calls the skeleton's dict format "dict".
FIRST_DICT_FORMAT = (7, 0)


def _dict_format() -> str:
    installed = installed_version("caveclient")
    if installed is not None and version_tuple(installed) < FIRST_DICT_FORMAT:
        return "json"
    return "dict"


DICT_FORMAT = _dict_format()  # "dict" on caveclient 7.0 and newer, "json" on 5.26 to 6.x


def as_dict(answer: dict) -> dict:
    """A skeleton dict of either caveclient layout as numpy arrays, ``compartment`` on top.

    ``answer`` is what ``get_skeleton(..., output_format=DICT_FORMAT)`` returned: the dict of
    caveclient 7.0 and newer (arrays) or the ``"json"`` answer of 5.26 to 6.x (lists, with
    ``compartment`` under ``vertex_properties``). Keys that only one layout has are kept.

    Example::

        sk = as_dict(client.skeleton.get_skeleton(root_id, output_format=DICT_FORMAT))
        sk["vertices"].shape   # (2430, 3) for the sample's neuron 864691136040432126
    """
    if not isinstance(answer, dict) or "vertices" not in answer or "edges" not in answer:
        raise ValueError(
            "this is not a skeleton dict (it has no 'vertices' and 'edges'); ask "
            f"get_skeleton for output_format={DICT_FORMAT!r}, not 'swc' or 'none'."
        )
    out = {k: v for k, v in answer.items() if k != "vertex_properties"}
    out.update(answer.get("vertex_properties") or {})
    out["vertices"] = np.asarray(out["vertices"], dtype=float).reshape(-1, 3)
    out["edges"] = np.asarray(out["edges"], dtype=np.int64).reshape(-1, 2)
    out["root"] = int(out["root"])
    if "compartment" in out:  # skeleton version 2 sends the labels as floats
        out["compartment"] = np.asarray(out["compartment"]).astype(int)
    for key in ("radius", "mesh_to_skel_map", "lvl2_ids"):
        if key in out:
            out[key] = np.asarray(out[key])
    return out


def _arbor(skeleton: dict):
    vertices = np.asarray(skeleton["vertices"], dtype=float)
    edges = np.asarray(skeleton["edges"], dtype=np.int64).reshape(-1, 2)
    if len(edges) != len(vertices) - 1:
        raise ValueError(
            f"this skeleton has {len(vertices)} vertices and {len(edges)} edges, not a tree "
            "(a tree has one edge fewer than vertices); pass the dict get_skeleton returns."
        )
    return vertices, edges


def edge_lengths_nm(skeleton: dict) -> np.ndarray:
    """Length of each edge in nm, in the order of ``skeleton['edges']``."""
    vertices, edges = _arbor(skeleton)
    return np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1)


def path_length_um(skeleton: dict) -> float:
    """Total cable length in µm: the sum of all edge lengths.

    Example::

        path_length_um(sk)   # 4746.8 for the sample's neuron 864691136040432126
    """
    return float(edge_lengths_nm(skeleton).sum()) / 1000


def path_length_by_compartment_um(skeleton: dict) -> dict[str, float]:
    """Cable length in µm per compartment; an edge counts for its child's compartment
    (the end away from the soma).

    Example::

        path_length_by_compartment_um(sk)["axon"]
    """
    if "compartment" not in skeleton:
        raise KeyError(
            "this skeleton has no 'compartment' (skeleton version 1 has none); ask for "
            "skeleton_version=4, the default of get_skeleton."
        )
    _, edges = _arbor(skeleton)
    child_compartment = np.asarray(skeleton["compartment"], dtype=int)[edges[:, 0]]
    lengths = edge_lengths_nm(skeleton)
    return {
        name: float(lengths[child_compartment == code].sum()) / 1000
        for code, name in COMPARTMENT_NAMES.items()
    }


def _children_counts(skeleton: dict) -> np.ndarray:
    vertices, edges = _arbor(skeleton)
    return np.bincount(edges[:, 1], minlength=len(vertices))


def end_points(skeleton: dict) -> np.ndarray:
    """Vertices with no children (the tips), root excluded, ascending.

    Example::

        len(end_points(sk))   # 44 for the sample's neuron
    """
    tips = np.flatnonzero(_children_counts(skeleton) == 0)
    return tips[tips != int(skeleton["root"])]


def branch_points(skeleton: dict) -> np.ndarray:
    """Vertices with more than one child, ascending (the soma too, if the arbor forks there).

    Example::

        len(branch_points(sk))   # 35 for the sample's neuron
    """
    return np.flatnonzero(_children_counts(skeleton) > 1)


def distance_to_soma_um(skeleton: dict) -> np.ndarray:
    """Distance along the arbor from each vertex to the root (the soma), µm, by vertex.

    Example::

        d = distance_to_soma_um(sk)
        d[int(sk["root"])]   # 0.0
    """
    vertices, edges = _arbor(skeleton)
    root = int(skeleton["root"])
    parent = np.full(len(vertices), -1, dtype=np.int64)
    parent[edges[:, 0]] = edges[:, 1]
    step = np.zeros(len(vertices))
    step[edges[:, 0]] = edge_lengths_nm(skeleton)
    # Visit vertices from the root outwards, each after its parent.
    children = pd.Series(edges[:, 0]).groupby(edges[:, 1]).agg(list).to_dict()
    distance = np.zeros(len(vertices))
    order, frontier = [], [root]
    while frontier:
        order.extend(frontier)
        frontier = [c for v in frontier for c in children.get(v, ())]
    if len(order) != len(vertices):
        raise ValueError("this skeleton is not connected to its root; is 'root' right?")
    for v in order[1:]:
        distance[v] = distance[parent[v]] + step[v]
    return distance / 1000
