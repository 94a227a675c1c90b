"""The score-vs-input-size plot (PNG): one panel per task, one line per method.

matplotlib is an optional extra (`rlm-cli[bench]`), imported only here and only when plotting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlm_cli.bench.items import size_label

PLOT_FILE = "score_vs_size.png"
MISSING = "plot skipped: matplotlib is not installed (pip install 'rlm-cli[bench]')"


def plot_summary(summary: dict[str, Any], out_dir: Path, caption: str = "") -> Path | None:
    """Draw the plot into `out_dir`; None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: never open a window or need a display
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    tasks = summary["tasks"]
    columns = min(3, len(tasks))
    rows = -(-len(tasks) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    for panel, task in zip(axes.flat, tasks, strict=False):
        for method in summary["methods"]:
            points = sorted((g["size"], g["score"]) for g in summary["groups"] if g["task"] == task and g["method"] == method)
            if points:
                panel.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=method)
        panel.set_title(task)
        panel.set_xscale("log")
        panel.set_xticks(summary["sizes"], [size_label(size) for size in summary["sizes"]])
        panel.minorticks_off()
        panel.set_ylim(-0.05, 1.05)
        panel.set_xlabel("input size (tokens)")
        panel.set_ylabel("mean score")
        panel.grid(alpha=0.3)
    for panel in list(axes.flat)[len(tasks):]:
        panel.set_visible(False)
    axes.flat[0].legend(loc="lower left", fontsize="small")
    title = f"rlm bench: {summary['model']} (sub: {summary['sub_model']}), n={summary['n']}, seed {summary['seed']}"
    figure.suptitle(title + (f"\n{caption}" if caption else ""), fontsize="medium")
    figure.tight_layout()
    path = out_dir / PLOT_FILE
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
