"""ddoctor's exit codes, in a module of their own so that commands can name them without importing
the report model (`ddoctor diagnose` never builds a CheckReport)."""

EXIT_OK = 0  # nothing wrong
EXIT_PROBLEMS = 1  # a failure was diagnosed, a check or requirement failed
EXIT_USAGE = 2  # usage error, unreadable or empty input, ddoctor's own failure
