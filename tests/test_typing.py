"""Type hints: the installed package is mypy clean under the project's [tool.mypy] settings, and says so (py.typed)."""

from __future__ import annotations

import sys
from importlib import resources

import pytest
from conftest import ROOT



def test_mypy_finds_no_errors_in_the_package(request):
    from mypy import api

    # The cache lives in pytest's cache directory, so later runs take a second or two.
    cache = request.config.cache.mkdir("mypy")
    stdout, stderr, status = api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache), "--no-error-summary", "-p", "netlang"]
    )
    assert (stdout, stderr, status) == ("", "", 0)


def test_mypy_does_catch_a_type_error(request, tmp_path):
    # The check above could pass vacuously if mypy found no files; here it must fail.
    from mypy import api

    bad = tmp_path / "bad.py"
    bad.write_text("import netlang\nnet: netlang.Network = netlang.parse('node y = 1')\n", encoding="utf-8")
    cache = request.config.cache.mkdir("mypy")
    stdout, _, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache), str(bad)])
    assert status == 1
    assert 'incompatible type "Program"' in stdout or 'has type "Program"' in stdout


def test_the_package_ships_py_typed():
    assert resources.files("netlang").joinpath("py.typed").is_file()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is new in Python 3.11")
def test_the_wheel_includes_py_typed_and_the_schemas():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert "py.typed" in config["package-data"]["netlang"]
    assert "netlang.schema" in config["packages"]
    assert "*.json" in config["package-data"]["netlang.schema"]
