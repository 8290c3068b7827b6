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
import math
import re
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


# Live sizes (dataset/live_sizes.*): what a query of the synapse table would return live.
SYNAPSE_ROOT_COLUMNS = {"pre_pt_root_id": "outputs", "post_pt_root_id": "inputs"}
# Marks the sample's own warning of a partial answer (query.py gathers them per chunked query).
PARTIAL_MARK = "Sample data:"


def partial_warning(held: int, live_rows: int, matching: int) -> str:
    """The warning of an answer that holds fewer rows than live would return."""
    of_all = "" if matching == live_rows else f", of about {matching:,} that match live"
    return (
        f'199 - "{PARTIAL_MARK} this answer holds {held:,} of about {live_rows:,} rows the live '
        f"service would return{of_all}: the sample holds only part of the synapse table. "
        "For all of them, run live: set MICRONS_MODE=live and a CAVE token."
    )


def notice_warning(table: str, metadata: dict) -> list[str]:
    text = metadata.get("notice_text")
    return [f"Table Owner Notice on {table}: {text}"] if text else []


# ---------------------------------------------------------------------------------------------
# Validation: what MaterializationEngine refuses, refused the same way before a row is read
#
# A query's body is loaded first as the server's marshmallow schemas load it
# (blueprints/client/schemas.py, SimpleQuerySchema and ComplexQuerySchema, through
# flask_accepts: HTTP 400 "Error parsing request body: {...}"), its query string as the
# server's query_parser reads it (api2.py), and then its values are checked against the
# tables. Where the real server only fails deep in its database (an HTTP 500 with a Postgres
# or numpy message: a text id, a negative offset, a one-corner box), the sample refuses the
# value with a 400 that names the argument. Nothing else in the engine checks a request.

FILTER_KINDS = (
    "filter_in_dict",
    "filter_notin_dict",
    "filter_equal_dict",
    "filter_greater_dict",
    "filter_less_dict",
    "filter_greater_equal_dict",
    "filter_less_equal_dict",
    "filter_spatial_dict",
    "filter_regex_dict",
)
# The schemas' fields, in their order: field -> how it loads.
_SIMPLE_FIELDS = {
    **{kind: "dict" for kind in FILTER_KINDS},
    "select_columns": "str_list",
    "offset": "int",
    "limit": "int",
    "desired_resolution": "resolution",
}
_JOIN_FIELDS = {
    "tables": "tables",
    **{kind: "dict" for kind in FILTER_KINDS},
    "select_columns": "str_list",
    "select_column_map": "dict",
    "offset": "int",
    "limit": "int",
    "suffixes": "str_list",
    "suffix_map": "dict",
    "desired_resolution": "resolution",
}
# The query string of a query (api2.py, query_parser): flags read by inputs.boolean, and
# random_sample by inputs.positive.
QUERY_FLAGS = (
    "return_pyarrow",
    "arrow_format",
    "split_positions",
    "count",
    "allow_missing_lookups",
    "allow_invalid_root_ids",
    "ipc_compress",
    "direct_sql_pandas",
)
# Postgres bigint: offsets, limits and integer columns end here.
BIGINT_MAX = 2**63 - 1
# What Postgres reads as a boolean.
_PG_TRUE = ("t", "true", "y", "yes", "on", "1")
_PG_FALSE = ("f", "false", "n", "no", "off", "0")
_INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")


class _Invalid(Exception):
    """A field marshmallow would not load; ``messages`` as it reports them."""

    def __init__(self, messages):
        super().__init__(messages)
        self.messages = messages


def _load_number(value, kind):
    if value is True or value is False:
        raise _Invalid([f"Not a valid {kind}."])
    try:
        number = int(value) if kind == "integer" else float(value)
    except (TypeError, ValueError):
        raise _Invalid([f"Not a valid {kind}."]) from None
    except OverflowError:
        raise _Invalid(["Number too large."]) from None
    if kind == "number" and not math.isfinite(number):
        raise _Invalid(["Special numeric values (nan or infinity) are not permitted."])
    return number


def _load_str(value):
    if not isinstance(value, str):
        raise _Invalid(["Not a valid string."])
    return value


def _load_list(value, item, length=None):
    if not isinstance(value, list):
        raise _Invalid(["Not a valid list."])
    errors = {}
    for i, element in enumerate(value):
        try:
            item(element)
        except _Invalid as e:
            errors[i] = e.messages
    if errors:
        raise _Invalid(errors)
    if length is not None and len(value) != length:
        raise _Invalid([f"Length must be {length}."])
    return value


def _load_dict(value):
    if not isinstance(value, dict):
        raise _Invalid(["Not a valid mapping type."])
    return value


_LOADERS = {
    "dict": _load_dict,
    "str_list": lambda v: _load_list(v, _load_str),
    "int": lambda v: _load_number(v, "integer"),
    "resolution": lambda v: _load_list(v, lambda x: _load_number(x, "number"), 3),
    "tables": lambda v: _load_list(v, lambda t: _load_list(t, _load_str, 2)),
}


def check_query_args(args: dict) -> None:
    """The query string of a query as the server's query_parser reads it (api2.py)."""
    for name in QUERY_FLAGS:
        value = args.get(name)
        if value and str(value).lower() not in ("true", "1", "on", "false", "0"):
            raise ServiceError(
                400,
                f"Input payload validation failed: {name}: Invalid literal for boolean(): "
                f"{str(value).lower()}",
            )
    sample = args.get("random_sample")
    if sample is not None:
        try:
            number = int(sample)
        except ValueError:
            number = None
        if number is None or number < 1:
            problem = (
                f"{sample} is not a valid integer"
                if number is None
                else f"Invalid argument: {number}. argument must be a positive integer"
            )
            raise ServiceError(400, f"Input payload validation failed: random_sample: {problem}")


def validate_query_body(body, *, join: bool) -> dict:
    """The body of a simple (``join=False``) or join query as the server's schema loads it.

    Returns the body with ``offset`` and ``limit`` as integers; raises the server's 400
    "Error parsing request body: {field: [messages]}" for a body its schema refuses
    (a wrong type, a null, a missing ``tables``, an unknown field, a resolution of 2 numbers).
    """
    fields = _JOIN_FIELDS if join else _SIMPLE_FIELDS
    if not isinstance(body, dict):
        raise ServiceError(400, "Error parsing request body: {'_schema': ['Invalid input type.']}")
    errors, loaded = {}, dict(body)
    for name, kind in fields.items():
        if name not in body:
            if kind == "tables":
                errors[name] = ["Missing data for required field."]
            continue
        if body[name] is None:
            errors[name] = ["Field may not be null."]
            continue
        try:
            value = _LOADERS[kind](body[name])
        except _Invalid as e:
            errors[name] = e.messages
            continue
        if kind == "int":
            loaded[name] = value
    for name in body:
        if name not in fields:
            errors[name] = ["Unknown field."]
    if errors:
        raise ServiceError(400, f"Error parsing request body: {errors}")
    return loaded


def check_query_values(body: dict, frames: dict) -> None:
    """Refuse, with a 400 naming the argument, what the tables of a query cannot answer.

    ``body`` is loaded by :func:`validate_query_body`; ``frames`` maps each table of the
    query to its rows. Covers offsets and limits, resolutions, every filter (its table, its
    column, the type of its value, a box's corners), the selected columns and the suffixes.
    """
    for name in ("offset", "limit"):
        if name in body and not 0 <= body[name] <= BIGINT_MAX:
            raise ServiceError(
                400,
                f"Invalid {name}: {body[name]}. {name} must be an integer from 0 to {BIGINT_MAX}",
            )
    res = body.get("desired_resolution")
    if res is not None and not all(float(r) > 0 for r in res):
        raise ServiceError(
            400,
            f"Invalid desired_resolution: {res}. desired_resolution must be three positive "
            "numbers, the nanometres of one unit in x, y and z (such as [4, 4, 40])",
        )
    for kind in FILTER_KINDS:
        for table, filters in (body.get(kind) or {}).items():
            if table not in frames:
                raise ServiceError(
                    400,
                    f"{kind} names table {table}, which is not part of this query "
                    f"(its tables: {', '.join(frames)})",
                )
            if not isinstance(filters, dict):
                raise ServiceError(
                    400,
                    f"{kind}: the filters of {table} must be a mapping of column names to "
                    f"values, not {filters!r}",
                )
            for column, value in filters.items():
                problem = _filter_problem(kind, frames[table], table, column, value)
                if problem:
                    raise ServiceError(400, f"{kind}: {problem}")
    _check_selection(body, frames)
    _check_suffixes(body, frames)


def _public_columns(df) -> list:
    return [c for c in df.columns if c != SELECT_ORDER]


def _check_selection(body, frames):
    select = body.get("select_columns")
    tables = list(frames)
    for column in select or []:
        if not any(_expand(_public_columns(frames[t]), column) for t in tables):
            where = tables[0] if len(tables) == 1 else "any table referenced"
            raise ServiceError(400, f"select_columns: column {column} not found in {where}")
    for table, columns in (body.get("select_column_map") or {}).items():
        if table not in frames:
            raise ServiceError(400, f"select_column_map: table {table} not part of this query")
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise ServiceError(
                400,
                f"select_column_map: the columns of {table} must be a list of column names, "
                f"not {columns!r}",
            )
        for column in columns:
            if not _expand(_public_columns(frames[table]), column):
                raise ServiceError(400, f"select_column_map: column {column} not found in {table}")


def _check_suffixes(body, frames):
    suffixes = body.get("suffix_map")
    if suffixes is None:
        return
    for table, suffix in suffixes.items():
        if table not in frames:
            raise ServiceError(400, f"suffix_map: table {table} not part of this query")
        if not isinstance(suffix, str):
            raise ServiceError(
                400, f"suffix_map: the suffix of {table} must be text, not {suffix!r}"
            )
    # query_manager.py, QueryManager.__init__ (a ValueError there).
    if len(set(suffixes.values())) != len(suffixes):
        raise ServiceError(400, f"suffix_map: Duplicate suffixes set in {suffixes}")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _filter_problem(kind, df, table, column, value):
    """What is wrong with one filter of a query, or None."""
    columns = _public_columns(df)
    if kind == "filter_spatial_dict":
        if not all(f"{column}_{axis}" in columns for axis in "xyz"):
            return f"column {column} not found in {table} (a box needs a position column)"
        corners = value if isinstance(value, list) else []
        if not (
            len(corners) == 2
            and all(isinstance(c, list) and len(c) == 3 for c in corners)
            and all(_is_number(n) and math.isfinite(n) for c in corners for n in c)
        ):
            return (
                f"the box of {column} in {table} must be two corners [[x, y, z], [x, y, z]] "
                f"of numbers, not {value!r}"
            )
        lo, hi = np.array(corners[0]), np.array(corners[1])
        if not (lo < hi).all():
            # query.py, make_spatial_filter (raised as an Exception there).
            return f"min bounds: {lo} must be less than max bounds: {hi} (column {column})"
        return None
    if column not in columns:
        return f"column {column} not found in {table}"
    series = df[column]
    if kind == "filter_regex_dict":
        if series.dtype != object:
            # query_manager.py, apply_regex_filter (a ValueError there).
            return f"Regex filter is only supported on string columns, not {column} of {table}"
        if not isinstance(value, str):
            return f"the pattern for {column} of {table} must be text, not {value!r}"
        try:
            re.compile(value)
        except re.error as e:
            return f"invalid regular expression for {column} of {table}: {e}"
        return None
    if kind in ("filter_in_dict", "filter_notin_dict"):
        if not isinstance(value, list):
            return f"the values for {column} of {table} must be a list, not {value!r}"
        values = value
    else:
        values = [value]
    for v in values:
        problem = _value_problem(series, v)
        if problem:
            return f"{v!r} for {column} of {table} {problem}"
    return None


def _value_problem(series, value):
    """Why ``value`` cannot be compared with the column ``series`` (as Postgres would), or None."""
    if value is None:
        return None
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        text = value.strip().lower() if isinstance(value, str) else None
        ok = isinstance(value, bool) or text in _PG_TRUE + _PG_FALSE
        return None if ok else "is not a boolean (true or false)"
    if pd.api.types.is_integer_dtype(dtype):
        if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
            value = int(value)
        if isinstance(value, float) and math.isfinite(value):
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            return "is not an integer"
        return None if -BIGINT_MAX - 1 <= value <= BIGINT_MAX else "is out of an integer's range"
    if pd.api.types.is_float_dtype(dtype):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return "is not a number"
        return None if _is_number(value) else "is not a number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if isinstance(value, str):
            try:
                if pd.notna(pd.Timestamp(value)):
                    return None
            except (ValueError, OverflowError):
                pass
        return "is not a time stamp (such as '2025-01-01T00:00:00')"
    return None if isinstance(value, str) else "is not text"


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


# A frame's attrs key: the positions to serve merged as [x, y, z] (see shape_answer).
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
    """``['pt_position', ...]`` for every complete x/y/z group of columns (a view's
    ``pt_position_lookup`` too)."""
    cols = set(columns)
    bases = []
    for c in columns:
        if c.endswith("_x") and "_position" in c:
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
        total = self._live()[0].get(table)
        return int(total["rows"]) if total else len(self.rows(table, version))

    def _live(self) -> tuple[dict, pd.DataFrame]:
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

    def live_row_count(
        self, table: str, body: dict, rows: pd.DataFrame, matched: int, version: int = 1300
    ):
        """How many rows of ``table`` live holds for the filters of ``body``, or None.

        ``rows`` is the table at the query's version, ``matched`` how many of them the
        filters keep. With a filter on the presynaptic roots, the sum of their live outputs;
        on the postsynaptic ones, of their inputs; on both, what random wiring gives
        (outputs x inputs / table total); on neither, the table's total. Other filters
        (a box, a size) keep the share of rows they keep in the sample. Never fewer than
        the sample holds. A root the sample has no live size for counts what it holds; a
        root an edit had replaced by the version's time counts 0, as live has no row of it.
        """
        totals, sizes = self._live()
        if table not in totals:
            return None
        total = int(totals[table]["rows"])
        roots = root_filters(body, table)
        if not roots:
            base, base_rows = total, len(rows)
        else:
            root_body = {"filter_in_dict": {table: {c: sorted(v) for c, v in roots.items()}}}
            base_rows = len(filter_rows(rows, root_body, table))
            retired = self.lineage.mapping_at(self.time_stamp(version))
            sums = {}
            for column, ids in roots.items():
                ids = ids - set(retired)
                held = rows[column].value_counts()
                known = sizes[SYNAPSE_ROOT_COLUMNS[column]].reindex(list(ids))
                sums[column] = int(known.fillna(held.reindex(list(ids)).fillna(0)).sum())
            if len(sums) == 2:
                base = sums["pre_pt_root_id"] * sums["post_pt_root_id"] / total
            else:
                base = next(iter(sums.values()))
        share = matched / base_rows if base_rows else 1.0
        return max(int(round(base * share)), matched)

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
        """Query one table. Returns (DataFrame, warnings, desired_resolution).

        As MaterializationEngine answers it (blueprints/client/common.py,
        generate_simple_query_dataframe): ``random_sample=N`` keeps each row of the table with
        the chance N / its row count (TABLESAMPLE) before the filters, and not at all when N
        reaches the row count; ``count=True`` answers how many rows match, uncapped."""
        args = args or {}
        body = validate_query_body(body, join=False)
        check_query_args(args)
        md = self._require(table, version, datastack)
        all_rows = self.rows(table, version)
        check_query_values(body, {table: all_rows})
        df = filter_rows(all_rows, body, table)
        matched = len(df)
        live = self.live_row_count(table, body, all_rows, matched, version)
        complete = live is None or matched >= live
        share = sampled_share(args, self.count(table, version))
        if share is not None:
            df = keep_share(df, share)
            live = len(df) if complete else round(live * share)
        elif live is None:
            live = matched
        if truthy(args.get("count")):
            counted = pd.DataFrame({"count": [max(0, live - int(body.get("offset") or 0))]})
            return counted, notice_warning(table, md), answer_resolution(body, md)
        select = body.get("select_columns")
        if select:
            df = _select_order_first(df)
            df = keep_selected_columns(df, select)
        df = drop_private_columns(df)
        df = page_rows(df, body, {})
        res = answer_resolution(body, md)
        df = scale_positions(df, md, res)
        df = shape_answer(df, args)
        warnings = size_warnings(body, len(df), live, complete) + notice_warning(table, md)
        return df, warnings, res

    def join_query(self, body, *, version, datastack="minnie65_public", args=None):
        """Join two tables as the server's complex query does. Returns like simple_query."""
        args = args or {}
        body = validate_query_body(body, join=True)
        check_query_args(args)
        if len(body["tables"]) != 2 or body["tables"][0][0] == body["tables"][1][0]:
            raise ServiceError(400, "tables: a join query needs exactly two different tables")
        (t1, c1), (t2, c2) = body["tables"]
        md1 = self._require(t1, version, datastack)
        md2 = self._require(t2, version, datastack)
        rows = {t: self.rows(t, version) for t in (t1, t2)}
        for t, c in ((t1, c1), (t2, c2)):
            if c not in _public_columns(rows[t]):
                raise ServiceError(400, f"tables: column {c} not found in {t}")
        check_query_values(body, rows)
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
            df = filter_rows(rows[t], body, t)
            frames[t] = df.drop(columns=[c for c in CRUD_COLUMNS if c in df.columns])
        # random_sample samples the first table only, by its row count (common.py,
        # generate_complex_query_dataframe); count is not read for a join.
        sizes = self.live_join_count(body, rows, frames, version)  # before the sampling
        share = sampled_share(args, self.count(t1, version))
        if share is not None:
            frames[t1] = keep_share(frames[t1], share)
        shared = (set(frames[t1].columns) & set(frames[t2].columns)) - {SELECT_ORDER}
        renamed = {
            t: {c: c + suffix.get(t, "") for c in frames[t].columns if c in shared}
            for t in (t1, t2)
        }

        left = frames[t1].rename(columns=renamed[t1])
        right = frames[t2].drop(columns=[SELECT_ORDER], errors="ignore").rename(columns=renamed[t2])
        key1, key2 = renamed[t1].get(c1, c1), renamed[t2].get(c2, c2)
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
                for col in select:  # the first table that has it (a join has no CRUD columns)
                    for t in (t1, t2):
                        names = _expand(frames[t].columns, col)
                        if names:
                            wanted += [renamed[t].get(n, n) for n in names]
                            break
            else:
                for t, cols in select_map.items():
                    for col in cols:
                        wanted += [renamed[t].get(n, n) for n in _expand(frames[t].columns, col)]
            columns = [c for c in columns if c in set(wanted)]
        joined = joined[columns]
        live, held = sizes or (len(joined), len(joined))
        complete = held >= live
        if complete:
            live = len(joined)
        elif share is not None:
            live = round(live * share)
        joined = page_rows(joined, body, {})
        res = answer_resolution(body, md1)
        joined = scale_positions(joined, md1, res)
        joined = shape_answer(joined, {k: v for k, v in args.items() if k != "count"})
        warnings += size_warnings(body, len(joined), live, complete)
        return joined, warnings, res

    def live_join_count(self, body, rows, frames, version):
        """(rows live joins, rows the sample joins) where one table is the synapse table
        joined on a root column (pre or post), else None: the live sizes of the other
        table's roots, once per row that holds them, in the share of those roots' synapses
        that the synapse filters keep in the sample. ``rows`` are the two tables at the
        version, ``frames`` their filtered rows."""
        totals, sizes = self._live()
        (t1, c1), (t2, c2) = body["tables"]
        ends = [(t1, c1, t2, c2), (t2, c2, t1, c1)]
        ends = [e for e in ends if e[0] in totals and e[1] in SYNAPSE_ROOT_COLUMNS]
        if not ends:
            return None
        syn, column, other, key = ends[0]
        roots = frames[other][key].dropna().astype("int64").value_counts()
        retired = self.lineage.mapping_at(self.time_stamp(version))
        roots = roots[~roots.index.isin(list(retired))]
        if column in root_filters(body, syn):  # the synapse table's own filter on the key
            roots = roots[roots.index.isin(list(root_filters(body, syn)[column]))]
        stored = rows[syn][column].value_counts()
        live = sizes[SYNAPSE_ROOT_COLUMNS[column]].reindex(roots.index)
        live = live.fillna(stored.reindex(roots.index)).fillna(0)
        on_roots = rows[syn][column].isin(roots.index)
        kept = on_roots & rows[syn].index.isin(frames[syn].index)
        share = kept.sum() / on_roots.sum() if on_roots.any() else 1.0
        held = frames[syn][column].value_counts().reindex(roots.index).fillna(0)
        joined = int((held * roots).sum())
        return max(int(round(float((live * roots).sum()) * share)), joined), joined


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
    """Compare like Postgres would: 't'/'f' are booleans, numbers in strings are numbers.

    ``value`` has passed :func:`check_query_values`."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and isinstance(value, str):
        return value.strip().lower() in _PG_TRUE
    if pd.api.types.is_integer_dtype(dtype):
        if isinstance(value, str):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
    if pd.api.types.is_float_dtype(dtype) and isinstance(value, str):
        return float(value)
    if pd.api.types.is_datetime64_any_dtype(dtype) and isinstance(value, str):
        stamp = pd.Timestamp(value)
        tz = getattr(dtype, "tz", None)
        if tz is not None and stamp.tzinfo is None:
            stamp = stamp.tz_localize(tz)
        return stamp
    return value


def filter_rows(df, body, table):
    """Apply every filter of ``body`` addressed to ``table`` (checked by check_query_values)."""
    mask = np.ones(len(df), dtype=bool)
    for kind in FILTER_KINDS:
        for col, value in ((body.get(kind) or {}).get(table) or {}).items():
            if kind == "filter_spatial_dict":
                (lo, hi) = value
                for axis, a, b in zip("xyz", lo, hi):
                    s = df[f"{col}_{axis}"]
                    mask &= ((s >= a) & (s < b)).to_numpy()
                continue
            s = df[col]
            if kind in ("filter_in_dict", "filter_notin_dict"):
                values = [_coerce(s, v) for v in value]
                hit = s.isin(values).to_numpy()
                mask &= hit if kind == "filter_in_dict" else ~hit
            elif kind == "filter_equal_dict":
                hit = s.isna() if value is None else s == _coerce(s, value)
                mask &= hit.to_numpy()
            elif value is None:  # SQL: a comparison with NULL holds for no row
                mask &= False
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


def keep_selected_columns(df, select):
    wanted = set()
    for col in select:
        wanted.update(_expand(df.columns, col))
    return df[[c for c in df.columns if c in wanted]]


def drop_private_columns(df):
    return df.drop(columns=[SELECT_ORDER], errors="ignore")


def row_limit(body):
    # The server applies limit 0 as SQL's LIMIT 0: no rows (common.py).
    limit = body.get("limit")
    return MAX_LIMIT if limit is None else min(int(limit), MAX_LIMIT)


def root_filters(body, table) -> dict[str, set]:
    """{pre or post root column: the ids its in/equal filters of ``table`` allow}."""
    roots = {}
    for kind in ("filter_in_dict", "filter_equal_dict"):
        for column, value in ((body.get(kind) or {}).get(table) or {}).items():
            if column in SYNAPSE_ROOT_COLUMNS and value is not None:
                values = value if isinstance(value, list) else [value]
                ids = {int(v) for v in values if v is not None}
                roots[column] = roots[column] & ids if column in roots else ids
    return roots


def sampled_share(args, table_rows: int):
    """The share of a table that ``random_sample`` keeps, or None for no sampling: the server
    turns N into a TABLESAMPLE percentage of the table's row count, and samples nothing when
    N reaches it (MaterializationEngine, blueprints/client/common.py)."""
    wanted = args.get("random_sample")
    if not wanted or int(wanted) >= table_rows:
        return None
    return int(wanted) / table_rows


def keep_share(df, share: float):
    """Each row kept with the chance ``share`` (seeded: the same query, the same rows)."""
    keep = np.random.default_rng(0).random(len(df)) < share
    return df[keep]


def size_warnings(body, served: int, live: int, complete: bool) -> list[str]:
    """What an answer of ``served`` rows says when live matches ``live`` rows: live's cap
    warning where live cuts its answer at the limit, and the sample's partial-answer warning
    where the sample holds fewer rows than live (not ``complete``)."""
    limit = row_limit(body)
    live_page = max(0, min(limit, live - int(body.get("offset") or 0)))
    warnings = [limit_warning(live_page)] if live_page == limit else []
    if not complete and served < live_page:
        warnings.append(partial_warning(served, live_page, live))
    return warnings


def page_rows(df, body, args):
    df = drop_private_columns(df)
    if args.get("random_sample"):
        n = min(int(args["random_sample"]), len(df))
        df = df.sample(n=n, random_state=0)
    offset = int(body.get("offset") or 0)
    return df.iloc[offset : offset + row_limit(body)]


def answer_resolution(body, md):
    res = body.get("desired_resolution")
    if res:
        return list(res)
    return [md["voxel_resolution_x"], md["voxel_resolution_y"], md["voxel_resolution_z"]]


def scale_positions(df, md, res):
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


def shape_answer(df, args):
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
