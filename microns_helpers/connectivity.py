"""From synapses and cell types to connectivity: which kinds of cells connect to which.

The steps every such analysis repeats, each one tidy and checked::

    cells = unique_cell_types(client.materialize.tables.aibs_metamodel_celltypes_v661().query())
    trusted = proofread_roots(client.materialize.tables.proofreading_status_and_strategy(
        status_axon=True).query())
    outputs = client.materialize.synapse_query(pre_ids=trusted)
    table = connection_table(add_cell_types(outputs, cells))   # pre type x post type

Roots with more than one nucleus are dropped from the cell types first: such a root is two
cells the segmentation has not separated yet, so neither soma's type can be trusted for
its synapses (the MICrONs documentation's ``drop_duplicates('pt_root_id', keep=False)``).
"""

from __future__ import annotations

import pandas as pd

from .errors import InvalidInputError
from .synapses import POST, PRE, require_columns

#: Axon proofreading strategies whose outputs are worth counting: the axon was extended.
EXTENDED_AXONS = ("axon_fully_extended", "axon_partially_extended")


def unique_cell_types(
    cell_types: pd.DataFrame, *, root_column: str = "pt_root_id", column: str = "cell_type"
) -> pd.DataFrame:
    """One row per root id that has exactly one nucleus; roots with two or more, and 0, go.

    Returns the kept rows, with ``attrs["dropped_roots"]`` the number of roots dropped
    because they hold several nuclei.

    Example::

        >>> df = pd.DataFrame({"pt_root_id": [1, 2, 2, 0], "cell_type": ["BC", "23P", "4P", "MC"]})
        >>> unique_cell_types(df)["pt_root_id"].tolist()
        [1]
    """
    require_columns(cell_types, [root_column, column], "the cell-type table")
    rows = cell_types[cell_types[root_column] != 0]
    shared = rows[root_column].duplicated(keep=False)
    kept = rows[~shared].reset_index(drop=True)
    kept.attrs["dropped_roots"] = int(rows.loc[shared, root_column].nunique())
    return kept


def proofread_roots(proofreading: pd.DataFrame, strategies=EXTENDED_AXONS) -> list[int]:
    """Root ids whose axon was proofread with one of ``strategies`` (sorted, unique).

    ``proofreading`` is a query of ``proofreading_status_and_strategy``. Rows whose
    ``valid_id`` differs from their ``pt_root_id`` are kept: the cell was edited since it
    was proofread, which :func:`edited_since_proofreading` lists.

    Example::

        table = client.materialize.query_table("proofreading_status_and_strategy")
        trusted = proofread_roots(table)
    """
    require_columns(proofreading, ["pt_root_id", "strategy_axon"], "the proofreading table")
    unknown = set(strategies) - set(proofreading["strategy_axon"].dropna())
    if unknown and len(proofreading):
        known = ", ".join(sorted(proofreading["strategy_axon"].dropna().unique()))
        raise InvalidInputError(
            f"No row has the strategy {', '.join(sorted(unknown))}; this table has: {known}."
        )
    rows = proofreading[proofreading["strategy_axon"].isin(list(strategies))]
    return sorted(int(r) for r in rows["pt_root_id"].unique() if r != 0)


def edited_since_proofreading(proofreading: pd.DataFrame) -> pd.DataFrame:
    """The rows whose cell has another root id now than when it was proofread."""
    require_columns(proofreading, ["pt_root_id", "valid_id"], "the proofreading table")
    return proofreading[proofreading["pt_root_id"] != proofreading["valid_id"]]


def add_cell_types(
    synapses: pd.DataFrame, cell_types: pd.DataFrame, *, column: str = "cell_type"
) -> pd.DataFrame:
    """``synapses`` with ``pre_<column>`` and ``post_<column>``: each end's cell type.

    ``cell_types`` should come from :func:`unique_cell_types`, so that a root has at most
    one type; an end without a soma in the table (most partners are fragments) gets NaN.
    """
    require_columns(synapses, [PRE, POST], "the synapse table")
    require_columns(cell_types, ["pt_root_id", column], "the cell-type table")
    if cell_types["pt_root_id"].duplicated().any():
        raise InvalidInputError(
            "Some root ids have more than one row in the cell-type table. Pass it through "
            "unique_cell_types(...) first, which drops roots that hold several nuclei."
        )
    types = cell_types.set_index("pt_root_id")[column]
    out = synapses.copy()
    out[f"pre_{column}"] = out[PRE].map(types)
    out[f"post_{column}"] = out[POST].map(types)
    return out


def connection_table(
    synapses: pd.DataFrame,
    *,
    column: str = "cell_type",
    normalize: str | None = None,
) -> pd.DataFrame:
    """Synapses per (presynaptic type, postsynaptic type): rows pre, columns post.

    ``synapses`` comes from :func:`add_cell_types`; synapses with an end of unknown type are
    left out. ``normalize="pre"`` divides each row by its total, so a row reads "of this
    type's synapses onto typed cells, which share goes to each type". Rows and columns are
    sorted by name.

    Example::

        table = connection_table(add_cell_types(outputs, cells), normalize="pre")
    """
    pre, post = f"pre_{column}", f"post_{column}"
    require_columns(synapses, [pre, post], "the synapse table with cell types")
    if normalize not in (None, "pre"):
        raise InvalidInputError(f"normalize must be None or 'pre', got {normalize!r}.")
    typed = synapses.dropna(subset=[pre, post])
    table = pd.crosstab(typed[pre], typed[post]).sort_index().sort_index(axis=1)
    table.index.name, table.columns.name = f"presynaptic {column}", f"postsynaptic {column}"
    if normalize == "pre":
        table = table.div(table.sum(axis=1), axis=0)
    return table


__all__ = [
    "EXTENDED_AXONS",
    "add_cell_types",
    "connection_table",
    "edited_since_proofreading",
    "proofread_roots",
    "unique_cell_types",
]
