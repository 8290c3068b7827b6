"""Tests of the book's helper package, and the loopback stand-in of the CAVE services."""
