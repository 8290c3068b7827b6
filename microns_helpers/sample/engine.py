"""The query engine of the sample: a table query and a join, answered as MaterializationEngine
answers them, over the rows of :mod:`.data`, after :mod:`.validation` has checked the
request. The steps of a query (filter, select, page, scale, shape) are here, and what a
query knows of live: how many rows live would return, where live caps an answer, and the
warning of an answer that holds fewer rows than live.

Example::

    data = load_sample_data()
    df, warnings, resolution = simple_query(
        data, "nucleus_detection_v0", {"limit": 10}, version=1300, args={"split_positions": "True"}
    )
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from .data import SELECT_ORDER
from .routing import ServiceError, truthy
from .validation import (
    FILTER_KINDS,
    PG_TRUE,
    check_query_args,
    check_query_values,
    expand_column,
    public_columns,
    validate_query_body,
)

# The real server caps every query at QUERY_LIMIT_SIZE (200000 by default in
# MaterializationEngine's config) and says so in a Warning header when it bites.
MAX_LIMIT = 200_000

# Columns a join query drops (MaterializationEngine's collect_crud_columns).
CRUD_COLUMNS = ("superceded_id", "deleted")

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
# The queries


def live_row_count(
    data, table: str, body: dict, rows: pd.DataFrame, matched: int, version: int = 1300
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
    totals, sizes = data.live_sizes()
    if table not in totals:
        return None
    total = int(totals[table]["rows"])
    roots = root_filters(body, table)
    if not roots:
        base, base_rows = total, len(rows)
    else:
        root_body = {"filter_in_dict": {table: {c: sorted(v) for c, v in roots.items()}}}
        base_rows = len(filter_rows(rows, root_body, table))
        retired = data.lineage.mapping_at(data.time_stamp(version))
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


def simple_query(data, table, body, *, version, datastack="minnie65_public", args=None):
    """Query one table. Returns (DataFrame, warnings, desired_resolution).

    As MaterializationEngine answers it (blueprints/client/common.py,
    generate_simple_query_dataframe): ``random_sample=N`` keeps each row of the table with
    the chance N / its row count (TABLESAMPLE) before the filters, and not at all when N
    reaches the row count; ``count=True`` answers how many rows match, uncapped."""
    args = args or {}
    body = validate_query_body(body, join=False)
    check_query_args(args)
    md = data.require_table(table, version, datastack)
    all_rows = data.rows(table, version)
    check_query_values(body, {table: all_rows})
    df = filter_rows(all_rows, body, table)
    matched = len(df)
    live = live_row_count(data, table, body, all_rows, matched, version)
    complete = live is None or matched >= live
    share = sampled_share(args, data.count(table, version))
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


def join_query(data, body, *, version, datastack="minnie65_public", args=None):
    """Join two tables as the server's complex query does. Returns like simple_query."""
    args = args or {}
    body = validate_query_body(body, join=True)
    check_query_args(args)
    if len(body["tables"]) != 2 or body["tables"][0][0] == body["tables"][1][0]:
        raise ServiceError(400, "tables: a join query needs exactly two different tables")
    (t1, c1), (t2, c2) = body["tables"]
    md1 = data.require_table(t1, version, datastack)
    md2 = data.require_table(t2, version, datastack)
    rows = {t: data.rows(t, version) for t in (t1, t2)}
    for t, c in ((t1, c1), (t2, c2)):
        if c not in public_columns(rows[t]):
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
    sizes = live_join_count(data, body, rows, frames, version)  # before the sampling
    share = sampled_share(args, data.count(t1, version))
    if share is not None:
        frames[t1] = keep_share(frames[t1], share)
    shared = (set(frames[t1].columns) & set(frames[t2].columns)) - {SELECT_ORDER}
    renamed = {
        t: {c: c + suffix.get(t, "") for c in frames[t].columns if c in shared} for t in (t1, t2)
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
                    names = expand_column(frames[t].columns, col)
                    if names:
                        wanted += [renamed[t].get(n, n) for n in names]
                        break
        else:
            for t, cols in select_map.items():
                for col in cols:
                    wanted += [renamed[t].get(n, n) for n in expand_column(frames[t].columns, col)]
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


def live_join_count(data, body, rows, frames, version):
    """(rows live joins, rows the sample joins) where one table is the synapse table
    joined on a root column (pre or post), else None: the live sizes of the other
    table's roots, once per row that holds them, in the share of those roots' synapses
    that the synapse filters keep in the sample. ``rows`` are the two tables at the
    version, ``frames`` their filtered rows."""
    totals, sizes = data.live_sizes()
    (t1, c1), (t2, c2) = body["tables"]
    ends = [(t1, c1, t2, c2), (t2, c2, t1, c1)]
    ends = [e for e in ends if e[0] in totals and e[1] in SYNAPSE_ROOT_COLUMNS]
    if not ends:
        return None
    syn, column, other, key = ends[0]
    roots = frames[other][key].dropna().astype("int64").value_counts()
    retired = data.lineage.mapping_at(data.time_stamp(version))
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


def _coerce(series: pd.Series, value):
    """Compare like Postgres would: 't'/'f' are booleans, numbers in strings are numbers.

    ``value`` has passed :func:`check_query_values`."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and isinstance(value, str):
        return value.strip().lower() in PG_TRUE
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
        wanted.update(expand_column(df.columns, col))
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
