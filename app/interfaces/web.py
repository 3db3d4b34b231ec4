"""The commander's browser (Gradio): chat with sources, situation assessment, duty briefs, knowledge base.

Offline by construction: analytics off before gradio is imported, system fonts only (no web-font request),
no CDN assets, SSR off. Binds to 127.0.0.1; any other address requires a login from settings.
All logic lives in Copilot (app/pipeline.py) and pure helpers; this module wires events to them.
"""

from __future__ import annotations

import ipaddress
import os
import queue
import threading
import time
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported anywhere
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import gradio as gr  # noqa: E402

from app.config import Settings  # noqa: E402
from app.interfaces import conversations as convs  # noqa: E402
from app.interfaces.export import brief_versions, save_brief_version  # noqa: E402
from app.interfaces.html import CSS, answer_markdown, grade_card_html, sources_html  # noqa: E402
from app.interfaces.render import answer_json, assessment_as_answer, assessment_json  # noqa: E402
from app.pipeline import Copilot  # noqa: E402
from app.reason.assess import HAZARD_TYPES, is_situation  # noqa: E402
from app.reason.brief import EXTRA, KINDS, check_brief, elements, fields_from_assessment, render_brief  # noqa: E402

WARNING_COLOURS = ["", "蓝色", "黄色", "橙色", "红色"]
SIGNS = ["后缘裂缝加宽", "前缘鼓胀", "坡体下错", "房屋墙体开裂", "泉水突然变浑或干涸", "井水位突变", "小规模崩落、掉块",
         "异常声响", "沟谷断流或水位陡涨", "树木歪斜"]
_EXTRA_KEYS = [key for extra in EXTRA.values() for key, _, _ in extra]
_BRIEF_KEYS = [key for key, _, _ in elements("速报")] + _EXTRA_KEYS


class ConfigError(Exception):
    pass


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def login_for(settings: Settings, host: str) -> list[tuple[str, str]] | None:
    """The login list for gradio; required (and refused when unset) on any non-loopback bind."""
    if settings.auth_user and settings.auth_password:
        return [(settings.auth_user, settings.auth_password)]
    if is_loopback(host):
        return None
    raise ConfigError(
        f"绑定到 {host} 需要登录：请设置 GEOHAZARD_AUTH_USER 和 GEOHAZARD_AUTH_PASSWORD / "
        f"binding to {host} requires GEOHAZARD_AUTH_USER and GEOHAZARD_AUTH_PASSWORD")


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


def build_app(copilot: Copilot):
    settings = copilot.settings
    db = convs.connect(settings.conversations_db)
    ingest_lock = threading.Lock()

    # ---- chat -------------------------------------------------------------------------------------
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

    def conversation_choices(owner: str):
        return [(f"{c.title} · {time.strftime('%m-%d %H:%M', time.localtime(c.updated))}", c.id)
                for c in convs.list_conversations(db, owner)]

    def export_file(conversation_id: str | None, owner: str) -> str | None:
        conversation = convs.load_conversation(db, conversation_id, owner) if conversation_id else None
        if conversation is None:
            return None
        path = settings.home / "exports" / f"对话-{conversation.id[:8]}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(convs.conversation_markdown(conversation), encoding="utf-8")
        return str(path)

    def respond(question: str, history: list, conversation_id: str | None, request: gr.Request):
        question = (question or "").strip()
        owner = owner_of(request)
        if not question:
            yield history, gr.skip(), conversation_id, gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        if not conversation_id or convs.load_conversation(db, conversation_id, owner) is None:
            conversation_id = convs.create_conversation(db, question, owner)
        convs.add_turn(db, conversation_id, "user", question)
        history = list(history or []) + [{"role": "user", "content": question}]
        events: queue.Queue = queue.Queue()
        situation = is_situation(question)
        hits_json: list[dict] = []
        user = audit_user(request)

        def work():
            try:
                if situation:
                    assessment = copilot.assess(question, on_token=lambda t: events.put(("token", t)),
                                                on_wait=lambda p: events.put(("wait", p)), user=user)
                    events.put(("done", assessment_as_answer(assessment, copilot.model_info)))
                else:
                    hits, retrieve_s = copilot.retrieve(question)
                    events.put(("hits", [h.to_json() for h in hits]))
                    answer = copilot.answer(question, hits, retrieve_s, on_token=lambda t: events.put(("token", t)),
                                            on_wait=lambda p: events.put(("wait", p)), user=user)
                    events.put(("done", answer_json(answer, copilot.model_info)))
            except Exception as exc:  # shown to the user, never swallowed
                events.put(("error", f"{type(exc).__name__}: {exc}"))

        threading.Thread(target=work, daemon=True).start()
        status = "正在研判险情/灾情…" if situation else "正在检索资料…"
        yield (history + [{"role": "assistant", "content": status}], sources_html([], status=status),
               conversation_id, "", gr.skip(), gr.skip(), gr.skip())
        raw, last = "", 0.0
        while True:
            kind, value = events.get()
            if kind == "hits":
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
                    yield (history + streaming_messages(raw, situation), gr.skip(), conversation_id, gr.skip(),
                           gr.skip(), gr.skip(), gr.skip())
            elif kind == "error":
                message = f"⚠ 出错了，问题已保存，可以重试。/ error: {value}"
                convs.add_turn(db, conversation_id, "assistant", message)
                yield (history + [{"role": "assistant", "content": message}], sources_html([], status=message),
                       conversation_id, gr.skip(), gr.skip(), gr.skip(), gr.skip())
                return
            else:  # done
                payload = value
                sections = full_sections(copilot, payload["citations"])
                convs.add_turn(db, conversation_id, "assistant", payload["answer"], payload)
                yield (history + assistant_messages(payload),
                       sources_html(payload["citations"], payload["answer"], sections, hits=payload["hits"],
                                    status="" if payload["citations"] else "本回答没有引用资料；以下是检索到的资料。"),
                       conversation_id, gr.skip(), gr.update(choices=conversation_choices(owner), value=conversation_id),
                       export_file(conversation_id, owner), payload.get("assessment") or gr.skip())
                return

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

    def restore(conversation_id: str | None, request: gr.Request):
        owner = owner_of(request)
        conversation = convs.load_conversation(db, conversation_id, owner) if conversation_id else None
        choices = conversation_choices(owner)
        if conversation is None:
            return [], sources_html([]), None, gr.update(choices=choices, value=None), None, gr.skip()
        last = next((t.payload for t in reversed(conversation.turns) if t.payload), None) or {}
        return (history_of(conversation),
                sources_html(last.get("citations", []), last.get("answer", ""), full_sections(copilot, last.get(
                    "citations", []))),
                conversation.id, gr.update(choices=choices, value=conversation.id), export_file(conversation.id, owner),
                last.get("assessment") or gr.skip())

    def new_conversation(request: gr.Request):
        return [], sources_html([]), None, gr.update(value=None), None

    # ---- assessment --------------------------------------------------------------------------------
    def run_assessment(hazard_type, place, people, households, potential_loss_wan, deaths, missing, injured,
                       direct_loss_wan, volume, rainfall, warning, signs, free_text, request: gr.Request):
        text = situation_text(hazard_type, place, people, households, potential_loss_wan, deaths, missing, injured,
                              direct_loss_wan, volume, rainfall, warning, signs, free_text)
        if not text:
            raise gr.Error("请填写情况或在“情况描述”中输入报告文字 / describe the situation first")
        assessment = copilot.assess(text, user=audit_user(request))
        payload = assessment_as_answer(assessment, copilot.model_info)
        card = grade_card_html(payload["assessment"], payload["citations"])
        sources = sources_html(payload["citations"], "\n".join(_explained_sentences(payload["assessment"])),
                               full_sections(copilot, payload["citations"]))
        return text, card, sources, payload["assessment"]

    # ---- briefs ------------------------------------------------------------------------------------
    def fill_brief(assessment: dict | None, *values):
        current = dict(zip(_BRIEF_KEYS, values))
        if not assessment:
            gr.Warning("还没有研判结果：请先在“险情研判”页或对话中描述险情。/ no assessment yet")
            return [gr.skip()] * len(_BRIEF_KEYS)
        filled = fields_from_assessment(assessment)
        return [filled.get(k) or current.get(k, "") for k in _BRIEF_KEYS]

    def preview_brief(kind: str, *values):
        fields = dict(zip(_BRIEF_KEYS, values))
        check = check_brief(kind, fields)
        if check.complete:
            status = "✅ 要素齐全，可以报送。"
        else:
            status = "⚠ 尚缺：" + "、".join(check.missing + check.warnings)
        shown = {key for key, _, _ in EXTRA.get(kind, ())}
        return render_brief(kind, fields), status, *[gr.update(visible=key in shown) for key in _EXTRA_KEYS]

    def save_brief(kind: str, *values):
        fields = dict(zip(_BRIEF_KEYS, values))
        md, docx = save_brief_version(settings.briefs_dir, kind, fields)
        versions = [p.name for p in brief_versions(settings.briefs_dir)]
        return [str(docx), str(md)], "已保存版本：" + "、".join(versions[:5])

    # ---- knowledge base ----------------------------------------------------------------------------
    def documents_table():
        return [[d.title, d.doc_type, d.chunk_count, time.strftime("%Y-%m-%d %H:%M", time.localtime(d.ingested_at)),
                 {"ready": "可用", "pending": "未完成"}.get(d.status, d.status), d.source]
                for d in copilot.kb.documents()]

    def document_choices():
        return [(f"{d.title}（{Path(d.source).name}）", d.source) for d in copilot.kb.documents()]

    def ingest_uploads(files, folder, progress=gr.Progress()):
        from app.ingest.uploads import safe_upload_path

        paths = [Path(f) for f in (files or [])] + [Path(f) for f in (folder or [])]
        if not paths:
            raise gr.Error("请先选择文件或文件夹 / choose files or a folder first")
        rows = []
        with ingest_lock:
            for i, temp in enumerate(paths):
                progress((i, len(paths)), desc=f"导入 {temp.name}", unit="个文件")
                target = safe_upload_path(settings.uploads_dir, temp.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(temp.read_bytes())
                for result in copilot.ingest([target]):
                    rows.append([temp.name, _STATUS.get(result.status, result.status), result.chunks,
                                 result.message or "；".join(result.warnings)])
        progress((len(paths), len(paths)), desc="完成")
        return rows, documents_table(), gr.update(choices=document_choices())

    def remove_document(source: str | None):
        if not source:
            raise gr.Error("请先选择要移除的文档 / choose a document")
        with ingest_lock:
            copilot.kb.remove(source)
        return documents_table(), gr.update(choices=document_choices(), value=None), f"已移除：{source}"

    def reindex(progress=gr.Progress()):
        docs = copilot.kb.documents()
        rows = []
        with ingest_lock:
            for i, doc in enumerate(docs):
                progress((i, len(docs)), desc=f"重建 {doc.title}")
                if not Path(doc.source).is_file():
                    rows.append([doc.title, "原文件不存在，保留旧索引", doc.chunk_count, doc.source])
                    continue
                copilot.kb.remove(doc.source)
                result = copilot.ingest([Path(doc.source)])[0]
                rows.append([doc.title, _STATUS.get(result.status, result.status), result.chunks, result.message])
        return rows, documents_table(), gr.update(choices=document_choices())

    # ---- API (gradio_client) -------------------------------------------------------------------------
    def ask(question: str, request: gr.Request) -> dict:
        """Answer a question (or assess a described situation) with citations, as the CLI's `ask --json`."""
        if is_situation(question):
            return assessment_as_answer(copilot.assess(question, user=audit_user(request)), copilot.model_info)
        return answer_json(copilot.ask(question, user=audit_user(request)), copilot.model_info)

    def assess(situation: str, request: gr.Request) -> dict:
        """Grade a described situation by code from the cited rule and advise; the CLI's `assess --json`."""
        return assessment_json(copilot.assess(situation, user=audit_user(request)), copilot.model_info)

    # ---- layout ------------------------------------------------------------------------------------
    with gr.Blocks(title="地灾应急决策助手", analytics_enabled=False) as app:
        gr.Markdown("## 地灾应急决策助手 · GeoHazard Copilot\n"
                    "依据知识库中的法规、预案、标准和灾情报告回答，每条结论标注出处 [n]；资料中没有的，回答“资料中未找到依据”。")
        last_assessment = gr.State(None)
        conversation_id = gr.BrowserState(None, storage_key="geohazard_conversation")
        with gr.Tabs():
            with gr.Tab("对话", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="对话", height=520, elem_id="chat", feedback_options=None,
                                             buttons=["copy"], placeholder="请输入问题，例如：泥石流来了应该往哪里跑？")
                        with gr.Row():
                            question = gr.Textbox(placeholder="输入问题或描述险情（如：某村后山滑坡，威胁45户约180人）",
                                                  show_label=False, scale=5, elem_id="question", lines=1)
                            send = gr.Button("发送", variant="primary", scale=1, elem_id="send")
                    with gr.Column(scale=2):
                        sources = gr.HTML(sources_html([]), label="出处", elem_id="sources")
                with gr.Row():
                    history_list = gr.Dropdown(label="历史对话", choices=[], scale=3, elem_id="history")
                    new = gr.Button("新对话", scale=1)
                    export = gr.DownloadButton("导出 Markdown", value=None, scale=1, elem_id="export")
            with gr.Tab("险情研判", id="assess"):
                with gr.Row():
                    with gr.Column(scale=2):
                        hazard = gr.Dropdown(["滑坡", "崩塌", "泥石流", "地面塌陷", *[h for h in HAZARD_TYPES if h not in
                                              ("滑坡", "崩塌", "泥石流", "地面塌陷")]], label="灾害类型", value="滑坡",
                                             elem_id="f-hazard")
                        place = gr.Textbox(label="地点（到村、组）", elem_id="f-place")
                        with gr.Row():
                            people = gr.Number(value=None, label="受威胁人数", elem_id="f-people", precision=0, minimum=0)
                            households = gr.Number(value=None, label="受威胁户数", elem_id="f-households", precision=0, minimum=0)
                            potential = gr.Number(value=None, label="潜在经济损失（万元）", elem_id="f-potential", minimum=0)
                        with gr.Row():
                            deaths = gr.Number(value=None, label="死亡", elem_id="f-deaths", precision=0, minimum=0)
                            missing = gr.Number(value=None, label="失踪", elem_id="f-missing", precision=0, minimum=0)
                            injured = gr.Number(value=None, label="受伤", elem_id="f-injured", precision=0, minimum=0)
                            direct = gr.Number(value=None, label="直接经济损失（万元）", elem_id="f-direct", minimum=0)
                        with gr.Row():
                            volume = gr.Textbox(label="规模（方量）", placeholder="如：约5万立方米", elem_id="f-volume")
                            rainfall = gr.Textbox(label="降雨情况", placeholder="如：连续强降雨，24小时雨量120毫米")
                            warning = gr.Dropdown(WARNING_COLOURS, label="气象风险预警", value="")
                        signs = gr.CheckboxGroup(SIGNS, label="观察到的迹象")
                        free_text = gr.Textbox(label="情况描述（可直接粘贴报告）", lines=3, elem_id="f-text")
                        assess_button = gr.Button("研判", variant="primary", elem_id="assess-run")
                        situation_used = gr.Textbox(label="据以研判的情况", interactive=False)
                    with gr.Column(scale=2):
                        card = gr.HTML(elem_id="grade-card")
                        assess_sources = gr.HTML(elem_id="assess-sources")
            with gr.Tab("值班报告", id="brief"):
                with gr.Row():
                    with gr.Column(scale=2):
                        kind = gr.Radio(list(KINDS), value="速报", label="报告类型", elem_id="brief-kind")
                        fill = gr.Button("用最近的研判结果填入")
                        boxes = {}
                        for key, label, hint in elements("速报"):
                            boxes[key] = gr.Textbox(label=label, placeholder=hint, elem_id=f"b-{key}", lines=1)
                        for key, label, hint in (e for extra in EXTRA.values() for e in extra):
                            boxes[key] = gr.Textbox(label=label, placeholder=hint, elem_id=f"b-{key}", visible=False)
                        with gr.Row():
                            check = gr.Button("检查完整性", elem_id="brief-check")
                            save = gr.Button("保存并导出（DOCX / Markdown）", variant="primary", elem_id="brief-save")
                    with gr.Column(scale=2):
                        completeness = gr.Markdown(elem_id="brief-status")
                        preview = gr.Markdown(elem_id="brief-preview")
                        brief_files = gr.File(label="下载", file_count="multiple", interactive=False, elem_id="brief-files")
                        versions = gr.Markdown()
            with gr.Tab("知识库", id="kb"):
                with gr.Row():
                    upload = gr.File(label="上传文件（PDF、DOCX、MD、TXT、HTML）", file_count="multiple",
                                     file_types=[".pdf", ".docx", ".md", ".txt", ".html", ".htm"], elem_id="upload")
                    upload_dir = gr.File(label="或上传文件夹", file_count="directory", elem_id="upload-dir")
                ingest_button = gr.Button("导入", variant="primary", elem_id="ingest")
                results = gr.Dataframe(headers=["文件", "结果", "段落数", "说明"], label="本次导入", interactive=False,
                                       elem_id="ingest-results")
                documents = gr.Dataframe(headers=["标题", "类型", "段落数", "导入时间", "状态", "文件"],
                                         value=documents_table, label="已导入的文档", interactive=False,
                                         elem_id="documents")
                with gr.Row():
                    to_remove = gr.Dropdown(choices=document_choices(), label="选择文档", scale=3)
                    remove = gr.Button("移除", scale=1)
                    rebuild = gr.Button("重建索引", scale=1)
                kb_status = gr.Markdown()

        chat_outputs = [chatbot, sources, conversation_id, question, history_list, export, last_assessment]
        for trigger in (send.click, question.submit):
            trigger(respond, [question, chatbot, conversation_id], chat_outputs, api_visibility="private",
                    concurrency_limit=settings.max_sessions, concurrency_id="chat")
        restore_outputs = [chatbot, sources, conversation_id, history_list, export, last_assessment]
        app.load(restore, [conversation_id], restore_outputs, api_visibility="private")
        history_list.input(restore, [history_list], restore_outputs, api_visibility="private")
        new.click(new_conversation, None, [chatbot, sources, conversation_id, history_list, export],
                  api_visibility="private")

        form = [hazard, place, people, households, potential, deaths, missing, injured, direct, volume, rainfall,
                warning, signs, free_text]
        assess_button.click(run_assessment, form, [situation_used, card, assess_sources, last_assessment],
                            api_visibility="private", concurrency_limit=settings.max_sessions,
                            concurrency_id="chat")

        brief_inputs = [boxes[k] for k in _BRIEF_KEYS]
        extra_boxes = [boxes[key] for key in _EXTRA_KEYS]
        fill.click(fill_brief, [last_assessment, *brief_inputs], brief_inputs, api_visibility="private")
        for trigger in (check.click, kind.change):
            trigger(preview_brief, [kind, *brief_inputs], [preview, completeness, *extra_boxes],
                    api_visibility="private")
        save.click(preview_brief, [kind, *brief_inputs], [preview, completeness, *extra_boxes],
                   api_visibility="private").then(save_brief, [kind, *brief_inputs], [brief_files, versions],
                                                  api_visibility="private")

        ingest_button.click(ingest_uploads, [upload, upload_dir], [results, documents, to_remove],
                            api_visibility="private")
        remove.click(remove_document, [to_remove], [documents, to_remove, kb_status], api_visibility="private")
        rebuild.click(reindex, None, [results, documents, to_remove], api_visibility="private")

        gr.api(ask, api_name="ask", concurrency_limit=settings.max_sessions, concurrency_id="chat")
        gr.api(assess, api_name="assess", concurrency_limit=settings.max_sessions, concurrency_id="chat")
    return app


_STATUS = {"added": "已导入", "updated": "已更新", "unchanged": "未变化", "failed": "失败", "skipped": "已跳过"}


def _explained_sentences(assessment: dict) -> list[str]:
    evacuation = assessment.get("evacuation") or {}
    return [*(assessment.get("response_requirements") or []), *[v for v in evacuation.values() if v],
            *(assessment.get("risk_factors") or [])]


def theme():
    system = ["system-ui", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "sans-serif"]
    return gr.themes.Default(font=system, font_mono=["ui-monospace", "Consolas", "monospace"])


def serve(copilot: Copilot, host: str | None = None, port: int | None = None, block: bool = True):
    """Load the knowledge base and the model once, then serve; returns the running app when block=False."""
    settings = copilot.settings
    host = host or settings.host
    port = port if port is not None else settings.port
    auth = login_for(settings, host)
    copilot.kb  # noqa: B018 — ingest the bundled corpus (first use) before the first browser arrives
    copilot.llm  # noqa: B018 — load the model once per process
    app = build_app(copilot)
    app.queue(default_concurrency_limit=settings.max_sessions, max_size=4 * settings.max_sessions)
    app.launch(server_name=host, server_port=port, auth=auth, auth_message="地灾应急决策助手：请登录",
               max_file_size=f"{int(settings.max_upload_mb)}mb", ssr_mode=False, pwa=False, show_error=True,
               prevent_thread_lock=not block, quiet=not block, theme=theme(), css=CSS, footer_links=["api"],
               inbrowser=False, share=False, run_history=False, enable_monitoring=False)
    return app
