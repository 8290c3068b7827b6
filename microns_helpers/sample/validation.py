"""What a query may ask: MaterializationEngine's refusals, refused the same way before a row
is read.

A query's body is loaded first as the server's marshmallow schemas load it
(blueprints/client/schemas.py, SimpleQuerySchema and ComplexQuerySchema, through
flask_accepts: HTTP 400 "Error parsing request body: {...}"), its query string as the
server's query_parser reads it (api2.py), and then its values are checked against the
tables. Where the real server only fails deep in its database (an HTTP 500 with a Postgres
or numpy message: a text id, a negative offset, a one-corner box), the sample refuses the
value with a 400 that names the argument. Nothing else checks a request.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from .data import SELECT_ORDER
from .routing import ServiceError

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
PG_TRUE = ("t", "true", "y", "yes", "on", "1")
PG_FALSE = ("f", "false", "n", "no", "off", "0")
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


def public_columns(df) -> list:
    return [c for c in df.columns if c != SELECT_ORDER]


def _check_selection(body, frames):
    select = body.get("select_columns")
    tables = list(frames)
    for column in select or []:
        if not any(expand_column(public_columns(frames[t]), column) for t in tables):
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
            if not expand_column(public_columns(frames[table]), column):
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
    columns = public_columns(df)
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
        ok = isinstance(value, bool) or text in PG_TRUE + PG_FALSE
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


def expand_column(columns, name):
    """A column as the client names it -> the stored columns (a position -> its x/y/z)."""
    if name in columns:
        return [name]
    split = [f"{name}_{a}" for a in "xyz"]
    return split if all(c in columns for c in split) else []
