"""The hardening line at the end of a run shows what was attempted and what got through."""

from collections import Counter

from tests.conftest import hardening_summary


def test_a_leak_shows_in_the_figure():
    line = hardening_summary(Counter(secrets_planted=10, secrets_leaked=1))
    assert line == "hardening: 10 secrets planted, 1 leaked"


def test_nothing_attempted_prints_nothing():
    assert hardening_summary(Counter()) is None


def test_orphans_and_faults_are_reported():
    line = hardening_summary(Counter(faults_injected=3, faults_handled=2, orphan_checks=4, orphans=1))
    assert line == "hardening: 3 faults injected, 2 survived; 4 kills checked for orphans, 1 orphans found"
