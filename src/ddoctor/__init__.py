"""ddoctor: diagnose and repair distributed PyTorch jobs."""

__version__ = "0.1.0"
