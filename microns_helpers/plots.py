"""The figures more than one chapter draws, with labelled axes and units.

Every function draws on the Axes you pass (``ax=``) or on a new figure, sets ``title`` if
given, and returns the Axes; none changes matplotlib's global settings. Positions are
converted to micrometres with :func:`positions_um`, which reads the resolution caveclient
stores in ``df.attrs``::

    from microns_helpers import plots
    nuclei = client.materialize.query_table("nucleus_detection_v0")
    ax = plots.plot_positions(nuclei)          # side view of the volume, in µm
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from .errors import InvalidInputError

# The y axis of the MICrONs volume runs from the pia (top) down to the white matter, so
# every figure with y on its vertical axis is drawn with y growing downwards.
DEPTH_LABEL = "y (µm), deeper is lower"
# Above this many synapses per partner, plot_synapses_per_partner bins geometrically.
MAX_INTEGER_BARS = 60
# Above this many rows (and without hue), plot_positions draws a density, not dots.
DENSITY_ABOVE = 5_000


def _resolution_of(df: pd.DataFrame, resolution) -> np.ndarray:
    """The size in nm of one position unit along x, y, z: given, or from ``df.attrs``."""
    if resolution is None:
        resolution = df.attrs.get("dataframe_resolution")
    if resolution is None or isinstance(resolution, str):
        raise InvalidInputError(
            "This DataFrame does not say in which unit its positions are. Pass "
            "resolution=[x, y, z] in nm per unit: the table's voxel_resolution (e.g. "
            "[4, 4, 40]) or the desired_resolution you queried with (e.g. [1, 1, 1])."
        )
    resolution = np.asarray(resolution, dtype=float)
    if resolution.shape != (3,):
        raise InvalidInputError(
            f"resolution must have three numbers (x, y, z in nm), got {list(resolution)}."
        )
    return resolution


def positions_um(
    df: pd.DataFrame, column: str = "pt_position", *, resolution: Sequence | None = None
) -> pd.DataFrame:
    """Positions of ``column`` in micrometres, as a DataFrame with columns x, y, z.

    Works on both shapes caveclient returns: one column of ``[x, y, z]`` arrays, or three
    columns ``<column>_x``, ``_y``, ``_z`` (``split_positions=True``). ``resolution`` is
    the size in nm of one position unit; by default it is read from
    ``df.attrs["dataframe_resolution"]``, which caveclient sets on every query result.

    Example::

        >>> df = pd.DataFrame({"pt_position": [[100, 200, 10]]})
        >>> positions_um(df, resolution=[4, 4, 40])
             x    y    z
        0  0.4  0.8  0.4
    """
    split = [f"{column}_{axis}" for axis in "xyz"]
    try:
        if column in df.columns:
            voxels = np.array(df[column].tolist(), dtype=float).reshape(-1, 3)
            if len(voxels) != len(df):
                raise ValueError("not one position per row")
        elif all(c in df.columns for c in split):
            voxels = df[split].to_numpy(dtype=float)
        else:
            voxels = None
    except (ValueError, TypeError):
        raise InvalidInputError(
            f"The positions in {column!r} must be three numbers each ([x, y, z]); some rows "
            "have another length or are not numbers. Query the table again rather than "
            "editing the column."
        ) from None
    if voxels is None:
        position_columns = [c for c in df.columns if "position" in c]
        raise InvalidInputError(
            f"No position column {column!r} (nor {', '.join(split)}) in this DataFrame. "
            f"Its position columns are: {', '.join(position_columns) or 'none'}."
        )
    nm = voxels * _resolution_of(df, resolution)
    return pd.DataFrame(nm / 1000.0, columns=["x", "y", "z"], index=df.index)


def _numbers(series: pd.Series, what: str) -> np.ndarray:
    """A column as floats, or InvalidInputError naming it."""
    try:
        return series.to_numpy(dtype=float)
    except (ValueError, TypeError):
        raise InvalidInputError(
            f"The {what} column {series.name!r} holds values that are not numbers "
            f"(for example {series.iloc[0]!r}). Pass the column as the query returned it."
        ) from None


def _checked_bins(bins) -> int:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise InvalidInputError(f"bins must be a whole number of at least 1, got {bins!r}.")
    return int(bins)


def _axes(ax, title=None, figsize=(6, 4)):
    """``ax``, or the Axes of a new figure; titled if ``title`` is given."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    if title is not None:
        ax.set_title(title)
    return ax


def _groups(df: pd.DataFrame, hue: str | None):
    """(label, row mask) pairs, in sorted label order so colours are reproducible."""
    if hue is None:
        return [(None, np.ones(len(df), dtype=bool))]
    if hue not in df.columns:
        raise InvalidInputError(f"hue={hue!r} is not a column of this DataFrame.")
    labels = sorted(df[hue].dropna().unique(), key=str)
    return [(label, (df[hue] == label).to_numpy()) for label in labels]


def _legend_beside(ax, **kwargs):
    """A legend to the right of the Axes, outside them, so that it hides no data."""
    style = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0}
    return ax.legend(**(style | {"fontsize": "small"} | kwargs))


def _depth_axes(ax):
    """x across and depth (y) downwards, in µm, one µm as long on both axes."""
    ax.set_xlabel("x (µm)")
    ax.set_ylabel(DEPTH_LABEL)
    ax.set_aspect("equal", adjustable="datalim")
    if not ax.yaxis_inverted():
        ax.invert_yaxis()


def plot_positions(
    df: pd.DataFrame,
    column: str = "pt_position",
    *,
    resolution: Sequence | None = None,
    hue: str | None = None,
    kind: str = "auto",
    square_um: float = 20.0,
    what: str = "rows",
    title: str | None = None,
    ax=None,
    **scatter_kwargs,
):
    """Side view of the volume: the rows of ``df`` at their (x, y) in µm, depth downwards.

    ``kind="points"`` draws each row as a dot; ``kind="density"`` counts the rows in
    squares of ``square_um`` µm and colours each square by its count (a colour bar says
    how many ``what`` per square), which keeps its shape where tens of thousands of dots
    would merge into one solid block. ``"auto"`` (the default) draws a density above
    :data:`DENSITY_ABOVE` rows without ``hue``, dots otherwise. ``hue`` names a column
    (for example ``"direction"``) whose values get one colour each, with the legend beside
    the plot; for many rows of several kinds, :func:`plot_positions_by` draws one panel
    per kind instead. Extra keyword arguments go to ``Axes.scatter``. Returns the Axes.

    Example::

        ax = plot_positions(nuclei, what="nuclei")    # 144,120 rows: a density
    """
    if kind not in ("auto", "points", "density"):
        raise InvalidInputError(f"kind must be 'auto', 'points' or 'density', got {kind!r}.")
    if kind == "density" and hue is not None:
        raise InvalidInputError(
            "A density has no colour per group: use plot_positions_by(df, hue) for one panel "
            "per group, or kind='points'."
        )
    if kind == "auto":
        kind = "density" if hue is None and len(df) > DENSITY_ABOVE else "points"
    um = positions_um(df, column, resolution=resolution)
    ax = _axes(ax, title, figsize=(6, 5))
    if kind == "density":
        _density(ax, um, square_um=square_um, what=what)
    else:
        style = {"s": 6, "alpha": 0.7, "linewidths": 0} | scatter_kwargs
        for label, rows in _groups(df, hue):
            ax.scatter(um["x"][rows], um["y"][rows], label=label, **style)
    _depth_axes(ax)
    if hue is not None:
        _legend_beside(ax, title=hue, markerscale=3)
    return ax


def _density(ax, um: pd.DataFrame, *, square_um: float, what: str):
    """Counts of rows per square of ``square_um`` µm, squares without a row left white."""
    if isinstance(square_um, bool) or not isinstance(square_um, (int, float)) or square_um <= 0:
        raise InvalidInputError(f"square_um must be a positive number, got {square_um!r}.")
    x, y = um["x"].to_numpy(), um["y"].to_numpy()
    if not len(x):
        raise InvalidInputError("There are no rows to draw: the DataFrame is empty.")
    x_edges = np.arange(np.floor(x.min()), x.max() + square_um, square_um)
    y_edges = np.arange(np.floor(y.min()), y.max() + square_um, square_um)
    counts, _, _ = np.histogram2d(x, y, bins=[x_edges, y_edges])
    image = ax.pcolormesh(
        x_edges, y_edges, np.ma.masked_equal(counts.T, 0), cmap="viridis", shading="flat"
    )
    bar = ax.figure.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label(f"{what} per {square_um:g} × {square_um:g} µm square")
    return image


def plot_positions_by(
    df: pd.DataFrame,
    hue: str,
    column: str = "pt_position",
    *,
    resolution: Sequence | None = None,
    title: str | None = None,
    **scatter_kwargs,
):
    """One side view per value of ``hue``, side by side: that group's rows in colour over
    every row in light grey, each panel titled with its value and its number of rows.

    Where several groups would cover each other in one scatter plot, small panels show
    each group's spread and where it sits among the rest, with no legend over the data.
    Returns the list of Axes, one per group in sorted order.

    Example::

        axes = plot_positions_by(slab, "classification_system")
    """
    groups = _groups(df, hue)
    if not groups:
        raise InvalidInputError(f"The column {hue!r} holds no value to make a panel of.")
    um = positions_um(df, column, resolution=resolution)
    # panels as tall as the data's shape needs (equal µm on both axes), plus their labels
    spread = np.ptp(um[["x", "y"]].to_numpy(), axis=0) if len(um) else np.ones(2)
    height = float(np.clip(3.4 * spread[1] / max(spread[0], 1e-9) + 1.4, 2.5, 8.0))
    fig, axes = plt.subplots(
        1,
        len(groups),
        figsize=(3.4 * len(groups) + 0.6, height),
        layout="constrained",
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    axes = list(axes[0])
    style = {"s": 3, "alpha": 0.8, "linewidths": 0} | scatter_kwargs
    for i, (ax, (label, rows)) in enumerate(zip(axes, groups)):
        ax.scatter(um["x"], um["y"], s=1, color="0.85", linewidths=0, label="all rows")
        ax.scatter(um["x"][rows], um["y"][rows], color=f"C{i}", label=str(label), **style)
        ax.set_title(f"{label} ({int(rows.sum()):,})", fontsize="medium")
        ax.set_xlabel("x (µm)")
        ax.set_aspect("equal", adjustable="box")  # shared axes: the box, not the limits
    axes[0].set_ylabel(DEPTH_LABEL)
    if not axes[0].yaxis_inverted():
        axes[0].invert_yaxis()  # shared: every panel turns
    if title is not None:
        fig.suptitle(title)
    return axes


def plot_depth_profile(
    df: pd.DataFrame,
    column: str = "pt_position",
    *,
    resolution: Sequence | None = None,
    hue: str | None = None,
    bins: int = 40,
    title: str | None = None,
    ax=None,
):
    """How many rows of ``df`` lie at each depth: a histogram along y, in µm.

    Depth runs down the vertical axis, like a slice of cortex. With ``hue``, one outline
    per value of that column. Returns the Axes.

    Example::

        ax = plot_depth_profile(nuclei)
    """
    bins = _checked_bins(bins)
    y = positions_um(df, column, resolution=resolution)["y"].to_numpy()
    ax = _axes(ax, title, figsize=(4, 5))
    edges = np.histogram_bin_edges(y, bins=bins) if len(y) else bins
    for label, rows in _groups(df, hue):
        ax.hist(
            y[rows],
            bins=edges,
            orientation="horizontal",
            histtype="step" if hue is not None else "bar",
            label=label,
        )
    ax.set_xlabel("count")
    ax.set_ylabel(DEPTH_LABEL)
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    if hue is not None:
        ax.legend(title=hue, fontsize="small")
    return ax


def _reverse_key(text: str):
    """Sort key that orders strings in reverse alphabetical order."""
    return [-ord(ch) for ch in text] + [0]


def plot_cell_type_counts(
    df: pd.DataFrame,
    column: str = "cell_type",
    *,
    class_column: str | None = "classification_system",
    title: str | None = None,
    ax=None,
):
    """Horizontal bars: how many rows of ``df`` have each value of ``column``.

    If ``class_column`` is a column of ``df`` (by default the excitatory / inhibitory /
    non-neuronal classification of the cell-type tables), bars are coloured by class.
    Returns the Axes.

    Example::

        ax = plot_cell_type_counts(cell_types)
    """
    if column not in df.columns:
        raise InvalidInputError(f"{column!r} is not a column of this DataFrame.")
    # barh draws the first bar at the bottom: ascending counts put the largest on top,
    # and ties read alphabetically from top to bottom.
    counts = df[column].value_counts()
    order = sorted(counts.index, key=lambda t: (counts[t], _reverse_key(str(t))))
    counts = counts[order]
    ax = _axes(ax, title, figsize=(6, 0.3 * len(counts) + 1.2))
    if class_column is not None and class_column in df.columns:
        class_of = df.groupby(column)[class_column].agg(lambda s: s.mode().iat[0])
        classes = sorted(class_of.unique(), key=str)
        colour = {c: f"C{i}" for i, c in enumerate(classes)}
        bars = ax.barh(
            counts.index.astype(str),
            counts.to_numpy(),
            color=[colour[class_of[t]] for t in counts.index],
        )
        handles = [plt.Rectangle((0, 0), 1, 1, color=colour[c]) for c in classes]
        ax.legend(handles, classes, title=class_column, fontsize="small", loc="lower right")
    else:
        bars = ax.barh(counts.index.astype(str), counts.to_numpy())
    ax.bar_label(bars, padding=2, fontsize="small")
    ax.set_xlabel("number of rows")
    ax.set_ylabel(column)
    ax.margins(x=0.12)
    return ax


def plot_synapses_per_partner(
    counts: pd.DataFrame, *, column: str = "syn_count", title: str | None = None, ax=None
):
    """Histogram of how many synapses each partner receives (or sends), one bar per count.

    ``counts`` is a frame with one row per connection, such as the result of
    :func:`microns_helpers.synapses.connection_counts`. The count axis is logarithmic,
    because most partners get one synapse and a few get many. Beyond 60 synapses per
    partner the bars widen geometrically (and the x axis turns logarithmic) instead of one
    bar per whole number. Returns the Axes.

    Example::

        ax = plot_synapses_per_partner(connection_counts(outputs))
    """
    if column not in counts.columns:
        raise InvalidInputError(
            f"{column!r} is not a column of this DataFrame. Pass the result of "
            "connection_counts(...) or synapse_partners(...)."
        )
    values = _numbers(counts[column], "count")
    ax = _axes(ax, title)
    top = int(values.max()) if len(values) else 1
    if top <= MAX_INTEGER_BARS:
        ax.hist(values, bins=np.arange(0.5, top + 1.5), edgecolor="white")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:  # one bar per integer would be thousands of bars: bins growing geometrically
        edges = np.unique(np.round(np.geomspace(1, top + 1, MAX_INTEGER_BARS))) - 0.5
        ax.hist(values, bins=edges, edgecolor="white")
        ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("synapses per partner")
    ax.set_ylabel("number of partners")
    return ax


def plot_synapse_sizes(
    synapses: pd.DataFrame,
    *,
    column: str = "size",
    bins: int = 40,
    title: str | None = None,
    ax=None,
):
    """Histogram of synapse sizes on a logarithmic axis.

    In ``synapses_pni_2``, ``size`` counts the voxels of the synaptic cleft (a voxel is
    4 x 4 x 40 nm). Sizes of zero or less cannot be drawn on a log axis and are left out.
    Returns the Axes.

    Example::

        ax = plot_synapse_sizes(outputs)
    """
    if column not in synapses.columns:
        raise InvalidInputError(f"{column!r} is not a column of this DataFrame.")
    bins = _checked_bins(bins)
    sizes = _numbers(synapses[column], "size")
    sizes = sizes[sizes > 0]
    ax = _axes(ax, title)
    if len(sizes):
        edges = (
            np.geomspace(sizes.min(), sizes.max(), bins + 1) if sizes.max() > sizes.min() else bins
        )
        ax.hist(sizes, bins=edges, edgecolor="white")
    ax.set_xscale("log")
    ax.set_xlabel("synapse size (voxels)")
    ax.set_ylabel("number of synapses")
    return ax


def plot_version_timeline(
    versions: pd.DataFrame, *, long_term: Sequence = (), title: str | None = None, ax=None
):
    """The materialization versions on a time line: when each was frozen, and its state.

    ``versions`` has one row per version with ``version``, ``time_stamp`` and ``valid``,
    such as ``pd.DataFrame(client.materialize.get_versions_metadata(expired=True))``.
    Served versions are filled dots, expired ones open circles; the versions in
    ``long_term`` are marked with a star and labelled "long-term". Returns the Axes.

    Example::

        ax = plot_version_timeline(versions, long_term=(117, 943, 1300))
    """
    missing = [c for c in ("version", "time_stamp", "valid") if c not in versions.columns]
    if missing:
        raise InvalidInputError(
            f"The versions table has no column {', '.join(map(repr, missing))}. Pass "
            "pd.DataFrame(client.materialize.get_versions_metadata(expired=True))."
        )
    table = versions.sort_values("time_stamp")
    when = pd.to_datetime(table["time_stamp"], utc=True).dt.tz_localize(None)
    valid = table["valid"].map(lambda v: v is True or str(v).lower() in ("t", "true"))
    lasting = table["version"].isin(list(long_term))
    ax = _axes(ax, title, figsize=(9, 2.8))
    ax.axhline(0, color="0.6", linewidth=1, zorder=0)
    kinds = (
        (valid & ~lasting, dict(marker="o", color="C0", label="served")),
        (~valid, dict(marker="o", facecolors="white", edgecolors="0.4", label="expired")),
        (lasting, dict(marker="*", s=220, color="C1", label="long-term (kept)")),
    )
    for rows, style in kinds:
        if rows.any():
            ax.scatter(
                when[rows], np.zeros(int(rows.sum())), s=style.pop("s", 70), zorder=3, **style
            )
    for k, (moment, version) in enumerate(zip(when, table["version"])):
        ax.annotate(
            str(version),
            (moment, 0),
            xytext=(0, 12 if k % 2 == 0 else -20),
            textcoords="offset points",
            ha="center",
            fontsize="small",
        )
    ax.set_yticks([])
    ax.set_ylim(-1, 1)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("time stamp of the version (when its snapshot was frozen)")
    ax.legend(loc="upper left", fontsize="small", ncols=3, frameon=False)
    return ax


def plot_connection_matrix(
    table: pd.DataFrame, *, title: str | None = None, ax=None, label: str | None = None
):
    """A heat map of a connection table: presynaptic types down, postsynaptic across.

    ``table`` comes from :func:`microns_helpers.connectivity.connection_table` (counts, or
    shares with ``normalize="pre"``). Each cell is written in its square too, so the map
    reads without colour. Returns the Axes.

    Example::

        ax = plot_connection_matrix(connection_table(typed_synapses, normalize="pre"))
    """
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise InvalidInputError(
            "The connection table is empty: no synapse had a cell type at both ends. "
            "Check that the cell-type table covers the synapses' neurons."
        )
    values = table.to_numpy(dtype=float)
    shares = values.max() <= 1.0
    ax = _axes(ax, title, figsize=(0.55 * table.shape[1] + 2.5, 0.45 * table.shape[0] + 1.8))
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns], rotation=60, ha="right")
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
    ax.set_xlabel(str(table.columns.name or "postsynaptic"))
    ax.set_ylabel(str(table.index.name or "presynaptic"))
    middle = (np.nanmax(values) + np.nanmin(values)) / 2
    for (row, col), value in np.ndenumerate(values):
        text = f"{value:.2f}" if shares else f"{value:.0f}"
        colour = "black" if value > middle else "white"
        ax.text(col, row, text, ha="center", va="center", fontsize="x-small", color=colour)
    bar = ax.figure.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label(label or ("share of the row's synapses" if shares else "synapses"))
    return ax


def depth_um(df: pd.DataFrame, column: str = "pt_position", *, resolution: Sequence | None = None):
    """Depth below the pia, in µm, of each position: the MICrONs team's standard transform.

    ``standard_transform.minnie_transform`` rotates the volume so that its y axis follows the
    cortical depth and puts 0 at the pia; this returns that y for each row of ``df``
    (positions in the units ``resolution`` or ``df.attrs`` says). Returns a Series.

    Example::

        nuclei["depth_um"] = depth_um(nuclei)
    """
    from standard_transform import minnie_transform

    nm = positions_um(df, column, resolution=resolution).to_numpy() * 1000.0
    depth = minnie_transform(resolution="nm").apply_project("y", nm)
    return pd.Series(np.asarray(depth, dtype=float), index=df.index, name="depth_um")


def plot_memory_held(held: pd.DataFrame, *, title: str | None = None, ax=None):
    """Lines: the memory a pass holds at once (MB) against the rows it reads, one per way.

    ``held`` has the rows read as its index and one column of bytes per way of reading,
    for example ``"pandas, whole table at once"`` and ``"Dask, one partition at a time"``
    (sizes from ``DataFrame.memory_usage(deep=True)``, as the bulk chapter measures them).
    Returns the Axes.

    Example::

        ax = plot_memory_held(pd.DataFrame({"pandas": [1e6, 2e6]}, index=[10_000, 20_000]))
    """
    if not isinstance(held, pd.DataFrame) or held.empty:
        raise InvalidInputError(
            "plot_memory_held needs a DataFrame: rows read as the index, one column of "
            "bytes per way of reading."
        )
    rows = _numbers(pd.Series(held.index, name="rows read"), "rows read")
    ax = _axes(ax, title)
    for i, column in enumerate(held.columns):
        megabytes = _numbers(held[column], str(column)) / 1e6
        ax.plot(rows, megabytes, marker="o", color=f"C{i}", label=str(column))
    ax.set_xlabel("rows read")
    ax.set_ylabel("rows held in memory at once (MB)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small", loc="upper left")
    return ax


def plot_files_read(rows_per_file: pd.Series, read, *, title: str | None = None, ax=None):
    """Bars: the rows of each file of a partitioned folder, the files a filter reads in colour.

    ``rows_per_file`` is indexed by file (or partition) name; ``read`` names the files the
    reader opened, the others are drawn grey as skipped. Returns the Axes.

    Example::

        ax = plot_files_read(pd.Series([10, 12], index=["part=0", "part=1"]), {"part=1"})
    """
    if not isinstance(rows_per_file, pd.Series) or rows_per_file.empty:
        raise InvalidInputError("plot_files_read needs a Series of rows, indexed by file.")
    read = set(read)
    unknown = read - set(rows_per_file.index)
    if unknown:
        raise InvalidInputError(f"read names files that rows_per_file lacks: {sorted(unknown)}.")
    rows = _numbers(rows_per_file, "rows per file")
    names = [str(name) for name in rows_per_file.index]
    was_read = [name in read for name in rows_per_file.index]
    ax = _axes(ax, title)
    bars = ax.bar(names, rows, color=["C0" if r else "lightgrey" for r in was_read])
    ax.bar_label(bars, labels=["read" if r else "skipped" for r in was_read], fontsize="small")
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel("file (partition)")
    ax.set_ylabel("rows in the file")
    ax.margins(y=0.12)
    return ax


# Colours of the skeleton figure: Okabe-Ito, told apart with every common colour vision.
COMPARTMENT_COLOURS = {2: "#E69F00", 3: "#0072B2"}  # axon orange, dendrite blue
SYNAPSE_STYLES = {
    "inputs": {"color": "#009E73", "marker": "o", "s": 6, "alpha": 0.6, "edgecolors": "none"},
    "outputs": {"color": "#CC79A7", "marker": "^", "s": 16, "edgecolors": "none"},
}


def plot_skeleton(
    skeleton: dict,
    *,
    inputs_nm=None,
    outputs_nm=None,
    axes=None,
    title: str | None = None,
):
    """A skeleton seen from the front (x–y, y growing downwards as depth) and from above (x–z).

    ``skeleton`` is a skeleton dict (:func:`microns_helpers.skeletons.as_dict`): each edge is
    drawn in its child's compartment (axon orange, dendrite blue, grey without labels), the
    soma is a black star. ``inputs_nm`` and ``outputs_nm`` are synapse positions in nm,
    ``(n, 3)``, drawn as green dots and pink triangles under the branches they sit on. Draws
    on ``axes`` (two Axes) or a new figure; returns the two Axes.

    Example::

        axes = plot_skeleton(sk, inputs_nm=inputs_xyz, outputs_nm=outputs_xyz)
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    from .skeletons import as_dict

    sk = as_dict(skeleton)
    um = sk["vertices"] / 1000.0
    child, parent = sk["edges"][:, 0], sk["edges"][:, 1]
    compartment = sk.get("compartment")
    colours = (
        [COMPARTMENT_COLOURS.get(int(c), "grey") for c in compartment[child]]
        if compartment is not None
        else "grey"
    )
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 5), layout="constrained")
    front, top = axes
    points = {}
    for name, xyz in (("inputs", inputs_nm), ("outputs", outputs_nm)):
        if xyz is not None:
            xyz = np.asarray(xyz, dtype=float).reshape(-1, 3)
            points[name] = xyz / 1000.0
    for ax, (i, j) in ((front, (0, 1)), (top, (0, 2))):
        segments = np.stack([um[child][:, [i, j]], um[parent][:, [i, j]]], axis=1)
        # synapses under the arbor: a halo around the branch they sit on, which stays visible
        ax.add_collection(LineCollection(segments, colors=colours, linewidths=1.0, zorder=2))
        for name, xyz in points.items():
            ax.scatter(xyz[:, i], xyz[:, j], label=name, zorder=1, **SYNAPSE_STYLES[name])
        soma = um[sk["root"]]
        ax.scatter([soma[i]], [soma[j]], marker="*", s=160, color="black", zorder=4)
        ax.set_aspect("equal")
        ax.autoscale_view()
        ax.set_xlabel("x (µm)")
    front.set_ylabel(DEPTH_LABEL)
    front.invert_yaxis()
    top.set_ylabel("z (µm)")
    front.set_title("front view (x–y)")
    top.set_title("from above (x–z)")
    handles = [
        Line2D([], [], color=COMPARTMENT_COLOURS[2], label="axon"),
        Line2D([], [], color=COMPARTMENT_COLOURS[3], label="dendrite"),
        Line2D([], [], marker="*", color="black", linestyle="none", markersize=10, label="soma"),
    ]
    handles += [
        Line2D([], [], linestyle="none", marker=style["marker"], color=style["color"], label=name)
        for name, style in SYNAPSE_STYLES.items()
        if name in points
    ]
    top.legend(handles=handles, loc="best", fontsize="small")
    if title is not None:
        front.figure.suptitle(title)
    return axes


def plot_orientation_differences(
    inputs_deg,
    possible_deg,
    *,
    inputs_label: str = "its inputs",
    possible_label: str = "possible partners",
    bin_deg: float = 15.0,
    title: str | None = None,
    ax=None,
):
    """Two densities of orientation differences (0 to 90°): a neuron's inputs as bars,
    the possible partners as an outline, in bins of ``bin_deg``; the legend beside the plot.

    Densities, so that a handful of inputs and thousands of possible partners share one
    axis. Returns the Axes.

    Example::

        ax = plot_orientation_differences(partners["delta_ori"], possible)
    """
    inputs = _numbers(pd.Series(inputs_deg, name="inputs"), "orientation difference")
    possible = _numbers(pd.Series(possible_deg, name="possible"), "orientation difference")
    if np.nanmax(np.concatenate([inputs, possible, [0.0]])) > 90:
        raise InvalidInputError(
            "Orientation differences lie between 0 and 90 degrees; some values are larger. "
            "Compute them with tuning.orientation_difference(..., period=180)."
        )
    ax = _axes(ax, title, figsize=(7, 3.5))
    edges = np.arange(0, 90 + bin_deg, bin_deg)
    ax.hist(inputs, bins=edges, density=True, alpha=0.6, color="C0", label=inputs_label)
    ax.hist(
        possible,
        bins=edges,
        density=True,
        histtype="step",
        linewidth=2,
        color="black",
        label=possible_label,
    )
    ax.set_xlim(0, 90)
    ax.set_xlabel("|difference in preferred orientation| (degrees)")
    ax.set_ylabel("density")
    _legend_beside(ax)
    return ax


def _box(ax, xy, text, *, width=2.6, height=0.9, colour="#deebf7", edge="#3182bd", size=9):
    """A rounded box with centred text, centred at ``xy``; returns its centre."""
    from matplotlib.patches import FancyBboxPatch

    x, y = xy
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0.05,rounding_size=0.15",
            facecolor=colour,
            edgecolor=edge,
            linewidth=1.2,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=size, wrap=True)
    return xy


def _arrow(ax, start, end, text=None, *, style="-|>", colour="0.25", offset=(0, 0.12)):
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops=dict(arrowstyle=style, color=colour, linewidth=1.2, shrinkA=0, shrinkB=0),
    )
    if text:
        middle = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
        ax.text(*middle, text, ha="center", va="bottom", fontsize=7.5, color="0.2")


#: The CAVE services a caveclient request reaches, where they run, and what they answer.
#: The global server is global.daf-apis.com; the local one is the datastack's local_server.
CAVE_SERVICES = {
    "global": (
        ("info", "client.info", "where everything is:\nthe datastack info"),
        ("auth", "client.auth", "who you are:\nyour token"),
        ("state server", "client.state", "stored Neuroglancer\nstates"),
    ),
    "local": (
        ("materialization", "client.materialize", "tables at a version:\nrows, synapses"),
        ("chunkedgraph", "client.chunkedgraph", "the segmentation now:\nroot ids, lineage"),
        ("L2 cache", "client.l2cache", "features of level-2\npieces of a cell"),
        ("skeleton service", "client.skeleton", "skeletons, built from\nthe two above"),
    ),
}


def draw_cave_services(*, ax=None, title: str | None = None):
    """A diagram of the CAVE services behind caveclient: your code and its ``CAVEclient`` on
    the left; the global server's info, auth and state services; the datastack's local
    server with materialization, chunkedgraph, L2 cache and skeleton service. Arrows show
    the order: the datastack info first (it names the local server), the token with every
    request, then the service a call needs. Returns the Axes.

    Example::

        ax = draw_cave_services()
    """
    from matplotlib.patches import FancyBboxPatch

    ax = _axes(ax, title, figsize=(10, 5.6))
    _box(
        ax,
        (1.4, 2.0),
        "your code\nCAVEclient(...)",
        width=2.2,
        height=1.2,
        colour="#fee6ce",
        edge="#e6550d",
        size=10,
    )
    ax.text(
        5.6,
        6.3,
        "global server\n(global.daf-apis.com)",
        ha="center",
        va="center",
        fontsize=9,
        weight="bold",
    )
    labels = {"info": "1. which servers?", "auth": "2. the token, every request"}
    for i, (name, attribute, answer) in enumerate(CAVE_SERVICES["global"]):
        y = 5.1 - 1.45 * i
        _box(ax, (5.6, y), f"{name}\n{attribute}\n{answer}", height=1.2, size=8)
        _arrow(ax, (2.5, 2.3 + 0.2 * (1 - i)), (4.3, y), labels.get(name), offset=(-0.6, 0.3))
    ax.add_patch(
        FancyBboxPatch(
            (8.35, -0.45),
            3.1,
            6.2,
            boxstyle="round,pad=0.05",
            facecolor="none",
            edgecolor="#31a354",
            linestyle="--",
        )
    )
    ax.text(
        9.9,
        6.3,
        "local server of the datastack\n(its info's local_server)",
        ha="center",
        va="center",
        fontsize=9,
        weight="bold",
    )
    for i, (name, attribute, answer) in enumerate(CAVE_SERVICES["local"]):
        _box(
            ax,
            (9.9, 5.0 - 1.45 * i),
            f"{name}\n{attribute}\n{answer}",
            height=1.2,
            colour="#e5f5e0",
            edge="#31a354",
            size=8,
        )
    _arrow(ax, (2.5, 1.5), (8.35, 0.9), "3. the call, to the service it needs", offset=(0, 0.15))
    # the skeleton service builds on the chunkedgraph and the L2 cache
    _arrow(ax, (11.25, 0.15), (11.25, 4.4), colour="#31a354")
    ax.text(11.35, 2.1, "reads", fontsize=7.5, color="#31a354", rotation=90, va="center")
    ax.set_xlim(0, 11.8)
    ax.set_ylim(-0.7, 6.8)
    ax.set_axis_off()
    return ax


def draw_root_lineage(*, ax=None, title: str | None = None):
    """A diagram of a root id's lineage: a time line with the ids one cell has had. Each
    proofreading edit (a merge of two pieces, a split off) makes new root ids and retires
    the old ones, which stay as past roots; the latest root is the one the segmentation
    has now, and a materialization version froze the ids of its moment. Returns the Axes.

    Example::

        ax = draw_root_lineage()
    """
    ax = _axes(ax, title, figsize=(10, 3.8))
    past = dict(colour="#f0f0f0", edge="0.45")
    latest = dict(colour="#e5f5e0", edge="#31a354")
    a = _box(ax, (1.4, 2.6), "root A\n(the cell, cut short)", width=2.2, **past)
    b = _box(ax, (1.4, 0.8), "root B\n(a piece of its axon)", width=2.2, **past)
    c = _box(ax, (5.0, 1.7), "root C\n= A + B", width=2.0, **past)
    d = _box(ax, (8.6, 2.6), "root D\nthe cell, proofread", width=2.2, **latest)
    e = _box(ax, (8.6, 0.8), "root E\nanother cell's branch", width=2.2, **latest)
    _arrow(ax, (a[0] + 1.1, a[1]), (c[0] - 1.0, c[1] + 0.25), "edit 1: merge", offset=(0, 0.15))
    _arrow(ax, (b[0] + 1.1, b[1]), (c[0] - 1.0, c[1] - 0.25))
    _arrow(ax, (c[0] + 1.0, c[1] + 0.25), (d[0] - 1.1, d[1]), "edit 2: split", offset=(0, 0.15))
    _arrow(ax, (c[0] + 1.0, c[1] - 0.25), (e[0] - 1.1, e[1]))
    ax.annotate(
        "", xy=(10.2, -0.35), xytext=(0.2, -0.35), arrowprops=dict(arrowstyle="-|>", color="0.4")
    )
    ax.text(10.2, -0.6, "time", ha="right", va="top", fontsize=8, color="0.3")
    ax.axvline(2.75, ymin=0.08, ymax=0.97, color="#e6550d", linestyle="--", linewidth=1)
    ax.text(
        2.8, 3.45, "a version frozen here\nnames A and B", fontsize=7.5, color="#e6550d", va="top"
    )
    ax.text(
        3.2,
        0.05,
        "past roots A, B, C (each retired by an edit)",
        ha="center",
        fontsize=8,
        color="0.3",
    )
    ax.text(
        8.6,
        0.05,
        "latest roots D, E (the segmentation now)",
        ha="center",
        fontsize=8,
        color="#31a354",
    )
    ax.set_xlim(0, 10.4)
    ax.set_ylim(-0.9, 3.6)
    ax.set_axis_off()
    return ax


#: Colours of the viewer drawing's layer tabs, by layer type (Okabe-Ito).
LAYER_TYPE_COLOURS = {
    "image": "#999999",
    "segmentation": "#56B4E9",
    "segmentation_with_graph": "#56B4E9",
    "annotation": "#F0E442",
}


def _source_host(source) -> str:
    """The protocol and host of a layer's source: 'precomputed://bossdb-open-data...'."""
    url = source.get("url") if isinstance(source, dict) else source
    if isinstance(url, list):
        url = url[0].get("url") if isinstance(url[0], dict) else url[0]
    url = str(url or "")
    kind, _, rest = url.partition("://")
    host = rest.replace("middleauth+", "").split("://")[-1].split("/")[0]
    return f"{kind}://{host}" if host else kind


def draw_viewer_state(state: dict, *, title: str | None = None):
    """A drawing of what a Neuroglancer state shows, made offline from its JSON.

    Above, the viewer's layer bar: one tab per layer with its name, type and the host of its
    source. Below, the state's annotation points seen from the front (x across, depth
    downwards, in µm, as the viewer's 3-D panel shows them from that side), each layer in
    its colour, a cross at the state's position; beside them, the segments the segmentation
    layers select, with their colours. The EM image and the cells' meshes are not drawn:
    they stream from the data servers. Returns the Figure.

    Example::

        fig = draw_viewer_state(client.state.get_state_json(state_id))
    """
    if not isinstance(state, dict) or not isinstance(state.get("layers"), list):
        raise InvalidInputError(
            "draw_viewer_state needs a Neuroglancer state: a dict with a 'layers' list, such "
            "as client.state.get_state_json(state_id) or links.read_link(url) returns."
        )
    layers = state["layers"]
    dimensions = state.get("dimensions") or {}
    try:
        nm = np.array([float(dimensions[a][0]) * 1e9 for a in "xyz"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInputError(
            "The state has no 'dimensions' for x, y and z: without them its positions have no "
            "unit. Read the state as the server stored it."
        ) from None
    fig = plt.figure(figsize=(10, 6), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 5], width_ratios=[3, 1])
    bar, view, segments = (
        fig.add_subplot(grid[0, :]),
        fig.add_subplot(grid[1, 0]),
        fig.add_subplot(grid[1, 1]),
    )
    width = 1.0 / max(len(layers), 1)
    for i, layer in enumerate(layers):
        kind = str(layer.get("type", "?"))
        colour = LAYER_TYPE_COLOURS.get(kind, "white")
        bar.add_patch(
            plt.Rectangle(
                (i * width + 0.005, 0.08),
                width - 0.01,
                0.84,
                facecolor=colour,
                edgecolor="0.2",
                alpha=0.45,
            )
        )
        bar.text(
            i * width + width / 2,
            0.5,
            f"{layer.get('name', '?')} ({kind})\n{_source_host(layer.get('source', ''))}",
            ha="center",
            va="center",
            fontsize=7,
        )
    bar.set_xlim(0, 1)
    bar.set_ylim(0, 1)
    bar.set_axis_off()
    bar.set_title("layers (the viewer's layer bar)", fontsize="medium", loc="left")

    view.set_facecolor("0.12")
    for layer in layers:
        if layer.get("type") != "annotation":
            continue
        points = [a["point"] for a in layer.get("annotations", []) if "point" in a]
        if not points:
            continue
        um = np.asarray(points, dtype=float).reshape(-1, 3) * _layer_nm(layer, nm) / 1000.0
        view.scatter(
            um[:, 0],
            um[:, 1],
            s=14,
            color=layer.get("annotationColor", "#ffff00"),
            edgecolors="none",
            label=f"{layer.get('name')} ({len(points)})",
            zorder=3,
        )
    if "position" in state:
        here = np.asarray(state["position"], dtype=float) * nm / 1000.0
        view.scatter(
            [here[0]],
            [here[1]],
            marker="+",
            s=300,
            color="white",
            linewidths=1.5,
            label="position",
            zorder=2,
        )
    _depth_axes(view)
    view.set_title("annotation points, seen from the front", fontsize="medium")
    if view.collections:
        _legend_beside(view, facecolor="0.9")

    selected = [
        (str(s), layer.get("segmentColors", {}).get(str(s), "0.6"))
        for layer in layers
        if str(layer.get("type", "")).startswith("segmentation")
        for s in layer.get("segments", [])
    ]
    for k, (segment, colour) in enumerate(selected[:12]):
        segments.add_patch(
            plt.Rectangle((0.0, 0.9 - 0.075 * k), 0.08, 0.05, facecolor=colour, edgecolor="0.3")
        )
        segments.text(0.12, 0.925 - 0.075 * k, segment, va="center", fontsize=8, family="monospace")
    if len(selected) > 12:
        segments.text(0.12, 0.9 - 0.075 * 12, f"... {len(selected) - 12} more", fontsize=8)
    segments.set_xlim(0, 1)
    segments.set_ylim(0, 1)
    segments.set_axis_off()
    segments.set_title(f"segments shown ({len(selected)})", fontsize="medium", loc="left")
    if title is not None:
        fig.suptitle(title)
    return fig


def _layer_nm(layer: dict, default_nm: np.ndarray) -> np.ndarray:
    """The nm per unit of an annotation layer's points: its own transform's, or the state's."""
    source = layer.get("source")
    if isinstance(source, list):
        source = source[0] if source else None
    dims = (
        (source or {}).get("transform", {}).get("outputDimensions")
        if isinstance(source, dict)
        else None
    )
    if not dims:
        return default_nm
    return np.array([float(dims[a][0]) * 1e9 for a in "xyz"])
