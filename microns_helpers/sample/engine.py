"""The sample dataset, and the query engine that applies what a client sends.

The dataset lives in ``dataset/`` (built from the published values by
``tools/build_sample_data.py`` in the repository): JSON for the datastack info, the versions,
table lists, table metadata, schemas and root-id edits, and one Parquet file of rows per table
that has rows. Rows are stored the way the materialization server holds them: positions split
into ``*_position_x/y/z`` columns in voxels of the table's resolution.

Example::

    data = load_sample_data()
    df, warnings, resolution = data.simple_query(
        "nucleus_detection_v0", {"limit": 10}, version=1300, args={"split_positions": "True"}
    )
"""

from __future__ import annotations

import datetime
import functools
import json
import textwrap
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from .lineage import Lineage, parse_time
from .routing import ServiceError, truthy

DATASET_DIR = Path(__file__).resolve().parent / "dataset"

# Rows of a table carrying a time in this column were retired then (replaced by a newer
# annotation): versions made after it no longer hold them. Never served.
DELETED = "_deleted"

# The real server caps every query at QUERY_LIMIT_SIZE (200000 by default in
# MaterializationEngine's config) and says so in a Warning header when it bites.
MAX_LIMIT = 200_000

# Columns a join query drops (MaterializationEngine's collect_crud_columns).
CRUD_COLUMNS = ("superceded_id", "deleted")

# Rows of a table carrying a rank in this column come first when a query selects columns:
# the real server answers a select query in another row order than the full query, and the
# published outputs of both are reproduced. Never served.
SELECT_ORDER = "_select_order"

SELECT_COLUMNS_DEPRECATED = (
    "Select_columns is deprecated for join queries, please use select_column_map a dictionary "
    "which is more explicit about what columns to select from what tables. This query result "
    "will attempt to select the first column it finds of this name in any table, but if there "
    "are more than one such column it will not select both. Upgrade caveclient to >=5.0.0 ."
)
SUFFIXES_DEPRECATED = " ".join(
    textwrap.dedent(
        """\
        Suffixes is deprecated for complex queries as it
        can be ambiguous what you desire,
        please pass suffix_map as a dictionary to explicitly
        set suffixes for individual tables.
        Upgrade caveclient to >=5.0.0 """
    ).splitlines()
)


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


def limit_warning(n: int) -> str:
    # The unbalanced quote is what the real server sends.
    return f'201 - "Limited query to {n} rows'


def notice_warning(table: str, metadata: dict) -> list[str]:
    text = metadata.get("notice_text")
    return [f"Table Owner Notice on {table}: {text}"] if text else []


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


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in columns.items()})


# A frame's attrs key: the positions to serve merged as [x, y, z] (see _finish).
MERGE_POSITIONS = "merge_positions"


def served_columns(df: pd.DataFrame) -> list[str]:
    """The column names of the answer: each merged position once, where its x stood."""
    merged = set(df.attrs.get(MERGE_POSITIONS, ()))
    names = []
    for c in df.columns:
        base = c[:-2] if c.endswith(("_x", "_y", "_z")) else None
        if base in merged:
            if c.endswith("_x"):
                names.append(base)
        else:
            names.append(c)
    return names


def merged_positions(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with each position to merge as one column of [x, y, z] lists."""
    bases = df.attrs.get(MERGE_POSITIONS, ())
    if not bases:
        return df
    out = {}
    for name in served_columns(df):
        if name in bases:
            out[name] = df[[f"{name}_{a}" for a in "xyz"]].to_numpy().tolist()
        else:
            out[name] = df[name]
    return pd.DataFrame(out)


def position_bases(columns) -> list[str]:
    """``['pt_position', ...]`` for every complete x/y/z group of columns."""
    cols = set(columns)
    bases = []
    for c in columns:
        if c.endswith("_position_x"):
            base = c[:-2]
            if f"{base}_y" in cols and f"{base}_z" in cols:
                bases.append(base)
    return bases


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
        return len(self.rows(table, version))

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
            if isinstance(r, bool) or not str(r).lstrip("-").isdigit():
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
        found, todo = [], [int(self.check_roots([root])[0])]
        while todo:
            node = todo.pop()
            found += leaves.get(node, [])
            todo += list(self.lineage.made_from(node))
        if not found:
            raise ServiceError(
                404,
                f"root {root} has no supervoxel in the sample service (it is a fragment that "
                "only its lineage names). " + LIVE_HINT,
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

    def _require(self, table, version, datastack):
        md = self.metadata(table, version)
        if md is None:
            raise ServiceError(
                404,
                f"Cannot find table {table} in datastack {datastack} at version {version}",
            )
        return md

    # -- queries ----------------------------------------------------------------------------

    def simple_query(self, table, body, *, version, datastack="minnie65_public", args=None):
        """Query one table. Returns (DataFrame, warnings, desired_resolution)."""
        args = args or {}
        md = self._require(table, version, datastack)
        df = self.rows(table, version)
        df = _filter(df, table, body, table)
        select = body.get("select_columns")
        if select:
            df = _select_order_first(df)
            df = _select(df, table, select)
        df = _drop_private(df)
        df = _page(df, body, args)
        res = _resolution(body, md)
        df = _scale(df, md, res)
        df = _finish(df, args)
        warnings = []
        if len(df) == _limit(body):
            warnings.append(limit_warning(len(df)))
        warnings += notice_warning(table, md)
        return df, warnings, res

    def join_query(self, body, *, version, datastack="minnie65_public", args=None):
        """Join two tables as the server's complex query does. Returns like simple_query."""
        args = args or {}
        (t1, c1), (t2, c2) = body["tables"][0][:2], body["tables"][1][:2]
        md1 = self._require(t1, version, datastack)
        md2 = self._require(t2, version, datastack)
        warnings = notice_warning(t1, md1) + notice_warning(t2, md2)

        if "suffixes" in body:
            warnings.append(SUFFIXES_DEPRECATED)
            s1, s2 = (list(body["suffixes"]) + ["", ""])[:2]
            suffix = {t1: _underscore(s1), t2: _underscore(s2)}
        else:
            suffix = {t1: "", t2: "_y"}
            suffix.update(body.get("suffix_map") or {})

        frames = {}
        for t in (t1, t2):
            df = _filter(self.rows(t, version), t, body, t)
            frames[t] = df.drop(columns=[c for c in CRUD_COLUMNS if c in df.columns])
        shared = (set(frames[t1].columns) & set(frames[t2].columns)) - {SELECT_ORDER}
        renamed = {
            t: {c: c + suffix.get(t, "") for c in frames[t].columns if c in shared}
            for t in (t1, t2)
        }

        left = frames[t1].rename(columns=renamed[t1])
        right = frames[t2].drop(columns=[SELECT_ORDER], errors="ignore").rename(columns=renamed[t2])
        key1, key2 = renamed[t1].get(c1, c1), renamed[t2].get(c2, c2)
        for key, frame, t in ((key1, left, t1), (key2, right, t2)):
            if key not in frame.columns:
                raise ServiceError(400, f"column {key} not found in {t}")
        joined = left.merge(right, left_on=key1, right_on=key2, how="inner", sort=False)

        # The order of the two tables' columns follows what the published outputs show.
        filtered = {t for t in (t1, t2) if _has_filters(body, t)}
        select = body.get("select_columns")
        select_map = body.get("select_column_map")
        if filtered == {t2} or (not filtered and not select and not select_map and suffix.get(t1)):
            order = [(t2, right), (t1, left)]
        else:
            order = [(t1, left), (t2, right)]
        columns = [c for _, f in order for c in f.columns if c != SELECT_ORDER]

        if select or select_map:
            joined = _select_order_first(joined)
            wanted = []
            if select:
                warnings.append(SELECT_COLUMNS_DEPRECATED)
                for col in select:
                    for t in (t1, t2):
                        names = _expand(frames[t].columns, col)
                        if names:
                            wanted += [renamed[t].get(n, n) for n in names]
                            break
                    else:
                        raise ServiceError(400, f"column {col} not found in any table referenced")
            else:
                for t, cols in select_map.items():
                    if t not in frames:
                        raise ServiceError(400, f"table {t} not part of this query")
                    for col in cols:
                        names = _expand(frames[t].columns, col)
                        if not names:
                            raise ServiceError(400, f"column {col} not found in {t}")
                        wanted += [renamed[t].get(n, n) for n in names]
            columns = [c for c in columns if c in set(wanted)]
        joined = joined[columns]
        joined = _page(joined, body, args)
        res = _resolution(body, md1)
        joined = _scale(joined, md1, res)
        joined = _finish(joined, args)
        if len(joined) == _limit(body):
            warnings.append(limit_warning(len(joined)))
        return joined, warnings, res


@functools.cache
def load_sample_data(directory: str = str(DATASET_DIR)) -> SampleData:
    """The sample, loaded once per process."""
    return SampleData(Path(directory))


# ---------------------------------------------------------------------------------------------
# Steps of a query


def _underscore(s):
    return s if not s or s.startswith("_") else "_" + s


def _has_filters(body, table):
    return any(
        (body.get(k) or {}).get(table)
        for k in body
        if k.startswith("filter_") and k.endswith("_dict")
    )


def _expand(columns, name):
    """A column as the client names it -> the stored columns (a position -> its x/y/z)."""
    if name in columns:
        return [name]
    split = [f"{name}_{a}" for a in "xyz"]
    return split if all(c in columns for c in split) else []


def _coerce(series: pd.Series, value):
    """Compare like Postgres would: 't'/'f' are booleans, numbers in strings are numbers."""
    if pd.api.types.is_bool_dtype(series.dtype) and isinstance(value, str):
        return value.strip().lower() in ("t", "true", "1", "yes")
    if pd.api.types.is_integer_dtype(series.dtype) and isinstance(value, (str, float)):
        return int(value)
    return value


def _filter(df, table, body, key):
    """Apply every filter of ``body`` addressed to ``key`` (the table's name)."""
    mask = np.ones(len(df), dtype=bool)

    def column(col):
        if col not in df.columns:
            raise ServiceError(400, f"column {col} not found in {table}")
        return df[col]

    for kind in (
        "filter_equal_dict",
        "filter_in_dict",
        "filter_notin_dict",
        "filter_out_dict",
        "filter_greater_dict",
        "filter_less_dict",
        "filter_greater_equal_dict",
        "filter_less_equal_dict",
        "filter_spatial_dict",
        "filter_regex_dict",
    ):
        for col, value in ((body.get(kind) or {}).get(key) or {}).items():
            if kind == "filter_spatial_dict":
                (lo, hi) = value
                for axis, a, b in zip("xyz", lo, hi):
                    s = column(f"{col}_{axis}")
                    mask &= ((s >= a) & (s < b)).to_numpy()
                continue
            s = column(col)
            if kind in ("filter_in_dict", "filter_notin_dict", "filter_out_dict"):
                values = [_coerce(s, v) for v in value]
                hit = s.isin(values).to_numpy()
                mask &= hit if kind == "filter_in_dict" else ~hit
            elif kind == "filter_equal_dict":
                mask &= (s == _coerce(s, value)).to_numpy()
            elif kind == "filter_regex_dict":
                mask &= s.astype(str).str.contains(value, regex=True).to_numpy()
            else:
                v = _coerce(s, value)
                op = {
                    "filter_greater_dict": s.gt,
                    "filter_less_dict": s.lt,
                    "filter_greater_equal_dict": s.ge,
                    "filter_less_equal_dict": s.le,
                }[kind]
                mask &= op(v).to_numpy()
    return df[mask]


def _select_order_first(df):
    if SELECT_ORDER not in df.columns:
        return df
    return df.sort_values(SELECT_ORDER, kind="stable", na_position="last")


def _select(df, table, select):
    wanted = set()
    for col in select:
        names = _expand(df.columns, col)
        if not names:
            raise ServiceError(400, f"column {col} not found in {table}")
        wanted.update(names)
    return df[[c for c in df.columns if c in wanted]]


def _drop_private(df):
    return df.drop(columns=[SELECT_ORDER], errors="ignore")


def _limit(body):
    return min(int(body.get("limit") or MAX_LIMIT), MAX_LIMIT)


def _page(df, body, args):
    df = _drop_private(df)
    if args.get("random_sample"):
        n = min(int(args["random_sample"]), len(df))
        df = df.sample(n=n, random_state=0)
    offset = int(body.get("offset") or 0)
    return df.iloc[offset : offset + _limit(body)]


def _resolution(body, md):
    res = body.get("desired_resolution")
    if res:
        return list(res)
    return [md["voxel_resolution_x"], md["voxel_resolution_y"], md["voxel_resolution_z"]]


def _scale(df, md, res):
    """Convert positions from the table's voxels to ``res`` (nm per unit)."""
    voxel = [md["voxel_resolution_x"], md["voxel_resolution_y"], md["voxel_resolution_z"]]
    factors = [v / r for v, r in zip(voxel, res)]
    if all(f == 1 for f in factors):
        return df
    df = df.copy()
    for base in position_bases(df.columns):
        for axis, f in zip("xyz", factors):
            col = f"{base}_{axis}"
            if pd.api.types.is_integer_dtype(df[col].dtype) and float(f).is_integer():
                df[col] = df[col] * int(f)
            else:
                df[col] = df[col].astype("float64") * f
    return df


def _finish(df, args):
    """Shape the answer as the client asked: split positions or not, booleans or 't'/'f'."""
    df = df.reset_index(drop=True)
    if not truthy(args.get("split_positions")):
        # Served as one [x, y, z] column each; the reply builds them (merged_positions), since
        # lists in a frame of 100,000 rows cost most of a query's time.
        df.attrs[MERGE_POSITIONS] = position_bases(df.columns)
    if not truthy(args.get("direct_sql_pandas")):
        # Before caveclient 8 the server streamed results through CSV, and booleans came
        # back as 't'/'f' (FACTS.md, "caveclient 8.x returns real booleans").
        df = df.copy()
        for col in df.columns:
            if pd.api.types.is_bool_dtype(df[col].dtype):
                df[col] = df[col].map({True: "t", False: "f"}).astype(object)
    if truthy(args.get("count")):
        df = pd.DataFrame({"count": [len(df)]})
    return df
