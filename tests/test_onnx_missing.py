"""Without the onnx extra, export says what to install (these run whether onnx is installed or not)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import netlang
from netlang.onnx_export import to_onnx

from conftest import EXAMPLES


def test_missing_onnx_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes 'import onnx' raise ImportError
    with pytest.raises(netlang.NetlangError) as raised:
        to_onnx(netlang.load(EXAMPLES / "and.net"))
    assert raised.value.code == "missing-extra"
    assert "pip install 'netlang[onnx]'" in raised.value.hint


def test_cli_without_the_onnx_package(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    result = cli("export", str(EXAMPLES / "and.net"), "-o", str(tmp_path / "and.onnx"))
    assert result.exit_code == 1
    assert "pip install 'netlang[onnx]'" in result.output
    assert "Traceback" not in result.output
