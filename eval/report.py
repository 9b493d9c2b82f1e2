"""Tables, markdown reports and matplotlib plots for the evaluation commands.

Each command writes ``FILE`` (JSON), ``FILE.md`` (a markdown report) and ``FILE.png`` (a plot)
next to each other; ``recbot eval all`` writes one report with one plot per part.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402

Table = tuple[list[str], list[list[str]]]


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A fixed-width text table for the terminal."""
    widths = [
        max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
        for i, h in enumerate(header)
    ]
    line = "  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out.extend("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
    return "\n".join(out)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out.extend("| " + " | ".join(str(c) for c in r) + " |" for r in rows)
    return "\n".join(out)


def _f(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) and value is not None else "–"


# --- per command tables ----------------------------------------------------------------------
def dialogue_table(result: dict[str, Any]) -> Table:
    rows = [[key, f"{v['passed']}/{v['total']}", _f(v["rate"], 2)] for key, v in result["per_key"].items()]
    rows.append(
        [
            "(dialogues passing every check)",
            f"{result['dialogues_passed']}/{result['dialogues']}",
            _f(result["dialogue_pass_rate"], 2),
        ]
    )
    return ["expectation", "passed", "rate"], rows


def redial_table(result: dict[str, Any]) -> Table:
    header = ["system", "R@1", "R@10", "R@50", "MRR", "NDCG@10", "fresh R@1", "fresh R@10", "fresh R@50", "n"]
    rows = []
    served = result.get("served_system")
    eval_only = set(result.get("eval_only_systems") or ())
    for name, m in result["systems"].items():
        a, f = m["all"], m["fresh"]
        label = f"{name} (served)" if name == served else f"{name} (eval-only)" if name in eval_only else name
        rows.append(
            [
                label,
                _f(a["recall@1"]),
                _f(a["recall@10"]),
                _f(a["recall@50"]),
                _f(a["mrr"]),
                _f(a["ndcg@10"]),
                _f(f["recall@1"]),
                _f(f["recall@10"]),
                _f(f["recall@50"]),
                str(a["n"]),
            ]
        )
    return header, rows


def redial_api_table(result: dict[str, Any]) -> Table:
    """The HTTP replay next to the in-process lists of the same points (R@N: N = the list length)."""
    header = ["system", "R@1", "R@10", "R@N", "fresh R@1", "fresh R@10", "fresh R@N", "n"]
    rows = []
    for name, m in result["systems"].items():
        a, f = m["all"], m["fresh"]
        n_key = max((k for k in a if k.startswith("recall@")), key=lambda k: int(k.split("@")[1]))
        cells = [a["recall@1"], a.get("recall@10", 0.0), a[n_key], f["recall@1"], f.get("recall@10", 0.0)]
        rows.append([f"{name} ({n_key})", *(_f(v) for v in cells), _f(f[n_key]), str(a["n"])])
    if "agreement" in result:
        agree = result["agreement"]
        rows.append(["same list, API vs in process", _f(agree["same_list"]), "", "", "", "", "", ""])
    return header, rows


def simulation_table(result: dict[str, Any]) -> Table:
    served = result.get("served_system")
    order = sorted(result["systems"], key=lambda name: name != served)  # the served system first
    rows = [
        [
            f"{name} (served)" if name == served else name,
            _f(m["success_rate"], 2),
            _f(m["avg_turns"], 2),
            _f(m["avg_turns_when_found"], 2),
            str(m["users"]),
            str(m["errors"]),
        ]
        for name, m in ((n, result["systems"][n]) for n in order)
    ]
    return ["system", "success", "avg turns", "turns when found", "users", "errors"], rows


def simulation_comparisons(result: dict[str, Any]) -> Table:
    """Paired differences of the served system's success against each baseline."""
    rows = [
        [
            name,
            _f(c["difference"], 3),
            f"[{_f(c['ci95'][0], 3)}, {_f(c['ci95'][1], 3)}]",
            f"{c['a_only']} / {c['b_only']}",
            f"{c['sign_test_p']:.2g}",
            str(c["n"]),
        ]
        for name, c in result.get("comparisons", {}).items()
    ]
    header = ["paired difference", "success diff", "95% CI (bootstrap)", "only a / only b", "sign test p"]
    header.append("users")
    return header, rows


# --- plots -------------------------------------------------------------------------------------
def plot_dialogues(result: dict[str, Any], ax: Any) -> None:
    keys = list(result["per_key"])
    ax.barh(keys, [result["per_key"][k]["rate"] for k in keys], color="#4c72b0")
    ax.set_xlim(0, 1)
    ax.set_xlabel("pass rate")
    ax.set_title(f"Scripted dialogues ({result['dialogues_passed']}/{result['dialogues']} pass fully)")


def plot_redial(result: dict[str, Any], ax: Any) -> None:
    names = list(result["systems"])
    bars = [("all", "recall@10"), ("all", "recall@50"), ("fresh", "recall@10"), ("fresh", "recall@50")]
    width = 0.8 / len(bars)
    for j, (setting, metric) in enumerate(bars):
        values = [result["systems"][n][setting][metric] for n in names]
        ax.bar([i + j * width for i in range(len(names))], values, width, label=f"{setting} {metric}")
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))], names, rotation=20)
    ax.set_ylabel("recall")
    ax.set_title(
        f"ReDial {result['split']} ({result['samples']['all']} samples, "
        f"mapping {result['mapping_coverage']:.0%})"
    )
    ax.legend(fontsize=8)


def plot_redial_api(result: dict[str, Any], ax: Any) -> None:
    names = list(result["systems"])
    bars = [("all", "recall@1"), ("all", "recall@10"), ("fresh", "recall@1"), ("fresh", "recall@10")]
    width = 0.8 / len(bars)
    for j, (setting, metric) in enumerate(bars):
        values = [result["systems"][n][setting].get(metric, 0.0) for n in names]
        ax.bar([i + j * width for i in range(len(names))], values, width, label=f"{setting} {metric}")
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))], names)
    ax.set_ylabel("recall")
    ax.set_title(f"ReDial {result['split']} through the HTTP API ({result['samples']['all']} samples)")
    ax.legend(fontsize=8)


def plot_simulation(result: dict[str, Any], ax: Any) -> None:
    for name, m in result["systems"].items():
        ax.plot(range(1, len(m["success_by_turn"]) + 1), m["success_by_turn"], marker="o", label=name)
    ax.set_xticks(range(1, result["max_turns"] + 1))
    ax.set_xlabel("user messages")
    ax.set_ylabel("target shown (share of users)")
    ax.set_ylim(0, 1)
    ax.set_title(f"Simulated users ({result['users']}, seed {result['seed']})")
    ax.legend(fontsize=8)


def parse_table(result: dict[str, Any]) -> Table:
    header = ["figures", "precision", "recall", "false-title rate", "found", "correct", "gold", "judged"]
    rows = [
        [
            name,
            _f(m["precision"]),
            _f(m["recall"]),
            _f(m["false_title_rate"]),
            str(m["titles_found"]),
            str(m["correct"]),
            str(m["gold_mentions"]),
            str(m["judged_disagreements"]),
        ]
        for name, m in (("raw", result["raw"]), ("reviewed", result["reviewed"]))
    ]
    return header, rows


def plot_parse(result: dict[str, Any], ax: Any) -> None:
    metrics = ("precision", "recall", "false_title_rate")
    width = 0.38
    for j, name in enumerate(("raw", "reviewed")):
        ax.bar(
            [i + j * width for i in range(len(metrics))],
            [result[name][m] for m in metrics],
            width,
            label=name,
        )
    ax.set_xticks([i + width / 2 for i in range(len(metrics))], metrics)
    ax.set_ylim(0, 1)
    ax.set_title(f"Titles in ReDial {result['split']} seeker messages ({result['messages']} messages)")
    ax.legend(fontsize=8)


PLOTS = {
    "dialogues": plot_dialogues,
    "redial": plot_redial,
    "redial_api": plot_redial_api,
    "simulate": plot_simulation,
    "parse": plot_parse,
}
EXPLANATION_FIGURES = (
    ("user_linked", "cites a user-linked fact"),
    ("mean_facts", "distinct facts (mean)"),
    ("unique_sentences", "unique sentences"),
    ("session_unique_sentences", "unique sentences within a session (mean)"),
    ("session_repeated_openings", "opening repeats an earlier one in the session (mean)"),
    ("llm_share", "written by the LLM"),
    ("false_claims_run", "false claim (this run)"),
    ("unverified_run", "claim not checkable"),
)


def _counts(texts: dict[str, Any]) -> str:
    return f"{texts['accepted']} / {texts['rejected']} / {texts['failed']}" if texts else ""


def explanations_table(result: dict[str, Any]) -> Table:
    runs = [name for name in ("dialogues", "simulate", "all") if name in result]
    header = ["figure", *runs]
    rows = [[label, *(_f(result[r][key]) for r in runs)] for key, label in EXPLANATION_FIGURES]
    rows.insert(0, ["explanations", *(str(result[r]["explanations"]) for r in runs)])
    rows.insert(1, ["sessions", *(str(result[r].get("sessions", "")) for r in runs)])
    texts = [result[r].get("llm_texts") or {} for r in runs]
    rows.append(["LLM texts accepted / rejected / failed", *(_counts(t) for t in texts)])
    every = result.get("all", {})
    rows.append(
        [
            f"false claim (labelled sample, {every.get('labelled_sample', 0)})",
            *([""] * (len(runs) - 1)),
            _f(every.get("false_claims_labelled")),
        ]
    )
    return header, rows


def plot_explanations(result: dict[str, Any], ax: Any) -> None:
    runs = [name for name in ("dialogues", "simulate", "all") if name in result]
    keys = ("user_linked", "unique_sentences", "llm_share", "false_claims_run")
    width = 0.8 / max(1, len(runs))
    for j, run in enumerate(runs):
        ax.bar(
            [i + j * width for i in range(len(keys))], [result[run][k] or 0 for k in keys], width, label=run
        )
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(keys))], keys)
    ax.set_ylim(0, 1)
    ax.set_title(f"Shown explanations ({result.get('llm_backend', '?')} backend)")
    ax.legend(fontsize=8)


PLOTS["explanations"] = plot_explanations

TABLES = {
    "explanations": explanations_table,
    "dialogues": dialogue_table,
    "redial": redial_table,
    "redial_api": redial_api_table,
    "simulate": simulation_table,
    "parse": parse_table,
}


def save_plot(parts: dict[str, dict[str, Any]], path: Path) -> Path:
    """One subplot per part, saved as PNG."""
    fig, axes = plt.subplots(len(parts), 1, figsize=(9, 4.2 * len(parts)), squeeze=False)
    for ax, (kind, result) in zip(axes[:, 0], parts.items(), strict=True):
        PLOTS[kind](result, ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def report_paths(json_out: Path) -> tuple[Path, Path]:
    """``FILE.md`` and ``FILE.png`` next to the JSON file."""
    return json_out.with_name(json_out.name + ".md"), json_out.with_name(json_out.name + ".png")


def write_report(
    json_out: Path, parts: dict[str, dict[str, Any]], title: str, command: str
) -> dict[str, Path]:
    """Write JSON (one part: that part; several: a dict of parts), markdown and PNG; return the paths."""
    json_out = Path(json_out)
    json_out.parent.mkdir(parents=True, exist_ok=True)
    payload = next(iter(parts.values())) if len(parts) == 1 else parts
    json_out.write_text(json.dumps(payload, indent=2, default=str))
    md_path, png_path = report_paths(json_out)
    save_plot(parts, png_path)
    lines = [f"# {title}", "", f"Command: `{command}`", ""]
    for kind, result in parts.items():
        header, rows = TABLES[kind](result)
        lines += [f"## {kind}", "", markdown_table(header, rows), ""]
        lines += _extra_markdown(kind, result)
    lines += [f"![plot]({png_path.name})", ""]
    md_path.write_text("\n".join(lines))
    return {"json": json_out, "markdown": md_path, "plot": png_path}


def _extra_markdown(kind: str, result: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if kind == "dialogues":
        lat = result["latency_ms"]
        lines.append(
            f"Turn latency: mean {lat['mean']:.0f} ms, p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms "
            f"over {lat['turns']} turns."
        )
        lines.append("")
        rows = [
            [
                d["name"],
                "pass" if d["passed"] else ("error" if d["error"] else "fail"),
                f"{d['checks_passed']}/{d['checks']}",
                "; ".join(f"turn {c['turn']} {c['key']}: {c['detail']}" for c in d["failed"])[:160]
                or (d["error"] or ""),
            ]
            for d in result["per_dialogue"]
        ]
        lines += [markdown_table(["dialogue", "result", "checks", "failures"], rows), ""]
    elif kind == "redial":
        lines.append(
            f"Samples: {result['samples']}; mapping coverage of targets {result['mapping_coverage']:.3f}; "
            f"training: {result['training']}."
        )
        for name, note in result.get("notes", {}).items():
            lines.append(f"- {name}: {note}")
        lines.append("")
    elif kind == "simulate":
        lines.append(
            f"Success = target shown within {result['max_turns']} user messages, "
            f"{result['per_turn']} items per turn; leaked messages: {result['leaked_messages']}."
        )
        if result.get("comparisons"):
            lines += ["", markdown_table(*simulation_comparisons(result))]
        bins = result.get("by_target_ratings") or {}
        if bins:
            parts = [f"{n}: {_f(b['success_rate'], 2)} of {b['users']}" for n, b in bins.items()]
            head = f"{result.get('served_system')} success by the target's ratings from training users: "
            lines += ["", head + "; ".join(parts)]
        if "leak_audit" in result:
            found = {k: v for k, v in result["leak_audit"].items() if v}
            lines += ["", f"Leak audit of the agent: {found or 'nothing of the simulated users held'}."]
        for name, note in result.get("notes", {}).items():
            lines.append(f"- {name}: {note}")
        lines.append("")
    return lines
