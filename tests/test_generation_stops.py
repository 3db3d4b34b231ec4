"""Issue 17: generation that ends (stop strings, repetition guard, budgets), only the first answer kept, reasoning
that is not the prompt's format copied back, and answers that say something."""

from __future__ import annotations

import itertools


from app.config import PROJECT_ROOT
from app.reason.answer import answer_question, split_output
from app.reason.assess import explain
from app.reason.citations import REFUSAL
from app.reason.generation import ANSWER_STOP, ANSWER_TOKENS, CUT_NOTICES, StreamGuard, stream_chat
from app.reason.prompts import load_prompt
from app.reason.reasoning import is_template
from app.schema import Chunk, Hit
from test_answer import _hits, prompt  # noqa: F401  (shared helper and fixture)

PASSAGE = "第四条 群测群防员发现异常情况，应当在30分钟内向乡镇人民政府报告。"
QUESTION = "群测群防员发现异常后多长时间内报告？"
REASONING = "【推理】\n1. 问的是群测群防员发现异常后的报告时限。\n2. 证据[1]写明应当在30分钟内向乡镇人民政府报告。\n"
ANSWER = "【回答】\n群测群防员发现异常情况后，应当在30分钟内向乡镇人民政府报告[1]。"


class ChunkedLLM:
    """A stand-in for llama_cpp.Llama that streams `reply` (a string or an endless iterator of strings) in
    3-character chunks, records the request and counts the chunks the consumer pulled."""

    def __init__(self, reply, finish_reason: str | None = None):
        self.reply = reply
        self.finish_reason = finish_reason
        self.pulled = 0
        self.closed = False
        self.requests: list[dict] = []

    def create_chat_completion(self, messages, stream=True, **params):
        self.requests.append({"messages": messages, **params})
        return self._events()

    def _events(self):
        texts = [self.reply] if isinstance(self.reply, str) else self.reply
        try:
            for text in texts:
                for i in range(0, len(text), 3):
                    self.pulled += 1
                    yield {"choices": [{"delta": {"content": text[i:i + 3]}, "finish_reason": None}]}
            yield {"choices": [{"delta": {}, "finish_reason": self.finish_reason}]}
        finally:
            self.closed = True




def _ask(prompt, llm, hits=None, question=QUESTION, max_tokens=640):
    return answer_question(question, hits or _hits(PASSAGE), llm, prompt, max_tokens=max_tokens, temperature=0.0,
                           seed=1)


def test_a_looping_reply_keeps_only_the_first_answer_and_says_it_was_cut(prompt):
    loop = (REASONING + ANSWER + "\n") * 5  # the issue: answer, a new 【推理】, the same answer again …
    llm = ChunkedLLM(loop)
    answer = _ask(prompt, llm)
    assert not answer.refused and answer.cut_off == "repetition"
    assert answer.answer == ("群测群防员发现异常情况后，应当在30分钟内向乡镇人民政府报告[1]。\n" + CUT_NOTICES["repetition"])
    assert "【推理】" not in answer.answer and answer.answer.count("30分钟") == 1
    assert llm.pulled < len(loop) / 3 / 4  # stopped at the second 【推理】, not at the end of five copies
    assert llm.closed
    request = llm.requests[0]
    assert set(ANSWER_STOP) <= set(request["stop"]) and request["max_tokens"] == ANSWER_TOKENS


def test_a_sentence_repeated_forever_stops_the_stream(prompt):
    forever = itertools.chain([REASONING, "【回答】\n"], itertools.repeat("应当在30分钟内向乡镇人民政府报告[1]。"))
    llm = ChunkedLLM(forever)
    answer = _ask(prompt, llm)
    assert answer.cut_off == "repetition" and not answer.refused
    assert answer.answer == "应当在30分钟内向乡镇人民政府报告[1]。\n" + CUT_NOTICES["repetition"]
    # the reasoning (~60 characters) and two copies of the 24-character sentence: then no chunk more
    assert llm.pulled <= (len(REASONING) + 8 + 2 * 24) // 3 + 2
    assert llm.closed


def test_a_reply_that_ran_out_of_tokens_says_so(prompt):
    llm = ChunkedLLM(REASONING + ANSWER, finish_reason="length")
    answer = _ask(prompt, llm)
    assert answer.cut_off == "length" and answer.answer.endswith(CUT_NOTICES["length"])


def test_a_normal_answer_is_untouched(prompt):
    llm = ChunkedLLM(REASONING + ANSWER, finish_reason="stop")
    answer = _ask(prompt, llm)
    assert answer.answer == "群测群防员发现异常情况后，应当在30分钟内向乡镇人民政府报告[1]。"
    assert answer.cut_off is None and not answer.refused and [c.n for c in answer.citations] == [1]
    assert answer.reasoning == ["1. 问的是群测群防员发现异常后的报告时限。", "2. 证据[1]写明应当在30分钟内向乡镇人民政府报告。"]


def test_split_output_keeps_the_first_answer_only():
    raw = "【推理】\n1. 甲。\n【回答】\n回答：应当立即报告[1]。\n【推理】\n1. 甲。\n【回答】\n应当立即报告[1]。"
    assert split_output(raw) == (["1. 甲。"], "应当立即报告[1]。")
    assert split_output("【回答】\n应当立即报告[1]。\n\n【回答】\n应当立即报告[1]。")[1] == "应当立即报告[1]。"


def test_stream_guard_cuts_repeated_headings_sentences_and_runs():
    guard = StreamGuard((r"推理(?:过程)?", r"回答|答案"))
    for piece in ("【推理】\n1. 问的是时限。\n【回答】\n应当立即报告[1]。\n【推", "理】\n1. 问的"):
        stop = guard.feed(piece)
    assert stop and guard.reason == "repetition" and guard.kept == "【推理】\n1. 问的是时限。\n【回答】\n应当立即报告[1]。"
    assert guard.feed("更多") is True  # once stopped, it stays stopped

    guard = StreamGuard((r"推理(?:过程)?", r"回答|答案"))
    text = "【推理】\n1. 证据[1]写明应当立即报告。\n【回答】\n应当立即报告[1]。"  # the answer restates the reasoning: fine
    assert not any(guard.feed(text[i:i + 2]) for i in range(0, len(text), 2)) and guard.kept == text

    guard = StreamGuard()
    assert not any(guard.feed(p) for p in ("应当立即报告", "[1]，并组织转移。"))
    assert [guard.feed("的") for _ in range(40)][-1] and guard.kept == "应当立即报告[1]，并组织转移。的"


def test_template_reasoning_is_dropped_and_replaced_by_what_happened(prompt):
    reply = ("【推理】\n1. 问题要什么。\n2. 哪条证据说了什么，写编号。\n3. 综上所述，得出结论。\n"
             "【回答】\n群测群防员发现异常情况后，应当在30分钟内向乡镇人民政府报告[1]。")
    answer = _ask(prompt, ChunkedLLM(reply))
    assert not any("问题要什么" in s or "哪条证据" in s or "综上所述" in s for s in answer.reasoning)
    assert answer.reasoning[0].startswith("检索到1段资料，模型阅读了其中1段：[1]《某条例》 第1条")
    assert answer.reasoning[1].endswith("引用[1]：其中的数字、文件或条款已在原文中核实。")  # 30分钟 was found in passage 1


def test_template_lines_come_from_the_loaded_prompt(tmp_path):
    # answer prompt v6 (kept as a fixture) had these format lines, which the 1.5B copied back as its reasoning
    prompt = load_prompt(PROJECT_ROOT / "tests" / "fixtures" / "prompts_v6", "answer")
    assert is_template("1. 问题要什么。", prompt) and is_template("2. 哪条证据说了什么，写编号[1]。", prompt)
    assert not is_template("1. 问的是群测群防员的报告时限。", prompt)
    other = tmp_path / "answer.md"
    other.write_text("---\nname: answer\nversion: 99\nvariables: [question, evidence]\n---\n=== system ===\n"
                     "【推理】\n1. 先找出问题中的地名和灾种。\n=== user ===\n{evidence}\n{question}\n", encoding="utf-8")
    changed = load_prompt(tmp_path, "answer")
    assert is_template("1. 先找出问题中的地名和灾种。", changed) and not is_template("1. 先找出问题中的地名和灾种。", prompt)


def test_a_noun_phrase_answer_with_citations_is_a_refusal(prompt):
    hits = _hits("蓟州区地处天津北部山区。", "天津市地质灾害隐患点以崩塌为主。", "蓟州区开展汛前地质灾害隐患排查。")
    reply = "【推理】\n1. 问题要什么。\n【回答】\n蓟州区登记的地质灾害隐患点数量[1][2][3]。"
    answer = _ask(prompt, ChunkedLLM(reply), hits, question="天津市蓟州区有多少处地质灾害隐患点？")
    assert answer.refused and answer.citations == [] and answer.answer.startswith(REFUSAL)
    assert "“蓟州区登记的地质灾害隐患点数量”没有给出内容" in answer.answer


def test_a_short_answer_that_names_something_new_is_not_a_refusal(prompt):
    answer = _ask(prompt, ChunkedLLM("【回答】\n县级人民政府[1]。"), _hits("危险区由县级人民政府撤销并公告。"),
                  question="危险区由哪一级政府撤销？")
    assert not answer.refused and answer.answer == "县级人民政府[1]。"


def test_the_prompts_example_copied_back_as_the_answer_is_a_refusal(prompt):
    answer = _ask(prompt, ChunkedLLM("【回答】\n仓库每日盘点一次[1]。"), _hits("仓库每日盘点一次，车间每周检修。"),
                  question="群测群防员多久巡查一次？")
    assert answer.refused and answer.citations == []


def test_the_assessment_explanation_stops_at_a_repeated_section(tmp_path):
    hits = [Hit(1, Chunk("c1", "/plan.md", "某县应急预案", "plan", "4.1", "", "Ⅲ级响应由县级人民政府启动。", 0, 14), 1.0)]
    block = "【说明】\n- Ⅲ级响应由县级人民政府启动[1]。\n"  # assess prompt v3: one section, repeated forever
    llm = ChunkedLLM(itertools.repeat(block))
    out, used, _, _, gen = explain(llm, load_prompt(PROJECT_ROOT / "prompts", "assess"), "某村后山滑坡。", [], hits,
                                   max_tokens=700, seed=1)
    assert gen.cut_off == "repetition" and llm.closed and llm.pulled <= -(-len(block) // 3) + 2
    assert out["grade_basis"] == "Ⅲ级响应由县级人民政府启动[1]。" and used == [1]  # kept once
    assert out["reasoning"] == ["模型阅读了1段资料：资料1《某县应急预案》 4.1。"]  # built by code from what happened
    assert any("重复部分已截去" in m for m in out["missing_information"])


def test_stop_strings_reach_an_openai_compatible_server_and_an_early_stop_closes_the_stream():
    from app.reason.llm import RemoteLLM

    class Event:
        def __init__(self, text):
            self.text = text

        def model_dump(self, exclude_none=True):
            return {"choices": [{"delta": {"content": self.text}}]}

    class Stream:
        closed = False

        def __iter__(self):
            return (Event(t) for t in itertools.repeat("应当立即报告[1]。"))

        def close(self):
            Stream.closed = True

    sent = {}

    class Completions:
        def create(self, **body):
            sent.update(body)
            return Stream()

    llm = RemoteLLM("http://127.0.0.1:9/v1", model="m")
    llm._client = type("Client", (), {"chat": type("Chat", (), {"completions": Completions()})()})()
    gen = stream_chat(llm, [{"role": "user", "content": "q"}], 64, 0.0, 1, stop=ANSWER_STOP, guard=StreamGuard())
    assert sent["stop"] == list(ANSWER_STOP)
    assert gen.text == "应当立即报告[1]。" and gen.cut_off == "repetition" and Stream.closed


# What qwen2.5-coder-1.5b wrote for eval question a002 (issue 17 check, 2 cores): the prompt's format lines as
# reasoning, then the answer, then a block of its own listing the sources.
REAL_1_5B = ("【推理】\n1. 问题要什么。\n2. 哪条证据说了什么，写编号。\n【回答】\n"
             "隐患治理完、险情已经得到有效控制了，原先划定的地质灾害危险区由县级政府撤销。撤销时还要解除已采取的有关措施并公告。\n\n"
             "【补充信息】\n- [1] 《地质灾害危险区的划定、公告与管理（知识卡）》 八、危险区的撤销\n"
             "- [2] 《《地质灾害防治条例》逐条要点（第一章至第三章）》 第二十条")


def test_a_block_after_the_answer_ends_the_reply_without_a_notice(prompt):
    llm = ChunkedLLM(REAL_1_5B)
    hits = _hits("危险区的撤销：险情已经消除或者得到有效控制的，由县级人民政府及时撤销原划定的地质灾害危险区，解除已采取的有关措施并公告。")
    answer = _ask(prompt, llm, hits, question="隐患治理完、险情已经得到有效控制了，原先划定的地质灾害危险区由哪一级政府撤销？撤销时还要做什么？")
    assert not answer.refused and answer.cut_off is None
    assert "补充信息" not in answer.answer and answer.answer.endswith("撤销时还要解除已采取的有关措施并公告[1]。")
    assert llm.pulled < len(REAL_1_5B) // 3 - 20 and llm.closed  # the source list was never generated
    assert not any("问题要什么" in s for s in answer.reasoning) and answer.reasoning[0].startswith("检索到1段资料")
    assert split_output(REAL_1_5B)[1].endswith("解除已采取的有关措施并公告。")


def test_a_reply_cut_off_before_its_answer_is_a_refusal_not_reasoning_shown_as_answer(prompt):
    forever = itertools.chain(["【推理】\n"], itertools.repeat("1. 证据[1]写明应当在30分钟内报告。\n"))
    answer = _ask(prompt, ChunkedLLM(forever))
    assert answer.refused and answer.cut_off == "repetition" and answer.citations == []
    assert answer.answer == f"{REFUSAL}。模型在写出回答之前开始重复，没有给出回答。"
    assert answer.reasoning == ["1. 证据[1]写明应当在30分钟内报告。"]


def test_the_stream_shows_no_part_of_a_cut_block(prompt):
    shown: list[str] = []
    answer_question("隐患治理完、险情已经得到有效控制了，原先划定的地质灾害危险区由哪一级政府撤销？撤销时还要做什么？",
                    _hits("由县级人民政府及时撤销原划定的地质灾害危险区，解除已采取的有关措施并公告。"), ChunkedLLM(REAL_1_5B),
                    prompt, max_tokens=640, temperature=0.0, seed=1, on_token=shown.append)
    streamed = "".join(shown)
    assert streamed.startswith("【推理】\n1. 问题要什么。") and "【回答】" in streamed
    assert "【补充" not in streamed and streamed.rstrip().endswith("解除已采取的有关措施并公告。")
