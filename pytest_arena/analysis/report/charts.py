"""Charts (matplotlib, an optional extra): pareto.png and heatmap.png.

pareto.png: one panel per group; x = mean cost per task (USD), y = pass rate, both with their
95% CI bars; the Pareto frontier joined by a line. heatmap.png: task x cell pass rate.
Harness checks carry the label in their panel titles and column names.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_arena.analysis.report.tables import HARNESS_LABEL

if TYPE_CHECKING:
    from pytest_arena.analysis.compute import Analysis

MAX_PANELS = 12  # beyond this a page of panels is unreadable (and slow to draw); tables have all groups
MAX_ANNOTATED_CELLS = 900


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # files only: never open a window, also on CI without a display
    import matplotlib.pyplot as plt
    return plt


MARKERS = "osD^vP*X<>"  # with tab10's colours: 10 strategies told apart by colour and by shape


def strategy_styles(names) -> dict[str, tuple[object, str]]:
    """(colour, marker) per strategy name, the same in every panel and chart, so a strategy is
    recognised across panels and charts, harness-check panels included."""
    plt = _pyplot()
    colours = plt.get_cmap("tab10")
    return {name: (colours(i % 10), MARKERS[i % len(MARKERS)]) for i, name in enumerate(sorted(set(names)))}


def _error(point: float, lower: float | None, upper: float | None) -> tuple[float, float]:
    if lower is None or upper is None:
        return 0.0, 0.0
    return max(0.0, point - lower), max(0.0, upper - point)


def pareto_chart(analysis: Analysis, path: Path) -> Path | None:
    groups = [g for g, s in analysis.groups.items()
              if any(c.pass_rate.point is not None and c.cost_mean.point is not None for c in s.values())]
    groups.sort(key=lambda g: any(c.harness_check for c in analysis.groups[g].values()))  # model results first
    if not groups:
        return None
    plt = _pyplot()
    shown = groups[:MAX_PANELS]
    columns = min(3 if len(shown) > 4 else 2, len(shown))
    rows = math.ceil(len(shown) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.2 * columns, 4.6 * rows), squeeze=False)
    styles = strategy_styles(name for g in shown for name in analysis.groups[g])
    for ax, group in zip(axes.flat, shown):
        strategies = analysis.groups[group]
        harness = any(c.harness_check for c in strategies.values())
        metrics = analysis.metrics[group]
        frontier = []
        # strategies that land on one point share a label
        names_at: dict[tuple[float, float], list[tuple[str, object]]] = {}
        for name, stats in strategies.items():
            rate, cost = stats.pass_rate, stats.cost_mean
            if rate.point is None or cost.point is None:
                continue
            colour, marker = styles[name]
            ax.errorbar(cost.point, 100 * rate.point,
                        xerr=[[v] for v in _error(cost.point, cost.lower, cost.upper)],
                        yerr=[[100 * v] for v in _error(rate.point, rate.lower, rate.upper)],
                        fmt="none", ecolor=colour, elinewidth=1.2, capsize=4)
            # the marker drawn apart, so the legend shows it alone (not a box of error bars)
            ax.plot(cost.point, 100 * rate.point, marker, color=colour, markersize=8, linestyle="none",
                    label=f"{name} (n={stats.n_counted})")
            names_at.setdefault((round(cost.point, 12), round(100 * rate.point, 9)), []).append((name, colour))
            if metrics[name].on_frontier:
                frontier.append((cost.point, 100 * rate.point))
        for (x, y), named in names_at.items():
            ax.annotate(", ".join(n for n, _ in named), (x, y), textcoords="offset points", xytext=(6, 6),
                        fontsize=8, color=named[0][1])
        if len(frontier) > 1:
            xs, ys = zip(*sorted(frontier))
            ax.plot(xs, ys, "--", color="0.35", linewidth=1, label="Pareto frontier")
        title = group.title.replace(" · local", "\nlocal")
        ax.set_title(f"[{HARNESS_LABEL}] {title}" if harness else title, fontsize=10,
                     color="0.4" if harness else "black")
        ax.set_xlabel("mean cost per task (USD)")
        ax.set_ylabel("pass rate (%)")
        ax.set_ylim(-5, 105)
        highest = max((c.cost_mean.upper if c.cost_mean.upper is not None else c.cost_mean.point or 0.0)
                      for c in strategies.values())
        right = 1.3 * highest if highest > 0 else 0.01  # room for labels; all-local groups keep 0 at the left
        ax.set_xlim(-0.04 * right, right)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    note = "bars: 95% CI (task-clustered bootstrap; Wilson where it degenerates)"
    if len(groups) > len(shown):
        note += f"; {len(shown)} of {len(groups)} groups shown, all are in decision_matrix.md"
    # One panel is too narrow for the title and its note on one line: the note goes on a second.
    joiner = "   " if columns > 1 else "\n"
    fig.suptitle(f"Cost vs pass rate per strategy{joiner}({note})", fontsize=9)
    strip = 0.35 if columns > 1 else 0.4
    fig.tight_layout(rect=(0, 0, 1, 1 - strip / fig.get_figheight()))  # keep a strip for the suptitle
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def heatmap_chart(analysis: Analysis, path: Path) -> Path | None:
    """Pass rate per task (rows) and cell (columns), one panel per task class, so a class's
    tasks are never shown against another class's cells."""
    cells = [s for s in analysis.cells if s.per_task]
    if not cells:
        return None
    import numpy as np
    plt = _pyplot()
    classes = sorted({s.cell.task_class for s in cells})
    panels = []
    for task_class in classes:
        members = [s for s in cells if s.cell.task_class == task_class]
        tasks = sorted({t for s in members for t in s.per_task})
        several_agents = len({s.cell.agent for s in members}) > 1
        several_locals = len({(s.cell.local_model, s.cell.cloud_model) for s in members}) > 1
        labels = []
        for s in members:
            parts = ([s.cell.agent] if several_agents else []) + (
                [f"{s.cell.local_model} | {s.cell.cloud_model}"] if several_locals else [])
            label = " / ".join(parts + [s.cell.strategy])
            labels.append(label + (f"\n({HARNESS_LABEL})" if s.harness_check else ""))
        values = np.full((len(tasks), len(members)), np.nan)
        for j, s in enumerate(members):
            for i, task in enumerate(tasks):
                tally = s.per_task.get(task)
                if tally and tally.runs:
                    values[i, j] = tally.passes / tally.runs
        panels.append((task_class, members, tasks, labels, values))
    widest = max(len(p[1]) for p in panels)
    crowded = widest > 24  # labels stand upright, or they overlap
    width = min(30.0, 4.5 + 1.1 * widest)
    heights = [2.2 + 0.35 * len(p[2]) for p in panels]  # room for the slanted column labels
    fig, axes = plt.subplots(len(panels), 1, figsize=(width, min(60.0, sum(heights) + 0.8)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False, layout="constrained")
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="0.85")  # grey: task not run in this cell
    image = None
    for ax, (task_class, members, tasks, labels, values) in zip(axes[:, 0], panels):
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(members)), labels, rotation=90 if crowded else 25,
                      ha="center" if crowded else "right", fontsize=6 if crowded else 7)
        ax.set_yticks(range(len(tasks)), tasks, fontsize=7)
        agents = sorted({m.cell.agent for m in members})
        ax.set_title(task_class + ("" if len(agents) > 1 else f" · {agents[0]}"), fontsize=9, loc="left")
        if values.size <= MAX_ANNOTATED_CELLS:
            for j, s in enumerate(members):
                for i, task in enumerate(tasks):
                    tally = s.per_task.get(task)
                    if tally and tally.runs:
                        dark = not 0.2 <= values[i, j] <= 0.85  # white on the deep red and deep green ends
                        ax.text(j, i, f"{tally.passes}/{tally.runs}", ha="center", va="center", fontsize=7,
                                color="white" if dark else "black")
    fig.colorbar(image, ax=axes[:, 0].tolist(), label="pass rate", fraction=0.03, pad=0.01)
    fig.suptitle("Pass rate per task and strategy (passes / runs over seeds; grey: not run)", fontsize=10)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def curve_chart(analysis: Analysis, path: Path) -> Path | None:
    """curve.png: per group (rows), pass rate against cloud-token share (left) and against mean cost
    per run (right) for every operating point with 95% CI bars; each strategy's operating points
    joined in cloud-share order, the anchors marked, the Pareto frontier dashed, the oracle a star."""
    shown = [g for g in analysis.curves if g.points][:MAX_PANELS]
    if not shown:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(len(shown), 2, figsize=(11, 3.6 * len(shown)), squeeze=False)
    styles = strategy_styles(p.family for g in shown for p in g.points.values())
    for row, g in zip(axes, shown):
        for ax, attr, flag, xlabel, scale in ((row[0], "cloud_share", "pareto_share", "cloud-token share (%)", 100),
                                              (row[1], "cost_mean", "pareto_cost", "mean cost per run (USD)", 1)):
            families: dict[str, list] = {}
            for p in g.points.values():
                families.setdefault(p.family, []).append(p)
            for family, members in sorted(families.items()):
                members = [m for m in members if getattr(m, attr).point is not None and m.pass_rate.point is not None]
                if not members:
                    continue
                members.sort(key=lambda m: getattr(m, attr).point)
                xs = [getattr(m, attr).point * scale for m in members]
                ys = [100 * m.pass_rate.point for m in members]
                xerr = list(zip(*[_error(getattr(m, attr).point * scale, *(None if v is None else v * scale for v in
                                  (getattr(m, attr).lower, getattr(m, attr).upper))) for m in members]))
                yerr = list(zip(*[_error(100 * m.pass_rate.point, *(None if v is None else 100 * v for v in
                                  (m.pass_rate.lower, m.pass_rate.upper))) for m in members]))
                colour, marker = styles[family]
                ax.errorbar(xs, ys, xerr=xerr, yerr=yerr, fmt=marker + "-", color=colour, capsize=2, label=family,
                            alpha=0.85)
                if len(members) > 1:
                    for m, x, y in zip(members, xs, ys):
                        ax.annotate(m.strategy.partition("@")[2], (x, y), fontsize=6, xytext=(3, 3),
                                    textcoords="offset points")
            front = sorted((getattr(p, attr).point * scale, 100 * p.pass_rate.point)
                           for p in g.points.values() if getattr(p, flag) and p.pass_rate.point is not None)
            if len(front) > 1:
                ax.plot(*zip(*front), "k--", linewidth=0.8, label="Pareto frontier")
            oracle = getattr(g.oracle, attr).point
            if oracle is not None and g.oracle.pass_rate.point is not None:
                ax.plot([oracle * scale], [100 * g.oracle.pass_rate.point], "k*", markersize=10, label="oracle router")
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel("pass rate (%)", fontsize=8)
            ax.set_ylim(-5, 105)
            ax.grid(True, alpha=0.3)
        title = g.group.title + (f"  ({HARNESS_LABEL})" if g.harness_check else "")
        row[0].set_title(title, fontsize=8, loc="left")
        row[0].legend(fontsize=6, loc="lower right")
    note = "bars: 95% CI (task-clustered bootstrap)"
    if len(analysis.curves) > len(shown):
        note += f"; {len(shown)} of {len(analysis.curves)} groups shown, all are in summary.md"
    fig.suptitle(f"Cost–quality curve per operating point   ({note})", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
