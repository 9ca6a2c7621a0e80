"""Shared fixtures: the CLI binary the Python results are compared with."""

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli() -> str:
    """The tariffsim binary: $TARIFFSIM_BIN, else target/release/tariffsim of this checkout
    (built here if missing), so the comparison is with the CLI of the same source."""
    given = os.environ.get("TARIFFSIM_BIN")
    if given:
        return given
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    binary = target / "release" / "tariffsim"
    if not binary.exists():
        if shutil.which("cargo") is None:
            pytest.skip("no tariffsim binary and no cargo to build it")
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    return str(binary)


def run_cli(cli: str, out: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [cli, "run", "--quiet", "--out", str(out), *args], capture_output=True, text=True
    )
