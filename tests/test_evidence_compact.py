"""The compact evidence block (issue 6): duplicates point at the earlier passage, long passages keep the
window most relevant to the question, numbering stays the retrieval ranking, the fixed text comes first."""

from app.config import PROJECT_ROOT
from app.reason.answer import build_messages, looks_like_refusal
from app.reason.citations import evidence_block, relevant_window
from app.reason.prompts import load_prompt
from app.schema import Chunk

FILLER = "本条其余文字与问题无关，只用来把段落拉长，看看裁剪是否保留了相关的句子。" * 4


def _chunk(text, locator="第一条", title="某条例", cid="c"):
    return Chunk(cid, "/x.md", title, "regulation", locator, locator, text, 0, len(text))


def test_without_question_the_block_is_the_original_one():
    long = "甲" * 600
    block = evidence_block([_chunk(long)])
    assert block == "[1] 《某条例》 第一条\n" + "甲" * 500 + "……"


def test_duplicate_passage_points_at_the_first_and_keeps_its_number():
    text = "接到险情报告的当地人民政府应当及时动员受威胁的居民转移到安全地带。"
    block = evidence_block([_chunk(text, cid="a"), _chunk("其他内容：监测预警由县级主管部门负责。", "第二条", cid="b"),
                            _chunk(text + "（摘要）", "第一条", "条例要点", cid="c")], question="怎样组织转移？")
    assert "[3] 《条例要点》 第一条\n（内容同[1]）" in block
    assert block.count(text) == 1
    assert block.index("[1]") < block.index("[2]") < block.index("[3]")


def test_long_passage_keeps_the_sentences_about_the_question():
    relevant = "受威胁人数在500人以上的为大型地质灾害险情。"
    text = FILLER + relevant + FILLER
    window = relevant_window(text, "受威胁人数达到多少算大型险情？", 120)
    assert relevant in window
    assert len(window) <= 120 + 4 and window.startswith("……") and window.endswith("……")


def test_short_passage_is_kept_whole_and_heading_line_repeating_locator_is_dropped():
    chunk = _chunk("## 二、报告时限\n\n发现险情后应当在1小时内报告。", locator="二、报告时限")
    block = evidence_block([chunk], question="多久内报告？")
    assert block == "[1] 《某条例》 二、报告时限\n发现险情后应当在1小时内报告。"


def test_budget_shrinks_with_rank():
    text = "滑坡前兆包括裂缝加宽。" * 60
    chunks = [_chunk(text, f"第{i}条", cid=str(i)) for i in range(1, 4)]
    block = evidence_block(chunks, question="滑坡前兆有哪些？", budgets=(200, 100))
    bodies = [part.split("\n", 1)[1] for part in block.split("\n\n")]
    assert len(bodies[0]) <= 204 and len(bodies[1]) <= 104 and len(bodies[2]) <= 104
    assert len(bodies[0]) > len(bodies[1])


def test_messages_put_all_fixed_text_first():
    prompt = load_prompt(PROJECT_ROOT / "prompts", "answer")
    a = build_messages("问题甲？", [_chunk("内容一。")], prompt)
    b = build_messages("问题乙？", [_chunk("内容二。")], prompt)
    assert a[0] == b[0]  # the system prompt: identical, so its KV cache is reused between questions
    assert a[1]["content"].startswith("证据：\n[1]") and a[1]["content"].rstrip().endswith("问题甲？")


def test_refusal_is_read_from_the_first_sentence():
    assert looks_like_refusal("资料中未找到依据。缺少……")
    assert not looks_like_refusal("应转移到安全地带[1]。资料中未找到依据的部分不写。")
