"""Benchmark on synthetic catalogues: fit, memory, latency against the floor, throughput.

Each catalogue size runs in a fresh subprocess so its peak memory is its own. Texts are
composed from fragments that are segmented once, so every record carries the tokens a web
layer would store at write time; a fit is then exactly the "refit from stored tokens".
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import codes
from .features import ScenarioVocabulary, analyze
from .records import NeedRecord, PackageRecord

# Generic solution wording mixed into package texts, next to the vocabulary's own phrases.
_SOLUTION = (
    "轻量化部署",
    "按年订阅",
    "一周上线",
    "支持私有化部署",
    "提供实施培训",
    "移动端随时查看",
    "数据实时采集",
    "自动生成报表",
    "异常自动告警",
    "与现有系统对接",
    "专家远程支持",
    "适用于中小企业",
    "投入小见效快",
    "按需扩展",
    "开箱即用",
    "标准化接口",
)
_PROBLEM = (
    "想解决一下",
    "老板很头疼",
    "损失不小",
    "人手不够",
    "希望尽快见效",
    "预算有限",
    "之前没做过数字化",
    "客户一直在催",
    "想先小范围试点",
    "厂里一直是老办法",
)
_REGIONS = [f"32{c:02d}00" for c in range(1, 14)]


class _Fragments:
    """Phrases with their jieba tokens, segmented once for the whole catalogue."""

    def __init__(self):
        vocabulary = ScenarioVocabulary()
        self.by_category: dict[str, list[str]] = {c: [] for c in codes.CATEGORIES}
        for concept in vocabulary.concepts.values():
            self.by_category[concept.category].extend(concept.triggers)
        phrases = {p for ps in self.by_category.values() for p in ps}
        phrases |= set(_SOLUTION) | set(_PROBLEM)
        self.tokens = {p: analyze(p) for p in phrases}

    def compose(self, rng: random.Random, category: str, n: int, filler) -> tuple[str, tuple]:
        own = self.by_category[category]
        other = self.by_category[rng.choice(codes.CATEGORIES)]
        parts = [rng.choice(own) for _ in range(n)] + [rng.choice(other), rng.choice(filler)]
        rng.shuffle(parts)
        tokens = tuple(t for p in parts for t in self.tokens[p])
        return "，".join(parts), tokens


def synthetic_catalogue(n_packages: int, n_needs: int, seed: int = 0):
    """Packages, needs, chain adoption and subsidised prices, all with stored tokens."""
    rng = random.Random(seed)
    frags = _Fragments()
    n_providers = max(10, n_packages // 20)
    leaders = [f"L{i}" for i in range(50)]
    platform_of = {f"V{i}": leaders[i] for i in range(len(leaders))}
    tiers = list(codes.TIER_RANK)
    packages = []
    for i in range(n_packages):
        category = rng.choice(codes.CATEGORIES)
        text, tokens = frags.compose(rng, category, rng.randint(8, 14), _SOLUTION)
        provider = f"V{rng.randrange(n_providers)}"
        packages.append(
            PackageRecord(
                id=f"P{i}",
                title=text[:12],
                text=text[12:],
                category=category,
                scenario_levels=(rng.choice(list(codes.LEVEL_RANK)),),
                industries=tuple(
                    f"C{rng.randint(13, 43)}" for _ in range(rng.choice((0, 0, 1, 2)))
                ),
                clusters=(rng.choice(codes.CLUSTERS),) if rng.random() < 0.3 else (),
                regions_served=tuple(rng.sample(_REGIONS, 2)) if rng.random() < 0.3 else (),
                price_fen=rng.randrange(1, 500) * 100_000,
                provider_id=provider,
                provider_tier=rng.choice(tiers),
                provider_verified=rng.random() < 0.6,
                provider_rating=round(rng.uniform(3, 5), 1) if rng.random() < 0.7 else None,
                provider_status=rng.choices(["normal", "preferred", "eliminated"], [93, 5, 2])[0],
                chain_leader_id=platform_of.get(provider),
                tokens=tokens,
            )
        )
    needs = []
    for i in range(n_needs):
        category = rng.choice(codes.CATEGORIES)
        text, tokens = frags.compose(rng, category, rng.randint(2, 4), _PROBLEM)
        city = rng.choice(_REGIONS)
        needs.append(
            NeedRecord(
                id=f"N{i}",
                text=text,
                industry=f"C{rng.randint(13, 43)}",
                cluster=rng.choice(codes.CLUSTERS) if rng.random() < 0.3 else None,
                scenario_level=rng.choice(list(codes.LEVEL_RANK)),
                regions=(city[:4] + "02", city, "320000"),
                budget_max_fen=rng.randrange(1, 300) * 100_000,
                chain_leader_id=rng.choice(leaders) if rng.random() < 0.4 else None,
                tokens=tokens,
            )
        )
    adoption = {
        leader: {f"V{rng.randrange(n_providers)}": rng.randint(1, 9) for _ in range(20)}
        for leader in leaders
    }
    subsidies = {p.id: p.price_fen // 2 for p in rng.sample(packages, n_packages // 10)}
    return packages, needs, adoption, subsidies


def _rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _percentiles(samples: list[float]) -> dict[str, float]:
    arr = np.asarray(samples) * 1000
    return {"p50_ms": float(np.percentile(arr, 50)), "p95_ms": float(np.percentile(arr, 95))}


def _floor(matcher, need: NeedRecord, N: int = 10) -> float:
    """The bare sparse product plus top-k selection for the query's (prepared) vector."""
    q = matcher._weighted(matcher._transform([need])[0])
    rows = matcher._package_rows
    start = time.perf_counter()
    scores = (q @ rows.main_t).toarray()[0]
    top = np.argpartition(-scores, N - 1)[:N]
    top[np.argsort(-scores[top])]
    return time.perf_counter() - start


def bench_size(n_packages: int, batch: int, queries: int, seed: int) -> dict[str, Any]:
    """One catalogue size, in this process."""
    from .matcher import Matcher

    packages, needs, adoption, subsidies = synthetic_catalogue(n_packages, 1000 + queries, seed)
    rss_before = _rss_mb()
    start = time.perf_counter()
    matcher = Matcher().fit(
        packages, needs[:1000], chain_adoption=adoption, subsidised_prices=subsidies
    )
    fit_s = time.perf_counter() - start
    report: dict[str, Any] = {
        "packages": n_packages,
        "fit_s": round(fit_s, 2),
        "rss_before_fit_mb": round(rss_before, 1),
        "rss_peak_mb": round(_rss_mb(), 1),
        "index_mb": round(matcher.memory_bytes / 2**20, 1),
        "features": int(matcher._package_rows.n_features),
        "nnz_per_package": round(matcher._package_rows.main.nnz / n_packages, 1),
    }
    sample = needs[:queries]
    for need in sample[:20]:
        matcher.recommend(need, 10)
        _floor(matcher, need)
    full, floor = [], []
    for need in sample:
        t = time.perf_counter()
        matcher.recommend(need, 10)
        full.append(time.perf_counter() - t)
        floor.append(_floor(matcher, need))
    report["recommend"] = _percentiles(full)
    # A need the index has not seen (no stored row): segmentation is still skipped because
    # the record carries its tokens, but n-grams, concepts and the classifier run per query.
    fresh = []
    for need in needs[1000 : 1000 + queries]:
        t = time.perf_counter()
        matcher.recommend(need, 10)
        fresh.append(time.perf_counter() - t)
    report["recommend_new_need"] = _percentiles(fresh)
    report["floor"] = _percentiles(floor)
    report["ratio_p50"] = round(report["recommend"]["p50_ms"] / report["floor"]["p50_ms"], 2)
    report["ratio_p95"] = round(report["recommend"]["p95_ms"] / report["floor"]["p95_ms"], 2)
    t = time.perf_counter()
    matcher.recommend_needs(packages[0].id, 10)
    report["leads_ms"] = round((time.perf_counter() - t) * 1000, 2)
    t = time.perf_counter()
    matcher.upsert_packages([packages[1]])
    report["upsert_one_ms"] = round((time.perf_counter() - t) * 1000, 2)
    if batch and n_packages == batch:
        batch_needs = synthetic_catalogue(0, batch, seed + 1)[1]
        t = time.perf_counter()
        matcher.recommend_batch(batch_needs, 10, reasons=False)
        report["batch"] = {"needs": batch, "top": 10, "s": round(time.perf_counter() - t, 2)}
        t = time.perf_counter()
        matcher.recommend_batch(batch_needs, 10, reasons=True)
        report["batch"]["with_reasons_s"] = round(time.perf_counter() - t, 2)
    report["rss_end_mb"] = round(_rss_mb(), 1)
    return report


def segmentation_rate(n_texts: int = 2000, seed: int = 0) -> float:
    """jieba characters per second on need-like texts (why tokens are stored at write time)."""
    _, needs, _, _ = synthetic_catalogue(0, n_texts, seed)
    texts = [n.text for n in needs]
    analyze("预热")
    t = time.perf_counter()
    for text in texts:
        analyze(text)
    return sum(map(len, texts)) / (time.perf_counter() - t)


def run_bench(
    sizes=(10_000, 100_000),
    batch: int = 20_000,
    queries: int = 300,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every size in its own subprocess and print a summary as it goes."""
    sizes = list(sizes)
    if batch and batch not in sizes:
        sizes.append(batch)
    report: dict[str, Any] = {"sizes": []}
    rate = segmentation_rate(seed=seed)
    report["jieba_chars_per_s"] = round(rate)
    log(f"jieba segmentation: {rate / 1e6:.2f} M chars/s")
    for n in sorted(sizes):
        code = (
            "import json, sys; from matching.bench import bench_size; "
            f"print(json.dumps(bench_size({n}, {batch}, {queries}, {seed})))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        report["sizes"].append(result)
        log(_summary(result))
    return report


def _summary(r: dict[str, Any]) -> str:
    line = (
        f"{r['packages']:>7} packages: fit {r['fit_s']:.2f} s, peak RSS {r['rss_peak_mb']:.0f} MB "
        f"(before fit {r['rss_before_fit_mb']:.0f} MB), index {r['index_mb']:.0f} MB; "
        f"recommend p50 {r['recommend']['p50_ms']:.2f} ms p95 {r['recommend']['p95_ms']:.2f} ms; "
        f"floor p50 {r['floor']['p50_ms']:.2f} ms p95 {r['floor']['p95_ms']:.2f} ms; "
        f"ratio p50 {r['ratio_p50']:.2f} p95 {r['ratio_p95']:.2f}; "
        f"unindexed need p50 {r['recommend_new_need']['p50_ms']:.2f} ms "
        f"p95 {r['recommend_new_need']['p95_ms']:.2f} ms; "
        f"leads {r['leads_ms']:.1f} ms; upsert one {r['upsert_one_ms']:.1f} ms"
    )
    if "batch" in r:
        b = r["batch"]
        line += f"; batch {b['needs']}x{r['packages']} top-10 {b['s']:.2f} s"
        line += f" ({b['with_reasons_s']:.2f} s with reasons)"
    return line
