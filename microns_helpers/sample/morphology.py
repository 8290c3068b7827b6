"""The morphology the sample serves: level-2 graphs, L2-cache positions and skeletons.

Backs the chunkedgraph's ``lvl2_graph`` route, the L2 cache (:mod:`.l2cache`) and the
skeleton service (:mod:`.skeletons`) from ``dataset/morphology/``. Two real neurons:

- 864691136040432126 (``morphology.json``, by ``tools/sample_data/morphology.py``): its
  published level-2 graph and ``rep_coord_nm``, skeletonized at build time with pcg_skel; no
  radius;
- 864691135273655569 (``morphology_864691135273655569.json``, by
  ``tools/sample_data/real_neurons.py``): a proofread neuron whose level-2 graph, L2-cache
  volume attributes, skeleton, radius and axon labels are published.

Loaded on first use, so ``connect()`` pays nothing for it.

Example::

    m = load_morphology()
    m.roots                                   # (864691136040432126, 864691135273655569)
    m.skeleton(864691135273655569)["radius"][:2]
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .data import DATASET_DIR
from .routing import ServiceError

L2CACHE_ATTRIBUTES = (  # the L2-cache attributes the sample has, for some of its roots
    "area_nm2",
    "max_dt_nm",
    "mean_dt_nm",
    "rep_coord_nm",
    "size_nm3",
)


class Morphology:
    """The morphology files of one dataset folder, each read when first asked for."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        # morphology.json, then one morphology_<root>.json per further neuron, in root order
        paths = [self.directory / "morphology.json"]
        paths += sorted(self.directory.glob("morphology_*.json"))
        records = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
        self.record = records[0]
        self.roots = tuple(int(r) for rec in records for r in rec["roots"])
        # root -> the L2-cache attributes published for it
        self.attributes = {
            int(r): tuple(rec["l2cache_attributes"]) for rec in records for r in rec["roots"]
        }
        self._loaded: dict = {}  # (what, root) -> the file's content, read once

    def _once(self, key, read):
        if key not in self._loaded:
            self._loaded[key] = read()
        return self._loaded[key]

    def require(self, root_id) -> int:
        """``root_id`` as an int, or the sample's 404 for a root it has no morphology of."""
        root = int(root_id)
        if root not in self.roots:
            raise ServiceError(404, not_in_sample(root, self.roots))
        return root

    def level2_edges(self, root_id: int) -> list[list[int]]:
        root = self.require(root_id)

        def read():
            df = pd.read_parquet(self.directory / f"lvl2_graph_{root}.parquet")
            return df[["l2_id_a", "l2_id_b"]].to_numpy(dtype=np.int64).tolist()

        return self._once(("lvl2_graph", root), read)

    def l2_attributes(self) -> dict[int, dict]:
        """level-2 id -> {attribute: value} as the L2 cache sends them, for every root
        (``rep_coord_nm`` in integer nm; the others only where they were published)."""

        def read():
            out = {}
            for root in self.roots:
                path = self.directory / f"l2_attributes_{root}.parquet"
                if not path.exists():
                    path = self.directory / f"l2_rep_coord_{root}.parquet"
                df = pd.read_parquet(path)
                xyz = df[["rep_coord_nm_x", "rep_coord_nm_y", "rep_coord_nm_z"]].to_numpy()
                rows = [{"rep_coord_nm": c} for c in np.rint(xyz).astype(np.int64).tolist()]
                for name in self.attributes[root]:
                    if name != "rep_coord_nm":
                        for row, value in zip(rows, df[name].tolist()):
                            row[name] = value
                out.update(zip(df["l2_id"].tolist(), rows))
            return out

        return self._once(("l2_attributes", None), read)

    def rep_coords(self) -> dict[int, list[int]]:
        """level-2 id -> rep_coord_nm (integer nm, as the L2 cache sends them), all roots."""
        return {i: a["rep_coord_nm"] for i, a in self.l2_attributes().items()}

    def skeleton(self, root_id: int) -> dict:
        """The stored skeleton (the service's flatdict content of skeleton version 4)."""
        path = self.directory / f"skeleton_{self.require(root_id)}.json"
        return self._once(("skeleton", path.name), lambda: json.loads(path.read_text("utf-8")))

    def swc(self, root_id: int) -> str:
        path = self.directory / f"skeleton_{self.require(root_id)}.swc"
        return self._once(("swc", path.name), path.read_text)


def not_in_sample(root: int, roots) -> str:
    have = " and ".join(str(r) for r in roots)
    return (
        f"root {root} is not in the sample: the sample service has the level-2 graph and "
        f"skeleton of {have} only (real neurons). For other cells use MICRONS_MODE=live "
        "with a CAVE token."
    )


@functools.cache
def load_morphology(directory: str = str(DATASET_DIR)) -> Morphology:
    folder = Path(directory) / "morphology"
    if not (folder / "morphology.json").exists():
        raise ServiceError(
            404,
            f"the sample dataset has no morphology folder ({folder.name}/); rebuild it with "
            "python tools/sample_data/morphology.py",
        )
    return Morphology(folder)


def morphology_of(s) -> Morphology:
    """The morphology beside the dataset a running service ``s`` serves."""
    return load_morphology(str(getattr(s.data, "directory", DATASET_DIR)))
