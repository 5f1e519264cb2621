"""Settings: one typed object, every field described.

Values come, highest priority first, from: keyword arguments, environment variables
`RAG_<FIELD>` (e.g. `RAG_TOP_K=3`), the TOML file named by `RAG_CONFIG` (default
`rag.toml` in the working directory, if it exists), and the defaults below. Relative paths
are resolved against `root`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rag.ingest import MAX_FILE_BYTES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRETS = frozenset({"llm_api_key", "chroma_headers", "api_key", "chat_user", "chat_password"})
"""Fields read from the environment only: a TOML file gets shared and committed."""


class Settings(BaseSettings):
    """Everything the pipeline can be told. Passed explicitly; never read from globals."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="forbid", frozen=True)

    root: Path = Field(
        PROJECT_ROOT, description="Base folder that relative paths below are resolved against."
    )
    corpus_dir: Path = Field(
        Path("corpus"), description="Folder ingested when `rag ingest` is given no path."
    )
    index_dir: Path = Field(
        Path("index"), description="Folder of the persistent store (Chroma database)."
    )
    collection: str = Field("articles", description="Name of the Chroma collection.")
    upload_dir: Path | None = Field(
        None,
        description="Folder where articles uploaded in the chat are kept; "
        "default: `uploads/` inside index_dir.",
    )
    store_backend: Literal["embedded", "http"] = Field(
        "embedded",
        description="`embedded`: Chroma on disk in `index_dir`, in this process. `http`: a "
        "Chroma server (`chroma run`, or Chroma's Docker image) at `chroma_host`:`chroma_port`, "
        "which several chat/API processes on several machines can share.",
    )
    exact_search_limit: int = Field(
        20_000,
        ge=0,
        description="Up to this many stored chunks, dense search compares the question with "
        "every stored vector (exact, a few milliseconds; about 3 KB of memory per chunk). Above "
        "it, Chroma's HNSW index answers: approximate, and after a crash it can miss a passage "
        "until `rag check --repair` writes it again. Chroma's HNSW, rebuilt from its log when "
        "a process opens it, left 0 to 3 of 140 near-identical passages unreachable from one "
        "opening to the next (measured on the crash drill's corpus).",
    )
    chroma_host: str = Field("localhost", description="Chroma server host (store_backend http).")
    chroma_port: int = Field(8000, description="Chroma server port (store_backend http).")
    chroma_ssl: bool = Field(False, description="Talk to the Chroma server over HTTPS.")
    chroma_headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="HTTP headers sent to the Chroma server, e.g. its auth token "
        '(`{"Authorization": "Bearer ..."}`, as JSON in `RAG_CHROMA_HEADERS`). A secret: '
        "environment only, never read from the TOML file, never printed.",
    )
    max_file_bytes: int = Field(
        MAX_FILE_BYTES,
        description="Larger files are rejected by size before being read, so one huge file "
        "cannot exhaust memory (a long news article is under 100 kB of text; a saved page "
        "with its markup and scripts rarely over 2 MB). The one limit for every way in: "
        "`rag ingest`, the chat's upload and the API's `POST /articles` refuse larger files "
        "before storing them.",
    )
    models_dir: Path = Field(
        Path("models"), description="Folder where `rag setup` puts the verified model files."
    )

    embed_model: Path = Field(
        Path("models/embeddinggemma-300m"),
        description="Sentence-transformers folder of the multilingual embedding model.",
    )
    embed_dtype: Literal["auto", "bfloat16", "float32", "float16"] = Field(
        "auto",
        description="Torch dtype for the embedder. `auto`: the first load on a machine times "
        "float32 and bfloat16 on a few passages and keeps bfloat16 only if it is faster and "
        "its vectors stay within cosine 0.999 of float32's (recorded per model and CPU in "
        "`embed-precision.json` in models_dir). bfloat16 is fast only on CPUs with native "
        "bf16 instructions (AVX-512 BF16, AMX): on an AVX2-only CPU it measured 5.5 times "
        "slower than float32. int8 is not offered (quality drops).",
    )
    embed_batch_size: int = Field(16, description="Passages embedded per forward pass.")

    llm_backend: Literal["llama_cpp", "openai"] = Field(
        "llama_cpp",
        description="`llama_cpp`: the GGUF `llm_model`, run in this process. `openai`: any "
        "OpenAI-compatible chat-completions server (vLLM, llama.cpp's server, Ollama, a hosted "
        "API) at `llm_base_url`, serving `llm_model_name`.",
    )
    llm_model: Path = Field(
        Path("models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
        description="GGUF file of the local instruct model (any chat GGUF works).",
    )
    llm_base_url: str = Field(
        "",
        description="Base URL of the OpenAI-compatible API, with its version path "
        "(e.g. `http://127.0.0.1:8000/v1`); llm_backend openai only.",
    )
    llm_model_name: str = Field(
        "", description="Model name sent to the OpenAI-compatible server (llm_backend openai)."
    )
    llm_api_key: SecretStr | None = Field(
        None,
        description="Bearer key for the OpenAI-compatible server, if it wants one. A secret: "
        "environment only (`RAG_LLM_API_KEY`), never read from the TOML file, never printed.",
    )
    llm_timeout: float = Field(
        120.0,
        description="Seconds to wait for the model server to connect and for each piece of "
        "the streamed answer (llm_backend openai).",
    )
    llm_parallel: int = Field(
        1,
        description="Generations sent to the model server at once from one process "
        "(llm_backend openai); raise it for a server that batches requests, such as vLLM. "
        "The in-process llama.cpp model always runs one at a time.",
    )
    llm_threads: int = Field(
        0, description="CPU threads for llama.cpp; 0 means all cores of this machine."
    )
    llm_context: int = Field(
        4096,
        description="Context window (tokens): given to llama.cpp, or, for llm_backend openai, "
        "the one the server was started with (the prompt is fitted to it).",
    )
    max_answer_tokens: int = Field(320, description="Upper bound on tokens generated per answer.")
    temperature: float = Field(
        0.0, description="Sampling temperature; 0 keeps answers reproducible."
    )
    seed: int = Field(7, description="Sampling seed for llama.cpp.")
    llm_prompt_lookup: int = Field(
        0,
        description="Draft tokens per step for llama.cpp's prompt-lookup speculative "
        "decoding (copies of the prompt are drafted for free); 0 turns it off.",
    )

    chunk_size: int = Field(
        180, description="Target chunk length in tokens (of the embedder's tokenizer)."
    )
    chunk_overlap: int = Field(30, description="Tokens shared by consecutive chunks.")

    candidates: int = Field(
        20, description="How many passages each retriever (dense, BM25) proposes for fusion."
    )
    top_k: int = Field(4, description="How many fused passages are put into the prompt.")
    bm25_min_ratio: float = Field(
        0.3,
        description="BM25 only votes for passages scoring at least this fraction of its best "
        "hit: a weak keyword match (one common word) would otherwise outvote a strong "
        "cross-lingual dense match in the fusion.",
    )
    bm25_weight: float = Field(
        1.0,
        description="Weight of the BM25 ranking in the fusion (the dense ranking weighs 1).",
    )
    rrf_k: int = Field(60, description="Reciprocal-rank-fusion constant (larger = flatter).")
    retrieval_mode: Literal["dense", "hybrid", "bm25"] = Field(
        "dense",
        description="Retriever: `dense` (multilingual embeddings), `hybrid` (dense + BM25 "
        "fused by reciprocal rank) or `bm25`. Dense is the default because it measured best "
        "on the bundled corpus (passage hit@3 0.946 vs 0.826 hybrid, 0.707 BM25: "
        "eval/reports/): with mostly cross-lingual questions, keyword matches add noise.",
    )
    dedupe_similarity: float = Field(
        0.8,
        description="Two retrieved passages of one story (story_similarity) whose embeddings "
        "are closer than this are the same text in two languages (0.80-0.90 on the bundled "
        "corpus, while distinct passages stay under 0.67); only the better one is kept.",
    )
    story_similarity: float = Field(
        0.8,
        description="Two articles whose vectors (the normalised mean of their chunk vectors) "
        "are at least this similar (cosine) tell the same story, e.g. one story in two "
        "languages, and are grouped (rag/stories.py): the chat and the API list each "
        "article's twins, and retrieval drops a passage closer than dedupe_similarity to a "
        "chosen one of the same story. Measured (`python eval/bench_stories.py`): the "
        "bundled Spanish/French story (000/001) 0.894; the highest other pair 0.723 on the "
        "bundled corpus and 0.418 among the 20 XQuAD articles.",
    )
    evidence_mode: Literal["sentences", "passages"] = Field(
        "sentences",
        description="What the model reads: `sentences`, the best sentences of the candidate "
        "passages packed to `evidence_tokens` (fast: a few hundred prompt tokens), or "
        "`passages`, the `top_k` whole chunks (four times the reading; kept for comparison).",
    )
    evidence_tokens: int = Field(
        150,
        description="Token budget (of the chat model's tokenizer) for the evidence sentences "
        "in the prompt. With the question and tags the model then reads about 200-250 new "
        "prompt tokens per answer; the system prompt before it is cached.",
    )
    evidence_passages: int = Field(
        6,
        description="How many candidate passages (chunks) have their sentences ranked for "
        "the evidence.",
    )
    name_anchors: int = Field(
        2,
        description="For each name of the question that few chunks hold (name_anchor_share), "
        "this many chunks holding it, the closest to the question, join the candidate "
        "passages of the evidence: a rare name is matched letter for letter where the "
        "embedding blurs it. 0 turns it off.",
    )
    name_anchor_share: float = Field(
        0.1,
        description="A name held by at most this share of the chunks is rare enough to "
        "anchor the evidence (on the bundled corpus 'TechCrunch' is in 1 of 37 chunks, "
        "'Meta' in 36).",
    )
    broad_questions: bool = Field(
        True,
        description='A question about the articles as a whole ("which articles mention X", '
        '"what do the articles say about Y") is answered article by article: the best '
        "sentence of each article that addresses it, one short cited point per article.",
    )
    broad_articles: int = Field(
        8, description="How many articles a broad question's evidence draws on, at most."
    )
    broad_passages_per_article: int = Field(
        2,
        description="How many candidate passages (chunks) of each article have their "
        "sentences ranked for a broad question.",
    )
    broad_evidence_tokens: int = Field(
        300,
        description="Token budget for a broad question's evidence (one sentence, with the "
        "one before it if it needs it, per article).",
    )
    lexical_weight: float = Field(
        0.25,
        description="Weight, in the sentence score, of the share of the question's names, "
        "numbers and key words a sentence holds (the sentence's cosine similarity weighs 1).",
    )
    passage_weight: float = Field(
        0.2,
        description="Weight, in the sentence score, of the similarity of the passage the "
        "sentence comes from.",
    )
    answer_kind_weight: float = Field(
        0.1,
        description="Bonus, in the sentence score, for a sentence that holds what the "
        "question asks for: a number (how many), a year or month (when), a name (who).",
    )
    sentence_dedupe_similarity: float = Field(
        0.9,
        description="A sentence this close to one already kept from another article is the "
        "same sentence in another language (one story told twice) and is left out.",
    )
    min_relevance: float = Field(
        0.35,
        description="If the best evidence sentence scores below this (its similarity to the "
        "question plus its share of the question's names, numbers and key words), the answer "
        "is 'the articles don't say' without asking the model. Set on both eval corpora: "
        "answerable questions score 0.48 and more (p10), off-topic ones under 0.3.",
    )
    support_threshold: float = Field(
        0.5,
        description="Cosine similarity between an answer sentence (embedded as a query) and "
        "a stored evidence sentence from which the evidence counts as supporting it.",
    )
    support_lexical_weight: float = Field(
        0.2,
        description="Added to an answer sentence's support from a passage, times the share "
        "of the sentence's own words (those the question does not give) the passage holds: "
        "the words it was written from tell the passage apart from one in the answer's own "
        "language that is merely close in meaning. Measured by re-checking both eval runs "
        "(--replay): 0.1 to 0.4 against 0, news citation precision 0.806 -> 0.815-0.818, "
        "false abstention 0.022 -> 0.011 from 0.2; xquad false refusal 0.10 -> 0.083.",
    )
    support_margin: float = Field(
        0.05,
        description="A cited passage whose support is this much below the best passage's "
        "loses the citation to it (the fact is really there, not here). Measured on both "
        "eval corpora: 0.15 gave news citation precision 0.78, 0.05 and below 0.81; xquad "
        "unchanged.",
    )
    check_names: bool = Field(
        True,
        description="A sentence's proper names, numbers (with their magnitude) and dates "
        "must occur in the evidence it cites; a sentence that only restates the question, "
        "or says in any language that the passages do not answer, is no answer.",
    )
    quote_fallback: bool = Field(
        True,
        description="When the model's answer fails the check but one evidence sentence "
        "clearly answers the question, quote that sentence (in the article's language, "
        "marked as a quote) instead of refusing.",
    )
    quote_min_similarity: float = Field(
        0.5,
        description="The quote fallback needs an evidence sentence at least this similar "
        "to the question (cosine)...",
    )
    quote_min_lexical: float = Field(
        0.5,
        description="...that also holds at least this share of the question's names, numbers "
        "and key words, literally or, with `word_similarity`, as a translation.",
    )
    quote_relaxed_lexical: float = Field(
        0.7,
        description="A sentence that holds at least this share of the question's key words "
        "(literally or as translations) is quoted at the lower similarity "
        "`quote_relaxed_similarity`: a cross-lingual question often scores under 0.5 "
        "against the sentence that answers it word for word.",
    )
    quote_relaxed_similarity: float = Field(
        0.4,
        description="The similarity such a sentence needs (see `quote_relaxed_lexical`).",
    )
    word_similarity: float = Field(
        0.8,
        description="For the quote fallback, a key word of the question that the sentence "
        "does not hold literally still counts if one of its words is this close in meaning "
        "('population' / 'población': 0.94; related but different words score 0.53-0.75). "
        "Above 1: literal matches only.",
    )
    language_retry: bool = Field(
        True,
        description="An answer not in the question's language is generated once more with "
        "a stronger instruction; if it is still wrong, the best evidence sentence is quoted "
        "with a lead-in in the question's language.",
    )
    verify_citations: bool = Field(
        True,
        description="Check every cited sentence against its passage after generation; "
        "move, drop or add citations and refuse when nothing is supported.",
    )
    max_question_chars: int = Field(
        1000, description="Longer questions are trimmed to this many characters, with a notice."
    )
    max_translation_chars: int = Field(
        1000,
        description="Longest text the chat's Show in English and `POST /translate` "
        "translate at once (a quote is one sentence); longer is refused with a message.",
    )

    host: str = Field(
        "127.0.0.1", description="Address the chat and the API (`rag serve`) bind to."
    )
    port: int = Field(7860, description="Port of the chat.")
    api_port: int = Field(8800, description="Port of the HTTP API (`rag serve`).")
    api_key: SecretStr | None = Field(
        None,
        description="Bearer key `rag serve` asks for on every route but /health "
        "(`Authorization: Bearer KEY`). Without one it binds only loopback addresses. A "
        "secret: environment only (`RAG_API_KEY`), never read from the TOML file, never printed.",
    )
    chat_user: SecretStr | None = Field(
        None,
        description="Login name the chat asks for, with chat_password. Without a login the "
        "chat binds only loopback addresses. Environment only (`RAG_CHAT_USER`).",
    )
    chat_password: SecretStr | None = Field(
        None,
        description="Password of the chat's login. A secret: environment only "
        "(`RAG_CHAT_PASSWORD`), never read from the TOML file, never printed.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("RAG_CONFIG", "rag.toml"))
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_file)
        for name in SECRETS & set(toml.toml_data):
            raise ValueError(
                f"{name} is a secret: set it in the environment (RAG_{name.upper()}), "
                f"not in {toml_file}"
            )
        return init_settings, env_settings, toml

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        if self.top_k < 1 or self.candidates < self.top_k:
            raise ValueError("need 1 <= top_k <= candidates")
        if self.llm_backend == "openai":
            if not self.llm_base_url.startswith(("http://", "https://")):
                raise ValueError(
                    "llm_backend openai needs llm_base_url, the server's OpenAI API URL "
                    "(e.g. http://127.0.0.1:8000/v1)"
                )
            if not self.llm_model_name:
                raise ValueError("llm_backend openai needs llm_model_name (the served model)")
        if self.llm_parallel < 1:
            raise ValueError("llm_parallel must be at least 1")
        if self.store_backend == "http" and not self.chroma_host:
            raise ValueError("store_backend http needs chroma_host")
        if (self.chat_user is None) != (self.chat_password is None):
            raise ValueError("the chat's login needs both RAG_CHAT_USER and RAG_CHAT_PASSWORD")
        for name in ("api_key", "chat_user", "chat_password"):
            secret = getattr(self, name)
            if secret is not None and not secret.get_secret_value().strip():
                raise ValueError(f"RAG_{name.upper()} is set but empty")
        return self

    def path(self, p: Path) -> Path:
        """Resolve a configured path against `root`."""
        return p if p.is_absolute() else self.root / p

    def uploads(self) -> Path:
        """Where the chat keeps uploaded articles."""
        return self.path(self.upload_dir or self.index_dir / "uploads")

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed (settings are frozen)."""
        return type(self).model_validate({**self.model_dump(), **changes})
