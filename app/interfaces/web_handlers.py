"""The work behind each event of the web UI (app/interfaces/web.py lays out the page and wires events to these).

Chat (ask with streaming, conversations and their export), situation assessment, duty briefs and the knowledge
base (upload, remove, reindex), plus the two API endpoints. All logic lives in Copilot (app/pipeline.py) and pure
helpers; these functions turn UI inputs into calls to it and its results into component updates.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported anywhere
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import gradio as gr  # noqa: E402

from app.interfaces import conversations as convs  # noqa: E402
from app.interfaces.export import brief_versions, save_brief_version  # noqa: E402
from app.interfaces.html import answer_markdown, grade_card_html, sources_html  # noqa: E402
from app.interfaces.render import answer_json, assessment_as_answer, assessment_json, render_graded  # noqa: E402
from app.pipeline import Copilot  # noqa: E402
from app.reason.assess import is_situation  # noqa: E402
from app.reason.brief import EXTRA, check_brief, elements, fields_from_assessment, render_brief  # noqa: E402

EXTRA_KEYS = [key for extra in EXTRA.values() for key, _, _ in extra]
BRIEF_KEYS = [key for key, _, _ in elements("速报")] + EXTRA_KEYS
_STATUS = {"added": "已导入", "updated": "已更新", "unchanged": "未变化", "failed": "失败", "skipped": "已跳过"}


def situation_text(hazard_type: str, place: str, people, households, potential_loss_wan, deaths, missing, injured,
                   direct_loss_wan, volume: str, rainfall: str, warning: str, signs: list[str], free_text: str) -> str:
    """The form as one report sentence, in the wording the figure parser reads (code grades from it)."""
    def num(value) -> str | None:  # empty and 0 both mean "nothing to report" (0 deaths is not a 灾情 figure)
        return None if value in (None, "") or float(value) <= 0 else f"{float(value):g}"

    parts = [f"{place or ''}发生{hazard_type}" if hazard_type else (place or "")]
    threat = [f"{num(people)}人" if num(people) else "", f"{num(households)}户" if num(households) else ""]
    if any(threat):
        parts.append("威胁" + "、".join(t for t in threat if t))
    if num(potential_loss_wan):
        parts.append(f"潜在经济损失约{num(potential_loss_wan)}万元")
    casualties = [f"{num(deaths)}人死亡" if num(deaths) else "", f"{num(missing)}人失踪" if num(missing) else "",
                  f"{num(injured)}人受伤" if num(injured) else ""]
    if any(casualties):
        parts.append("造成" + "、".join(c for c in casualties if c))
    if num(direct_loss_wan):
        parts.append(f"直接经济损失{num(direct_loss_wan)}万元")
    if volume:
        parts.append(f"方量约{volume}")
    if rainfall:
        parts.append(rainfall)
    if warning:
        parts.append(f"当地发布地质灾害{warning}预警")
    if signs:
        parts.append("出现" + "、".join(signs))
    text = "，".join(p for p in parts if p)
    text = (text + "。") if text else ""
    return (text + (free_text or "").strip()).strip()


def in_background(job, events: queue.Queue) -> None:
    """Run `job()` on a worker thread; its result arrives on `events` as ("done", result), a failure as
    ("error", message) (shown to the user, never swallowed). The job may put progress events of its own."""
    def work():
        try:
            events.put(("done", job()))
        except Exception as exc:
            events.put(("error", f"{type(exc).__name__}: {exc}"))

    threading.Thread(target=work, daemon=True).start()


def full_sections(copilot: Copilot, citations: list[dict]) -> dict[int, str]:
    """The whole article/section each citation belongs to (long articles are split over several chunks)."""
    out = {}
    for c in citations:
        chunk = copilot.kb.get_chunks([c["chunk_id"]]).get(c["chunk_id"])
        if chunk is None:
            continue
        parts = [x.text for x in copilot.kb.chunks_of(chunk.source) if x.heading_path == chunk.heading_path]
        out[c["n"]] = "\n".join(parts) if len(parts) > 1 else ""
    return {n: text for n, text in out.items() if text}


# ---- chat ----------------------------------------------------------------------------------------
def owner_of(request) -> str:
    return (getattr(request, "username", None) or "") if request is not None else ""


def audit_user(request) -> str:
    """Who asked, for the audit log: the login name, else the browser's address."""
    client = getattr(getattr(request, "client", None), "host", None) or "unknown"
    return owner_of(request) or f"web@{client}"


def history_of(conversation) -> list[dict]:
    messages = []
    for turn in conversation.turns:
        if turn.role == "user":
            messages.append({"role": "user", "content": turn.content})
        else:
            messages += assistant_messages(turn.payload or {"answer": turn.content})
    return messages


def assistant_messages(payload: dict, streaming: str | None = None) -> list[dict]:
    out = []
    reasoning = payload.get("reasoning") or []
    if reasoning:
        out.append({"role": "assistant", "content": "\n".join(f"{i}. {s}" for i, s in enumerate(reasoning, 1)),
                    "metadata": {"title": "推理过程（点击展开）", "status": "done"}})
    out.append({"role": "assistant", "content": streaming if streaming is not None else answer_markdown(payload)})
    return out


def streaming_messages(raw: str, situation: bool) -> list[dict]:
    if situation:
        return [{"role": "assistant", "content": "正在研判…\n\n" + raw[-600:],
                 "metadata": {"title": "研判说明生成中", "status": "pending"}}]
    if "【回答】" in raw:
        reasoning, answer = raw.split("【回答】", 1)
        return [{"role": "assistant", "content": reasoning.replace("【推理】", "").strip(),
                 "metadata": {"title": "推理过程", "status": "done"}},
                {"role": "assistant", "content": answer.strip() + " ▌"}]
    return [{"role": "assistant", "content": raw.replace("【推理】", "").strip() + " ▌",
             "metadata": {"title": "推理过程（生成中）", "status": "pending"}}]


def new_conversation(request: gr.Request):
    return [], sources_html([]), None, gr.update(value=None), None


# ---- briefs --------------------------------------------------------------------------------------
def fill_brief(assessment: dict | None, *values):
    current = dict(zip(BRIEF_KEYS, values))
    if not assessment:
        gr.Warning("还没有研判结果：请先在“险情研判”页或对话中描述险情。/ no assessment yet")
        return [gr.skip()] * len(BRIEF_KEYS)
    filled = fields_from_assessment(assessment)
    return [filled.get(k) or current.get(k, "") for k in BRIEF_KEYS]


def preview_brief(kind: str, *values):
    fields = dict(zip(BRIEF_KEYS, values))
    check = check_brief(kind, fields)
    if check.complete:
        status = "✅ 要素齐全，可以报送。"
    else:
        status = "⚠ 尚缺：" + "、".join(check.missing + check.warnings)
    shown = {key for key, _, _ in EXTRA.get(kind, ())}
    return render_brief(kind, fields), status, *[gr.update(visible=key in shown) for key in EXTRA_KEYS]


def _explained_sentences(assessment: dict) -> list[str]:
    evacuation = assessment.get("evacuation") or {}
    return [*(assessment.get("response_requirements") or []), *[v for v in evacuation.values() if v],
            *(assessment.get("risk_factors") or [])]


class Handlers:
    """The stateful event handlers over one Copilot: its conversation store and the lock that serialises
    knowledge-base changes."""

    def __init__(self, copilot: Copilot):
        self.copilot = copilot
        self.settings = copilot.settings
        self.db = convs.connect(self.settings.conversations_db)
        self.ingest_lock = threading.Lock()

    # ---- chat -------------------------------------------------------------------------------------
    def conversation_choices(self, owner: str):
        return [(f"{c.title} · {time.strftime('%m-%d %H:%M', time.localtime(c.updated))}", c.id)
                for c in convs.list_conversations(self.db, owner)]

    def export_file(self, conversation_id: str | None, owner: str) -> str | None:
        conversation = convs.load_conversation(self.db, conversation_id, owner) if conversation_id else None
        if conversation is None:
            return None
        path = self.settings.home / "exports" / f"对话-{conversation.id[:8]}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(convs.conversation_markdown(conversation), encoding="utf-8")
        return str(path)

    def respond(self, question: str, history: list, conversation_id: str | None, request: gr.Request):
        question = (question or "").strip()
        owner = owner_of(request)
        if not question:
            yield history, gr.skip(), conversation_id, gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        if not conversation_id or convs.load_conversation(self.db, conversation_id, owner) is None:
            conversation_id = convs.create_conversation(self.db, question, owner)
        convs.add_turn(self.db, conversation_id, "user", question)
        history = list(history or []) + [{"role": "user", "content": question}]
        events: queue.Queue = queue.Queue()
        situation = is_situation(question)
        hits_json: list[dict] = []
        user = audit_user(request)

        def work():
            if situation:
                assessment = self.copilot.assess(question, on_token=lambda t: events.put(("token", t)),
                                                 on_wait=lambda p: events.put(("wait", p)), user=user,
                                                 on_graded=lambda a: events.put(("graded", a)))
                return assessment_as_answer(assessment, self.copilot.model_info)
            hits, retrieve_s = self.copilot.retrieve(question)
            events.put(("hits", [h.to_json() for h in hits]))
            answer = self.copilot.answer(question, hits, retrieve_s, on_token=lambda t: events.put(("token", t)),
                                         on_wait=lambda p: events.put(("wait", p)), user=user)
            return answer_json(answer, self.copilot.model_info)

        in_background(work, events)
        status = "正在研判险情/灾情…" if situation else "正在检索资料…"
        yield (history + [{"role": "assistant", "content": status}], sources_html([], status=status),
               conversation_id, "", gr.skip(), gr.skip(), gr.skip())
        raw, last, graded = "", 0.0, ""
        while True:
            kind, value = events.get()
            if kind == "graded":  # the code's grade and the evidence, before the model writes
                graded = render_graded(value)
                hits_json = [h.to_json() for h in value.hits]
                yield (history + [{"role": "assistant", "content": graded}],
                       sources_html([], hits=hits_json, status="已检索到以下资料，正在生成处置建议…"),
                       conversation_id, gr.skip(), gr.skip(), gr.skip(), gr.skip())
            elif kind == "hits":
                hits_json = value
                yield (gr.skip(), sources_html([], hits=hits_json, status="已检索到以下资料，正在生成回答…"),
                       conversation_id, gr.skip(), gr.skip(), gr.skip(), gr.skip())
            elif kind == "wait":
                note = f"排队中：前面还有 {value} 个请求，资料已列在右侧。"
                yield (history + [{"role": "assistant", "content": note}], gr.skip(), conversation_id, gr.skip(),
                       gr.skip(), gr.skip(), gr.skip())
            elif kind == "token":
                raw += value
                if time.perf_counter() - last > 0.15:  # don't flood the socket with one event per token
                    last = time.perf_counter()
                    shown = ([{"role": "assistant", "content": graded}] if graded else []) \
                        + streaming_messages(raw, situation)
                    yield (history + shown, gr.skip(), conversation_id, gr.skip(), gr.skip(), gr.skip(), gr.skip())
            elif kind == "error":
                message = f"⚠ 出错了，问题已保存，可以重试。/ error: {value}"
                convs.add_turn(self.db, conversation_id, "assistant", message)
                yield (history + [{"role": "assistant", "content": message}], sources_html([], status=message),
                       conversation_id, gr.skip(), gr.skip(), gr.skip(), gr.skip())
                return
            else:  # done
                payload = value
                sections = full_sections(self.copilot, payload["citations"])
                convs.add_turn(self.db, conversation_id, "assistant", payload["answer"], payload)
                yield (history + assistant_messages(payload),
                       sources_html(payload["citations"], payload["answer"], sections, hits=payload["hits"],
                                    status="" if payload["citations"] else "本回答没有引用资料；以下是检索到的资料。"),
                       conversation_id, gr.skip(),
                       gr.update(choices=self.conversation_choices(owner), value=conversation_id),
                       self.export_file(conversation_id, owner), payload.get("assessment") or gr.skip())
                return

    def restore(self, conversation_id: str | None, request: gr.Request):
        owner = owner_of(request)
        conversation = convs.load_conversation(self.db, conversation_id, owner) if conversation_id else None
        choices = self.conversation_choices(owner)
        if conversation is None:
            return [], sources_html([]), None, gr.update(choices=choices, value=None), None, gr.skip()
        last = next((t.payload for t in reversed(conversation.turns) if t.payload), None) or {}
        return (history_of(conversation),
                sources_html(last.get("citations", []), last.get("answer", ""),
                             full_sections(self.copilot, last.get("citations", []))),
                conversation.id, gr.update(choices=choices, value=conversation.id),
                self.export_file(conversation.id, owner), last.get("assessment") or gr.skip())

    # ---- assessment --------------------------------------------------------------------------------
    def run_assessment(self, hazard_type, place, people, households, potential_loss_wan, deaths, missing, injured,
                       direct_loss_wan, volume, rainfall, warning, signs, free_text, request: gr.Request):
        text = situation_text(hazard_type, place, people, households, potential_loss_wan, deaths, missing, injured,
                              direct_loss_wan, volume, rainfall, warning, signs, free_text)
        if not text:
            raise gr.Error("请填写情况或在“情况描述”中输入报告文字 / describe the situation first")
        events: queue.Queue = queue.Queue()
        user = audit_user(request)

        in_background(lambda: self.copilot.assess(text, user=user, on_graded=lambda a: events.put(("graded", a))),
                      events)
        while True:
            kind, value = events.get()
            if kind == "error":
                raise gr.Error(f"研判出错，请重试 / assessment failed: {value}")
            payload = assessment_as_answer(value, self.copilot.model_info)
            if kind == "graded":  # the card with the code's grade at once; advice follows from the model
                card = grade_card_html(payload["assessment"], [], pending="正在依据资料生成转移避险建议和响应要求…")
                yield text, card, sources_html([], hits=payload["hits"], status="已检索到以下资料，正在生成建议…"), \
                    gr.skip()
                continue
            card = grade_card_html(payload["assessment"], payload["citations"])
            sources = sources_html(payload["citations"], "\n".join(_explained_sentences(payload["assessment"])),
                                   full_sections(self.copilot, payload["citations"]))
            yield text, card, sources, payload["assessment"]
            return

    # ---- briefs ------------------------------------------------------------------------------------
    def save_brief(self, kind: str, *values):
        fields = dict(zip(BRIEF_KEYS, values))
        md, docx = save_brief_version(self.settings.briefs_dir, kind, fields)
        versions = [p.name for p in brief_versions(self.settings.briefs_dir)]
        return [str(docx), str(md)], "已保存版本：" + "、".join(versions[:5])

    # ---- knowledge base ----------------------------------------------------------------------------
    def documents_table(self):
        return [[d.title, d.doc_type, d.chunk_count, time.strftime("%Y-%m-%d %H:%M", time.localtime(d.ingested_at)),
                 {"ready": "可用", "pending": "未完成"}.get(d.status, d.status), d.source]
                for d in self.copilot.kb.documents()]

    def document_choices(self):
        return [(f"{d.title}（{Path(d.source).name}）", d.source) for d in self.copilot.kb.documents()]

    def ingest_uploads(self, files, folder, progress=gr.Progress()):
        from app.ingest.uploads import safe_upload_path

        paths = [Path(f) for f in (files or [])] + [Path(f) for f in (folder or [])]
        if not paths:
            raise gr.Error("请先选择文件或文件夹 / choose files or a folder first")
        rows = []
        with self.ingest_lock:
            for i, temp in enumerate(paths):
                progress((i, len(paths)), desc=f"导入 {temp.name}", unit="个文件")
                target = safe_upload_path(self.settings.uploads_dir, temp.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(temp.read_bytes())
                for result in self.copilot.ingest([target]):
                    rows.append([temp.name, _STATUS.get(result.status, result.status), result.chunks,
                                 result.message or "；".join(result.warnings)])
        progress((len(paths), len(paths)), desc="完成")
        return rows, self.documents_table(), gr.update(choices=self.document_choices())

    def remove_document(self, source: str | None):
        if not source:
            raise gr.Error("请先选择要移除的文档 / choose a document")
        with self.ingest_lock:
            self.copilot.kb.remove(source)
        return self.documents_table(), gr.update(choices=self.document_choices(), value=None), f"已移除：{source}"

    def reindex(self, progress=gr.Progress()):
        docs = self.copilot.kb.documents()
        rows = []
        with self.ingest_lock:
            for i, doc in enumerate(docs):
                progress((i, len(docs)), desc=f"重建 {doc.title}")
                if not Path(doc.source).is_file():
                    rows.append([doc.title, "原文件不存在，保留旧索引", doc.chunk_count, doc.source])
                    continue
                self.copilot.kb.remove(doc.source)
                result = self.copilot.ingest([Path(doc.source)])[0]
                rows.append([doc.title, _STATUS.get(result.status, result.status), result.chunks, result.message])
        return rows, self.documents_table(), gr.update(choices=self.document_choices())

    # ---- API (gradio_client) -------------------------------------------------------------------------
    def ask(self, question: str, request: gr.Request) -> dict:
        """Answer a question (or assess a described situation) with citations, as the CLI's `ask --json`."""
        if is_situation(question):
            return assessment_as_answer(self.copilot.assess(question, user=audit_user(request)),
                                        self.copilot.model_info)
        return answer_json(self.copilot.ask(question, user=audit_user(request)), self.copilot.model_info)

    def assess(self, situation: str, request: gr.Request) -> dict:
        """Grade a described situation by code from the cited rule and advise; the CLI's `assess --json`."""
        return assessment_json(self.copilot.assess(situation, user=audit_user(request)), self.copilot.model_info)
