"""recbot commands for the semantic index: ``recbot index`` and ``recbot eval retrieval``.

Library errors (missing model, unreachable Chroma server, broken dataset) become one ``error:`` line
on stderr and exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ui.cli.apps import app, eval_app, prepare_fusion
from ui.cli.errors import user_errors


@app.command("index")
def index_command(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the index and embed every item again.")
    ] = False,
    recall: Annotated[
        bool, typer.Option("--recall/--no-recall", help="Measure HNSW recall@20 against exact search after.")
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Build or update the Chroma index of the catalog (only new or changed items are embedded)."""
    with user_errors():
        from bot.settings import load_settings
        from cf_engine.data import load_dataset
        from retrieval.index import ItemIndex

        settings = load_settings()
        dataset = load_dataset(settings.cf_config())
        index = ItemIndex(settings.retrieval_config())
        if rebuild:
            index.drop()
        where = settings.chroma_url or str(settings.chroma_dir)
        typer.echo(
            f"indexing {len(dataset.catalog)} items of {dataset.name} into {where} "
            f"(collection {settings.chroma_collection!r})"
        )
        report = index.build(dataset, progress=progress)
        if report.rebuilt:
            typer.echo(f"rebuilt the index: {report.reason}")
        typer.echo(
            f"{report.n_items} items indexed: {report.embedded} embedded, "
            f"{report.metadata_updated} statistics updated, {report.deleted} removed "
            f"in {report.seconds:.1f} s"
            + (
                f" (embedding model {report.model_seconds:.1f} s of it, "
                f"{report.embedded / report.model_seconds:.1f} items/s; Chroma writes "
                f"{report.write_seconds:.1f} s beside it, waited for {report.wait_seconds:.1f} s)"
                if report.embedded and report.model_seconds > 0
                else ""
            )
        )
        prepare_fusion(settings, dataset)
        if recall:
            from retrieval.recall import hnsw_recall

            typer.echo(f"HNSW recall@20 vs exact search: {hnsw_recall(index, k=20):.3f}")


@eval_app.command("retrieval")
def eval_retrieval_command(
    json_out: Annotated[
        Path | None, typer.Option("--json-out", help="Write the results as JSON here.")
    ] = None,
    n_text_queries: Annotated[int, typer.Option(help="Tag queries in the text benchmark.")] = 300,
    n_users: Annotated[int, typer.Option(help="Held-out users in the cold-start benchmark.")] = 200,
) -> None:
    """Text-query and cold-start benchmarks: semantic vs TF-IDF vs CF vs the blend."""
    with user_errors():
        from bot.settings import load_settings
        from eval.retrieval_eval import format_results, run_retrieval_eval

        settings = load_settings()
        results = run_retrieval_eval(settings, n_text_queries=n_text_queries, n_users=n_users, progress=True)
        typer.echo(format_results(results))
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(results, indent=2))
            typer.echo(f"wrote {json_out}")
