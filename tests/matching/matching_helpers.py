"""Builders for the recommender tests."""

from __future__ import annotations

from pathlib import Path

from matching import PackageRecord

#: The labelled evaluation set (see tests/data/README.md).
DATA = Path(__file__).parents[1] / "data"


def make_package(id, title, text="", **fields) -> PackageRecord:
    """A package record; each package gets its own provider unless told otherwise."""
    fields.setdefault("provider_id", f"v-{id}")
    return PackageRecord(id=id, title=title, text=text, **fields)
