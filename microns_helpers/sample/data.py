"""The sample dataset: what the sample service serves, loaded from ``dataset/``.

The dataset lives in ``dataset/`` (built from the published values by
``tools/build_sample_data.py`` in the repository): JSON for the datastack info, the versions,
table lists, table metadata, schemas and root-id edits, and one Parquet file of rows per table
that has rows. Rows are stored the way the materialization server holds them: positions split
into ``*_position_x/y/z`` columns in voxels of the table's resolution. How a query reads them
is :mod:`.engine`'s; what a request may ask, :mod:`.validation`'s.

Example::

    data = load_sample_data()
    data.rows("nucleus_detection_v0", 1300)  # the table as materialized at 1300
"""

from __future__ import annotations

import datetime
import functools
import json
import re
import threading
from pathlib import Path

import pandas as pd

from .lineage import Lineage, parse_time
from .routing import ServiceError

DATASET_DIR = Path(__file__).resolve().parent / "dataset"

# Rows of a table carrying a time in this column were retired then (replaced by a newer
# annotation): versions made after it no longer hold them. Never served.
DELETED = "_deleted"

# Rows of a table carrying a rank in this column come first when a query selects columns:
# the real server answers a select query in another row order than the full query, and the
# published outputs of both are reproduced. Never served.
SELECT_ORDER = "_select_order"

# How to get what the sample lacks: every "not in the sample" answer ends with it.
LIVE_HINT = (
    "For the real data, run live: set MICRONS_MODE=live and a CAVE token "
    "(client.auth.setup_token(make_new=True) makes one)."
)


def not_in_sample_message(table: str) -> str:
    return (
        f"The sample service lists table {table} as the real service does, but has no rows "
        f"for it. {LIVE_HINT}"
    )


# ---------------------------------------------------------------------------------------------
# Schemas -> columns


def columns_from_schema(schema: dict) -> dict[str, str]:
    """Column name -> pandas dtype of a table of this JSON schema, in the server's order."""
    name = schema["$ref"].split("/")[-1]
    props = schema["definitions"][name]["properties"]
    columns = {"id": "int64", "created": "datetime64[ns, UTC]", "superceded_id": "float64"}
    columns["valid"] = "bool"
    segmentation = {}
    for field, spec in props.items():
        ref = spec.get("$ref", "")
        if field == "valid":
            continue
        if ref.endswith("/BoundSpatialPoint"):
            for axis in "xyz":
                columns[f"{field}_position_{axis}"] = "int64"
            segmentation[f"{field}_supervoxel_id"] = "int64"
            segmentation[f"{field}_root_id"] = "int64"
        elif ref.endswith("/SpatialPoint"):
            for axis in "xyz":
                columns[f"{field}_position_{axis}"] = "float64"
        else:
            kind = spec.get("format", spec.get("type"))
            columns[field] = {
                "float": "float64",
                "integer": "int64",
                "boolean": "bool",
            }.get(kind, "object")
    columns.update(segmentation)
    return columns


# ---------------------------------------------------------------------------------------------
# The sample


class SampleData:
    """Everything the sample service serves, loaded from ``dataset/``.

    Rows are stored once, with the root ids of the base version (1300) and the time each
    annotation was made (``created``) and, where it was replaced, retired (``_deleted``,
    never served). :meth:`rows` gives a table as materialized at a version: the rows that
    existed at its time stamp, with the root ids of that moment (see :mod:`.lineage`).
    """

    def __init__(self, directory: Path = DATASET_DIR):
        directory = Path(directory)
        if not (directory / "table_metadata.json").exists():
            raise FileNotFoundError(
                f"No sample dataset in {directory}. Rebuild it from the published values "
                "with: python tools/build_sample_data.py"
            )

        def read(name):
            return json.loads((directory / name).read_text(encoding="utf-8"))

        self.datastack_info = read("datastack_info.json")
        self.versions = {v["version"]: v for v in read("versions.json")}
        self.tables_by_version = {int(k): v for k, v in read("tables_by_version.json").items()}
        meta = read("table_metadata.json")
        self._metadata = meta["all_versions"]
        self._metadata_by_version = {int(k): v for k, v in meta["by_version"].items()}
        self.schemas = read("schemas.json")
        self.lineage = Lineage.from_json(read("lineage.json"))
        # Rows are read when a table is first asked for: start-up stays fast at full size.
        self._rows_dir = directory / "rows"
        self._stored: dict = {}
        self._materialized: dict = {}
        self._supervoxels = None
        self._directory = directory
        self._live_sizes = None
        self._lock = threading.Lock()

    # -- versions ----------------------------------------------------------------------------

    def version_record(self, version: int) -> dict | None:
        """The server's record of a version (valid, status, time_stamp, expires_on), or None."""
        record = self.versions.get(int(version))
        return dict(record) if record else None

    def listed_versions(self, *, expired: bool = False) -> list[int]:
        """The versions the server lists, in its order; expired ones only when asked."""
        return [v for v, r in self.versions.items() if expired or r["valid"]]

    def time_stamp(self, version: int) -> datetime.datetime:
        return parse_time(self.versions[int(version)]["time_stamp"])

    # -- tables ------------------------------------------------------------------------------

    def table_names(self, version: int) -> list[str]:
        """The table list of a version (``tables_by_version.json`` says where it comes from)."""
        return list(self.tables_by_version.get(int(version), []))

    def metadata(self, table: str, version: int) -> dict | None:
        """Server-form metadata (``voxel_resolution_x/y/z``), or None if not in that version."""
        if table not in self.table_names(version):
            return None
        md = self._metadata_by_version.get(version, {}).get(table) or self._metadata[table]
        return dict(md)

    def rows(self, table: str, version: int) -> pd.DataFrame:
        """The rows of ``table`` as materialized at ``version``."""
        key = (table, int(version))
        if key not in self._materialized:
            rows = self.rows_at(table, self.time_stamp(version))
            with self._lock:
                self._materialized.setdefault(key, rows)
        return self._materialized[key]

    def has_rows(self, table: str) -> bool:
        """True if the sample models ``table`` (it has rows for it), else it only lists it."""
        return (self._rows_dir / f"{table}.parquet").exists()

    def stored(self, table: str) -> pd.DataFrame:
        """Every stored row of ``table`` (all times, base-version roots), read once."""
        with self._lock:
            if table not in self._stored:
                if not self.has_rows(table):
                    raise ServiceError(404, not_in_sample_message(table))
                path = self._rows_dir / f"{table}.parquet"
                df = pd.read_parquet(path)
                schema = self.schemas[self._metadata[table]["schema_type"]]
                missing = set(columns_from_schema(schema)) - set(df.columns)
                if missing:
                    raise ValueError(f"{path.name} lacks columns {sorted(missing)}")
                self._stored[table] = df
            return self._stored[table]

    def rows_at(self, table: str, moment: datetime.datetime) -> pd.DataFrame:
        """The rows of ``table`` that existed at ``moment``, with that moment's root ids."""
        df = self.stored(table)
        moment_ns = pd.Timestamp(moment)
        alive = (df["created"] <= moment_ns).to_numpy()
        if DELETED in df.columns:
            alive &= ~(df[DELETED] <= moment_ns).to_numpy()
        df = df[alive].drop(columns=[DELETED], errors="ignore")
        mapping = self.lineage.mapping_at(moment)
        root_columns = [c for c in df.columns if c.endswith("root_id")]
        if mapping and root_columns:
            df = df.copy()
            for column in root_columns:
                changed = df[column].isin(mapping.keys())
                if changed.any():
                    df.loc[changed, column] = df.loc[changed, column].map(mapping)
        return df

    def count(self, table: str, version: int) -> int:
        """The table's row count as live answers it: the live total where the sample knows it."""
        total = self.live_sizes()[0].get(table)
        return int(total["rows"]) if total else len(self.rows(table, version))

    def live_sizes(self) -> tuple[dict, pd.DataFrame]:
        """({table: {"rows": live total}}, live sizes of roots indexed by root_id), read once."""
        with self._lock:
            if self._live_sizes is None:
                totals_path = self._directory / "live_sizes.json"
                sizes_path = self._directory / "live_sizes.parquet"
                totals = json.loads(totals_path.read_text()) if totals_path.exists() else {}
                sizes = (
                    pd.read_parquet(sizes_path).set_index("root_id")
                    if sizes_path.exists()
                    else pd.DataFrame(columns=["outputs", "inputs"])
                )
                self._live_sizes = (totals, sizes)
            return self._live_sizes

    def _segments(self) -> tuple[dict, dict]:
        """{supervoxel: base root} and {base root: [supervoxels]} of every row, built once."""
        with self._lock:
            if self._supervoxels is not None:
                return self._supervoxels
        root_of: dict = {}
        for table in self._metadata:
            if not self.has_rows(table):
                continue
            df = self.stored(table)
            for sv in (c for c in df.columns if c.endswith("_supervoxel_id")):
                roots = df[sv[: -len("supervoxel_id")] + "root_id"]
                root_of.update(zip(df[sv].tolist(), roots.tolist()))
        root_of.pop(0, None)
        for sv, root in self.lineage.documented_supervoxels().items():  # the rows' come first
            root_of.setdefault(sv, root)
        leaves: dict = {}
        for sv, root in root_of.items():
            leaves.setdefault(root, []).append(sv)
        with self._lock:
            self._supervoxels = (root_of, leaves)
        return self._supervoxels

    def is_known_root(self, root: int) -> bool:
        """True for a root of a row of the sample, or one its lineage names."""
        return int(root) in self._segments()[1] or self.lineage.knows(int(root))

    def check_roots(self, roots) -> list[int]:
        """The ids as ints, or one clear refusal naming the first the sample does not know."""
        ids = []
        for r in roots:
            if isinstance(r, bool) or not re.fullmatch(r"-?[0-9]+", str(r)):
                raise ServiceError(400, f"{r!r} is not a root id: root ids are integers.")
            ids.append(int(r))
        for root in ids:
            if not self.is_known_root(root):
                raise ServiceError(
                    404,
                    f"root {root} is not in the sample service: it knows the roots of the rows "
                    "of its tables and of their edits (check the id for a typo). " + LIVE_HINT,
                )
        return ids

    def leaves(self, root: int) -> list[int]:
        """The supervoxels of ``root`` that the sample knows (those of its rows)."""
        leaves = self._segments()[1]
        start = int(self.check_roots([root])[0])
        while start not in leaves and self.lineage.renamed_to(start) is not None:
            start = self.lineage.renamed_to(start)  # an edit only renamed it: rows hold the new id
        found, todo = [], [start]
        while todo:
            node = todo.pop()
            found += leaves.get(node, [])
            todo += list(self.lineage.made_from(node))
        if not found:
            why = (
                "the MICrONs documentation prints it, but no row of the sample is on it"
                if int(root) in self.lineage.documented
                else "it is a fragment that only its lineage names"
            )
            raise ServiceError(
                404, f"root {root} has no supervoxel in the sample service ({why}). " + LIVE_HINT
            )
        return sorted(found)

    def roots_of_supervoxels(self, supervoxels, moment: datetime.datetime) -> list[int]:
        """The root holding each supervoxel at ``moment``; a supervoxel of no row of the
        sample is refused (the sample knows the supervoxels of its rows only)."""
        known = self._segments()[0]
        supervoxels = [int(s) for s in supervoxels]
        missing = [sv for sv in supervoxels if sv and sv not in known]
        if missing:
            raise ServiceError(
                404,
                f"supervoxel {missing[0]} is not in the sample service: it knows the supervoxels "
                "of the positions in its tables only (pt_supervoxel_id and the synapses' "
                "pre/post_pt_supervoxel_id). " + LIVE_HINT,
            )
        return [self.lineage.root_at(known[sv], moment) if sv else 0 for sv in supervoxels]

    def require_table(self, table, version, datastack):
        """The metadata of ``table`` at ``version``, or the server's 404 for a table it lacks."""
        md = self.metadata(table, version)
        if md is None:
            raise ServiceError(
                404,
                f"Cannot find table {table} in datastack {datastack} at version {version}",
            )
        return md

    # -- queries ----------------------------------------------------------------------------


@functools.cache
def load_sample_data(directory: str = str(DATASET_DIR)) -> SampleData:
    """The sample, loaded once per process."""
    return SampleData(Path(directory))
