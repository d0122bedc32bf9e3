"""Hung jobs: find every rank of a job, take its stack, group ranks by stack and name the one that is
not where the others wait (`run --hang-timeout`, Ctrl-C under `run`, `ddoctor snapshot`)."""
