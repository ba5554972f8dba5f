"""requirements.lock (what `make install` installs) still satisfies pyproject.toml, and can be
installed from any index: a dependency added or narrowed without `make lock` fails here."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"


def _pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"not an exact pin in requirements.lock: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [Requirement(line) for line in declared]


def test_every_declared_dependency_is_pinned_within_its_range():
    pins = _pins()
    problems = []
    for requirement in _declared():
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement} is not in requirements.lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement} does not allow the pinned {version}")
    assert not problems, "run `make lock`:\n" + "\n".join(problems)


def test_the_lock_names_no_index_and_no_hash():
    """A hash or an index URL from this machine's mirror would break installs elsewhere."""
    text = LOCK.read_text()
    for marker in ("--hash", "--index-url", "--extra-index-url", "--find-links", "file:/"):
        assert marker not in text
