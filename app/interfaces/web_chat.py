"""How a conversation looks in the chat: stored turns as chat messages, the reasoning fold (labelled by who
wrote it), the streaming bubble (the one split of the 【推理】/【回答】 format lives in reason/answer.py)."""

from __future__ import annotations

import gradio as gr

from app.interfaces.html import answer_markdown, escape_markdown, sources_html
from app.reason.answer import split_streaming


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
        title = ("推理过程（模型所写，已核对；点击展开）" if payload.get("reasoning_source") == "model"
                 else "推理过程（程序记录的检索、阅读和核对步骤；点击展开）")
        out.append({"role": "assistant",
                    "content": "\n".join(f"{i}. {escape_markdown(s)}" for i, s in enumerate(reasoning, 1)),
                    "metadata": {"title": title, "status": "done"}})
    out.append({"role": "assistant", "content": streaming if streaming is not None else answer_markdown(payload)})
    return out


def streaming_messages(raw: str, situation: bool) -> list[dict]:
    if situation:
        return [{"role": "assistant", "content": "正在研判…\n\n" + raw[-600:],
                 "metadata": {"title": "研判说明生成中", "status": "pending"}}]
    reasoning, answer = split_streaming(raw)
    if answer is not None:
        return [{"role": "assistant", "content": reasoning, "metadata": {"title": "推理过程", "status": "done"}},
                {"role": "assistant", "content": answer + " ▌"}]
    return [{"role": "assistant", "content": reasoning + " ▌",
             "metadata": {"title": "推理过程（生成中）", "status": "pending"}}]


def new_conversation(request: gr.Request):
    return [], sources_html([]), None, gr.update(value=None), None
