"""Follow-up questions made standalone before retrieval (issue 14): "那黄色呢？" after "天津市的红色预警标准是
什么？" becomes "天津市的黄色预警标准是什么？".

Code resolves what it can: an ellipsis that swaps one term for another of the same kind (warning colour, grade,
response level, hazard type, region), a pronoun for a document ("该条例", "这个预案", "它") replaced by the
document the conversation is about, a short question without a subject placed in that document. What code cannot
resolve is left for the model (`needs_model`), under prompts/rewrite.md. A self-contained question (its own
document, region or subject, no pronoun) is a topic switch: it inherits nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

_PROVINCES = ("北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 "
              "四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆").split()
# Terms of one kind replace each other in an ellipsis ("那黄色呢？" swaps the colour of the last question).
KINDS: dict[str, tuple[str, ...]] = {
    "colour": ("红色", "橙色", "黄色", "蓝色"),
    "grade": ("特大型", "大型", "中型", "小型"),
    "level": ("Ⅰ级", "Ⅱ级", "Ⅲ级", "Ⅳ级", "一级", "二级", "三级", "四级", "特别重大", "重大", "较大", "一般"),
    "hazard": ("地面塌陷", "泥石流", "滑坡", "崩塌", "地裂缝", "地面沉降"),
    "scale": ("险情", "灾情"),
    "region": tuple(p + s for p in _PROVINCES for s in ("省", "市", "自治区", "")),
}
_ELLIPSIS = re.compile(r"^(?:那么?|那|还有|另外|再问一下|如果是|换成|要是)?[，,\s]*(?P<term>[^，,。？?！!]{1,16}?)"
                       r"(?:的情况|的话|的标准|的规定|的要求)?(?:呢|又如何|又怎样|怎么样|怎么办)[？?。！!]*$")
_PRONOUN = re.compile(r"(?:该|这个|这部|这项|此|上述|前面说的|刚才说的|上面的)(?P<kind>条例|预案|办法|规定|法律|法|标准|规范|文件|通知|意见)"
                      r"|(?P<it>它)(?=[的规要中里对是有怎如什几多])")
_NAMED_DOC = re.compile(r"《[^》]{2,60}》")
_QUESTION_WORDS = re.compile(r"什么|哪些|哪里|哪个|多少|几|怎么|怎样|如何|是否|能否|吗|呢|谁|何时|多久|多长")
_SUBJECT_HINTS = re.compile(r"地质灾害|滑坡|崩塌|泥石流|塌陷|险情|灾情|预警|应急|转移|群测群防|隐患|避险|撤离|响应|报告|危岩|落石")
# A name of its own (a place, a site code like WY-07): the question is about that, not about the last document.
_OWN_NAME = re.compile(r"[A-Za-z]+-?\d+|[\u4e00-\u9fa5]{1,5}(?:村|沟|县|镇|乡|市|省|山|河|江|湖|水库|隧道|公路)")
# "那费用由谁承担？", "这些材料交给谁？": a demonstrative pointing at the last question's subject (not an
# ellipsis ending in 呢, which swaps a term instead)
_POINTS_BACK = re.compile(r"^(?:那些|这些|那|这|其)(?!么|样|里|儿|时|天)[^呢]*$")
_CARRIED = re.compile(r"（接上一问：.*）$")
SCOPED_MAX_CHARS = 12  # "需要报告吗？", "第二十九条规定了什么？": short enough to need the last document


@dataclass(frozen=True)
class Context:
    """What a conversation carries from its last question: the question as understood, the documents it named
    or was answered from, its region and hazard type."""

    question: str
    documents: tuple[str, ...] = ()  # titles, most relevant first
    region: str | None = None
    hazard_type: str | None = None

    def to_json(self) -> dict:
        return {"question": self.question, "documents": list(self.documents), "region": self.region,
                "hazard_type": self.hazard_type}

    @classmethod
    def from_json(cls, data: dict | None) -> Context | None:
        if not data or not data.get("question"):
            return None
        return cls(data["question"], tuple(data.get("documents") or ()), data.get("region"), data.get("hazard_type"))


@dataclass(frozen=True)
class Resolution:
    question: str  # what retrieval and the model see
    how: str  # first | self-contained | ellipsis | pronoun | scoped | model | fallback
    carried: dict = field(default_factory=dict)  # what came from the conversation (term swapped, document, …)

    @property
    def needs_model(self) -> bool:
        return self.how == "model"


def term_of(text: str, kind: str) -> str | None:
    """The first term of `kind` in `text`, longest match first (特大型 before 大型)."""
    found = [(m.start(), -len(t), t) for t in KINDS[kind] for m in re.finditer(re.escape(t), text)]
    return min(found)[2] if found else None


def region_of(text: str) -> str | None:
    return next((p for p in _PROVINCES if p in text), None)


def hazard_of(text: str) -> str | None:
    return term_of(text, "hazard")


def is_self_contained(message: str) -> bool:
    """A question that stands on its own: it names a document, or a region and a subject, or is a full
    question with a subject of its own and no pronoun pointing back."""
    if _PRONOUN.search(message) or _ELLIPSIS.match(message.strip()):
        return False
    if _NAMED_DOC.search(message) or (len(message) > SCOPED_MAX_CHARS and _OWN_NAME.search(message)):
        return True
    return len(message) >= 12 and bool(_SUBJECT_HINTS.search(message))


def resolve(message: str, context: Context | None) -> Resolution:
    """The standalone question for `message` after `context` (None: the first question of a conversation)."""
    message = message.strip()
    if context is None:
        return Resolution(message, "first")
    if is_self_contained(message):
        return Resolution(message, "self-contained")
    ellipsis = _ELLIPSIS.match(message)
    if ellipsis:
        swapped = _swap(context.question, ellipsis.group("term").strip())
        if swapped:
            return swapped
    pronoun = _PRONOUN.search(message)
    if pronoun:
        title = _document_for(pronoun.group("kind") or "", context.documents)
        if title:
            question = message[:pronoun.start()] + f"《{title}》" + message[pronoun.end():]
            return Resolution(question, "pronoun", {"document": title})
        return Resolution(message, "model")
    if context.documents and len(message) <= SCOPED_MAX_CHARS and _QUESTION_WORDS.search(message):
        title = context.documents[0]
        if _POINTS_BACK.match(message):  # "那费用由谁承担？": the cost of what the last question was about
            previous = _CARRIED.sub("", context.question)  # one question back, not the whole chain
            return Resolution(f"《{title}》中，{message}（接上一问：{previous}）", "scoped",
                              {"document": title, "question": previous})
        return Resolution(f"《{title}》中，{message}", "scoped", {"document": title})
    return Resolution(message, "model")


def _swap(previous: str, term: str) -> Resolution | None:
    """The previous question with its term of the same kind as `term` replaced by `term`."""
    for kind in KINDS:
        new = term_of(term, kind)
        if not new:
            continue
        old = term_of(previous, kind)
        if old and old != new:
            return Resolution(previous.replace(old, new, 1), "ellipsis", {"kind": kind, "from": old, "to": new})
    return None


def _document_for(kind: str, documents: tuple[str, ...]) -> str | None:
    """The conversation's document a pronoun points at: one of the named kind (条例, 预案…) if any, else the
    first (a bare 它/其)."""
    if kind:
        return next((d for d in documents if kind in d), None)
    return documents[0] if documents else None


def context_after(resolution: Resolution, hit_titles: list[str]) -> Context:
    """The context the next message sees: documents named in the question first, then the top retrieved ones."""
    named = [m.group(0).strip("《》") for m in _NAMED_DOC.finditer(resolution.question)]
    titles = tuple(dict.fromkeys(named + [t for t in hit_titles[:2] if t]))
    q = resolution.question
    return Context(q, titles, region_of(q), hazard_of(q))


def checked_rewrite(rewritten: str, message: str, context: Context) -> Resolution:
    """The model's rewrite, kept only when it is one short question that still says what the message said;
    otherwise the previous question with the follow-up attached."""
    text = rewritten.strip().splitlines()[0].strip().strip("“”\"") if rewritten.strip() else ""
    own = {message[i:i + 2] for i in range(len(message) - 1)} - {"那么", "呢？", "什么"}
    keeps_message = not own or any(b in text for b in own)
    if text and len(text) <= 120 and keeps_message:
        return Resolution(text, "model", {"rewritten_from": message})
    return replace(Resolution(f"{context.question}（追问：{message}）", "fallback"), carried={"question": context.question})
