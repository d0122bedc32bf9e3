"""Reshard Meta-format checkpoints to another model-parallel size (the work runs in a child process)."""
