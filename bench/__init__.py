"""Rekam's benchmark: `make bench` (full) and `make bench-smoke` (CI). See bench/README.md."""
