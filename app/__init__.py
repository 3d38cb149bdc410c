"""Rekam: daily e-KTP recording counts and progress toward targets."""

__version__ = "0.1.0"
