"""Composition root: builds the knowledge base, retriever and model from Settings, once per process.

The CLI, the web UI and the API call this and hold no logic of their own.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from app import audit
from app.config import Settings
from app.index.embed import E5Embeddings
from app.index.store import DocInfo, KnowledgeBase
from app.index.vectors import VectorWorker
from app.ingest.files import IngestResult
from app.pipeline_ingest import ingest_into, reindex
from app.provision import MODELS, ModelError, file_sha256, is_installed, model_file
from app.reason.answer import Answer, answer_question, refusal
from app.reason.assess import (Assessment, detect_hazard_type, detect_region, evidence_queries, explain,
                               grade_situation, impact_range, read_situation)
from app.reason.conversation import ConversationState
from app.reason.extract import details_from_text, extract_details, merge_details
from app.reason.followup import Context, Resolution, checked_rewrite, context_after, resolve
from app.reason.generation import REWRITE_TOKENS
from app.reason.grading import load_rules, rule_sets_in_kb
from app.reason.plan_rules import rules_for_region
from app.reason.incident import Change, grade_changes, is_case_question, same_event, update
from app.reason.llm import ModelInfo, RemoteLLM, load_llm
from app.reason.prompts import load_prompt
from app.reason.reach_render import evacuation_scope
from app.reason.turns import ModelTurns
from app.reason.situation import Situation
from app.retrieve.gate import evidence_coverage, missing_focus
from app.retrieve.hybrid import RetrievalParams, retrieve, retrieve_many
from app.schema import Citation, Hit


class Copilot:
    """Everything an interface needs, built lazily from Settings. Stand-ins and shared parts enter through the
    constructor: `llm` (anything with llama_cpp's create_chat_completion) with its `model_info`, and
    `embeddings` (a LangChain Embeddings, e.g. one model shared by several knowledge bases)."""

    def __init__(self, settings: Settings, kb_dir: Path | None = None, *, llm=None,
                 model_info: ModelInfo | None = None, embeddings=None, kb: KnowledgeBase | None = None):
        self.settings = settings
        self.kb_dir = Path(kb_dir) if kb_dir else settings.default_kb
        self.is_default_kb = kb_dir is None
        self.turns = ModelTurns()  # one generation at a time; others wait in line
        self._llm, self._model_info, self._embeddings, self._kb = llm, model_info, embeddings, kb
        self._lock = threading.RLock()  # the parts below are built once, whichever thread asks first

    # ---- knowledge base ------------------------------------------------------------------------
    @property
    def embeddings(self):
        with self._lock:
            if self._embeddings is None:
                self._embeddings = E5Embeddings(num_threads=self.settings.n_threads)
            return self._embeddings

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base (the only place Chroma is opened); the default one ingests the bundled corpus."""
        with self._lock:
            if self._kb is None:
                kb = KnowledgeBase(self.kb_dir, self.embeddings, chroma_url=self.settings.chroma_url)
                if self.is_default_kb and not kb.documents():
                    print(f"首次使用：导入内置资料库 / first use: ingesting bundled corpus {self.settings.corpus_dir}",
                          file=sys.stderr)
                    ingest_into(kb, self.settings, [self.settings.corpus_dir], progress=True)
                self._kb = kb
                if kb.lexical_sources():  # vectors a killed ingest left unfinished are completed after the open
                    self.vector_worker.kick()
            return self._kb

    @cached_property
    def vector_worker(self) -> VectorWorker:
        """Completes the vectors of documents ingested with `background=True` (or left unfinished by a kill);
        `vector_worker.state` maps source → (vectors stored, chunks), `wait_for_vectors()` blocks until done."""
        return VectorWorker(self.kb)

    def wait_for_vectors(self, timeout: float | None = None) -> bool:
        if not self.kb.lexical_sources():
            return True
        return self.vector_worker.wait(timeout)

    def reindex(self, sources: list[str] | None = None, progress=None) -> list[tuple[DocInfo, IngestResult | None]]:
        """Re-read and re-index documents from their files (all by default): (document, result) each, result
        None when the file is gone (its old index is kept). `progress(i, total, title)` before each."""
        return reindex(self.kb, self.settings, sources, progress)

    def section_text(self, chunk_id: str) -> str:
        """The whole article/section a cited passage belongs to, when it spans several chunks; else ""."""
        parts = self.kb.section(chunk_id)
        return "\n".join(c.text for c in parts) if len(parts) > 1 else ""

    def ingest(self, paths: list[Path], progress: bool = False, on_ocr_page=None, *,
               background: bool = False) -> list[IngestResult]:
        """`on_ocr_page(path, done, total, page, seconds)` after each OCR'd page; with `progress` and no
        callback, OCR progress goes to stderr. With `background`, each document is searchable by keywords as
        soon as it is parsed and its vectors follow in `vector_worker` (an upload in an emergency); without,
        ingest returns when both indexes hold every document."""
        return ingest_into(self.kb, self.settings, paths, progress, on_ocr_page,
                           self.vector_worker if background else None)

    # ---- retrieval and answers -----------------------------------------------------------------
    def retrieval_params(self, k: int | None = None, mode: str = "hybrid") -> RetrievalParams:
        s = self.settings
        return RetrievalParams(k or s.top_k, s.dense_k, s.lexical_k, s.rrf_k, mode)

    def retrieve(self, question: str, k: int | None = None, mode: str = "hybrid") -> tuple[list[Hit], float]:
        start = time.perf_counter()
        hits = retrieve(self.kb, question, self.retrieval_params(k, mode))
        return hits, time.perf_counter() - start

    def ask(self, question: str, k: int | None = None, on_token=None, on_wait=None, *,
            user: str | None = None) -> Answer:
        hits, retrieve_s = self.retrieve(question, k)
        return self.answer(question, hits, retrieve_s, on_token=on_token, on_wait=on_wait, user=user)

    def reply(self, message: str, k: int | None = None, *, conversation: ConversationState | None = None,
              on_token=None, on_wait=None, on_hits=None, on_graded=None, on_route=None,
              user: str | None = None) -> Answer | Assessment:
        """The one router every interface calls: a described situation (figures that decide a grade, or an
        event report asking for its grade) is assessed, with the situation parsed here once and passed on;
        anything else is retrieved and answered. Within a `conversation` (updated in place), a follow-up is
        made standalone first and a situation updates the incident already reported. Before the model starts,
        `on_hits(hits)` gets a question's passages (possibly none) and `on_graded(preliminary)` a situation's
        computed grades and evidence; `on_route("assess" | "answer")` hears the decision first."""
        state = conversation if conversation is not None else ConversationState()
        situation = None if is_case_question(message) else read_situation(message)
        if on_route is not None:
            on_route("answer" if situation is None else "assess")
        if situation is not None:
            return self._assess_incident(message, situation, state, on_token=on_token, on_wait=on_wait,
                                         on_graded=on_graded, user=user)
        start = time.perf_counter()
        resolution = self.resolve(message, state.context, on_wait)
        resolve_s = time.perf_counter() - start
        hits, retrieve_s = self.retrieve(resolution.question, k)
        if on_hits is not None:
            on_hits(hits)
        result = self.answer(message, hits, retrieve_s, on_token=on_token, on_wait=on_wait, user=user,
                             understood=resolution.question)
        result.timings["resolve_s"] = round(resolve_s, 4)
        state.context = context_after(resolution, [h.chunk.title for h in hits])
        return result

    def resolve(self, message: str, context: Context | None, on_wait=None) -> Resolution:
        """The standalone question for a follow-up: by code where it can, else by the model (prompts/rewrite.md),
        checked; a first or self-contained question never calls the model."""
        resolution = resolve(message, context)
        if not resolution.needs_model:
            return resolution
        with self.turns.turn(on_wait):
            reply = self.llm.create_chat_completion(
                messages=self.rewrite_prompt.render(previous=context.question, message=message),
                max_tokens=REWRITE_TOKENS, temperature=0.0, seed=self.settings.seed)
        return checked_rewrite(reply["choices"][0]["message"]["content"] or "", message, context)

    def _assess_incident(self, message: str, situation: Situation, state: ConversationState, **kwargs) -> Assessment:
        """A reported situation: a new incident, or an update of the one this conversation is about (its figures
        merged, the grade recomputed from them, what changed said)."""
        incident = state.incident if state.incident and same_event(state.incident, message) else None
        before = dict(incident.grades) if incident else {}
        incident, changes = update(incident, message, situation)
        follow_up = len(incident.reports) > 1
        result = self.assess(incident.text if follow_up else message,
                             situation=incident.situation() if follow_up else situation,
                             changes=(changes, before) if follow_up else None, history=incident.changes, **kwargs)
        incident.grades = {g.scale: g.grade or "" for g in result.grades}
        state.incident = incident
        return result

    def answer(self, question: str, hits: list[Hit], retrieve_s: float = 0.0, on_token=None,
               on_wait=None, *, user: str | None = None, understood: str | None = None) -> Answer:
        """Answer from already retrieved hits (the web UI shows them first); refuses when they miss the topic.
        `understood` is the standalone question a follow-up was resolved to: the gate and the model see it.
        `on_wait(position)` reports the place in line while another request holds the model.
        Every answer, refusals included, is appended to the audit log under `user` (default: the OS user)."""
        s = self.settings
        asked, question = question, understood or question
        coverage, missing = evidence_coverage(question, hits)
        unmentioned = missing_focus(question, hits)  # "起草人": the other terms may all be there
        if hits and (coverage < s.min_coverage or unmentioned):
            why = (f"检索到的资料没有涉及问题所问的“{unmentioned}”" if unmentioned and coverage >= s.min_coverage
                   else f"检索到的资料没有涉及：{'、'.join(missing)}")
            why += "。需要包含这些内容的法规、预案、技术标准或灾情报告，导入后再问。"
            timings = {"retrieve_s": round(retrieve_s, 4), "first_token_s": None, "total_s": round(retrieve_s, 4)}
            result = refusal(question, hits, why, self.answer_prompt.tag, timings)
        else:
            with self.turns.turn(on_wait):
                result = answer_question(question, hits, self.llm, self.answer_prompt, max_tokens=s.max_tokens,
                                         temperature=s.temperature, seed=s.seed, on_token=on_token,
                                         retrieve_s=retrieve_s, budgets=s.evidence_budgets)
        result = replace(result, question=asked, resolved_question=question)
        audit.record_safely(self.settings.audit_db, lambda: audit.answer_record(result, user, self._audited_model()))
        return result

    @cached_property
    def answer_prompt(self):
        return load_prompt(self.settings.prompts_dir, "answer")

    @cached_property
    def assess_prompt(self):
        return load_prompt(self.settings.prompts_dir, "assess")

    @cached_property
    def extract_prompt(self):
        return load_prompt(self.settings.prompts_dir, "extract")

    @cached_property
    def rewrite_prompt(self):
        return load_prompt(self.settings.prompts_dir, "rewrite")

    def assess(self, text: str, region: str | None = None,
               persons_per_household: float | None = None, on_token=None, on_wait=None, *,
               user: str | None = None, on_graded=None, situation: Situation | None = None,
               changes: tuple[list[Change], dict] | None = None, history: list[Change] | None = None) -> Assessment:
        """Grade by code from the cited rule, retrieve the evidence, let the model explain and advise.
        `situation` is the text's figures when the caller has parsed them already (reply() has); for an update
        of a reported incident, `changes` holds this message's changes and the grades before it, `history` all.
        `on_graded(preliminary)` gets the computed grades and the evidence before the model starts (the grade
        card can be shown at once; the model's explanation takes tens of seconds on 2 cores).
        The result is appended to the audit log under `user` (default: the OS user)."""
        start = time.perf_counter()
        available = rule_sets_in_kb(d.title for d in self.kb.documents())
        region = region or detect_region(text)
        situation, grades, region = grade_situation(text, available, region, persons_per_household, situation,
                                                    self.grading_plan(region))
        hazard_type = detect_hazard_type(text)
        reach = impact_range(text)
        said = [] if changes is None else [c.describe() for c in changes[0]] + grade_changes(changes[1], grades,
                                                                                            changes[0])
        logged = [c.to_json() for c in history or []] if changes is not None else []
        hits = retrieve_many(self.kb, evidence_queries(text, grades, hazard_type), self.retrieval_params(),
                             limit=2 * self.settings.top_k)
        retrieve_s = time.perf_counter() - start
        if on_graded is not None:
            on_graded(Assessment(text, situation, hazard_type, region, grades, hits,
                                 timings={"retrieve_s": round(retrieve_s, 4)}, reach=reach, changes=said,
                                 history=logged))
        details = details_from_text(text)  # code first; the model only for what code left empty, after the advice
        with self.turns.turn(on_wait):
            explanation, used, invalid, unverified, gen = explain(
                self.llm, self.assess_prompt, text, grades, hits, max_tokens=700, seed=self.settings.seed,
                hazard_type=hazard_type, on_token=on_token, region=region,
                scope=evacuation_scope(reach) if reach is not None else "")
            if not (details["hazard_type"] and details["place"]):
                details = merge_details(details, extract_details(self.llm, self.extract_prompt, text,
                                                                 seed=self.settings.seed))
        result = Assessment(
            text, situation, hazard_type, region, grades, hits, explanation,
            [Citation(n, hits[n - 1].chunk) for n in sorted(used)], invalid, unverified,
            {"retrieve_s": round(retrieve_s, 4),
             "first_token_s": None if gen.first_token_s is None else round(retrieve_s + gen.first_token_s, 4),
             "total_s": round(time.perf_counter() - start, 4), "completion_tokens": gen.completion_tokens},
            details, reach, said, logged,
        )
        audit.record_safely(self.settings.audit_db, lambda: audit.assessment_record(
            result, user, self._audited_model(), self.assess_prompt.tag,
            {"region": region, "persons_per_household": persons_per_household}))
        return result

    def grading_plan(self, region: str | None):
        """The grading table read from the region's own current plan in the knowledge base, or None."""
        return rules_for_region(region, self.kb.doc_metas(), self.kb.chunks_of, load_rules())

    # ---- audit log -----------------------------------------------------------------------------
    def _audited_model(self) -> tuple[str, str]:
        """(name, sha256) of the model that answers; a refusal may come before any model is available."""
        try:
            return self.model_info.name, self.model_info.sha256
        except Exception:
            return self.settings.llm_model or self.settings.model, ""

    # ---- model ---------------------------------------------------------------------------------
    @property
    def model_info(self) -> ModelInfo:
        with self._lock:
            if self._model_info is None:
                self._model_info = self._resolve_model()
            return self._model_info

    def _resolve_model(self) -> ModelInfo:
        s = self.settings
        if self._llm is not None:  # a model handed to the constructor without its info
            return getattr(self._llm, "info", None) or ModelInfo(type(self._llm).__name__, "", "")
        if s.llm_url:  # served elsewhere: name from GEOHAZARD_LLM_MODEL or the server's /models, sha256 "remote"
            return self.llm.info
        if s.model_path:
            path = Path(s.model_path)
            if not path.is_file():
                raise ModelError(f"模型文件不存在 / model file not found: {path}")
            return ModelInfo(path.stem, str(path), file_sha256(path))
        if not is_installed(s.models_dir, s.model):
            raise ModelError(
                f"模型未安装 / model not installed: run `geohazard model install --model {s.model}`"
            )
        return ModelInfo(s.model, str(model_file(s.models_dir, s.model)), MODELS[s.model].sha256)

    @property
    def llm(self):
        with self._lock:
            if self._llm is None:
                s = self.settings
                if s.llm_url:
                    self._llm = RemoteLLM(s.llm_url, s.llm_model, s.llm_api_key)
                else:
                    self._llm = load_llm(Path(self.model_info.path), s.n_ctx, s.n_threads, s.seed,
                                         flash_attn=s.flash_attn, draft_tokens=s.draft_tokens,
                                         prompt_cache_mb=s.prompt_cache_mb)
            return self._llm
