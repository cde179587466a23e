"""Fixtures for the search library's tests: no app, just an index directory and records."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from matching.text import Segmenter
from search import NeedDoc, PackageDoc, SearchIndex, SearchQuery


@pytest.fixture(scope="session")
def segmenter(tmp_path_factory) -> Segmenter:
    """One loaded segmenter for the session, with a jieba cache of its own."""
    cache = tmp_path_factory.mktemp("jieba") / "jieba.cache"
    with warnings.catch_warnings():
        # jieba's load_userdict leaves a dictionary file it opened itself unclosed; older
        # versions of matching.text passed it a path. Harmless either way.
        warnings.simplefilter("ignore", ResourceWarning)
        return Segmenter(cache_file=cache).initialize()


@pytest.fixture
def index(tmp_path, segmenter) -> SearchIndex:
    with SearchIndex(tmp_path / "search", segmenter=segmenter, lock_timeout=10) as ix:
        yield ix


_BASE = datetime(2025, 1, 1)


@pytest.fixture
def package() -> Callable[..., PackageDoc]:
    """Builds a public package; keyword arguments override any field."""

    def make(id: int, title: str = "通用方案", text: str = "", **fields) -> PackageDoc:
        fields.setdefault("acl", ("public",))
        fields.setdefault("published", _BASE + timedelta(days=id))
        return PackageDoc(id=id, title=title, text=text, **fields)

    return make


@pytest.fixture
def need() -> Callable[..., NeedDoc]:
    def make(id: int, title: str = "通用需求", text: str = "", **fields) -> NeedDoc:
        fields.setdefault("acl", ("public",))
        fields.setdefault("created", _BASE + timedelta(days=id))
        return NeedDoc(id=id, title=title, text=text, **fields)

    return make


@pytest.fixture
def find(index) -> Callable[..., object]:
    """``find(text, **options)``: search packages as the public unless told otherwise."""

    def run(text: str = "", kind: str = "package", principals=("public",), **options):
        return index.search(SearchQuery(kind, text, frozenset(principals), **options))

    return run


def ids(results) -> list[int]:
    return [hit.id for hit in results.hits]
