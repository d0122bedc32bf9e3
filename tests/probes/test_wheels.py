"""Wheel advice from the published matrix (src/ddoctor/data/torch_wheels.toml) and NVIDIA's driver rules."""

import pytest

from ddoctor.wheels import (
    choose_cuda_wheel,
    driver_floor,
    driver_support,
    pip_install_torch,
    publishes,
    table,
    wheel_for_arch,
)


def test_the_table_cites_its_source_and_date():
    t = table()
    assert "RELEASE.md" in t.source
    assert t.date == "2026-12-01"


def test_releases_are_newest_first_and_each_has_a_cuda_build():
    t = table()
    keys = [tuple(int(p) for p in r.series.split(".")) for r in t.releases]
    assert keys == sorted(keys, reverse=True)
    assert all(r.cuda for r in t.releases)


@pytest.mark.parametrize(("version", "tag", "published"), [
    ("2.13.0", "cu126", True), ("2.13.0", "cu124", False), ("2.13.0", "cu132", True), ("2.13.0+cpu", "cpu", True),
    ("2.5.1", "cu124", True), ("2.8.0", "cu129", True), ("2.13.0", "rocm7.2", True), ("9.9.0", "cu126", False),
])
def test_publishes(version, tag, published):
    assert publishes(version, tag) is published


@pytest.mark.parametrize(("cuda", "driver_cuda", "driver", "support"), [
    ((12, 6), (12, 4), "550.54.15", "minor-compat"),  # same major: minor-version compatibility
    ((12, 6), (12, 8), "570.124.06", "full"),
    ((12, 6), (13, 0), "580.95.05", "full"),  # an older major always runs on a newer driver
    ((13, 0), (12, 9), "575.51.03", None),  # a newer major never does
    ((12, 8), (12, 0), "520.00.00", None),  # below 12.x's minor-compatibility floor (525.60.13)
])
def test_driver_rules(cuda, driver_cuda, driver, support):
    assert driver_support(cuda, driver_cuda=driver_cuda, driver_version=driver) == support


def test_driver_floors():
    assert driver_floor((12, 8)) == ("525.60.13", "570.26")
    assert driver_floor((13, 2)) == ("580.65.06", None)  # the 13.2 toolkit driver is not in the table


def test_a_12_4_driver_gets_torch_2_13s_cu126_through_minor_compat():
    c = choose_cuda_wheel(torch_version="2.13.0+cpu", driver_cuda=(12, 4), driver_version="550.54.15")
    assert c.command("py") == "py -m pip install --force-reinstall torch==2.13.0 --index-url " \
                              "https://download.pytorch.org/whl/cu126"
    assert c.support == "minor-compat"


def test_the_newest_build_the_driver_fully_supports_wins():
    c = choose_cuda_wheel(torch_version="2.13.0", driver_cuda=(13, 1), driver_version="590.44.01")
    assert c.tag == "cu130"


def test_a_driver_too_old_for_the_installed_release_gets_an_older_release_and_says_so():
    c = choose_cuda_wheel(torch_version="2.13.0+cu130", driver_cuda=(11, 4), driver_version="470.182.03")
    assert (c.version, c.tag) == ("2.7.1", "cu118")
    assert c.older_than_installed
    assert any("older than the installed 2.13.0+cu130" in n for n in c.notes())


def test_a_version_newer_than_the_table_says_the_table_is_older():
    c = choose_cuda_wheel(torch_version="2.99.0", driver_cuda=(13, 0), driver_version="580.95.05")
    assert c.version == table().newest.latest
    assert any("newer than ddoctor's wheel table" in n for n in c.notes())


def test_no_index_without_the_pinned_version_for_any_release_and_driver():
    drivers = [((11, 4), "470.182.03"), ((12, 0), "525.60.13"), ((12, 4), "550.54.15"), ((12, 9), "575.51.03"),
               ((13, 0), "580.95.05"), ((13, 2), "595.10.01")]
    for rel in table().releases:
        for version in (rel.latest, f"{rel.latest}+cpu"):
            for drv, dv in drivers:
                c = choose_cuda_wheel(torch_version=version, driver_cuda=drv, driver_version=dv)
                if c is not None:
                    assert publishes(c.version, c.tag), (version, drv, c)
                    assert driver_support(c.cuda, driver_cuda=drv, driver_version=dv), (version, drv, c)


def test_an_architecture_needs_a_build_that_carries_it():
    assert choose_cuda_wheel(torch_version=None, driver_cuda=(12, 9), driver_version="575.51.03", cap=(12, 0)) is None
    assert wheel_for_arch((12, 0)).tag == "cu130"


def test_pip_install_pins_only_where_the_index_has_the_version():
    assert pip_install_torch("py", (12, 4), "2.13.0") == \
        "py -m pip install --force-reinstall torch --index-url https://download.pytorch.org/whl/cu124"
    assert pip_install_torch("py", None, "2.13.0+cpu") == \
        "py -m pip install --force-reinstall torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
