"""Sphinx extension of this book: the kernels that run the chapters start without a warning.

ipykernel 7 warns at each start that it runs over TCP without encryption; the site build
starts one kernel per chapter, so the log would say it ten times. The kernels' managers now
provision CurveZMQ keys (microns_helpers._compat.encrypt_book_kernels says how and why).
"""

from __future__ import annotations


def setup(app):
    from microns_helpers._compat import encrypt_book_kernels

    encrypt_book_kernels()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
