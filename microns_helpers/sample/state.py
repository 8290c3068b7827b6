"""The state server of the sample: one shared Neuroglancer state to read back, no uploads.

The routes caveclient's ``JSONService`` (``client.state``) uses, API v1 (caveclient's
``endpoints.py``, ``jsonservice_endpoints_v1``): ``GET /nglstate/api/v1/<state_id>``, what
``get_state_json(state_id)`` reads. Its version route is not modelled: caveclient takes the
404 as a server without one.

The sample answers one id, :data:`SHARED_STATE_ID`, the state the MICrONs tutorial's
*NGLui* quickstart reads. It does not hold that state: it answers the id with a state of its
own, built from the datastack info's public sources (the EM imagery and the segmentation)
and from the sample's rows of the example neuron (its nucleus and its first output synapses,
partly synthetic). Other ids get a 404 that says so; an upload (``POST``) is refused, so
that nothing the book runs stores a state.
"""

from __future__ import annotations

from .data import LIVE_HINT
from .routing import Router, ServiceError, json_reply

router = Router()
route = router.route

#: The state id of the MICrONs tutorial's NGLui quickstart (quickstart_notebooks/
#: 09-nglui-neuroglancer.ipynb); live, that shared state comes back instead of the sample's.
SHARED_STATE_ID = 5560000195854336
#: The neuron the sample's state shows: the book's example neuron.
NEURON = 864691135808473885
VERSION = 1300  # the rows of the long-term version
OUTPUT_POINTS = 100  # the neuron's first output synapses (by id) as points

_V1 = r"/nglstate/api/v1"
_VOXEL_M = {"x": [4e-09, "m"], "y": [4e-09, "m"], "z": [4e-08, "m"]}


@route("GET", _V1 + r"/(?P<state_id>\d+)")
def get_state(s, state_id, **_):
    if int(state_id) != SHARED_STATE_ID:
        raise ServiceError(
            404,
            f"The sample's state server holds one state, {SHARED_STATE_ID}, not {state_id}. "
            + LIVE_HINT,
        )
    return json_reply(shared_state(s.data))


@route("POST", _V1 + r"/post")
@route("POST", _V1 + r"/post/(?P<state_id>\d+)")
def refuse_upload(s, **_):
    raise ServiceError(
        403,
        "The sample's state server stores no state: an upload would put a state on a live "
        "server, which the book never does. " + LIVE_HINT,
    )


def _position(row, column: str) -> list[float]:
    """A row's position in voxels, from one array column or three split columns."""
    if column in row:
        return [float(v) for v in row[column]]
    return [float(row[f"{column}_{axis}"]) for axis in "xyz"]


def shared_state(data) -> dict:
    """The sample's shared state: imagery, the neuron's segment, its nucleus and outputs."""
    info = data.datastack_info
    nuclei = data.rows("nucleus_detection_v0", VERSION)
    nucleus = nuclei[nuclei["pt_root_id"] == NEURON].iloc[0]
    soma = _position(nucleus, "pt_position")
    synapses = data.rows("synapses_pni_2", VERSION)
    outputs = synapses[synapses["pre_pt_root_id"] == NEURON].sort_values("id")
    outputs = outputs.head(OUTPUT_POINTS)
    points = [
        {
            "type": "point",
            "id": str(int(row["id"])),
            "point": _position(row, "ctr_pt_position"),
            "segments": [[str(int(row["post_pt_root_id"]))]],
        }
        for _, row in outputs.iterrows()
    ]

    def annotation_layer(name, annotations, colour):
        return {
            "type": "annotation",
            "name": name,
            "source": {
                "url": "local://annotations",
                "transform": {"outputDimensions": _VOXEL_M},
            },
            "annotationColor": colour,
            "annotations": annotations,
            "linkedSegmentationLayer": {"segments": "seg"},
        }

    soma_point = {
        "type": "point",
        "id": str(int(nucleus["id"])),
        "point": soma,
        "segments": [[str(NEURON)]],
    }
    return {
        "dimensions": _VOXEL_M,
        "position": soma,
        "crossSectionScale": 1.0,
        "projectionScale": 50000.0,
        "layout": "xy-3d",
        "layers": [
            {"type": "image", "name": "img", "source": info["aligned_volume"]["image_source"]},
            {
                "type": "segmentation",
                "name": "seg",
                "source": info["segmentation_source"],
                "segments": [str(NEURON)],
                "segmentColors": {str(NEURON): "#ffffff"},
            },
            annotation_layer("soma", [soma_point], "#ff4da6"),
            annotation_layer("syns_out", points, "#ffd400"),
        ],
        "selectedLayer": {"layer": "syns_out", "visible": True},
    }
