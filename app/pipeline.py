"""Composition root: builds the knowledge base, retriever and model from Settings, once per process.

The CLI, the web UI and the API call this and hold no logic of their own.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from app import audit
from app.config import Settings
from app.index.embed import E5Embeddings
from app.index.store import KnowledgeBase
from app.ingest.chunk import chunk_document
from app.ingest.errors import IngestError
from app.ingest.load import SUPPORTED, load_file
from app.provision import MODELS, ModelError, file_sha256, is_installed, model_file
from app.reason.answer import Answer, answer_question, refusal
from app.reason.assess import Assessment, detect_hazard_type, evidence_queries, explain, grade_situation
from app.reason.extract import extract_details
from app.reason.grading import rule_sets_in_kb
from app.reason.injection import has_injection
from app.reason.llm import ModelInfo, RemoteLLM, load_llm
from app.reason.prompts import load_prompt
from app.reason.turns import ModelTurns
from app.retrieve.fuse import fuse_rankings
from app.retrieve.gate import evidence_coverage
from app.retrieve.hybrid import RetrievalParams, retrieve
from app.schema import Citation, Hit


@dataclass
class IngestResult:
    path: str
    status: str  # added | updated | unchanged | failed | skipped
    chunks: int = 0
    message: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def expand_paths(paths: list[Path]) -> list[tuple[Path, bool]]:
    """Files to ingest, with a flag telling whether the user named the file itself."""
    out: list[tuple[Path, bool]] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
                    out.append((child, False))
        else:
            out.append((path, True))
    return out


class Copilot:
    def __init__(self, settings: Settings, kb_dir: Path | None = None):
        self.settings = settings
        self.kb_dir = Path(kb_dir) if kb_dir else settings.default_kb
        self.is_default_kb = kb_dir is None
        self.turns = ModelTurns()  # one generation at a time; others wait in line

    # ---- knowledge base ------------------------------------------------------------------------
    @cached_property
    def kb(self) -> KnowledgeBase:
        kb = KnowledgeBase(self.kb_dir, E5Embeddings(num_threads=self.settings.n_threads),
                           chroma_url=self.settings.chroma_url)
        if self.is_default_kb and not kb.documents():
            print(f"首次使用：导入内置资料库 / first use: ingesting bundled corpus {self.settings.corpus_dir}",
                  file=sys.stderr)
            self._ingest_into(kb, [self.settings.corpus_dir], progress=True)
        return kb

    def ingest(self, paths: list[Path], progress: bool = False) -> list[IngestResult]:
        return self._ingest_into(self.kb, paths, progress)

    def _ingest_into(self, kb: KnowledgeBase, paths: list[Path], progress: bool) -> list[IngestResult]:
        from tqdm import tqdm

        files = expand_paths(paths)
        results: list[IngestResult] = []
        start, total_chunks = time.perf_counter(), 0
        bar = tqdm(files, desc="导入 ingest", unit="file", disable=not progress or len(files) < 2, file=sys.stderr)
        for path, named in bar:
            result = self._ingest_one(kb, path, named)
            results.append(result)
            total_chunks += result.chunks if result.status in ("added", "updated") else 0
            elapsed = max(time.perf_counter() - start, 1e-6)
            bar.set_postfix_str(f"{len(results) / elapsed:.2f} files/s, {total_chunks / elapsed:.1f} chunks/s")
        return results

    def _ingest_one(self, kb: KnowledgeBase, path: Path, named: bool) -> IngestResult:
        if not named and path.suffix.lower() not in SUPPORTED:
            return IngestResult(str(path), "skipped", message=f"跳过不支持的类型 / skipped type {path.suffix}")
        if not named and path.is_symlink():  # a link in an untrusted folder could pull in any readable file
            return IngestResult(str(path), "skipped",
                                message="跳过文件夹中的符号链接 / skipped symbolic link inside a folder")
        if not path.exists():
            return IngestResult(str(path), "failed", message="文件不存在 / file not found")
        try:
            doc = load_file(path, int(self.settings.max_file_mb * 2**20))
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
            kb.add_document(doc, chunks)
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

    def assess(self, text: str, region: str | None = None,
               persons_per_household: float | None = None, on_token=None, on_wait=None, *,
               user: str | None = None, on_graded=None) -> Assessment:
        """Grade by code from the cited rule, retrieve the evidence, let the model explain and advise.
        `on_graded(preliminary)` gets the computed grades and the evidence before the model starts (the grade
        card can be shown at once; the model's explanation takes tens of seconds on 2 cores).
        The result is appended to the audit log under `user` (default: the OS user)."""
        start = time.perf_counter()
        available = rule_sets_in_kb(d.title for d in self.kb.documents())
        situation, grades, region = grade_situation(text, available, region, persons_per_household)
        hazard_type = detect_hazard_type(text)
        found: dict[str, Hit] = {}
        rankings = []
        for query in evidence_queries(text, grades, hazard_type):
            hits, _ = self.retrieve(query)
            rankings.append([h.chunk.chunk_id for h in hits])
            found.update({h.chunk.chunk_id: h for h in hits})
        fused = fuse_rankings(rankings, k=self.settings.rrf_k)[: 2 * self.settings.top_k]
        hits = [Hit(i, found[cid].chunk, score) for i, (cid, score) in enumerate(fused, start=1)]
        retrieve_s = time.perf_counter() - start
        if on_graded is not None:
            on_graded(Assessment(text, situation, hazard_type, region, grades, hits,
                                 timings={"retrieve_s": round(retrieve_s, 4)}))
        with self.turns.turn(on_wait):
            details = extract_details(self.llm, text, seed=self.settings.seed)
            explanation, used, invalid, unverified, gen = explain(
                self.llm, self.assess_prompt, text, grades, hits, max_tokens=700, seed=self.settings.seed,
                hazard_type=hazard_type, model_evidence=self.settings.top_k - 1, on_token=on_token)
        result = Assessment(
            text, situation, hazard_type, region, grades, hits, explanation,
            [Citation(n, hits[n - 1].chunk) for n in sorted(used)], invalid, unverified,
            {"retrieve_s": round(retrieve_s, 4),
             "first_token_s": None if gen.first_token_s is None else round(retrieve_s + gen.first_token_s, 4),
             "total_s": round(time.perf_counter() - start, 4), "completion_tokens": gen.completion_tokens},
            details,
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
    @cached_property
    def model_info(self) -> ModelInfo:
        s = self.settings
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

    @cached_property
    def llm(self):
        s = self.settings
        if s.llm_url:
            return RemoteLLM(s.llm_url, s.llm_model, s.llm_api_key)
        return load_llm(Path(self.model_info.path), s.n_ctx, s.n_threads, s.seed, flash_attn=s.flash_attn)
