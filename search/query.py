"""What a search asks for (:class:`SearchQuery`) and what it gets back (:class:`SearchResults`).

Backend-neutral: a future PostgreSQL backend takes and returns the same objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import QueryError
from .records import KINDS, NEED, PACKAGE, NeedDoc, PackageDoc

SORTS = ("relevance", "price_asc", "price_desc", "newest")

#: Price bands in fen: (key, lowest included, highest excluded or None).
PRICE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("lt_5k", 0, 500_000),
    ("5k_20k", 500_000, 2_000_000),
    ("20k_50k", 2_000_000, 5_000_000),
    ("50k_100k", 5_000_000, 10_000_000),
    ("100k_500k", 10_000_000, 50_000_000),
    ("ge_500k", 50_000_000, None),
)
PRICE_BAND_KEYS = tuple(key for key, _, _ in PRICE_BANDS)


@dataclass(frozen=True)
class KeywordField:
    """A code field that can be filtered and faceted: ``name`` in queries, ``attr`` on records."""

    name: str
    attr: str
    multi: bool = False


@dataclass(frozen=True)
class KindSpec:
    """How one document kind is indexed: its code fields, price and date attributes."""

    kind: str
    record_type: type
    keywords: tuple[KeywordField, ...]
    price_attr: str
    date_attrs: tuple[str, ...]  # first non-None wins
    default_facets: tuple[str, ...]

    @property
    def keyword_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keywords)

    @property
    def facet_names(self) -> tuple[str, ...]:
        return (*self.keyword_names, "price_band")


_COMMON = (
    KeywordField("category", "category"),
    KeywordField("scenario_level", "scenario_levels", multi=True),
    KeywordField("industry", "industries", multi=True),
    KeywordField("cluster", "clusters", multi=True),
)

SPECS: Mapping[str, KindSpec] = MappingProxyType({
    PACKAGE: KindSpec(
        kind=PACKAGE,
        record_type=PackageDoc,
        keywords=(
            *_COMMON,
            KeywordField("region", "regions_served", multi=True),
            KeywordField("deployment", "deployment"),
            KeywordField("provider_tier", "provider_tier"),
            KeywordField("subsidy", "subsidy_available"),
            KeywordField("provider", "provider_id"),
        ),
        price_attr="price_fen",
        date_attrs=("published", "created"),
        default_facets=(
            "category", "scenario_level", "industry", "region", "deployment", "price_band",
            "provider_tier", "subsidy",
        ),
    ),
    NEED: KindSpec(
        kind=NEED,
        record_type=NeedDoc,
        keywords=(
            *_COMMON,
            KeywordField("region", "regions", multi=True),
            KeywordField("status", "status"),
            KeywordField("enterprise", "enterprise_id"),
        ),
        price_attr="budget_max_fen",
        date_attrs=("created",),
        default_facets=(
            "category", "scenario_level", "industry", "cluster", "region", "price_band", "status",
        ),
    ),
})


def code_terms(value: object) -> list[str]:
    """The index terms of a record attribute or filter value: codes as strings, bools as
    ``"true"``/``"false"``, ``None`` as nothing."""
    if value is None:
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, (tuple, list, set, frozenset)):
        return [t for v in value for t in code_terms(v)]
    return [str(value)]


@dataclass(frozen=True)
class SearchQuery:
    """One search.

    Parameters
    ----------
    kind : str
        ``"package"`` or ``"need"``.
    text : str
        What the user typed. Words must all match (title or text); ``"quoted words"`` (ASCII or
        Chinese quotes) must match as a phrase; ``-word`` excludes. Empty text lists everything
        visible (sorted newest first when ``sort`` is relevance).
    principals : frozenset of str
        Who is asking (``"public"``, ``"enterprise:12"`` …). Required: no principals, no results.
    filters : mapping of str to values
        Filter name → accepted values (any of them), e.g. ``{"category": ["quality"],
        "region": ["320102"], "subsidy": [True], "price_band": ["5k_20k"]}``. Names are the
        facet names of the kind (see :data:`SPECS`), plus ``provider`` / ``enterprise`` ids.
        Different filters combine with AND.
    price_min_fen, price_max_fen : int, optional
        Inclusive price (packages) or maximum-budget (needs) range.
    sort : str
        One of :data:`SORTS`.
    page, per_page : int
        1-based page; ``per_page`` is capped at 100.
    facets : tuple of str, optional
        Facets to count; ``None`` means the kind's defaults, ``()`` none.
    highlight : bool
        Build ``title_html`` / ``snippet_html`` for the hits.
    expand : bool
        Let each query word also match the solution wording of the scenario concepts it
        triggers (``matching``'s vocabulary: "老是坏" also finds "故障预警"). Whoosh backend only.
    fallback : bool
        When no visible document matches every word, return the documents matching some of
        them, ranked by how many words they match and then by score (``results.relaxed``).
        Whoosh backend only.
    """

    kind: str
    text: str
    principals: frozenset[str]
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    price_min_fen: int | None = None
    price_max_fen: int | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    facets: tuple[str, ...] | None = None
    highlight: bool = True
    expand: bool = False
    fallback: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise QueryError(f"unknown kind {self.kind!r}")
        if isinstance(self.principals, str):
            raise QueryError("principals must be a collection of strings, not one string")
        object.__setattr__(self, "principals", frozenset(self.principals))
        spec = SPECS[self.kind]
        known = (*spec.facet_names,)
        filters = {}
        for name, values in dict(self.filters).items():
            if name not in known:
                raise QueryError(f"unknown filter {name!r} for {self.kind}")
            terms = tuple(code_terms(values if not isinstance(values, str) else [values]))
            if name == "price_band" and set(terms) - set(PRICE_BAND_KEYS):
                raise QueryError(f"unknown price band in {terms!r}")
            if terms:
                filters[name] = terms
        object.__setattr__(self, "filters", MappingProxyType(filters))
        facets = spec.default_facets if self.facets is None else tuple(self.facets)
        for name in facets:
            if name not in known:
                raise QueryError(f"unknown facet {name!r} for {self.kind}")
        object.__setattr__(self, "facets", facets)
        if self.sort not in SORTS:
            raise QueryError(f"unknown sort {self.sort!r}; use one of {SORTS}")
        object.__setattr__(self, "page", max(1, int(self.page)))
        object.__setattr__(self, "per_page", min(100, max(1, int(self.per_page))))


_QUOTED = re.compile(r'"([^"]*)"|“([^”]*)”|「([^」]*)」')


@dataclass(frozen=True)
class ParsedText:
    """The user's text split into plain text, phrases and excluded words (still unsegmented)."""

    plain: str
    phrases: tuple[str, ...]
    excluded: tuple[str, ...]


def split_text(text: str) -> ParsedText:
    """Pull quoted phrases and ``-word`` exclusions out of a query string."""
    phrases = tuple(next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(text))
    rest = _QUOTED.sub(" ", text)
    excluded, plain = [], []
    for part in rest.split():
        if part.startswith(("-", "－")) and len(part) > 1:
            excluded.append(part[1:])
        else:
            plain.append(part)
    return ParsedText(" ".join(plain), tuple(p for p in phrases if p.strip()), tuple(excluded))


class Html(str):
    """Markup that is already escaped: Jinja (and markupsafe) render it as is."""

    def __html__(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Hit:
    """One result: the record as indexed, its score and highlighted title and snippet."""

    record: PackageDoc | NeedDoc
    score: float
    title_html: Html
    snippet_html: Html

    @property
    def id(self) -> int:
        return self.record.id


@dataclass(frozen=True)
class FacetCount:
    """One value of a facet: how many results it would have (other facets' filters applied)."""

    value: str
    count: int
    selected: bool = False


@dataclass(frozen=True)
class SearchResults:
    """A page of results with the total, facet counts and, when nothing matched, a suggestion."""

    hits: tuple[Hit, ...]
    total: int
    page: int
    per_page: int
    facets: Mapping[str, tuple[FacetCount, ...]]
    suggestion: str | None = None
    words: tuple[str, ...] = ()
    #: True when the hits match only some of the words (:attr:`SearchQuery.fallback`).
    relaxed: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1
