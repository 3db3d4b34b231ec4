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
from app.index.vectors import VectorWorker, complete_vectors
from app.ingest.chunk import chunk_document
from app.ingest.errors import IngestError
from app.ingest.files import IngestResult, expand_paths
from app.ingest.load import SUPPORTED, load_file
from app.ingest.ocr import OcrOptions
from app.provision import MODELS, ModelError, file_sha256, is_installed, model_file
from app.reason.answer import Answer, answer_question, refusal
from app.reason.assess import (Assessment, detect_hazard_type, evidence_queries, explain, grade_situation,
                               impact_range, read_situation)
from app.reason.extract import extract_details
from app.reason.grading import rule_sets_in_kb
from app.reason.injection import has_injection
from app.reason.llm import ModelInfo, RemoteLLM, load_llm
from app.reason.prompts import load_prompt
from app.reason.reach_render import evacuation_scope
from app.reason.turns import ModelTurns
from app.retrieve.gate import evidence_coverage
from app.reason.situation import Situation
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
                    self._ingest_into(kb, [self.settings.corpus_dir], progress=True)
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
        docs = [d for d in self.kb.documents() if sources is None or d.source in sources]
        out: list[tuple[DocInfo, IngestResult | None]] = []
        for i, doc in enumerate(docs):
            if progress is not None:
                progress(i, len(docs), doc.title)
            if not Path(doc.source).is_file():
                out.append((doc, None))
                continue
            self.kb.remove(doc.source)
            out.append((doc, self.ingest([Path(doc.source)])[0]))
        return out

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
        return self._ingest_into(self.kb, paths, progress, on_ocr_page, background)

    def _ocr_options(self, path: Path, progress: bool, on_ocr_page) -> OcrOptions:
        def report(done: int, total: int, page: int, seconds: float) -> None:
            if on_ocr_page is not None:
                on_ocr_page(str(path), done, total, page, seconds)
            elif progress:
                print(f"OCR {path.name}: 第{page}页 ({done}/{total}) {seconds:.1f} s", file=sys.stderr)

        s = self.settings
        return OcrOptions(threads=s.n_threads, on_page=report, enabled=s.ocr, max_pages=s.ocr_max_pages)

    def _ingest_into(self, kb: KnowledgeBase, paths: list[Path], progress: bool,
                     on_ocr_page=None, background: bool = False) -> list[IngestResult]:
        from tqdm import tqdm

        files = expand_paths(paths)
        results: list[IngestResult] = []
        start, total_chunks = time.perf_counter(), 0
        bar = tqdm(files, desc="导入 ingest", unit="file", disable=not progress or len(files) < 2, file=sys.stderr)
        for path, named in bar:
            result = self._ingest_one(kb, path, named, self._ocr_options(path, progress, on_ocr_page), background)
            results.append(result)
            total_chunks += result.chunks if result.status in ("added", "updated") else 0
            elapsed = max(time.perf_counter() - start, 1e-6)
            bar.set_postfix_str(f"{len(results) / elapsed:.2f} files/s, {total_chunks / elapsed:.1f} chunks/s")
        return results

    def _ingest_one(self, kb: KnowledgeBase, path: Path, named: bool, ocr: OcrOptions | None = None,
                    background: bool = False) -> IngestResult:
        if not named and path.suffix.lower() not in SUPPORTED:
            return IngestResult(str(path), "skipped", message=f"跳过不支持的类型 / skipped type {path.suffix}")
        if not named and path.is_symlink():  # a link in an untrusted folder could pull in any readable file
            return IngestResult(str(path), "skipped",
                                message="跳过文件夹中的符号链接 / skipped symbolic link inside a folder")
        if not path.exists():
            return IngestResult(str(path), "failed", message="文件不存在 / file not found")
        try:
            doc = load_file(path, int(self.settings.max_file_mb * 2**20), ocr=ocr)
            if not kb.needs_update(doc.source, doc.sha256):
                return IngestResult(doc.source, "unchanged", message="未变化 / unchanged")
            existed = any(d.source == doc.source for d in kb.documents())
            chunks = chunk_document(doc, self.settings.chunk_max_chars)
            if not chunks:
                raise IngestError("没有切分出任何段落", "no chunks produced")
            flagged = sum(has_injection(c.text) for c in chunks)
            if flagged:  # such passages are withheld from the model (reason/injection.py); the operator is told
                doc = replace(doc, warnings=doc.warnings + (
                    f"{flagged} 段含有疑似指令注入的语句，不会作为证据交给模型 / {flagged} passages contain suspected "
                    "prompt-injection text and are never given to the model as evidence",))
            kb.add_lexical(doc, chunks)
            if background:
                self.vector_worker.kick()
            else:
                complete_vectors(kb, doc.source)
        except IngestError as exc:
            return IngestResult(str(path), "failed", message=str(exc))
        return IngestResult(doc.source, "updated" if existed else "added", len(chunks), "",
                            list(doc.warnings))

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

    def reply(self, message: str, k: int | None = None, *, on_token=None, on_wait=None, on_hits=None,
              on_graded=None, on_route=None, user: str | None = None) -> Answer | Assessment:
        """The one router every interface calls: a described situation (figures that decide a grade, or an
        event report asking for its grade) is assessed, with the situation parsed here once and passed on;
        anything else is retrieved and answered. Before the model starts, `on_hits(hits)` gets a question's
        passages (possibly none) and `on_graded(preliminary)` a situation's computed grades and evidence;
        `on_route("assess" | "answer")` hears the decision first."""
        situation = read_situation(message)
        if on_route is not None:
            on_route("answer" if situation is None else "assess")
        if situation is not None:
            return self.assess(message, on_token=on_token, on_wait=on_wait, user=user, on_graded=on_graded,
                               situation=situation)
        hits, retrieve_s = self.retrieve(message, k)
        if on_hits is not None:
            on_hits(hits)
        return self.answer(message, hits, retrieve_s, on_token=on_token, on_wait=on_wait, user=user)

    def answer(self, question: str, hits: list[Hit], retrieve_s: float = 0.0, on_token=None,
               on_wait=None, *, user: str | None = None) -> Answer:
        """Answer from already retrieved hits (the web UI shows them first); refuses when they miss the topic.
        `on_wait(position)` reports the place in line while another request holds the model.
        Every answer, refusals included, is appended to the audit log under `user` (default: the OS user)."""
        s = self.settings
        coverage, missing = evidence_coverage(question, hits)
        if hits and coverage < s.min_coverage:
            why = (f"检索到的资料没有涉及：{'、'.join(missing)}。需要包含这些内容的法规、预案、技术标准或灾情报告，"
                   "导入后再问。")
            timings = {"retrieve_s": round(retrieve_s, 4), "first_token_s": None, "total_s": round(retrieve_s, 4)}
            result = refusal(question, hits, why, self.answer_prompt.tag, timings)
        else:
            with self.turns.turn(on_wait):
                result = answer_question(question, hits, self.llm, self.answer_prompt, max_tokens=s.max_tokens,
                                         temperature=s.temperature, seed=s.seed, on_token=on_token,
                                         retrieve_s=retrieve_s, budgets=s.evidence_budgets)
        self._audit(lambda: audit.answer_record(result, user, self._audited_model()))
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

    def assess(self, text: str, region: str | None = None,
               persons_per_household: float | None = None, on_token=None, on_wait=None, *,
               user: str | None = None, on_graded=None, situation: Situation | None = None) -> Assessment:
        """Grade by code from the cited rule, retrieve the evidence, let the model explain and advise.
        `situation` is the text's figures when the caller has parsed them already (reply() has).
        `on_graded(preliminary)` gets the computed grades and the evidence before the model starts (the grade
        card can be shown at once; the model's explanation takes tens of seconds on 2 cores).
        The result is appended to the audit log under `user` (default: the OS user)."""
        start = time.perf_counter()
        available = rule_sets_in_kb(d.title for d in self.kb.documents())
        situation, grades, region = grade_situation(text, available, region, persons_per_household, situation)
        hazard_type = detect_hazard_type(text)
        reach = impact_range(text)
        hits = retrieve_many(self.kb, evidence_queries(text, grades, hazard_type), self.retrieval_params(),
                             limit=2 * self.settings.top_k)
        retrieve_s = time.perf_counter() - start
        if on_graded is not None:
            on_graded(Assessment(text, situation, hazard_type, region, grades, hits,
                                 timings={"retrieve_s": round(retrieve_s, 4)}, reach=reach))
        with self.turns.turn(on_wait):
            details = extract_details(self.llm, self.extract_prompt, text, seed=self.settings.seed)
            explanation, used, invalid, unverified, gen = explain(
                self.llm, self.assess_prompt, text, grades, hits, max_tokens=700, seed=self.settings.seed,
                hazard_type=hazard_type, model_evidence=self.settings.top_k - 1, on_token=on_token,
                scope=evacuation_scope(reach) if reach is not None else "")
        result = Assessment(
            text, situation, hazard_type, region, grades, hits, explanation,
            [Citation(n, hits[n - 1].chunk) for n in sorted(used)], invalid, unverified,
            {"retrieve_s": round(retrieve_s, 4),
             "first_token_s": None if gen.first_token_s is None else round(retrieve_s + gen.first_token_s, 4),
             "total_s": round(time.perf_counter() - start, 4), "completion_tokens": gen.completion_tokens},
            details, reach,
        )
        self._audit(lambda: audit.assessment_record(
            result, user, self._audited_model(), self.assess_prompt.tag,
            {"region": region, "persons_per_household": persons_per_household}))
        return result

    # ---- audit log -----------------------------------------------------------------------------
    def _audited_model(self) -> tuple[str, str]:
        """(name, sha256) of the model that answers; a refusal may come before any model is available."""
        try:
            return self.model_info.name, self.model_info.sha256
        except Exception:
            return self.settings.llm_model or self.settings.model, ""

    def _audit(self, make_record) -> None:
        """Append `make_record()` to the audit log. A failure is reported but does not withhold the answer."""
        try:
            record = make_record()
            db = audit.connect(self.settings.audit_db)
            try:
                audit.append(db, record)
            finally:
                db.close()
        except Exception as exc:
            print(f"警告：审计日志写入失败 / warning: audit log write failed: {exc}", file=sys.stderr)

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
                                         flash_attn=s.flash_attn)
            return self._llm
