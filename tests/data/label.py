"""Write the ``relevant`` lists of ``needs.jsonl`` from ``scenarios.json`` by the rules in
README.md. Run from anywhere: ``python tests/data/label.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent


def relevant(need: dict, scenarios: list[str], packages: list[dict], tags: dict) -> list[str]:
    """Rules 1-3: same scenario, industry scope fits, specific before general, main first."""
    out: list[str] = []
    for scenario in scenarios:
        fitting = [p for p in packages if scenario in tags[p["id"]]]
        specific = [p["id"] for p in fitting if need["industry"] in p["industries"]]
        general = [p["id"] for p in fitting if not p["industries"]]
        out += [pid for pid in specific + general if pid not in out]
    return out


def main() -> None:
    tags = json.loads((HERE / "scenarios.json").read_text(encoding="utf-8"))
    packages = [json.loads(x) for x in (HERE / "packages.jsonl").read_text("utf-8").splitlines()]
    lines = []
    for line in (HERE / "needs.jsonl").read_text(encoding="utf-8").splitlines():
        need = json.loads(line)
        need["relevant"] = relevant(need, tags["needs"][need["id"]], packages, tags["packages"])
        assert need["relevant"], need["id"]
        lines.append(json.dumps(need, ensure_ascii=False))
    (HERE / "needs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
