"""A Jupyter server extension installed with the book's helper package: the kernels that
JupyterLab starts (from the environment the package is installed in) get CurveZMQ keys from
their manager, so ipykernel 7 does not warn at each start that it "is running over TCP
without encryption".

A module of its own, outside ``microns_helpers``: importing that package chooses the
mode for HTTP requests, which the server process must not. It does what
``microns_helpers._compat.encrypt_book_kernels`` does for the book's own tools (nbval, the
site build, the recorder), with jupyter_client's public ``transport_encryption`` setting
(8.10 and newer; older ones keep their warning). Enabled by
``etc/jupyter/jupyter_server_config.d/microns_helpers.json``.
"""

from __future__ import annotations


def _jupyter_server_extension_points():
    return [{"module": "microns_helpers_jupyter"}]


def _load_jupyter_server_extension(serverapp) -> None:
    try:
        import zmq
        from jupyter_client.manager import KernelManager
    except ImportError:
        return
    trait = KernelManager.class_traits().get("transport_encryption")
    if trait is not None and zmq.has("curve"):
        trait.default_value = "auto"
