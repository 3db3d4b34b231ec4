"""The commander's browser (Gradio): the page layout (chat with sources, situation assessment, duty briefs,
knowledge base), its event wiring and the server.

Offline by construction: analytics off before gradio is imported, system fonts only (no web-font request),
no CDN assets, SSR off. Binds to 127.0.0.1; any other address requires a login from settings. Host/Origin
allow-list, login throttle, proxy trust and the per-client queue limit: app/interfaces/guard.py; private files,
Gradio's temp dir and download copies: app/interfaces/files.py.
All logic lives in Copilot (app/pipeline.py) and pure helpers; the event handlers that call them are in
app/interfaces/web_handlers.py, and this module lays out the components and wires events to those handlers.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported anywhere
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import gradio as gr  # noqa: E402

from app.config import Settings  # noqa: E402
from app.interfaces import files  # noqa: E402
from app.interfaces.guard import bind_address, guard_for, is_loopback, limit_queue_per_client, trust_proxies  # noqa: E402,F401
from app.interfaces.html import CSS, sources_html  # noqa: E402
from app.interfaces.web_briefs import BRIEF_KEYS, EXTRA_KEYS, fill_brief, preview_brief  # noqa: E402
from app.interfaces.web_chat import new_conversation  # noqa: E402
from app.interfaces.web_handlers import Handlers  # noqa: E402
from app.pipeline import Copilot  # noqa: E402
from app.reason.assess import HAZARD_TYPES  # noqa: E402
from app.reason.brief import EXTRA, KINDS, elements  # noqa: E402

WARNING_COLOURS = ["", "蓝色", "黄色", "橙色", "红色"]
SIGNS = ["后缘裂缝加宽", "前缘鼓胀", "坡体下错", "房屋墙体开裂", "泉水突然变浑或干涸", "井水位突变", "小规模崩落、掉块",
         "异常声响", "沟谷断流或水位陡涨", "树木歪斜"]


class ConfigError(Exception):
    pass


def login_for(settings: Settings, host: str) -> list[tuple[str, str]] | None:
    """The login list for gradio; required (and refused when unset) on any non-loopback bind; a password
    shorter than GEOHAZARD_MIN_PASSWORD_LENGTH is refused at start-up."""
    if settings.auth_user and settings.auth_password:
        if len(settings.auth_password) < settings.min_password_length:
            raise ConfigError(
                f"GEOHAZARD_AUTH_PASSWORD 太短：至少 {settings.min_password_length} 个字符 / "
                f"GEOHAZARD_AUTH_PASSWORD is too short: at least {settings.min_password_length} characters")
        return [(settings.auth_user, settings.auth_password)]
    if settings.auth_user or settings.auth_password:
        raise ConfigError("GEOHAZARD_AUTH_USER 和 GEOHAZARD_AUTH_PASSWORD 须同时设置 / set both "
                          "GEOHAZARD_AUTH_USER and GEOHAZARD_AUTH_PASSWORD")
    if is_loopback(host):
        return None
    raise ConfigError(
        f"绑定到 {host} 需要登录：请设置 GEOHAZARD_AUTH_USER 和 GEOHAZARD_AUTH_PASSWORD / "
        f"binding to {host} requires GEOHAZARD_AUTH_USER and GEOHAZARD_AUTH_PASSWORD")


def build_app(copilot: Copilot):
    settings = copilot.settings
    handlers = Handlers(copilot)

    # ---- layout ------------------------------------------------------------------------------------
    # delete_cache: Gradio's copies of downloads and uploads older than an hour are removed every 10 minutes
    with gr.Blocks(title="地灾应急决策助手", analytics_enabled=False, delete_cache=(600, 3600)) as app:
        gr.Markdown("## 地灾应急决策助手 · GeoHazard Copilot\n"
                    "依据知识库中的法规、预案、标准和灾情报告回答，每条结论标注出处 [n]；资料中没有的，回答“资料中未找到依据”。")
        last_assessment = gr.State(None)
        conversation_id = gr.BrowserState(None, storage_key="geohazard_conversation")
        vectors_timer = gr.Timer(2.0, active=False)  # the 知识库 table follows background vectors (not in a tab)
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
                        with gr.Accordion("影响范围估算（可选：滑坡、崩塌、泥石流）", open=False):
                            with gr.Row():
                                height = gr.Number(value=None, label="高差（后缘至坡脚，米）", minimum=0, elem_id="f-height")
                                slope_height = gr.Number(value=None, label="坡高（米）", minimum=0, elem_id="f-slope-height")
                                slope_angle = gr.Number(value=None, label="坡度（度）", minimum=0, maximum=89,
                                                        elem_id="f-slope-angle")
                            with gr.Row():
                                path = gr.Dropdown(["", "开阔坡面", "沟道", "受阻"], value="", label="运动路径")
                                material = gr.Dropdown(["", "岩质", "土质", "黄土", "填土/渣土"], value="", label="物质")
                                distance = gr.Number(value=None, label="村庄距坡脚（米）", minimum=0, elem_id="f-distance")
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
                                         value=handlers.documents_table, label="已导入的文档", interactive=False,
                                         elem_id="documents")
                with gr.Row():
                    to_remove = gr.Dropdown(choices=handlers.document_choices(), label="选择文档", scale=3)
                    remove = gr.Button("移除", scale=1)
                    rebuild = gr.Button("重建索引", scale=1)
                kb_status = gr.Markdown()

        chat_outputs = [chatbot, sources, conversation_id, question, history_list, export, last_assessment]
        for trigger in (send.click, question.submit):
            trigger(handlers.respond, [question, chatbot, conversation_id], chat_outputs, api_visibility="private",
                    concurrency_limit=settings.max_sessions, concurrency_id="chat")
        restore_outputs = [chatbot, sources, conversation_id, history_list, export, last_assessment]
        app.load(handlers.restore, [conversation_id], restore_outputs, api_visibility="private")
        history_list.input(handlers.restore, [history_list], restore_outputs, api_visibility="private")
        new.click(new_conversation, None, [chatbot, sources, conversation_id, history_list, export],
                  api_visibility="private")

        form = [hazard, place, people, households, potential, deaths, missing, injured, direct, volume, rainfall,
                warning, signs, free_text, height, slope_height, slope_angle, path, material, distance]
        assess_button.click(handlers.run_assessment, form, [situation_used, card, assess_sources, last_assessment],
                            api_visibility="private", concurrency_limit=settings.max_sessions,
                            concurrency_id="chat")

        brief_inputs = [boxes[k] for k in BRIEF_KEYS]
        extra_boxes = [boxes[key] for key in EXTRA_KEYS]
        fill.click(fill_brief, [last_assessment, *brief_inputs], brief_inputs, api_visibility="private")
        for trigger in (check.click, kind.change):
            trigger(preview_brief, [kind, *brief_inputs], [preview, completeness, *extra_boxes],
                    api_visibility="private")
        save.click(preview_brief, [kind, *brief_inputs], [preview, completeness, *extra_boxes],
                   api_visibility="private").then(handlers.save_brief, [kind, last_assessment, *brief_inputs],
                                                  [brief_files, versions], api_visibility="private")

        ingest_button.click(handlers.ingest_uploads, [upload, upload_dir],
                            [results, documents, to_remove, vectors_timer], api_visibility="private")
        vectors_timer.tick(handlers.vectors_tick, None, [documents, vectors_timer], api_visibility="private")
        remove.click(handlers.remove_document, [to_remove], [documents, to_remove, kb_status],
                     api_visibility="private")
        rebuild.click(handlers.reindex, None, [results, documents, to_remove], api_visibility="private")

        gr.api(handlers.ask, api_name="ask", concurrency_limit=settings.max_sessions, concurrency_id="chat")
        gr.api(handlers.converse, api_name="converse", concurrency_limit=settings.max_sessions, concurrency_id="chat")
        gr.api(handlers.assess, api_name="assess", concurrency_limit=settings.max_sessions, concurrency_id="chat")
    return app


def theme():
    system = ["system-ui", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "sans-serif"]
    return gr.themes.Default(font=system, font_mono=["ui-monospace", "Consolas", "monospace"])


def serve(copilot: Copilot, host: str | None = None, port: int | None = None, block: bool = True):
    """Load the knowledge base and the model once, then serve; returns the running app when block=False."""
    from starlette.middleware import Middleware

    settings = copilot.settings
    host = bind_address(settings, host)
    port = port if port is not None else settings.port
    auth = login_for(settings, host)
    files.private_umask()
    files.secure_home(settings.home)
    files.prepare_web_temp(settings.web_temp_dir)  # before any component exists: they read GRADIO_TEMP_DIR
    trust_proxies(settings)
    os.environ.pop("GRADIO_NUM_WORKERS", None)  # static file workers would bypass the guard middleware
    copilot.kb  # noqa: B018 — ingest the bundled corpus (first use) before the first browser arrives
    copilot.llm  # noqa: B018 — load the model once per process
    app = build_app(copilot)
    app.queue(default_concurrency_limit=settings.max_sessions, max_size=4 * settings.max_sessions)
    limit_queue_per_client(app._queue, settings.max_queued_per_client)
    guard, options = guard_for(settings, host)
    app.launch(server_name=host, server_port=port, auth=auth, auth_message="地灾应急决策助手：请登录",
               max_file_size=f"{int(settings.max_upload_mb)}mb", ssr_mode=False, pwa=False, show_error=False,
               prevent_thread_lock=not block, quiet=not block, theme=theme(), css=CSS, footer_links=["api"],
               inbrowser=False, share=False, run_history=False, enable_monitoring=False,
               app_kwargs={"middleware": [Middleware(guard, **options)]})
    return app
