"""The layers import only downwards: ui -> eval -> bot -> retrieval -> cf_engine, and no loop anywhere.

Read from the source with an AST walker (tests/import_graph.py), so the test sees every import,
lazy or type-only, without importing anything.
"""

from __future__ import annotations

from import_graph import cycles, import_graph, package_of

# Each package may import only the packages after it. The product's direction is ui -> bot ->
# {cf_engine, retrieval}; the evaluators sit between the CLI and the bot, and the retrieval layer
# reads the catalog types of cf_engine.
LAYERS = ("ui", "eval", "bot", "retrieval", "cf_engine")


def test_the_walker_sees_the_known_imports() -> None:
    graph = import_graph()
    assert "bot.recommend.blend" in graph["bot.recommend.fusion_fit"]
    assert "cf_engine.data.catalog" in graph["retrieval.index"]
    assert "bot.runtime" in graph["ui.cli.chat_cmds"]  # a lazy import inside a function


def test_packages_import_only_downwards() -> None:
    upward = []
    for module, targets in import_graph().items():
        for target in targets:
            a, b = LAYERS.index(package_of(module)), LAYERS.index(package_of(target))
            if b < a:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports that go up a layer:\n" + "\n".join(sorted(upward))


def test_ui_reaches_the_lower_layers_through_bot() -> None:
    graph = import_graph()
    edges = {(package_of(m), package_of(t)) for m, ts in graph.items() for t in ts}
    assert ("ui", "bot") in edges and ("bot", "cf_engine") in edges and ("bot", "retrieval") in edges
    assert {b for a, b in edges if a == "bot"} <= {"bot", "cf_engine", "retrieval"}


def test_cf_engine_and_retrieval_import_nothing_from_bot() -> None:
    graph = import_graph()
    bad = sorted(
        f"{m} -> {t}"
        for m, ts in graph.items()
        if package_of(m) in ("cf_engine", "retrieval")
        for t in ts
        if package_of(t) in ("bot", "ui", "eval")
    )
    assert not bad, "\n".join(bad)


def test_no_import_loop_between_modules() -> None:
    assert cycles(import_graph()) == []


def test_no_import_loop_between_the_steps_of_a_turn() -> None:
    """bot's sub-packages (understand, recommend, explain) depend on each other in one direction only."""
    steps: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        if module.count(".") >= 2 and module.startswith("bot."):
            here = ".".join(module.split(".")[:2])
            for target in targets:
                there = ".".join(target.split(".")[:2])
                if target.count(".") >= 2 and there != here and target.startswith("bot."):
                    steps.setdefault(here, set()).add(there)
    assert cycles(steps) == []


def test_cycles_finds_a_loop() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
