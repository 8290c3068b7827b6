"""Tidy connection tables from the synapse frames ``synapse_query`` returns.

``client.materialize.synapse_query(...)`` gives one row per synapse. Most questions are
about connections instead (how many synapses does neuron A make onto neuron B?), and this
module turns the first into the second::

    from microns_helpers.synapses import connection_counts
    outputs = client.materialize.synapse_query(pre_ids=864691135808473885)
    counts = connection_counts(outputs)     # one row per (pre, post) pair, strongest first
"""

from __future__ import annotations

import pandas as pd

from .errors import InvalidInputError

PRE = "pre_pt_root_id"
POST = "post_pt_root_id"


def require_columns(frame, columns, what: str) -> None:
    """Raise InvalidInputError unless ``frame`` is a DataFrame holding ``columns``."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(
            f"Expected {what} as a pandas DataFrame, got {type(frame).__name__}. "
            "Pass the DataFrame returned by client.materialize.synapse_query(...)."
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"{what.capitalize()} has no column {', '.join(map(repr, missing))}; "
            f"it has {', '.join(map(repr, frame.columns))}. "
            "Pass the DataFrame returned by client.materialize.synapse_query(...)."
        )


def connection_counts(synapses: pd.DataFrame) -> pd.DataFrame:
    """Count the synapses of every connected (pre, post) pair.

    This is the documentation's ``groupby([...]).count()`` pattern, returned tidy: one row
    per pair, the columns ``pre_pt_root_id``, ``post_pt_root_id`` and ``syn_count``, a
    plain 0..n-1 index, sorted strongest first (ties by root ids, so the order never
    changes between runs).

    Example::

        >>> syn = pd.DataFrame({"pre_pt_root_id": [1, 1, 1], "post_pt_root_id": [2, 3, 2]})
        >>> connection_counts(syn)
           pre_pt_root_id  post_pt_root_id  syn_count
        0               1                2          2
        1               1                3          1
    """
    require_columns(synapses, [PRE, POST], "the synapse table")
    counts = synapses.groupby([PRE, POST]).size().rename("syn_count").reset_index()
    return counts.sort_values(
        ["syn_count", PRE, POST], ascending=[False, True, True], ignore_index=True
    )


def synapse_partners(
    synapses: pd.DataFrame, root_id: int, *, size_column: str | None = "size"
) -> pd.DataFrame:
    """Summarise the partners of one neuron: one row per partner and direction.

    ``synapses`` may hold the neuron's outputs (``synapse_query(pre_ids=root_id)``), its
    inputs (``post_ids=root_id``), or both concatenated. The result has the columns
    ``direction`` (``"output"``: ``root_id`` is presynaptic; ``"input"``: postsynaptic),
    ``partner_root_id``, ``syn_count`` and, unless ``size_column`` is None, the
    ``total_size`` and ``median_size`` of those synapses (in the table's size unit, voxels
    for ``synapses_pni_2``). Sorted by direction (outputs first), then strongest first.

    Example::

        >>> syn = pd.DataFrame({"pre_pt_root_id": [1, 1, 5], "post_pt_root_id": [2, 2, 1],
        ...                     "size": [100, 300, 50]})
        >>> synapse_partners(syn, 1)
          direction  partner_root_id  syn_count  total_size  median_size
        0    output                2          2         400        200.0
        1     input                5          1          50         50.0
    """
    columns = [PRE, POST] + ([size_column] if size_column is not None else [])
    require_columns(synapses, columns, "the synapse table")
    outputs = synapses[synapses[PRE] == root_id].assign(
        direction="output", partner_root_id=lambda d: d[POST]
    )
    inputs = synapses[synapses[POST] == root_id].assign(
        direction="input", partner_root_id=lambda d: d[PRE]
    )
    if len(synapses) and not len(outputs) and not len(inputs):
        raise InvalidInputError(
            f"None of the {len(synapses)} synapses has {root_id} as its pre- or postsynaptic "
            "neuron. Check the root id, or query its synapses with "
            f"synapse_query(pre_ids={root_id}) or synapse_query(post_ids={root_id})."
        )
    both = pd.concat([outputs, inputs], ignore_index=True)
    grouped = both.groupby(["direction", "partner_root_id"])
    summary = grouped.size().rename("syn_count").to_frame()
    if size_column is not None:
        summary["total_size"] = grouped[size_column].sum()
        summary["median_size"] = grouped[size_column].median().astype(float)
    summary = summary.reset_index()
    summary["_outputs_first"] = summary["direction"] != "output"
    summary = summary.sort_values(
        ["_outputs_first", "syn_count", "partner_root_id"],
        ascending=[True, False, True],
        ignore_index=True,
    )
    return summary.drop(columns="_outputs_first")
