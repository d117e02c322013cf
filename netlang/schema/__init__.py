"""JSON Schemas of netlang's JSON output: ``ast`` (``parse --json``) and ``diagnostics`` (``check --json``)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Dict

NAMES = ("ast", "diagnostics")


def load(name: str) -> Dict[str, Any]:
    """The schema called ``name`` (one of :data:`NAMES`), as a dict (a fresh copy each call)."""
    if name not in NAMES:
        raise ValueError(f"unknown schema {name!r}; the schemas are {', '.join(NAMES)}")
    loaded: Dict[str, Any] = json.loads(_text(name))
    return loaded


@cache
def _text(name: str) -> str:
    return resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
