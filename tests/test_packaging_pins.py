"""requirements.txt, requirements-dev.txt, environment.yml and pyproject.toml name the same packages.

requirements*.txt pin the tested versions (scripts/demo.sh and scripts/test.sh install them);
environment.yml (conda-forge) asks for the same major.minor; pyproject.toml's ranges must admit the
pins. A package added to one file and not the others fails here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import PROJECT_ROOT

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[A-Za-z0-9,._-]+\])?==(?P<version>\S+)$")  # extras allowed
CONDA = re.compile(r"^\s+-\s+(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)=(?P<version>[0-9][0-9.]*)\s*$")
NEVER = {"coverage", "pytest-cov"}  # the package `coverage/` shadows coverage.py


def read_pins(path: Path) -> tuple[dict[str, Version], list[str]]:
    """``name==version`` lines of a requirements file (canonical names) and its ``-r`` includes."""
    pins: dict[str, Version] = {}
    includes: list[str] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            includes.append(line[3:].strip())
            continue
        match = PIN.match(line)
        assert match, f"{path.name}:{number}: not an exact pin name==version: {raw!r}"
        name = canonicalize_name(match["name"])
        assert name not in pins, f"{path.name}:{number}: {name} pinned twice"
        pins[name] = Version(match["version"])
    return pins, includes


def read_conda(text: str) -> dict[str, str]:
    """``- name=major.minor`` entries under ``dependencies:`` of an environment.yml (canonical names)."""
    found: dict[str, str] = {}
    inside = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not raw.startswith((" ", "\t")):
            inside = line.strip() == "dependencies:"
            continue
        if inside:
            match = CONDA.match(line)
            assert match, f"environment.yml:{number}: not '- name=major.minor': {raw!r}"
            found[canonicalize_name(match["name"])] = match["version"]
    return found


def major_minor(version: Version) -> str:
    return f"{version.major}.{version.minor}"


def disagreements(pins: dict[str, Version], conda: dict[str, str], ranges: dict[str, Requirement]) -> list[str]:
    """Every way the three descriptions of one package set differ (empty when they agree)."""
    problems = []
    for name in sorted(set(pins) ^ set(conda)):
        problems.append(f"{name}: in {'requirements' if name in pins else 'environment.yml'} only")
    for name in sorted(set(pins) ^ set(ranges)):
        problems.append(f"{name}: in {'requirements' if name in pins else 'pyproject.toml'} only")
    for name in sorted(set(pins) & set(conda)):
        if conda[name] != major_minor(pins[name]):
            problems.append(f"{name}: environment.yml asks {conda[name]}, requirements pin {pins[name]}")
    for name in sorted(set(pins) & set(ranges)):
        if not ranges[name].specifier.contains(pins[name], prereleases=True):
            problems.append(f"{name}: pyproject range '{ranges[name].specifier}' excludes the pin {pins[name]}")
    return problems


def pyproject_ranges(requirements: list[str]) -> dict[str, Requirement]:
    parsed = [Requirement(text) for text in requirements]
    return {canonicalize_name(r.name): r for r in parsed}


@pytest.fixture(scope="module")
def files():
    runtime, runtime_includes = read_pins(PROJECT_ROOT / "requirements.txt")
    dev, dev_includes = read_pins(PROJECT_ROOT / "requirements-dev.txt")
    conda = read_conda((PROJECT_ROOT / "environment.yml").read_text(encoding="utf-8"))
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return runtime, runtime_includes, dev, dev_includes, conda, project


def test_runtime_packages_agree(files):
    runtime, includes, dev, _, conda, project = files
    assert includes == []
    runtime_conda = {k: v for k, v in conda.items() if k not in dev and k != "python"}
    assert disagreements(runtime, runtime_conda, pyproject_ranges(project["dependencies"])) == []


def test_test_packages_agree(files):
    runtime, _, dev, includes, conda, project = files
    assert includes == ["requirements.txt"]  # scripts/test.sh installs the app's pins too
    assert not set(dev) & set(runtime), "a package pinned in both requirements files"
    dev_conda = {k: v for k, v in conda.items() if k in dev}
    test_extra = pyproject_ranges(project["optional-dependencies"]["test"])
    assert disagreements(dev, dev_conda, test_extra) == []


def test_environment_has_nothing_else(files):
    runtime, _, dev, _, conda, project = files
    extra = set(conda) - set(runtime) - set(dev) - {"python"}
    assert extra == set(), f"environment.yml only: {sorted(extra)}"
    python = conda["python"]
    assert Requirement(f"python{project['requires-python']}").specifier.contains(python + ".0")
    assert not NEVER & (set(runtime) | set(dev) | set(conda)), "coverage.py would clash with the package coverage/"


def test_a_disagreement_is_found():
    """The comparison itself: a wrong minor, a missing package and a range that excludes the pin."""
    pins = {"numpy": Version("2.4.6"), "scipy": Version("1.17.1")}
    conda = {"numpy": "2.3"}
    ranges = pyproject_ranges(["numpy>=2.5", "scipy>=1.17,<2"])
    found = disagreements(pins, conda, ranges)
    assert found == [
        "scipy: in requirements only",
        "numpy: environment.yml asks 2.3, requirements pin 2.4.6",
        "numpy: pyproject range '>=2.5' excludes the pin 2.4.6",
    ]


def test_conda_reader_refuses_what_it_cannot_read():
    with pytest.raises(AssertionError, match="environment.yml:4"):
        read_conda("name: x\ndependencies:\n  - numpy=2.4\n  - numpy>=2\n")
    assert read_conda("name: x\ndependencies:\n  - numpy=2.4  # comment\nchannels:\n  - conda-forge\n") == {"numpy": "2.4"}


def test_checkout_version_is_the_pyproject_version(files, tmp_path):
    import subprocess
    import sys

    project = files[5]
    done = subprocess.run(
        [sys.executable, "-c", "import coverage; print(coverage.__version__)"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    )
    assert done.stdout.strip() == project["version"]
    assert Version(project["version"])  # a valid PEP 440 version
