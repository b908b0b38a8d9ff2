"""Draw deploy/grafana/payouts.json as a PNG: each panel where Grafana puts it, with its title, type and queries.

    .venv/bin/python scripts/grafana_overview.py [out.png]

A look at the dashboard's layout and what each panel asks Prometheus, where
Grafana itself is not at hand. It draws no data. Uses matplotlib, the
benchmark's charting package (bench/requirements.txt; `make bench` installs it).
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DASHBOARD = REPO / "deploy" / "grafana" / "payouts.json"
COLOURS = {"row": "#e8eaf0", "timeseries": "#eef6ff", "stat": "#eefbea"}


def main() -> int:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle
    except ImportError:
        print(
            "matplotlib is needed: .venv/bin/pip install -r bench/requirements.lock --require-hashes", file=sys.stderr
        )
        return 1
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / ".data" / "grafana-overview.png"
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    unit = 0.55  # inches per grid row; the grid is 24 columns wide
    fig = plt.figure(figsize=(24 * 0.75, rows * unit + 0.8))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 24)
    ax.set_ylim(rows + 1.2, 0)
    ax.axis("off")
    ax.text(
        0.2, 0.6, f"{dashboard.get('title', 'dashboard')}  ({DASHBOARD.relative_to(REPO)})", fontsize=16, weight="bold"
    )
    for panel in panels:
        pos, kind = panel["gridPos"], panel.get("type", "?")
        x, y, w, h = pos["x"], pos["y"] + 1.2, pos["w"], pos["h"]
        ax.add_patch(
            Rectangle((x + 0.05, y + 0.05), w - 0.1, h - 0.1, facecolor=COLOURS.get(kind, "#f5f5f5"), edgecolor="#555")
        )
        ax.text(x + 0.2, y + 0.45, f"{panel.get('title', '')}", fontsize=11, weight="bold", va="top")
        if kind == "row":
            continue
        ax.text(x + w - 0.2, y + 0.45, kind, fontsize=9, ha="right", va="top", color="#666", style="italic")
        lines = []
        for target in panel.get("targets", []):
            lines += textwrap.wrap(target.get("expr", ""), width=int(w * 7.2)) or [""]
        ax.text(x + 0.2, y + 1.0, "\n".join(lines), fontsize=8, family="monospace", va="top", color="#223")
    fig.savefig(out, dpi=80)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
