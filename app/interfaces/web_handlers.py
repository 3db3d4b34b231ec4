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

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported anywhere
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import gradio as gr  # noqa: E402

from app.interfaces import conversations as convs  # noqa: E402
from app.interfaces.export import brief_versions, save_brief_version  # noqa: E402
from app.interfaces.figures import profile_png  # noqa: E402
from app.interfaces.files import download_copy, public_source, redact_paths, write_private  # noqa: E402
from app.interfaces.html import escape_markdown, grade_card_html, sources_html  # noqa: E402
from app.interfaces.render import assessment_as_answer, assessment_json, render_graded, reply_payload  # noqa: E402
from app.pipeline import Copilot  # noqa: E402
from app.reason.conversation import ConversationState  # noqa: E402
from app.interfaces.web_briefs import BRIEF_KEYS  # noqa: E402
from app.interfaces.web_chat import assistant_messages, history_of, streaming_messages  # noqa: E402
from app.interfaces.web_kb import KnowledgeBaseTab  # noqa: E402
from app.reason.reach_render import profile_svg  # noqa: E402
from app.reason.situation import situation_text, terrain_text  # noqa: E402

def in_background(job, events: queue.Queue) -> None:
    """Run `job()` on a worker thread; its result arrives on `events` as ("done", result), a failure as
    ("error", message) (shown to the user, never swallowed). The job may put progress events of its own."""
    def work():
        try:
            events.put(("done", job()))
        except Exception as exc:
            events.put(("error", redact_paths(f"{type(exc).__name__}: {exc}")))

    threading.Thread(target=work, daemon=True).start()


def full_sections(copilot: Copilot, citations: list[dict]) -> dict[int, str]:
    """The whole article/section of each citation that spans several chunks (shown on click)."""
    out = {c["n"]: copilot.section_text(c["chunk_id"]) for c in citations}
    return {n: text for n, text in out.items() if text}


# ---- chat ----------------------------------------------------------------------------------------
def owner_of(request) -> str:
    return (getattr(request, "username", None) or "") if request is not None else ""


def audit_user(request) -> str:
    """Who asked, for the audit log: the login name, else the browser's address."""
    client = getattr(getattr(request, "client", None), "host", None) or "unknown"
    return owner_of(request) or f"web@{client}"


def _explained_sentences(assessment: dict) -> list[str]:
    evacuation = assessment.get("evacuation") or {}
    return [*(assessment.get("response_requirements") or []), *[v for v in evacuation.values() if v],
            *(assessment.get("risk_factors") or [])]


class Handlers(KnowledgeBaseTab):
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
        path = write_private(self.settings.exports_dir / f"对话-{conversation.id[:8]}.md",
                             convs.conversation_markdown(conversation))
        return download_copy(path, self.settings.web_temp_dir)

    def check_length(self, text: str) -> str:
        """Refuse a question or situation longer than GEOHAZARD_MAX_QUESTION_CHARS."""
        limit = self.settings.max_question_chars
        if len(text) > limit:
            raise gr.Error(f"输入过长（{len(text)} 字），请控制在 {limit} 字以内 / input too long "
                           f"({len(text)} characters, limit {limit})")
        return text

    def respond(self, question: str, history: list, conversation_id: str | None, request: gr.Request):
        question = self.check_length((question or "").strip())
        owner = owner_of(request)
        if not question:
            yield history, gr.skip(), conversation_id, gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        conversation_id, state = self.conversation_state(conversation_id, question, owner)
        convs.add_turn(self.db, conversation_id, "user", question)
        history = list(history or []) + [{"role": "user", "content": question}]
        events: queue.Queue = queue.Queue()
        user = audit_user(request)

        def work():
            result = self.copilot.reply(
                question, on_token=lambda t: events.put(("token", t)), on_wait=lambda p: events.put(("wait", p)),
                on_hits=lambda hits: events.put(("hits", [h.to_json() for h in hits])),
                on_graded=lambda a: events.put(("graded", a)), on_route=lambda kind: events.put(("route", kind)),
                user=user, conversation=state)
            return {**reply_payload(result, self.copilot.model_info)[0], "conversation_state": state.to_json()}

        in_background(work, events)
        first = events.get()  # the router decides at once (or the job failed before it could)
        situation = first == ("route", "assess")
        if first[0] != "route":
            events.put(first)
        status = "正在研判险情/灾情…" if situation else "正在检索资料…"
        yield (history + [{"role": "assistant", "content": status}], sources_html([], status=status),
               conversation_id, "", gr.skip(), gr.skip(), gr.skip())
        raw, last, graded = "", 0.0, ""
        while True:
            kind, value = events.get()
            if kind == "graded":  # the code's grade and the evidence, before the model writes
                graded = escape_markdown(render_graded(value))
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
                       direct_loss_wan, volume, rainfall, warning, signs, free_text, height, slope_height, slope_angle,
                       path, material, distance, request: gr.Request):
        terrain = terrain_text(height, slope_height, slope_angle, path, material, distance)
        text = situation_text(hazard_type, place, people, households, potential_loss_wan, deaths, missing, injured,
                              direct_loss_wan, volume, rainfall, warning, signs, terrain + (free_text or ""))
        if not text:
            raise gr.Error("请填写情况或在“情况描述”中输入报告文字 / describe the situation first")
        self.check_length(text)
        events: queue.Queue = queue.Queue()
        user = audit_user(request)

        in_background(lambda: self.copilot.assess(text, user=user, on_graded=lambda a: events.put(("graded", a))),
                      events)
        while True:
            kind, value = events.get()
            if kind == "error":
                raise gr.Error(f"研判出错，请重试 / assessment failed: {value}")
            payload = assessment_as_answer(value, self.copilot.model_info)
            figure = profile_svg(value.reach) if value.reach is not None else ""
            if kind == "graded":  # the card with the code's grade at once; advice follows from the model
                card = grade_card_html(payload["assessment"], [], pending="正在依据资料生成转移避险建议和响应要求…",
                                       figure=figure)
                yield text, card, sources_html([], hits=payload["hits"], status="已检索到以下资料，正在生成建议…"), \
                    gr.skip()
                continue
            card = grade_card_html(payload["assessment"], payload["citations"], figure=figure)
            sources = sources_html(payload["citations"], "\n".join(_explained_sentences(payload["assessment"])),
                                   full_sections(self.copilot, payload["citations"]))
            yield text, card, sources, payload["assessment"]
            return

    # ---- briefs ------------------------------------------------------------------------------------
    def save_brief(self, kind: str, assessment: dict | None, *values):
        """Save a version; the DOCX carries the runout profile when the brief keeps the assessment's estimate."""
        fields = dict(zip(BRIEF_KEYS, values))
        impact = (assessment or {}).get("impact_range")
        figure = profile_png(impact) if impact and (fields.get("impact_range") or "").strip() else None
        md, docx = save_brief_version(self.settings.briefs_dir, kind, fields, figure=figure)
        versions = [p.name for p in brief_versions(self.settings.briefs_dir)]
        temp = self.settings.web_temp_dir
        return [download_copy(docx, temp), download_copy(md, temp)], "已保存版本：" + "、".join(versions[:5])

    # ---- API (gradio_client) -------------------------------------------------------------------------
    def conversation_state(self, conversation_id: str | None, first_message: str, owner: str):
        """(id, state) of a stored conversation of this owner, or of a new one (with that id when one was given
        that is not yet in use: an API client names its conversations)."""
        conversation = convs.load_conversation(self.db, conversation_id, owner) if conversation_id else None
        if conversation is None:
            return convs.create_conversation(self.db, first_message, owner, conversation_id), ConversationState()
        last = next((t.payload for t in reversed(conversation.turns) if t.payload), None) or {}
        return conversation.id, ConversationState.from_json(last.get("conversation_state"))

    def ask(self, question: str, request: gr.Request) -> dict:
        """Answer a question (or assess a described situation) with citations, as the CLI's `ask --json`."""
        self.check_length(question or "")
        return public_payload(reply_payload(self.copilot.reply(question, user=audit_user(request)),
                                            self.copilot.model_info)[0])

    def converse(self, question: str, conversation_id: str, request: gr.Request) -> dict:
        """`ask` as a turn of a conversation (API `converse`; a new id starts one): follow-ups and incident
        updates build on the earlier turns, stored like the web chat's. The answer carries `conversation_id`."""
        self.check_length(question or "")
        owner = owner_of(request)
        conversation_id, state = self.conversation_state(conversation_id or None, question, owner)
        convs.add_turn(self.db, conversation_id, "user", question)
        payload = reply_payload(self.copilot.reply(question, user=audit_user(request), conversation=state),
                                self.copilot.model_info)[0]
        convs.add_turn(self.db, conversation_id, "assistant", payload["answer"],
                       {**payload, "conversation_state": state.to_json()})
        return {"conversation_id": conversation_id, **public_payload(payload)}

    def assess(self, situation: str, request: gr.Request) -> dict:
        """Grade a described situation by code from the cited rule and advise; the CLI's `assess --json`."""
        self.check_length(situation or "")
        return public_payload(assessment_json(self.copilot.assess(situation, user=audit_user(request)),
                                              self.copilot.model_info))


def public_payload(payload: dict) -> dict:
    """The API answer without the server's absolute paths: each source is its file name."""
    for key in ("citations", "hits"):
        for item in payload.get(key) or []:
            if isinstance(item, dict) and "source" in item:
                item["source"] = public_source(item["source"])
    return payload
