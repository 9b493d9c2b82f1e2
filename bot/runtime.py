"""Everything a running recbot needs, loaded lazily from the settings: the one way to get an Agent.

``Runtime.from_settings(settings).agent`` loads (or builds) the dataset, the CF artifact (trained and
saved if none exists), the Chroma item index (built if missing), the LLM, the explainer, the blender
and the store; ``Runtime.feedback`` records feedback with the store alone (``recbot feedback`` loads
nothing else). Each part degrades instead of failing the whole bot:

* the LLM does not load -> template explanations (health "degraded");
* the index cannot be opened or built -> CF only, with a logged warning;
* no CF artifact and training fails -> semantic only;
* the dataset itself is required: its :class:`~cf_engine.data.errors.DataError` propagates.

``health()`` reports each part as "ok", "degraded" or "missing" with a detail line. Parts that can die
after loading are checked live on every call (a health endpoint that only remembers load time says
"ok" while the database file is gone or the Chroma server is down):

* store: a fresh connection reads the migrations table (``store.ping``) -> "missing"; its ``kind``
  says sqlite or postgresql;
* index: the Chroma server's heartbeat (``chroma_url``, 1 s timeout) and the collection's count ->
  "degraded" (turns fall back to CF only); it reports "ok" again once Chroma is back;
* llm: a llama.cpp model in its worker process (bot/explain/llm/supervisor.py) -> "degraded" with the
  reason while the worker is dead or restarting, "ok" once it is back;
* dataset, CF and an in-process LLM live in this process's memory: their load-time state is their
  state (a failing LLM call degrades that turn to templates).
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import TYPE_CHECKING

from bot.feedback import FeedbackRecorder
from bot.settings import Settings
from bot.store import SessionStore, open_store

if TYPE_CHECKING:
    from pathlib import Path

    from bot.agent import Agent
    from bot.dialogue_training import Progress
    from bot.explain.explainer import Explainer
    from bot.explain.llm.base import ChatModel
    from bot.recommend.blend import Blender
    from bot.recommend.item_features import ItemFeatures
    from cf_engine.artifact import CFArtifact
    from cf_engine.data.catalog import Dataset
    from cf_engine.dialogue_model import DialogueModel
    from retrieval.index import ItemIndex

log = logging.getLogger(__name__)
HEALTH_TIMEOUT_S = 1.0  # each live check: a health probe must answer fast even when a part hangs


class Runtime:
    """Lazily built components of one recbot (thread-safe: each part is built once)."""

    def __init__(self, settings: Settings, progress: bool = False, build_missing: bool = True) -> None:
        self.settings = settings
        self.progress = progress
        self.build_missing = build_missing  # False: never train or index here (e.g. a quick `doctor`)
        self._lock = threading.RLock()
        self._health: dict[str, dict[str, str]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, progress: bool = False) -> Runtime:
        return cls(settings, progress=progress)

    def _set(self, part: str, status: str, detail: str) -> None:
        self._health[part] = {"status": status, "detail": detail}

    # --- parts ------------------------------------------------------------------------------
    @cached_property
    def dataset(self) -> Dataset:
        from cf_engine.data import load_dataset

        with self._lock:
            data = load_dataset(self.settings.cf_config())
            self._set(
                "dataset",
                "ok",
                f"{data.name}: {len(data.catalog)} items, {len(data.interactions)} interactions",
            )
            return data

    @cached_property
    def cf(self) -> CFArtifact | None:
        from cf_engine.artifact import ArtifactNotFoundError, CFArtifact

        with self._lock:
            try:
                artifact = CFArtifact.load_latest(self.settings.cf_config(), self.dataset.catalog)
                self._set("cf", "ok", f"{artifact.engine_name} from {artifact.path}")
                return artifact
            except ArtifactNotFoundError:
                if not self.build_missing:
                    self._set("cf", "missing", "no CF model; run `recbot train`")
                    return None
            except Exception as exc:  # noqa: BLE001 - a mismatched/broken artifact: retrain below
                log.warning("CF artifact unusable (%s); training a new one", exc)
                if not self.build_missing:
                    self._set("cf", "missing", f"unusable CF model: {exc}")
                    return None
            try:
                artifact = CFArtifact.train(self.dataset, self.settings.cf_config())
                path = artifact.save(self.settings.cf_config())
                self._set("cf", "ok", f"{artifact.engine_name} trained now, saved to {path}")
                return artifact
            except Exception as exc:  # noqa: BLE001 - degrade to semantic-only recommendations
                log.warning("no CF model and training failed (%s): recommending from semantics only", exc)
                self._set("cf", "missing", f"training failed: {exc}; semantic only")
                return None

    @cached_property
    def index(self) -> ItemIndex | None:
        with self._lock:
            try:
                from retrieval.index import ItemIndex

                index = ItemIndex(self.settings.retrieval_config())
                if not index.is_ready():
                    if not self.build_missing:
                        self._set("index", "missing", "no item index; run `recbot index`")
                        return None
                    report = index.build(self.dataset, progress=self.progress)
                    log.info("built the item index: %s", report)
                self._set("index", "ok", f"collection {self.settings.chroma_collection!r}")
                return index
            except Exception as exc:  # noqa: BLE001 - degrade to CF-only recommendations
                log.warning("item index unavailable (%s): recommending from CF only", exc)
                self._set("index", "degraded", f"unavailable: {exc}; CF only")
                return None

    @cached_property
    def llm(self) -> ChatModel | None:
        with self._lock:
            if self.settings.llm_backend == "template":
                self._set("llm", "ok", "template explanations (llm_backend=template)")
                return None
            try:
                from bot.explain.llm import load_llm

                model = load_llm(self.settings)
                self._set("llm", "ok", f"{self.settings.llm_backend}")
                return model
            except Exception as exc:  # noqa: BLE001 - degrade to template explanations
                log.warning("LLM unavailable (%s): template explanations", exc)
                self._set("llm", "degraded", f"{self.settings.llm_backend} failed: {exc}; templates")
                return None

    @cached_property
    def explainer(self) -> Explainer:
        from bot.explain.explainer import Explainer

        with self._lock:
            return Explainer(self.llm, self.settings)

    @cached_property
    def features(self) -> ItemFeatures:
        """What is known about every item, computed once and shared by the blender and the agent."""
        from bot.recommend.item_features import ItemFeatures

        with self._lock:
            return ItemFeatures.from_dataset(self.dataset, self.settings.positive_threshold)

    @cached_property
    def blender(self) -> Blender:
        from bot.recommend.fusion_fit import build_blender

        with self._lock:
            return build_blender(self.dataset, self.cf, self.index, self.settings, features=self.features)

    @cached_property
    def store(self) -> SessionStore:
        with self._lock:
            store = open_store(self.settings)
            self._set("store", "ok", f"{store.kind} {store.describe()} (schema v{store.schema_version()})")
            return store

    @cached_property
    def agent(self) -> Agent:
        from bot.agent import Agent

        with self._lock:
            agent = Agent(
                self.dataset,
                self.blender,
                self.explainer,
                self.store,
                self.settings,
                cf=self.cf,
                features=self.features,
            )
            if hasattr(agent.blender, "dialogue_model"):
                agent.blender.dialogue_model = self.dialogue_model(agent)
            return agent

    def dialogue_model(self, agent: Agent) -> DialogueModel | None:
        """The latest dialogue model artifact; built now from the default corpus when none exists."""
        from bot.dialogue_training import default_corpus, dialogue_dir
        from cf_engine.dialogue_corpus import built_from, corpus_path
        from cf_engine.dialogue_model import DialogueModel, DialogueModelError

        if not self.settings.dialogue_model:
            self._set("dialogue", "off", "dialogue_model is off")
            return None
        try:
            model = DialogueModel.load_latest(dialogue_dir(self.settings), self.dataset.catalog)
            corpus = default_corpus(self.settings)
            # Learned again at start when the configured corpus (RECBOT_DIALOGUE_CORPUS) is another
            # file, or the corpus it learned from has changed; a model trained on a corpus given to
            # `recbot train --dialogue-corpus FILE` is kept while no setting names another.
            stale = (
                corpus is not None
                and (self.settings.dialogue_corpus is not None or corpus_path(model.summary) == str(corpus))
                and not built_from(model.summary, corpus)
            )
            if not stale or not self.build_missing:
                examples = model.summary.get("examples", "?")
                self._set("dialogue", "ok", f"{examples} examples from {model.path}")
                return model
            log.info("dialogue corpus %s is not what %s learned from: learning it now", corpus, model.path)
        except DialogueModelError as exc:
            corpus = default_corpus(self.settings)
            if corpus is None and self.build_missing:
                corpus = self._download_dialogue_corpus()
            if corpus is None:  # optional: without a corpus or a built model the chat serves without it
                self._set("dialogue", "off", f"{exc}; no dialogue corpus found, serving without it")
                return None
            if not self.build_missing:
                self._set("dialogue", "missing", str(exc))
                return None
        try:
            from tqdm.auto import tqdm

            with tqdm(total=1, desc="dialogue model", disable=not self.progress) as bar:

                def tick(done: int, total: int) -> None:
                    bar.total = max(total, 1)
                    bar.n = done
                    bar.refresh()

                model, path = self.fit_dialogue_model(agent, corpus, progress=tick)
        except Exception as exc:  # noqa: BLE001 - the chat works without it
            log.warning("dialogue model not built (%s): serving without it", exc)
            self._set("dialogue", "missing", f"build failed: {exc}")
            return None
        self._set("dialogue", "ok", f"built now from {corpus}, saved to {path}")
        return model

    def fit_dialogue_model(
        self, agent: Agent, corpus: Path | None, progress: Progress | None = None
    ) -> tuple[DialogueModel, Path]:
        """A dialogue model from ``corpus`` and this store's sessions, read through ``agent``'s parser
        and blender, saved as the latest artifact; (model, its path)."""
        from bot.dialogue_training import dialogue_dir, train_dialogue_model

        model = train_dialogue_model(
            self.settings,
            agent.parser,
            agent.blender,
            self.features,
            corpus,
            store=self.store,
            progress=progress,
        )
        return model, model.save(dialogue_dir(self.settings))

    def _download_dialogue_corpus(self) -> Path | None:
        """ReDial's training dialogues, fetched when recbot also downloads the dataset (so it is online).

        With a local data folder (``RECBOT_DATA_DIR``, offline use) or another catalog nothing is fetched.
        """
        from bot.dialogue_training import default_corpus
        from cf_engine.data.redial_download import RedialDownloadError, download_redial

        if self.settings.data_dir is not None or self.settings.catalog_format != "movielens":
            return None
        target = self.settings.redial_home
        log.info("downloading ReDial's dialogues (CC BY 4.0) into %s for the dialogue model", target)
        try:
            download_redial(target)
        except RedialDownloadError as exc:
            log.warning("ReDial not downloaded (%s): serving without the dialogue model", exc)
            return None
        return default_corpus(self.settings)

    @cached_property
    def feedback(self) -> FeedbackRecorder:
        """Feedback on sessions, with the store alone: no dataset, CF model, index or LLM is loaded."""
        with self._lock:
            return FeedbackRecorder(self.store)

    # --- reporting --------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load every component and run each hot path once, so the first visitor's turn is not slow.

        The first llama.cpp generation in a process costs seconds (memory mapping, buffers); one
        four-token generation here pays that at start-up. Failures only log: the turn degrades anyway.
        """
        agent = self.agent
        blender_warm_up = getattr(self.blender, "warm_up", None)
        if callable(blender_warm_up):
            blender_warm_up()
        if self.llm is not None:
            try:
                self._warm_up_llm()
            except Exception as exc:  # noqa: BLE001 - a broken LLM is reported by health(), not here
                log.warning("LLM warm-up failed: %s", exc)
        del agent

    def _warm_up_llm(self) -> None:
        """Explain one candidate as a turn does, else generate four tokens.

        Explaining leaves the explanation prompt's static part (instructions, examples) in
        llama.cpp's prompt cache, so the first visitor's explanations evaluate only their own
        lines instead of the whole prompt (~1 s more on 2 cores).
        """
        from bot.recommend.request import BlendRequest

        blend = getattr(self.blender, "blend", None)
        picks = blend(BlendRequest(k=1)) if callable(blend) else []
        if picks:
            self.explainer.explain(picks[0])
        else:
            self.llm.invoke("Hello", max_tokens=4)

    def health(self, load: bool = True) -> dict[str, dict[str, str]]:
        """State of every part: {"dataset": {"status": "ok", "detail": ...}, ...}.

        With ``load`` the parts are loaded first (a part that fails reports why); without it, parts
        not loaded yet are reported as "not loaded".
        """
        parts = ("dataset", "cf", "index", "llm", "store")
        if load:
            for part in parts:
                try:
                    getattr(self, part)
                except Exception as exc:  # noqa: BLE001 - health reports, it does not raise
                    self._set(part, "missing", str(exc))
        report = {p: dict(self._health.get(p, {"status": "not loaded", "detail": ""})) for p in parts}
        if "dialogue" in self._health:  # known once the agent is loaded (optional: "off" is not a fault)
            report["dialogue"] = dict(self._health["dialogue"])
        if "store" in self.__dict__:
            report["store"] = self._live_store(self.__dict__["store"])
        if self.__dict__.get("index") is not None:
            report["index"] = self._live_index(self.__dict__["index"])
        worker_health = getattr(self.__dict__.get("llm"), "worker_health", None)
        if callable(worker_health):  # the LLM's worker process can die and come back
            report["llm"] = worker_health()
        return report

    def _live_store(self, store: SessionStore) -> dict[str, str]:
        from bot.errors import StoreError

        try:
            version = store.ping(HEALTH_TIMEOUT_S)
        except StoreError as exc:
            return {"status": "missing", "kind": store.kind, "detail": str(exc)}
        detail = f"{store.kind} {store.describe()} (schema v{version})"
        return {"status": "ok", "kind": store.kind, "detail": detail}

    def _live_index(self, index: ItemIndex) -> dict[str, str]:
        name = self.settings.chroma_collection
        try:
            if self.settings.chroma_url:
                import httpx

                url = self.settings.chroma_url.rstrip("/") + "/api/v2/heartbeat"
                httpx.get(url, timeout=HEALTH_TIMEOUT_S).raise_for_status()
            count = index.client().get_collection(name).count()
        except Exception as exc:  # noqa: BLE001 - any failure means turns run CF only right now
            where = self.settings.chroma_url or str(self.settings.chroma_dir)
            return {"status": "degraded", "detail": f"Chroma at {where} not usable: {exc}; CF only"}
        if count == 0:
            return {"status": "degraded", "detail": f"collection {name!r} is empty; CF only"}
        return {"status": "ok", "detail": f"collection {name!r}: {count} items"}

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
        stop_worker = getattr(self.__dict__.get("llm"), "stop_worker", None)
        if callable(stop_worker):
            stop_worker()


def rebuild_dialogue_model(
    settings: Settings, corpus: Path | None = None, progress: Progress | None = None
) -> tuple[DialogueModel, Path]:
    """Train a new dialogue model (default corpus + the store's sessions) and save it as the latest."""
    from bot.dialogue_training import default_corpus

    corpus = corpus or default_corpus(settings)
    runtime = Runtime(settings.model_copy(update={"dialogue_model": False}))
    try:
        agent = runtime.agent
        if corpus is None and not runtime.store.all_sessions():
            raise FileNotFoundError(
                "no dialogue corpus (set RECBOT_DIALOGUE_CORPUS, or `recbot train --download-redial`) "
                "and no recorded sessions"
            )
        return runtime.fit_dialogue_model(agent, corpus, progress=progress)
    finally:
        runtime.close()
