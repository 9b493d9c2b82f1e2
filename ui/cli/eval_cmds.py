"""``recbot eval dialogues | redial | simulate | all``.

Each prints a table and writes JSON, FILE.md and FILE.png (see :mod:`eval.report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ui.cli.apps import cli_settings, eval_app
from ui.cli.errors import user_errors

DEFAULT_DIALOGUES = Path(__file__).resolve().parents[2] / "eval" / "dialogues"
JsonOut = Annotated[
    Path, typer.Option("--json-out", help="Write JSON here; FILE.md and FILE.png go next to it.")
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _errors() -> tuple[type[BaseException], ...]:
    from cf_engine.data.errors import DataError
    from cf_engine.data.redial import RedialDataError
    from eval.components import ComponentUnavailable
    from eval.dialogue_spec import DialogueSpecError

    return DialogueSpecError, RedialDataError, ComponentUnavailable, DataError, FileNotFoundError, ValueError


def _finish(parts: dict[str, dict[str, Any]], json_out: Path, title: str, command: str) -> None:
    from eval.report import TABLES, format_table, write_report

    for kind, result in parts.items():
        header, rows = TABLES[kind](result)
        typer.echo(f"\n{kind}\n{format_table(header, rows)}")
        for name, note in result.get("notes", {}).items():
            typer.echo(f"  {name}: {note[:300]}")
    paths = write_report(json_out, parts, title, command)
    typer.echo(f"\nwrote {paths['json']}, {paths['markdown']}, {paths['plot']}")


@eval_app.command("dialogues")
def dialogues_cmd(
    path: Annotated[
        Path, typer.Argument(help="A dialogue YAML file or a folder of them.")
    ] = DEFAULT_DIALOGUES,
    json_out: JsonOut = Path("eval-dialogues.json"),
    llm: Annotated[str | None, typer.Option(help="LLM backend for the run (default: settings).")] = None,
) -> None:
    """Play scripted dialogues against the agent and check every expectation."""
    from eval.suite import run_dialogue_suite

    settings = cli_settings(**({"llm_backend": llm} if llm else {}))
    with user_errors(_errors()):
        result = run_dialogue_suite(settings, path, progress=typer.echo)
    _finish({"dialogues": result}, json_out, "recbot scripted dialogues", f"recbot eval dialogues {path}")


@eval_app.command("redial")
def redial_cmd(
    data: Annotated[
        Path, typer.Option("--data", help="Folder with <split>_data.jsonl and movies_with_mentions.csv")
    ],
    split: Annotated[str, typer.Option("--split", help="dev, test, train, ...")] = "dev",
    json_out: JsonOut = Path("eval-redial.json"),
    folds: Annotated[int, typer.Option(min=2, help="Cross-validation folds for learned parts.")] = 5,
    seed: int = 0,
    systems: Annotated[
        str, typer.Option(help="Comma-separated systems to run.")
    ] = "served,popularity,cf,semantic,mention_prior",
    blend_samples: Annotated[int, typer.Option(help="Subsample size for the Blender (slow per call).")] = 600,
    max_samples: Annotated[int | None, typer.Option(help="Score a random subset of samples.")] = None,
    lists_out: Annotated[
        Path | None,
        typer.Option(help="Write the served replay's list at every point (`eval redial-api --compare`)."),
    ] = None,
) -> None:
    """Replay ReDial dialogues; the served chat first, then popularity, CF, semantic and eval-only systems."""
    from eval.redial_eval import ALL_SYSTEMS, evaluate_redial

    wanted = tuple(s.strip() for s in systems.split(",") if s.strip())
    unknown = set(wanted) - set(ALL_SYSTEMS)
    if unknown:
        _fail(f"unknown systems {sorted(unknown)}; choose from {', '.join(ALL_SYSTEMS)}")
    settings = cli_settings(llm_backend="template")  # explanations do not change rankings
    with user_errors(_errors()):
        result = evaluate_redial(
            settings,
            data,
            split,
            folds=folds,
            seed=seed,
            systems_wanted=wanted,
            blend_samples=blend_samples,
            max_samples=max_samples,
            progress=typer.echo,
            lists_out=lists_out,
        )
    _finish(
        {"redial": result},
        json_out,
        f"recbot ReDial replay ({split})",
        f"recbot eval redial --data {data} --split {split}",
    )


@eval_app.command("redial-api")
def redial_api_cmd(
    url: Annotated[str, typer.Option("--url", help="A running recbot server, e.g. http://127.0.0.1:8000")],
    data: Annotated[
        Path, typer.Option("--data", help="Folder with <split>_data.jsonl and movies_with_mentions.csv")
    ],
    split: Annotated[str, typer.Option("--split", help="dev, test, ...")] = "test",
    compare: Annotated[
        Path | None,
        typer.Option(help="The in-process lists of the same split (`recbot eval redial --lists-out`)."),
    ] = None,
    api_key: Annotated[str | None, typer.Option(help="The server's site key, when it requires one.")] = None,
    json_out: JsonOut = Path("eval-redial-api.json"),
) -> None:
    """Replay ReDial's seeker messages through a server's HTTP API and score the lists it shows."""
    from eval.redial_api import ApiReplayError
    from eval.redial_api_run import evaluate_redial_api

    settings = cli_settings(llm_backend="template")
    with user_errors((*_errors(), ApiReplayError)):
        result = evaluate_redial_api(
            settings, data, split, url, compare=compare, api_key=api_key, progress=typer.echo
        )
    _finish(
        {"redial_api": result},
        json_out,
        f"recbot ReDial replay through the HTTP API ({split})",
        f"recbot eval redial-api --url {url} --data {data} --split {split}"
        + (f" --compare {compare}" if compare else ""),
    )


@eval_app.command("parse")
def parse_cmd(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="ReDial folder (default: settings.redial_dir, else <home>/data/redial)."),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="dev, test, train, ...")] = "dev",
    review: Annotated[
        Path | None,
        typer.Option("--review", help="Hand-judged disagreements (JSON lines); default: the committed file."),
    ] = None,
    unreviewed_out: Annotated[
        Path | None,
        typer.Option("--unreviewed-out", help="Write the extra titles not judged yet here (JSON lines)."),
    ] = None,
    json_out: JsonOut = Path("eval-parse.json"),
) -> None:
    """Title precision / recall and the false-title rate of the parser on ReDial seeker messages."""
    import json

    from eval.components import load_dataset
    from eval.parse_eval import DEFAULT_REVIEW, evaluate_parse, load_review, unreviewed

    settings = cli_settings(llm_backend="template")
    data = data or settings.redial_dir or settings.home / "data" / "redial"
    review = review or DEFAULT_REVIEW
    with user_errors(_errors()):
        dataset = load_dataset(settings)
        result = evaluate_parse(dataset, data, split, review_path=review, progress=typer.echo)
        if unreviewed_out is not None:
            rows = unreviewed(result, load_review(review))
            unreviewed_out.write_text("".join(json.dumps(r) + "\n" for r in rows))
            typer.echo(f"{len(rows)} unreviewed extra titles -> {unreviewed_out}")
    _finish(
        {"parse": result},
        json_out,
        f"recbot title parsing on ReDial {split}",
        f"recbot eval parse --split {split}",
    )


@eval_app.command("simulate")
def simulate_cmd(
    users: Annotated[
        int, typer.Option("--users", min=1, help="Simulated users (held-out MovieLens users).")
    ] = 50,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    json_out: JsonOut = Path("eval-simulate.json"),
) -> None:
    """Simulated users look for a hidden target; success = shown within 5 turns."""
    from eval.suite import run_simulation

    settings = cli_settings(llm_backend="template")
    with user_errors(_errors()):
        result = run_simulation(settings, users, seed, progress=typer.echo)
    _finish(
        {"simulate": result},
        json_out,
        "recbot simulated users",
        f"recbot eval simulate --users {users} --seed {seed}",
    )


@eval_app.command("explanations")
def explanations_cmd(
    path: Annotated[
        Path, typer.Argument(help="A dialogue YAML file or a folder of them.")
    ] = DEFAULT_DIALOGUES,
    users: Annotated[int, typer.Option("--users", min=0, help="Simulated users (0: none).")] = 20,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    llm: Annotated[str | None, typer.Option(help="LLM backend for the run (default: settings).")] = None,
    labelled: Annotated[
        Path | None,
        typer.Option("--labelled", help="Labelled sample (JSON lines); default: the committed one."),
    ] = None,
    sample_out: Annotated[
        Path | None, typer.Option("--sample-out", help="Write every shown explanation, checked, here.")
    ] = None,
    json_out: JsonOut = Path("eval-explanations.json"),
) -> None:
    """What shown explanations say: user-linked facts, distinct facts, repetition, LLM share, false claims."""
    import json

    from eval.explanations import labelled_row
    from eval.suite import run_explanations

    settings = cli_settings(**({"llm_backend": llm} if llm else {}))
    with user_errors(_errors()):
        result, shown, data = run_explanations(
            settings, path, users, seed, progress=typer.echo, labelled=labelled
        )
        if sample_out is not None:
            rows = (json.dumps(labelled_row(s, data[s.run])) + "\n" for s in shown)
            sample_out.write_text("".join(rows))
            typer.echo(f"{len(shown)} explanations -> {sample_out}")
    _finish(
        {"explanations": result},
        json_out,
        "recbot shown explanations",
        f"recbot eval explanations {path} --users {users} --seed {seed}",
    )


@eval_app.command("all")
def all_cmd(
    json_out: JsonOut = Path("eval-all.json"),
    redial_data: Annotated[
        Path | None,
        typer.Option(
            "--redial-data", help="ReDial folder (default: settings.redial_dir, else <home>/data/redial)."
        ),
    ] = None,
    split: str = "dev",
    users: int = 30,
    redial_samples: Annotated[int, typer.Option(help="ReDial samples scored (random subset).")] = 600,
    seed: int = 0,
) -> None:
    """Dialogues, ReDial (a subset) and simulation with small defaults; one report."""
    from eval.redial_eval import evaluate_redial
    from eval.suite import run_dialogue_suite, run_simulation

    settings = cli_settings(llm_backend="template")
    parts: dict[str, dict[str, Any]] = {}
    with user_errors(_errors()):
        parts["dialogues"] = run_dialogue_suite(settings, DEFAULT_DIALOGUES, progress=typer.echo)
        redial_data = redial_data or settings.redial_dir or settings.home / "data" / "redial"
        if (redial_data / f"{split}_data.jsonl").is_file():
            parts["redial"] = evaluate_redial(
                settings,
                redial_data,
                split,
                seed=seed,
                blend_samples=150,
                max_samples=redial_samples,
                progress=typer.echo,
            )
        else:
            typer.echo(f"ReDial skipped: no {split}_data.jsonl in {redial_data} (pass --redial-data DIR)")
        parts["simulate"] = run_simulation(settings, users, seed, progress=typer.echo)
    _finish(parts, json_out, "recbot evaluation", "recbot eval all")
