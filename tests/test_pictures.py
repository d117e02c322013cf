"""The pictures of the docs: docs/make_pictures.py draws them all from the examples."""

from __future__ import annotations

import importlib.util
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from conftest import ROOT

SCRIPT = ROOT / "docs" / "make_pictures.py"
PICTURES = ROOT / "docs" / "pictures"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's 'dot' is not installed (apt-get install graphviz)")
@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib is not installed (pip install 'netlang[plot]')")
def test_make_pictures_draws_every_picture_of_the_docs(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in PICTURES.iterdir())  # the committed set, no more, no less
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        if path.suffix == ".svg":
            root = ElementTree.fromstring(data)
            assert root.tag == "{http://www.w3.org/2000/svg}svg"
            assert len(root.findall(".//{http://www.w3.org/2000/svg}ellipse")) >= 2  # neurons are circles
        else:
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = struct.unpack(">II", data[16:24])
            assert 400 < width < 2000 and 400 < height < 2000


def test_every_picture_is_shown_in_the_docs():
    docs = (ROOT / "docs" / "visualising.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\(pictures/([^)]+)\)", docs))
    assert shown == {p.name for p in PICTURES.iterdir()}


def test_the_dot_shown_in_the_docs_is_what_graph_prints(cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    docs = (ROOT / "docs" / "visualising.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n\$ netlang (graph [^\n]+)\n(.*?)```", docs, re.S)
    assert blocks
    for command, shown in blocks:
        result = cli(*command.split())
        assert result.exit_code == 0
        assert result.output == shown
