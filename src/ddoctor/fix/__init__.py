"""Codemods (libcst) that rewrite the code patterns behind distributed/device failures."""
