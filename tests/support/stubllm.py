"""A deterministic stand-in for llama_cpp.Llama for process-level tests (audit, kill tests): the same reply to
every chat completion, streamed or not. The answer pipeline still checks its citations and claims."""

from __future__ import annotations

from app.reason.llm import ModelInfo

REPLY = "【推理】\n1. 证据[1]写明了报告时限。\n【回答】\n群测群防员发现异常情况后，应当在30分钟内向乡镇人民政府报告[1]。"
STUB_INFO = ModelInfo("stub", "", "5" * 64)


class StubLLM:
    def __init__(self, reply: str = REPLY):
        self.reply = reply
        self.calls = 0

    def create_chat_completion(self, messages, stream=False, **_):
        self.calls += 1
        if not stream:
            return {"choices": [{"message": {"content": "{}"}}]}
        return ({"choices": [{"delta": {"content": self.reply[i:i + 4]}}]} for i in range(0, len(self.reply), 4))


def stub_copilot(settings, kb_dir, reply: str = REPLY):
    """A Copilot whose model is the stub (no GGUF load), handed in through the constructor."""
    from app.pipeline import Copilot

    return Copilot(settings, kb_dir, llm=StubLLM(reply), model_info=STUB_INFO)
