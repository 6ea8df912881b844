"""The package as a user gets it: ``--version``, ``python -m actors.cli``, a readable
top-level help, and a wheel that carries the scenarios, the type markers and the licence."""

import configparser
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from actors.cli import main

ROOT = Path(__file__).resolve().parents[3]


def setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def test_version_is_the_installed_distributions(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"smart-exec {version('smart-exec')}\n"
    assert version("smart-exec") == setup_cfg()["metadata"]["version"]


def test_top_level_help_is_one_line_and_examples(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith(
        "usage: smart-exec [-h] [--version] [--log-level LEVEL] COMMAND ...\n\nSmart trading"
    )
    description = out.split("\n\n")[1]
    assert "\n" not in description
    assert "smart-exec run scenarios/brief_vwap.toml" in out
    assert "``" not in out  # no raw reST


def test_python_m_actors_cli_is_the_command():
    for args, expected in (
        (["--help"], "usage: smart-exec [-h] [--version] [--log-level LEVEL] COMMAND"),
        (["--version"], f"smart-exec {version('smart-exec')}"),
        (["compare", "--help"], "usage: smart-exec compare"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "actors.cli", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(expected)


def test_the_license_file_is_the_license_the_metadata_names():
    assert setup_cfg()["metadata"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "smart-exec contributors" in text


def test_a_wheel_carries_the_scenarios_and_the_type_markers(tmp_path):
    """Built from a copy of the source (the build writes build/ and *.egg-info beside
    it), without build isolation so no package is downloaded; listed, not installed."""
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "*.sqlite*")
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for package in ("engine", "actors", "scenarios"):
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    built = subprocess.run(
        [*pip_wheel, "-q", str(source), "-w", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("smart_exec-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    shipped = {f"scenarios/{p.name}" for p in (ROOT / "scenarios").glob("*.toml")}
    assert shipped and shipped <= names
    assert {"scenarios/__init__.py", "engine/py.typed", "actors/py.typed"} <= names
    assert {"actors/cli/__main__.py", "engine/data/volume_profile_us.json"} <= names
    dist_info = f"smart_exec-{setup_cfg()['metadata']['version']}.dist-info"
    assert any(n.startswith(dist_info) and n.endswith("LICENSE") for n in names)
    entry_points = zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    assert "smart-exec = actors.cli:main" in entry_points
    assert not any(n.startswith("tests/") for n in names)
