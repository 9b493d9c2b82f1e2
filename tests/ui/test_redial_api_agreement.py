"""The ReDial replay through a real ``recbot serve`` agrees with ``recbot eval redial``'s served row.

A small split of ReDial's dev dialogues: the first ones are the server's dialogue corpus
(``RECBOT_DIALOGUE_CORPUS``) and the training file of ``--split test``, the next ones are replayed
both in process (:func:`eval.redial_eval.evaluate_redial`, lists written) and through the HTTP API
(:func:`eval.redial_api_run.evaluate_redial_api`). Every scored point must get the same list, item
for item, and so the same figures: the served row measures what a client of the API gets.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.settings import Settings
from eval.redial_api_run import evaluate_redial_api
from eval.redial_eval import evaluate_redial
from tests.ui.recbot_server import RecbotServer, copy_home

pytestmark = pytest.mark.slow

TRAIN, SCORED = 60, 14  # dialogues
LIST = 20  # RECBOT_N_RECOMMENDATIONS, as an independent API replay would set it


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory: pytest.TempPathFactory, movielens_dir: Path) -> Path:
    source = movielens_dir.parent / "redial"
    lines = (source / "dev_data.jsonl").read_text(encoding="utf-8").splitlines()
    out = tmp_path_factory.mktemp("redial_split")
    (out / "dev_data.jsonl").write_text("\n".join(lines[:TRAIN]) + "\n", encoding="utf-8")
    (out / "test_data.jsonl").write_text("\n".join(lines[TRAIN : TRAIN + SCORED]) + "\n", encoding="utf-8")
    shutil.copy(source / "movies_with_mentions.csv", out / "movies_with_mentions.csv")
    return out


def test_the_http_replay_gets_the_served_rows_lists(
    built_settings: Settings, split_dir: Path, movielens_dir: Path, tmp_path: Path
) -> None:
    settings = built_settings.model_copy(update={"dialogue_model": True, "n_recommendations": LIST})
    lists = tmp_path / "lists.json"
    served = evaluate_redial(settings, split_dir, "test", systems_wanted=("served",), lists_out=lists)
    written = json.loads(lists.read_text())
    assert served["served_replay"]["list_mismatches"] == 0  # shown items = the scored ranking's head
    assert written["n_recommendations"] == LIST and written["lists"]
    assert any(len(v) == LIST for v in written["lists"].values())

    server = RecbotServer(
        copy_home(built_settings.home, tmp_path / "server_home"),
        movielens_dir,
        tmp_path / "server.log",
        env={
            "RECBOT_DIALOGUE_MODEL": "true",
            "RECBOT_DIALOGUE_CORPUS": str(split_dir / "dev_data.jsonl"),
            "RECBOT_N_RECOMMENDATIONS": str(LIST),
            "RECBOT_RATE_LIMIT_PER_SESSION_PER_MINUTE": "100000",
        },
    )
    server.start()
    try:
        api = evaluate_redial_api(settings, split_dir, "test", server.url, compare=lists)
    finally:
        server.stop()
    assert api["server_health"]["dialogue"] == "ok", server.log_tail()
    agree = api["agreement"]
    assert agree["points_compared"] == served["served_replay"]["points"] > 0
    assert agree["points_only_one_side"] == 0
    assert agree["same_list"] == 1.0, agree
    assert api["systems"]["api"] == api["systems"]["in_process"]
    # and the in-process lists score what the served row reports, cut-off for cut-off
    got, row = api["systems"]["api"], served["systems"]["served"]
    for protocol, theirs in (("all", "all_as_served"), ("fresh", "fresh")):
        for k in ("recall@1", "recall@10"):
            assert got[protocol][k] == pytest.approx(row[theirs][k]), (protocol, k)
