"""Neuroglancer links from the book's data frames, with nglui (an optional extra).

nglui, from the team behind CAVE, builds a Neuroglancer view (its *state*: layers, the
segments shown, annotations, where the camera is) in Python and turns it into a link; the
Neuroglancer chapter uses it as it is. This module adds the little the chapter needs
around it::

    require_nglui()                                  # or one error saying how to install it
    state.add_points(outputs, name="output synapses", point_column="ctr_pt_position",
                     data_resolution=outputs.attrs["dataframe_resolution"])
    number_points(state, "output synapses", outputs["id"])   # the same table, the same link
    read_link(state.to_url())["layers"]             # what the link holds, read from it

Nothing here sends a request: building a link and reading one back happen in Python. Only
opening a link (a browser, the network) and shortening one (an upload to the CAVE state
server, ``client.state.upload_state_json``) need a network, and neither happens here.
"""

from __future__ import annotations

from ._compat import installed_version, version_tuple
from .errors import InvalidInputError, MissingExtraError

#: The nglui release the chapter was written and tested with (requirements-neuroglancer.txt).
NGLUI_TESTED = "4.9.0"

INSTALL = (
    "from a clone of the book, python -m pip install -r requirements-neuroglancer.txt; in a "
    'notebook (Colab, Binder), %pip install "nglui==4.9.0"; then restart the kernel'
)

#: One colour per cell type of aibs_metamodel_celltypes_v661: excitatory types warm,
#: inhibitory types cool, non-neuronal cells grey, so a view reads by class at a glance.
CELL_TYPE_COLORS = {
    "23P": "#ff595e",
    "4P": "#ff924c",
    "5P-IT": "#ffca3a",
    "5P-ET": "#c9a227",
    "5P-NP": "#f15bb5",
    "6P-IT": "#d62828",
    "6P-CT": "#9d4edd",
    "BC": "#1982c4",
    "BPC": "#4cc9f0",
    "MC": "#2ec4b6",
    "NGC": "#8ac926",
    "astrocyte": "#bdbdbd",
    "oligo": "#9e9e9e",
    "OPC": "#808080",
    "microglia": "#d9d9d9",
    "pericyte": "#6e6e6e",
}


def require_nglui() -> str:
    """The installed nglui's version, or :class:`MissingExtraError` saying how to install it.

    nglui is the Neuroglancer chapter's optional extra, not part of the learner install.
    Its ``ViewerState`` API is that of 4.x; 3.x had another one.

    Example::

        >>> require_nglui()  # doctest: +SKIP
        '4.9.0'
    """
    version = installed_version("nglui")
    if version is None:
        raise MissingExtraError(
            f"This chapter needs nglui, an optional extra of the book's install: {INSTALL}."
        )
    if version_tuple(version)[:1] != version_tuple(NGLUI_TESTED)[:1]:
        raise MissingExtraError(
            f"nglui {version} is installed, but this chapter uses the API of nglui 4 "
            f"(tested with {NGLUI_TESTED}): {INSTALL}."
        )
    return version


def number_points(state, layer: str, ids) -> None:
    """Name each annotation of ``layer`` by its row's id (a synapse id, say), in order.

    nglui gives every annotation a random id, so the same table makes another link each
    time; with the rows' own ids the link is the same every time, and a point selected in
    the viewer names its row. ``ids`` must be unique, one per annotation, in the order the
    annotations were added (the rows of the data frame).

    Example::

        state.add_points(outputs, name="output synapses", point_column="ctr_pt_position")
        number_points(state, "output synapses", outputs["id"])
    """
    annotations = state.get_layer(layer).annotations
    names = [str(i) for i in ids]
    if len(names) != len(annotations):
        raise InvalidInputError(
            f"Layer {layer!r} holds {len(annotations)} annotations but {len(names)} ids were "
            "given: pass the id column of the data frame the points came from."
        )
    if len(set(names)) != len(names):
        raise InvalidInputError(
            f"The ids for layer {layer!r} repeat; an annotation id must be unique in a layer."
        )
    for annotation, name in zip(annotations, names):
        annotation.id = name
    # nglui keeps the state it built last; setting a view property (to its own value)
    # is its public way to make it build the state again, with the new ids.
    state.position = state.position


def read_link(url: str) -> dict:
    """The state a Neuroglancer link holds, as JSON (a dict), read from the link itself.

    The state is the part of the link after ``#!``, which the browser keeps to itself (it
    is never sent to the viewer's site). A shortened link holds only the address of a
    state stored on the CAVE state server, so it is refused here: reading it needs that
    server (``client.state.get_state_json``, live, with a token).

    Example::

        >>> state = read_link("https://spelunker.cave-explorer.org/#!%7B%22layers%22:%5B%5D%7D")
        >>> state["layers"]
        []
    """
    fragment = url.partition("#!")[2]
    if not fragment:
        raise InvalidInputError(
            "This is not a Neuroglancer link with a state in it: there is no '#!' followed "
            "by the state. Make one with state.to_url()."
        )
    if fragment.startswith(("middleauth+", "http")):
        raise InvalidInputError(
            "This link holds only the address of a state stored on a server (a shortened "
            f"link: {fragment[:80]}), not the state itself; live and with a token, "
            "client.state.get_state_json(state_id) downloads it."
        )
    from neuroglancer import parse_url  # an nglui dependency: imported only when used

    return parse_url(url).to_json()
