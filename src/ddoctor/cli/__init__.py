"""Composition root: option parsing, stdin, exit codes. The only place that calls sys.exit."""
