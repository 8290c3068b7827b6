"""Loaded by every pytest run in this repository, the chapters' nbval runs included."""

from microns_helpers._compat import encrypt_book_kernels

# nbval's kernels: no "running over TCP without encryption" warning at each start.
encrypt_book_kernels()
