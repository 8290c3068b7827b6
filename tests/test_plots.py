"""Tests of microns_helpers.plots: what a reader of the figure would see."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from microns_helpers import plots  # noqa: E402
from microns_helpers.errors import InvalidInputError  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def nuclei():
    """Five nuclei in 4 x 4 x 40 nm voxels, as query_table returns them (attrs included)."""
    df = pd.DataFrame(
        {
            "pt_position": [
                np.array([250_000, 100_000, 20_000]),
                np.array([250_000, 150_000, 20_000]),
                np.array([260_000, 200_000, 21_000]),
                np.array([270_000, 250_000, 22_000]),
                np.array([280_000, 250_000, 23_000]),
            ],
            "cell_type": ["23P", "23P", "BC", "4P", "astrocyte"],
            "classification_system": [
                "excitatory_neuron",
                "excitatory_neuron",
                "inhibitory_neuron",
                "excitatory_neuron",
                "nonneuron",
            ],
        }
    )
    df.attrs["dataframe_resolution"] = [4.0, 4.0, 40.0]
    return df


def test_positions_um_converts_voxels_with_the_resolution_in_attrs(nuclei):
    um = plots.positions_um(nuclei)
    assert um.loc[0].tolist() == pytest.approx([1000.0, 400.0, 800.0])


def test_positions_um_reads_split_columns(nuclei):
    split = pd.DataFrame(
        nuclei["pt_position"].tolist(), columns=["pt_position_x", "pt_position_y", "pt_position_z"]
    )
    um = plots.positions_um(split, resolution=[1, 1, 1])
    assert um.loc[0].tolist() == pytest.approx([250.0, 100.0, 20.0])


def test_positions_um_asks_for_a_resolution_when_it_cannot_know(nuclei):
    nuclei.attrs = {}
    with pytest.raises(InvalidInputError, match="resolution="):
        plots.positions_um(nuclei)


def test_positions_um_lists_the_position_columns_there_are(nuclei):
    with pytest.raises(InvalidInputError, match="Its position columns are: pt_position"):
        plots.positions_um(nuclei, "ctr_pt_position")


def test_plot_positions_draws_every_row_in_um_with_depth_downwards(nuclei):
    ax = plots.plot_positions(nuclei)
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    assert len(points) == 5
    assert points[0].tolist() == pytest.approx([1000.0, 400.0])
    assert "µm" in ax.get_xlabel() and "µm" in ax.get_ylabel()
    assert ax.yaxis_inverted()


def test_plot_positions_colours_by_a_column_with_a_sorted_legend(nuclei):
    ax = plots.plot_positions(nuclei, hue="classification_system")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["excitatory_neuron", "inhibitory_neuron", "nonneuron"]
    assert [len(c.get_offsets()) for c in ax.collections] == [3, 1, 1]


def test_every_plot_takes_a_title(nuclei):
    counts = pd.DataFrame({"syn_count": [1, 2], "size": [10, 20]})
    axes = [
        plots.plot_positions(nuclei, title="a"),
        plots.plot_depth_profile(nuclei, title="a"),
        plots.plot_cell_type_counts(nuclei, title="a"),
        plots.plot_synapses_per_partner(counts, title="a"),
        plots.plot_synapse_sizes(counts, title="a"),
    ]
    assert [ax.get_title() for ax in axes] == ["a"] * 5


def test_plot_positions_draws_on_the_axes_it_is_given(nuclei):
    fig, (left, right) = plt.subplots(1, 2)
    assert plots.plot_positions(nuclei, ax=right) is right
    assert not left.collections


def test_plot_depth_profile_counts_every_row(nuclei):
    ax = plots.plot_depth_profile(nuclei, bins=4)
    # a horizontal histogram: bar widths are counts; y from 400 to 1000 µm in 4 bins
    assert [bar.get_width() for bar in ax.patches] == [1, 1, 1, 2]
    assert ax.get_xlabel() == "count"
    assert "µm" in ax.get_ylabel() and ax.yaxis_inverted()


def test_plot_depth_profile_draws_one_outline_per_hue(nuclei):
    ax = plots.plot_depth_profile(nuclei, hue="classification_system")
    assert len(ax.patches) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()][0] == "excitatory_neuron"


def test_plot_cell_type_counts_has_the_largest_bar_on_top(nuclei):
    ax = plots.plot_cell_type_counts(nuclei)
    bars = ax.containers[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    widths = [bar.get_width() for bar in bars]
    assert labels[-1] == "23P" and widths[-1] == 2
    assert sorted(widths) == widths
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["excitatory_neuron", "inhibitory_neuron", "nonneuron"]
    # bars of one class share a colour
    colour = dict(zip(labels, (bar.get_facecolor() for bar in bars)))
    assert colour["23P"] == colour["4P"] != colour["BC"]


def test_plot_cell_type_counts_needs_the_column(nuclei):
    with pytest.raises(InvalidInputError, match="'subclass'"):
        plots.plot_cell_type_counts(nuclei, "subclass")


def test_plot_synapses_per_partner_has_one_bar_per_count():
    counts = pd.DataFrame({"syn_count": [5, 2, 2, 1, 1, 1]})
    ax = plots.plot_synapses_per_partner(counts)
    heights = [p.get_height() for p in ax.patches]
    assert heights == [3, 2, 0, 0, 1]  # counts 1..5
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "synapses per partner"
    ax.figure.canvas.draw()
    assert all(float(t.get_text()).is_integer() for t in ax.get_xticklabels() if t.get_text())


def test_plot_synapse_sizes_leaves_out_sizes_a_log_axis_cannot_show():
    synapses = pd.DataFrame({"size": [0, 10, 100, 1000, 1000]})
    ax = plots.plot_synapse_sizes(synapses, bins=3)
    assert sum(p.get_height() for p in ax.patches) == 4
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "synapse size (voxels)"


def test_plots_leave_matplotlib_settings_alone(nuclei):
    before = dict(matplotlib.rcParams)
    plots.plot_positions(nuclei, hue="cell_type")
    plots.plot_depth_profile(nuclei, hue="cell_type")
    plots.plot_cell_type_counts(nuclei)
    assert dict(matplotlib.rcParams) == before


def test_plot_memory_held_draws_one_line_per_way_in_megabytes():
    held = pd.DataFrame(
        {"pandas, whole table at once": [1e6, 2e6, 4e6], "Dask, one partition": [1e6, 1e6, 1.1e6]},
        index=pd.Index([10_000, 20_000, 40_000], name="rows"),
    )
    ax = plots.plot_memory_held(held)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == set(held.columns)
    assert lines["pandas, whole table at once"].get_ydata().tolist() == [1.0, 2.0, 4.0]
    assert lines["Dask, one partition"].get_xdata().tolist() == [10_000, 20_000, 40_000]
    assert "MB" in ax.get_ylabel() and ax.get_ylim()[0] == 0
    with pytest.raises(InvalidInputError, match="rows read as the index"):
        plots.plot_memory_held(pd.DataFrame())


def test_plot_files_read_colours_the_files_read_and_greys_the_skipped():
    rows = pd.Series([10, 12, 11], index=["part=0", "part=1", "part=2"])
    ax = plots.plot_files_read(rows, {"part=1"})
    bars = ax.patches
    assert [bar.get_height() for bar in bars] == [10, 12, 11]
    grey = matplotlib.colors.to_rgba("lightgrey")
    assert [bar.get_facecolor() == grey for bar in bars] == [True, False, True]
    assert [t.get_text() for t in ax.texts] == ["skipped", "read", "skipped"]
    with pytest.raises(InvalidInputError, match="part=9"):
        plots.plot_files_read(rows, {"part=9"})


# -- densities, panels and legends off the data ---------------------------------------------


def _many_nuclei(n=6000, seed=0):
    rng = np.random.default_rng(seed)
    voxels = np.column_stack(
        [rng.uniform(60_000, 380_000, n), rng.uniform(90_000, 290_000, n), np.full(n, 20_000)]
    )
    df = pd.DataFrame({"pt_position": list(voxels.astype(int))})
    df["classification_system"] = rng.choice(["excitatory_neuron", "nonneuron"], n, p=[0.8, 0.2])
    df.attrs["dataframe_resolution"] = [4.0, 4.0, 40.0]
    return df


def test_plot_positions_draws_a_density_of_a_big_table_that_counts_every_row():
    df = _many_nuclei()
    ax = plots.plot_positions(df, what="nuclei", square_um=50)
    assert not ax.collections or not any(len(c.get_offsets()) == len(df) for c in ax.collections)
    (mesh,) = [c for c in ax.collections if hasattr(c, "get_array")]
    assert mesh.get_array().sum() == len(df)  # every nucleus in one square, none twice
    colourbar = ax.figure.axes[-1]
    assert colourbar.get_ylabel() == "nuclei per 50 × 50 µm square"
    assert ax.yaxis_inverted() and "µm" in ax.get_xlabel()


def test_plot_positions_keeps_dots_for_a_small_table_or_when_asked(nuclei):
    assert len(plots.plot_positions(nuclei).collections[0].get_offsets()) == 5
    big = _many_nuclei()
    ax = plots.plot_positions(big, kind="points")
    assert len(ax.collections[0].get_offsets()) == len(big)
    with pytest.raises(InvalidInputError, match="plot_positions_by"):
        plots.plot_positions(big, hue="classification_system", kind="density")
    with pytest.raises(InvalidInputError, match="kind must be"):
        plots.plot_positions(big, kind="hexagons")


def _overlaps(ax, legend) -> bool:
    ax.figure.canvas.draw()
    return legend.get_window_extent().overlaps(ax.get_window_extent())


def test_the_legend_of_a_coloured_scatter_sits_beside_the_data(nuclei):
    ax = plots.plot_positions(nuclei, hue="classification_system")
    assert not _overlaps(ax, ax.get_legend())


def test_plot_positions_by_draws_one_panel_per_group_with_every_row_as_context():
    df = _many_nuclei(n=500)
    axes = plots.plot_positions_by(df, "classification_system")
    axes[0].figure.canvas.draw()  # drawn as a notebook would: shared axes must be allowed
    counts = df["classification_system"].value_counts()
    assert [ax.get_title() for ax in axes] == [
        f"excitatory_neuron ({counts['excitatory_neuron']:,})",
        f"nonneuron ({counts['nonneuron']:,})",
    ]
    for ax, group in zip(axes, ["excitatory_neuron", "nonneuron"]):
        context, coloured = ax.collections
        assert len(context.get_offsets()) == len(df)
        assert len(coloured.get_offsets()) == counts[group]
        assert ax.get_legend() is None and ax.yaxis_inverted()


def test_plot_orientation_differences_puts_the_legend_off_the_bars():
    rng = np.random.default_rng(1)
    ax = plots.plot_orientation_differences(rng.uniform(0, 90, 16), rng.uniform(0, 90, 300))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "its inputs",
        "possible partners",
    ]
    assert not _overlaps(ax, ax.get_legend())
    assert ax.get_xlim() == (0, 90)
    with pytest.raises(InvalidInputError, match="period=180"):
        plots.plot_orientation_differences([120.0], [10.0])


# -- diagrams and the viewer drawing ---------------------------------------------------------


def _texts(ax):
    return " ".join(t.get_text() for t in ax.texts)


def test_the_services_diagram_names_every_service_a_request_reaches():
    text = _texts(plots.draw_cave_services())
    for name in ("info", "auth", "state server", "materialization", "chunkedgraph"):
        assert name in text, name
    for name in ("L2 cache", "skeleton service", "global.daf-apis.com", "local_server"):
        assert name in text, name


def test_the_lineage_diagram_shows_edits_past_and_latest_roots():
    text = _texts(plots.draw_root_lineage())
    for words in ("merge", "split", "past roots", "latest roots", "version"):
        assert words in text, words


STATE = {
    "dimensions": {"x": [4e-09, "m"], "y": [4e-09, "m"], "z": [4e-08, "m"]},
    "position": [1000.0, 2000.0, 100.0],
    "layers": [
        {"type": "image", "name": "img", "source": "precomputed://https://bossdb.example/em"},
        {
            "type": "segmentation",
            "name": "seg",
            "source": "graphene://middleauth+https://seg.example/table/x",
            "segments": ["11", "12"],
            "segmentColors": {"11": "#ffffff"},
        },
        {
            "type": "annotation",
            "name": "pts",
            "source": {
                "url": "local://annotations",
                "transform": {
                    "outputDimensions": {"x": [1e-09, "m"], "y": [1e-09, "m"], "z": [1e-09, "m"]}
                },
            },
            "annotationColor": "#ffd400",
            "annotations": [{"type": "point", "id": "1", "point": [4000.0, 8000.0, 4000.0]}],
        },
    ],
}


def test_draw_viewer_state_draws_layers_points_in_their_units_and_segments():
    fig = plots.draw_viewer_state(STATE)
    bar, view, segments = fig.axes
    assert "img (image)\nprecomputed://bossdb.example" in _texts(bar)
    assert "seg (segmentation)\ngraphene://seg.example" in _texts(bar)
    points, here = view.collections
    # the point is in nm (its layer's own unit), the position in voxels of 4 nm: both at 4, 8 µm
    assert points.get_offsets()[0].tolist() == pytest.approx([4.0, 8.0])
    assert here.get_offsets()[0].tolist() == pytest.approx([4.0, 8.0])
    assert view.yaxis_inverted()
    assert "11" in _texts(segments) and "12" in _texts(segments)
    assert not _overlaps(view, view.get_legend())


def test_draw_viewer_state_refuses_what_is_not_a_state():
    with pytest.raises(InvalidInputError, match="'layers' list"):
        plots.draw_viewer_state({"position": [1, 2, 3]})
    with pytest.raises(InvalidInputError, match="dimensions"):
        plots.draw_viewer_state({"layers": []})
