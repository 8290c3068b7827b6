"""Tests of the book's helper package, and of its sample service."""
