"""recbot commands for data and collaborative filtering: download, train, recommend, eval cf.

Each command reads the one ``Settings`` object, calls ``cf_engine`` and translates its errors into
one clear line on stderr and exit code 2 (no traceback for a user mistake or a broken file).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ui.cli.apps import app, cli_settings, eval_app, prepare_fusion
from ui.cli.errors import user_errors

if TYPE_CHECKING:
    from bot.settings import Settings

METRIC_COLUMNS = ("ndcg@10", "recall@10", "mrr@10", "hit@10", "precision@10", "coverage@10", "fit_seconds")


def _echo_err(text: str) -> None:
    typer.echo(text, err=True)


@app.command()
def download() -> None:
    """Download the configured MovieLens dataset into RECBOT_HOME/data unless it is already there."""
    with user_errors():
        from cf_engine.data.download import ensure_movielens

        folder = ensure_movielens(cli_settings().cf_config())
        typer.echo(f"dataset files in {folder}")


@app.command()
def train(
    model: Annotated[str | None, typer.Option(help="CF engine: ease, als, itemknn, popularity.")] = None,
    evaluate: Annotated[
        bool, typer.Option("--eval/--no-eval", help="Also measure the model on the held-out protocol split.")
    ] = True,
    dialogue: Annotated[
        bool,
        typer.Option("--dialogue/--no-dialogue", help="Also build the dialogue model (after the CF model)."),
    ] = True,
    dialogue_corpus: Annotated[
        Path | None, typer.Option(help="Dialogue corpus (ReDial JSONL or generic); default: see settings.")
    ] = None,
    download_redial: Annotated[
        bool, typer.Option("--download-redial", help="First download ReDial's official release (internet).")
    ] = False,
) -> None:
    """Fit a CF model on the whole dataset, save it as a new versioned artifact, then the dialogue model."""
    with user_errors():
        if download_redial:
            from cf_engine.data.redial_download import download_redial as fetch

            for path in fetch(cli_settings().redial_home):
                typer.echo(f"downloaded {path}")
        from cf_engine.artifact import CFArtifact
        from cf_engine.data import load_dataset
        from cf_engine.registry import create, engine_class

        settings = cli_settings(cf_model=model)
        engine_class(settings.cf_model)  # fail fast on an unknown name
        dataset = load_dataset(settings.cf_config())
        typer.echo(
            f"dataset {dataset.name}: {len(dataset.catalog)} items, {len(dataset.interactions)} interactions"
        )
        held_out: dict[str, Any] = {}
        if evaluate:
            from cf_engine.data.errors import DataError
            from cf_engine.evaluation import Protocol, prepare_split, ranking_metrics

            protocol = Protocol(positive_threshold=settings.positive_threshold, seed=settings.seed)
            try:
                split = prepare_split(dataset, protocol)
                engine = create(settings.cf_model, **settings.cf_params).fit(split.train)
                held_out = {k: round(v, 5) for k, v in ranking_metrics(engine, split, "test").items()}
                del engine, split  # not kept beside the full fit (EASE weights at 100k: 0.54 GiB)
            except DataError as exc:  # too little data to hold some out: still train on all of it
                _echo_err(f"held-out evaluation skipped: {exc}")
        artifact = CFArtifact.train(dataset, settings.cf_config())
        artifact.metrics.update({f"test_{k}": v for k, v in held_out.items()})
        path = artifact.save(settings.cf_config())
        typer.echo(
            f"trained {artifact.engine_name} {artifact.params} in {artifact.metrics['fit_seconds']:.2f} s"
        )
        if held_out:
            typer.echo(
                "held-out (protocol test split): " + ", ".join(f"{k} {v:.4f}" for k, v in held_out.items())
            )
        typer.echo(f"saved {path}")
        del artifact  # the fusion reads the saved one (memory-mapped), not a second copy
        prepare_fusion(settings, dataset)
        if dialogue and settings.dialogue_model:
            try:
                train_dialogue(settings, dialogue_corpus)
            except FileNotFoundError as exc:  # no corpus and no sessions: the chat serves without one
                _echo_err(f"dialogue model skipped: {exc}")


def train_dialogue(settings: Settings, corpus: Path | None) -> None:
    """Build the dialogue model with a progress bar (``recbot train`` and ``recbot retrain``)."""
    from bot.dialogue_training import default_corpus
    from bot.runtime import rebuild_dialogue_model

    corpus = corpus or default_corpus(settings)
    typer.echo(f"dialogue model from {corpus or 'recorded sessions only'}")
    with typer.progressbar(length=1000, label="dialogue model") as bar:
        done = [0]

        def tick(step: int, total: int) -> None:
            target = int(1000 * step / max(total, 1))
            bar.update(target - done[0])
            done[0] = target

        model, path = rebuild_dialogue_model(settings, corpus, progress=tick)
    cv = model.summary.get("cv_metrics", {})
    typer.echo(
        f"dialogue model: {model.summary['examples']} examples {model.summary['examples_by_source']}, "
        f"CV R@10 {cv.get('recall@10', 0):.3f} R@50 {cv.get('recall@50', 0):.3f}; saved {path}"
    )


@app.command()
def recommend(
    user: Annotated[
        int | None, typer.Option(help="A user id of the dataset (their ratings are the profile).")
    ] = None,
    like: Annotated[list[int] | None, typer.Option(help="Item id the user likes (repeatable).")] = None,
    dislike: Annotated[list[int] | None, typer.Option(help="Item id the user dislikes (repeatable).")] = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=100, help="How many items.")] = 10,
) -> None:
    """Print the CF model's top-k titles for a dataset user and/or liked items."""
    with user_errors():
        from cf_engine.data import load_dataset
        from cf_engine.data.catalog import UnknownUserError

        settings = cli_settings()
        dataset = load_dataset(settings.cf_config())
        artifact = _artifact(settings, dataset, _echo_err)
        if user is None and not like:
            raise typer.BadParameter("give --user and/or --like")
        if user is not None and not artifact.knows_user(user):
            raise UnknownUserError(f"user {user} has no positive ratings in {dataset.name}")
        picks = artifact.recommend(like or (), dislike or (), user_id=user, k=k)
        stats = dataset.item_stats()
        rows = []
        for rank, (item_id, score) in enumerate(picks, start=1):
            item = dataset.catalog.get(item_id)
            mean = stats.loc[item_id, "mean_rating"]
            rows.append(
                [
                    str(rank),
                    item.display_title,
                    ", ".join(item.genres[:3]),
                    "" if mean != mean else f"{mean:.2f}",
                    f"{score:.4f}",
                ]
            )
        who = f"user {user}" if user is not None else "this profile"
        typer.echo(f"{artifact.engine_name} recommendations for {who}:")
        typer.echo(format_table(["#", "title", "genres", "mean rating", "score"], rows))


def _artifact(settings: Settings, dataset: Any, log: Callable[[str], None]) -> Any:
    """The latest artifact for this catalog; trains and saves one when there is none."""
    from cf_engine.artifact import ArtifactNotFoundError, CFArtifact

    try:
        return CFArtifact.load_latest(settings.cf_config(), dataset.catalog)
    except ArtifactNotFoundError:
        log(f"no CF model under {settings.models_dir}; training {settings.cf_model} first")
        artifact = CFArtifact.train(dataset, settings.cf_config())
        artifact.save(settings.cf_config())
        return artifact


@eval_app.command("cf")
def eval_cf(
    dataset: Annotated[str | None, typer.Option(help="Dataset name, e.g. ml-latest-small, ml-1m.")] = None,
    models: Annotated[str | None, typer.Option(help="Comma-separated engines (default: all).")] = None,
    json_out: Annotated[Path | None, typer.Option(help="Write the full JSON report here.")] = None,
) -> None:
    """Tune every CF engine on validation and compare them on the same test split (RecBole protocol)."""
    with user_errors():
        from cf_engine.data import load_dataset
        from cf_engine.evaluation import Protocol
        from cf_engine.model_selection import compare_models
        from cf_engine.registry import engine_class

        settings = cli_settings()
        if dataset and dataset != settings.dataset:
            # Another dataset: RECBOT_DATA_DIR only still applies if it is that dataset's folder.
            from bot.settings import load_settings

            keep_dir = settings.data_dir is not None and settings.data_dir.name == dataset
            settings = load_settings(dataset=dataset, data_dir=settings.data_dir if keep_dir else None)
        names = [m.strip().lower() for m in models.split(",") if m.strip()] if models else None
        for name in names or []:
            engine_class(name)
        data = load_dataset(settings.cf_config())
        protocol = Protocol(positive_threshold=settings.positive_threshold, seed=settings.seed)
        report = compare_models(
            data,
            names,
            protocol,
            default_model=settings.cf_model,
            fixed_params={settings.cf_model: dict(settings.cf_params)},
            log=_echo_err,
        )
        rows = [
            [
                name,
                *(f"{m[c]:.4f}" if c != "fit_seconds" else f"{m[c]:.2f}" for c in METRIC_COLUMNS),
                json.dumps(m["params"]),
            ]
            for name, m in report["models"].items()
        ]
        typer.echo(
            f"{report['dataset']}: {report['protocol']['n_users']} users, "
            f"{report['protocol']['n_items']} items after the {report['protocol']['core_used']}-core filter"
        )
        typer.echo(format_table(["model", *METRIC_COLUMNS, "params (tuned on valid)"], rows))
        if json_out is not None:
            _write_json(json_out, report)
            typer.echo(f"wrote {json_out}")


def format_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain fixed-width text table (no colours, so it reads the same in logs)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, ["-" * w for w in widths], *rows]
    ]
    return "\n".join(lines)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically: a reader never sees half a report."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, indent=2, default=str)
        fh.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
