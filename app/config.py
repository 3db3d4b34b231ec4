"""Settings: one typed object built from env (GEOHAZARD_*) and an optional TOML file.

Nothing here touches the disk at import time; call `load_settings()` once at start.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
APP_NAME = "geohazard-copilot"


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def _default_models() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "models"


class Settings(BaseSettings):
    """All runtime settings. Env vars win over the TOML file, which wins over defaults."""

    model_config = SettingsConfigDict(env_prefix="GEOHAZARD_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="data dir: knowledge bases, logs")
    models_dir: Path = Field(default_factory=_default_models, description="assembled GGUF files")
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    prompts_dir: Path = PROJECT_ROOT / "prompts"

    # LLM
    model: str = Field("qwen1.5b", description="bundled model name: qwen1.5b | qwen0.5b")
    model_path: Path | None = Field(None, description="any other GGUF file; overrides `model`")
    n_ctx: int = 4096
    n_threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    flash_attn: bool = Field(True, description="llama.cpp flash attention: prefill ~10 % faster on 2 CPU cores")
    prompt_cache_mb: int = Field(512, ge=0, description="RAM for llama.cpp states of earlier prompts (0 = off): a "
                                 "question after an assessment reuses the answer prompt's prefill instead of redoing it")
    draft_tokens: int = Field(0, ge=0, le=32, description="prompt-lookup decoding: tokens guessed from the prompt "
                                                       "per step (0 = off); measured by `geohazard bench`")
    max_tokens: int = Field(640, description="ceiling on an answer's tokens; below it the answer's own budget "
                                             "applies (app/reason/generation.py ANSWER_TOKENS)")
    temperature: float = 0.0
    seed: int = 42

    # Retrieval
    top_k: int = Field(5, description="passages retrieved and shown as sources")
    evidence_budgets: tuple[int, ...] = Field(
        (320, 180, 100),
        description="characters of each passage the model reads, by rank; the model reads as many passages as "
                    "there are budgets (prefill decides the time to first token: eval/results/*-bench-*.md)",
    )
    dense_k: int = 20
    lexical_k: int = 20
    rrf_k: int = 60
    min_coverage: float = Field(
        0.5, description="refuse when less than this share of the question's topic terms is in the evidence"
    )

    # Ingest
    max_file_mb: float = 50.0
    chunk_max_chars: int = 900
    ocr: bool = Field(True, description="OCR PDF pages without a usable text layer (RapidOCR, n_threads threads)")
    ocr_max_pages: int = Field(300, description="scanned pages OCR'd per document (~10 s a page on 2 cores)")

    # Web UI and API (`geohazard serve`)
    host: str = Field("127.0.0.1", description="bind address; any non-loopback address requires login")
    port: int = 7860
    auth_user: str | None = Field(None, description="login name, required when host is not loopback")
    auth_password: str | None = Field(None, description="login password, required when host is not loopback")
    max_upload_mb: float = Field(100.0, description="largest file accepted by the web upload")
    max_sessions: int = Field(8, description="browser sessions served at once; the model itself is queued")
    allowed_hosts: str = Field("", description="extra host names (comma-separated) the browser may use to reach "
                                               "the server, e.g. the reverse proxy's public name; loopback names "
                                               "and a specific bind address are always allowed")
    trusted_proxies: str = Field("", description="addresses (comma-separated IPs or CIDRs) of reverse proxies whose "
                                                 "X-Forwarded-For / X-Forwarded-Proto are believed; unset = none")
    min_password_length: int = Field(12, description="shortest GEOHAZARD_AUTH_PASSWORD accepted at start-up")
    login_max_failures: int = Field(5, description="failed logins from one address before it is locked out")
    login_lockout_s: float = Field(300.0, description="lockout after too many failed logins, seconds")
    login_failure_delay_s: float = Field(1.0, description="delay added to every failed login, seconds")
    max_question_chars: int = Field(2000, description="longest question or situation text accepted from the web")
    max_queued_per_client: int = Field(8, description="jobs one client (login, else address) may have waiting "
                                                      "in the queue (the queue holds 4 × max_sessions)")

    # Servers for a command centre (issue 8); unset = everything embedded in this process
    chroma_url: str | None = Field(None, description="Chroma server, e.g. http://host:8000")
    llm_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://host:8080/v1")
    llm_model: str | None = Field(None, description="model name to request from llm_url")
    llm_api_key: str | None = Field(None, description="API key for llm_url, if the server wants one")

    @property
    def default_kb(self) -> Path:
        return self.home / "kb" / "default"

    @property
    def conversations_db(self) -> Path:
        return self.home / "conversations.sqlite3"

    @property
    def audit_db(self) -> Path:
        return self.home / "audit.sqlite3"

    @property
    def briefs_dir(self) -> Path:
        return self.home / "briefs"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"

    @property
    def web_temp_dir(self) -> Path:
        """Gradio's cache (GRADIO_TEMP_DIR) and the per-request download copies: private to this home."""
        return self.home / "tmp"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("GEOHAZARD_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_file)))
        return tuple(sources)


def load_settings(**overrides: object) -> Settings:
    """Build the settings once; explicit overrides (e.g. from CLI flags) win over everything."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
