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


def plot_positions(
    df: pd.DataFrame,
    column: str = "pt_position",
    *,
    resolution: Sequence | None = None,
    hue: str | None = None,
    title: str | None = None,
    ax=None,
    **scatter_kwargs,
):
    """Side view of the volume: each row of ``df`` as a dot at (x, y) in µm.

    ``hue`` names a column (for example ``"cell_type"``) whose values get one colour each.
    Extra keyword arguments go to ``Axes.scatter``. Returns the Axes.

    Example::

        ax = plot_positions(nuclei, hue="classification_system")
    """
    um = positions_um(df, column, resolution=resolution)
    ax = _axes(ax, title, figsize=(6, 5))
    style = {"s": 6, "alpha": 0.7, "linewidths": 0} | scatter_kwargs
    for label, rows in _groups(df, hue):
        ax.scatter(um["x"][rows], um["y"][rows], label=label, **style)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel(DEPTH_LABEL)
    ax.set_aspect("equal", adjustable="datalim")
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    if hue is not None:
        ax.legend(title=hue, markerscale=3, fontsize="small", loc="best")
    return ax


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
