"""The chart `make bench` draws beside bench/results.md: each scenario's throughput as a ratio to the
bare-stack baseline of the same run, and its p50 and p99 latency at 4 and 16 connections."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: write a file
import matplotlib.pyplot as plt


def draw(path: Path, rows: list[tuple[str, dict, float, str]], title: str) -> None:
    """*rows*: (label, {4: run, 16: run}, ratio to its baseline, "insert" or "select")."""
    labels = [label for label, _, _, _ in rows]
    figure, (ratios, latency) = plt.subplots(1, 2, figsize=(15, 0.55 * len(rows) + 2.2), sharey=True)
    positions = range(len(rows))
    colours = ["#3b7dd8" if against == "insert" else "#2a9d6f" for _, _, _, against in rows]
    ratios.barh(positions, [ratio for _, _, ratio, _ in rows], color=colours)
    ratios.axvline(1.0, color="#444", linewidth=1)
    ratios.set_yticks(list(positions), labels)
    ratios.invert_yaxis()
    ratios.set_xlabel("throughput at saturation ÷ baseline (blue: insert, green: select)")
    for position, (_, _, ratio, _) in enumerate(rows):
        ratios.text(ratio + 0.01, position, f"{ratio:.2f}", va="center", fontsize=8)
    height = 0.2
    for offset, (connections, percentile, colour) in enumerate(
        ((4, "p50_us", "#9ecae1"), (4, "p99_us", "#3182bd"), (16, "p50_us", "#fdae6b"), (16, "p99_us", "#e6550d"))
    ):
        values = [runs[connections][percentile] / 1000 for _, runs, _, _ in rows]
        latency.barh(
            [position + (offset - 1.5) * height for position in positions],
            values,
            height=height,
            color=colour,
            label=f"{percentile[:3]} @{connections} connections",
        )
    latency.set_xlabel("latency (ms)")
    latency.legend(loc="lower right", fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
