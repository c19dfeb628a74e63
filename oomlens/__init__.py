"""oomlens: explain Linux out-of-memory incidents from kernel logs."""

__version__ = "0.1.0"
