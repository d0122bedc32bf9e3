"""Text → parsed log values. Pure functions over lines; no I/O, no third-party imports."""
