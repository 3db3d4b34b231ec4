"""Builds eval/questions/dialogues.jsonl (issue 14): `python scripts/build_dialogues.py` from the checkout, with
../shared/corpus-public beside it. Sources, locators and facts are checked against the document text: every
source locator is found by chunking the file and keeping the chunks that hold a proof phrase; every fact must
appear (one alternative at least) in one of the sources' chunks."""
import json
import sys
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's app/, whatever is installed

from app.ingest.load import load_file
from app.ingest.chunk import chunk_document

from app.config import PROJECT_ROOT
WT, SH = PROJECT_ROOT, PROJECT_ROOT.parent / "shared"
def path_of(src): return SH / src if src.startswith("corpus-public/") else WT / src

@lru_cache(None)
def chunks(src): return [(c.locator, c.text.replace(" ", "")) for c in chunk_document(load_file(path_of(src), 50 * 2**20))]

def S(src, proof):
    locs = list(dict.fromkeys(loc for loc, text in chunks(src) if proof.replace(" ", "") in text))
    assert locs, (src, proof)
    return [{"source": src, "locator": l} for l in locs]

G = "corpus/cards/grading_xianqing_zaiqing.md"; RL = "corpus/cards/response_levels.md"
T = "corpus-public/dizhizaihai_fangzhi_tiaoli_2003.md"; D1 = "corpus/digests/dizhizaihai_fangzhi_tiaoli_digest_part1.md"
D2 = "corpus/digests/dizhizaihai_fangzhi_tiaoli_digest_part2.md"
RESP = S(RL, "特大型")  # 二、响应级别与险情灾情等级的对应
XQ = [x for x in S(G, "1000人及以上") if x["locator"].startswith("四")]
ZQ = [x for x in S(G, "30人及以上") if x["locator"].startswith("三")]
LV = {"特大型": ("Ⅰ级", ["Ⅰ级", "一级", "I级"]), "大型": ("Ⅱ级", ["Ⅱ级", "二级", "II级"]),
      "中型": ("Ⅲ级", ["Ⅲ级", "三级", "III级"]), "小型": ("Ⅳ级", ["Ⅳ级", "四级", "IV级"])}

def grade(scale, g):
    level, alts = LV[g]
    src = [x for x in (XQ if scale == "险情" else ZQ + S(T, "第四条地质灾害按照")) ] + [r for r in RESP if r["locator"].startswith("二")]
    return {"kind": "grade", "expected": {"scale": scale, "grade": g, "level": level, "response_level": level},
            "facts": [[g], alts], "sources": src}

def fact(facts, *sources):
    return {"kind": "fact", "facts": facts, "sources": [x for s in sources for x in s]}

REFUSAL = {"kind": "refusal"}
rows = []
def add(cat, turns, last, **extra):
    rows.append({"id": f"d{len(rows) + 1:03d}", "category": cat, "turns": turns, "last": last, **extra})

# ---- (a) follow-ups ---------------------------------------------------------------------------------------
M = "corpus/cards/meteorological_warning_levels.md"; R = "corpus/cards/reporting_duties_time_limits.md"
E = "corpus/cards/evacuation_practice.md"
add("followup", ["地质灾害气象风险红色预警表示地质灾害发生的风险有多高？", "那黄色呢？"],
    fact([["风险较高", "较高"]], S(M, "“风险较高”")), expect_resolved_contains=["黄色"])
add("followup", ["按国家预案，县级自然资源主管部门接到特大型地质灾害报告后应在多长时间内速报县级人民政府？", "那中型呢？"],
    fact([["12小时", "十二小时"]], S(R, "应在12小时内速报")), expect_resolved_contains=["中型"])
add("followup", ["国务院《地质灾害防治条例》规定特大型地质灾害的因灾死亡人数标准是多少？", "那大型呢？"],
    fact([["10人", "十人"], ["30人", "三十人"]], S(T, "因灾死亡10人以上30人以下"), S(D1, "10人以上30人以下"),
         S(G, "10人至不满30人")), expect_resolved_contains=["大型", "地质灾害防治条例"])
add("followup", ["《地质灾害防治条例》是从哪一天起施行的？", "该条例规定由哪一级人民政府划定地质灾害危险区？"],
    fact([["县级人民政府", "县级政府", "县政府"]], S(T, "县级人民政府应当及时划定为地质灾害危险区"),
         S(D1, "第十九条"), S("corpus/cards/danger_zone_rules.md", "## 二、谁来划定")),
    expect_resolved_contains=["地质灾害防治条例"])
add("followup", ["《中华人民共和国突发事件应对法》（2024年修订）把预警级别分为几级？",
                 "发布一级、二级警报后，该法要求县级以上地方人民政府采取哪些措施？"],
    fact([["待命"], ["转移", "疏散", "撤离"]], S("corpus-public/tufashijian_yingduifa_2024.md", "发布一级、二级警报"),
         S(M, "## 五、橙色、红色预警期间")), expect_resolved_contains=["突发事件应对法"])
GP = "corpus-public/guojia_tufashijian_zongti_yingji_yuan_2025.md"
add("followup", ["《国家突发事件总体应急预案》（2025年）把突发事件分为哪几类？", "这个预案把预警级别分为几级？分别用什么颜色标示？"],
    fact([["红色"], ["橙色"], ["黄色"], ["蓝色"]], S(GP, "将预警级别分为一级、二级、三级、四级"),
         S("corpus/digests/guojia_zongti_yingji_yuan_2025_digest.md", "蓝色")),
    expect_resolved_contains=["国家突发事件总体应急预案"])
MX = "corpus/cases/case_2017_maoxian_624_xinmocun_huapo.md"; MXP = "corpus-public/case_2017_maoxian_624_xinmocun_huapo.md"
add("followup", ["茂县“6·24”特大山体滑坡是哪一天发生的？", "它的伤亡情况如何？截至6月26日多少人遇难、多少人失联？"],
    fact([["10人", "十人"], ["93人"]], S(MX, "10人遇难、93人失联"), S(MXP, "失联人数降至93人")))
add("followup", ["《地质灾害防治条例》第二十八条规定发现地质灾害险情的单位和个人应当向谁报告？", "第二十九条规定了什么？"],
    fact([["转移到安全地带", "转移"], ["强行组织避灾疏散", "强行组织", "强制"]], S(T, "可以强行组织避灾疏散"),
         S(D1, "强行组织避灾疏散") if any("强行组织避灾疏散" in t for _, t in chunks(D1)) else S(D2, "强行组织避灾疏散")),
    expect_resolved_contains=["地质灾害防治条例"])
add("followup", ["《地质灾害防治条例》规定的地质灾害预报内容主要包括哪些？", "谁有权发布？"],
    fact([["国土资源主管部门", "自然资源主管部门"], ["气象主管机构", "气象"]], S(T, "会同气象主管机构发布"),
         S(M, "## 三、谁有权发布")), expect_resolved_contains=["地质灾害防治条例"])
add("followup", ["泥石流来临时群众应该往哪个方向跑？", "那滑坡呢？"],
    fact([["两侧"]], S(E, "## 四、滑坡、崩塌来临时"), S("corpus/cards/precursor_signs_landslide.md", "## 七、发现滑坡前兆后")),
    expect_resolved_contains=["滑坡"])

# ---- (b) incident updates --------------------------------------------------------------------------------
add("incident", ["某县某镇后山出现裂缝，需转移群众约80人，估算可能造成经济损失约300万元，请研判险情等级。",
                 "核实后受威胁人数增加到600人"], grade("险情", "大型"))
add("incident", ["某乡发生泥石流，已确认2人死亡，直接经济损失约50万元，请定级。", "又发现3名遇难者"], grade("灾情", "中型"))
add("incident", ["一处滑坡隐患威胁约1200人，估算可能造成经济损失约2000万元，请研判险情等级。",
                 "经核实，需转移人数减少到300人"], grade("险情", "中型"))
add("incident", ["某地发生崩塌，造成1人死亡，直接经济损失约600万元，请定级。", "又发现1名遇难者"], grade("灾情", "大型"))
add("incident", ["某村滑坡隐患威胁群众约120人，估算可能经济损失约800万元，请研判险情等级。",
                 "受威胁人数增加到450人", "核实后可能造成的经济损失达到1.2亿元"], grade("险情", "特大型"))
add("incident", ["某镇发生滑坡，无人员死亡，直接经济损失约200万元，灾情定几级？", "直接经济损失核实为1500万元"],
    grade("灾情", "特大型"))
add("incident", ["某县发生泥石流，已确认8人死亡，直接经济损失约300万元，请研判灾情等级。", "又发现2名遇难者"],
    grade("灾情", "大型"))
add("incident", ["某村滑坡隐患需转移群众约520人，估算可能造成经济损失约600万元，请研判险情等级。",
                 "更正：需转移人数核实为95人"], grade("险情", "中型"))
add("incident", ["某矿区附近发生地面塌陷，造成4人死亡，直接经济损失约80万元，请定级。", "又发现1名遇难者",
                 "直接经济损失核实为120万元"], grade("灾情", "中型"))

# ---- (c) topic switches ----------------------------------------------------------------------------------
PD = "corpus/cards/precursor_signs_debris_flow_rockfall.md"
add("switch", ["重庆市区县政府收到大型地质灾害报告后多长时间内要上报市政府？", "泥石流来临时群众应该往哪个方向跑？"],
    fact([["两侧"]], S(E, "## 五、泥石流来临时"), S(PD, "## 五、泥石流来临时")), must_not_carry=["重庆", "大型"])
Q = "corpus/cards/qunce_qunfang.md"
add("switch", ["《地质灾害防治条例》第四十一条规定罚款多少？", "群测群防员的日常工作可以概括为哪几个字？"],
    fact([["巡、测、记、报、护", "巡测记报护", "巡、测、记、报和护"]], S(Q, "巡、测、记、报、护")),
    must_not_carry=["地质灾害防治条例", "第四十一条", "罚款"])
add("switch", ["舟曲“8·8”泥石流造成多少人遇难？", "滑坡发生前坡脚的泉水可能出现哪些异常？"],
    fact([["流量突然变化", "流量"], ["干枯", "干涸"], ["变浑", "浑浊"]], S("corpus/cards/precursor_signs_landslide.md", "坡脚泉水流量突然变化")),
    must_not_carry=["舟曲", "泥石流"])
add("switch", ["某村后山滑坡，需转移群众150人，估算可能经济损失300万元，请研判险情等级。",
               "发现地面塌陷前兆时应首先疏散哪些范围内的人员？"],
    fact([["塌陷坑周边", "塌陷坑"], ["环状裂缝"]], S("corpus/cards/ground_collapse.md", "环状裂缝范围内的人员")),
    must_not_carry=["150", "后山", "某村"])
add("switch", ["镇雄“1·22”滑坡的诱发因素是什么？", "《地质灾害防治条例》规定在地质灾害危险区内禁止哪些活动？"],
    fact([["爆破"], ["削坡"], ["工程建设"]], S(T, "禁止爆破、削坡"), S(D1, "爆破"),
         S("corpus/cards/danger_zone_rules.md", "## 四、危险区内禁止")), must_not_carry=["镇雄", "1·22"])
add("switch", ["地质灾害气象风险红色预警表示什么风险程度？", "那黄色呢？", "按国家预案，县级主管部门接到中型、小型地质灾害报告后应在多长时间内速报？"],
    fact([["12小时", "十二小时"]], S(R, "应在12小时内速报")), must_not_carry=["黄色", "红色", "气象风险"])
SC = "corpus/cases/case_2019_shuicheng_723_huapo.md"
add("switch", ["《重庆市地质灾害防治条例》规定大型险情的转移人数标准是多少？", "水城“7·23”滑坡发生后，贵州启动了几级应急响应？"],
    fact([["Ⅰ级", "一级", "I级"]], S(SC, "启动地质灾害Ⅰ级应急响应")), must_not_carry=["重庆", "大型"])
add("switch", ["泥石流发生前沟水会出现哪些异常？", "《国家突发事件总体应急预案》（2025年）把自然灾害、事故灾难、公共卫生事件分为几级？"],
    fact([["特别重大"], ["较大"], ["一般"]], S(GP, "分为特别重大、重大、较大、一般4级")),
    must_not_carry=["泥石流", "沟水"])

# ---- (d) follow-ups the documents cannot answer ----------------------------------------------------------
add("refusal", ["镇雄“1·22”滑坡造成多少人遇难？", "那遇难者的名单呢？"], REFUSAL)
add("refusal", ["地质灾害气象风险红色预警表示什么风险程度？", "明天万州会发吗？"], REFUSAL)
add("refusal", ["《地质灾害防治条例》是哪一年施行的？", "该条例的起草人是谁？"], REFUSAL)
add("refusal", ["水城“7·23”滑坡造成多少人遇难？", "它的直接经济损失是多少？"], REFUSAL)
add("refusal", ["舟曲“8·8”泥石流遇难多少人？", "那直接经济损失呢？"], REFUSAL)
add("refusal", ["按《山东省地质环境保护条例》，地质灾害危险区由谁划定？", "红色预警阈值是多少？"], REFUSAL)
add("refusal", ["《重庆市地质灾害防治条例》规定的险情分级标准是什么？", "该条例下一次修订会在哪一年？"], REFUSAL)
add("refusal", ["茂县“6·24”特大山体滑坡造成多少人遇难和失联？", "它的滑坡体当时的含水率是多少？"], REFUSAL)

# every fact must be in one of the cited chunks
for r in rows:
    last = r["last"]
    texts = [t for s in last.get("sources", []) for loc, t in chunks(s["source"]) if loc == s["locator"]]
    for alts in last.get("facts", []):
        assert any(a in t for a in alts for t in texts), (r["id"], alts)
out = WT / "eval/questions/dialogues.jsonl"
out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
from collections import Counter
print(len(rows), Counter(r["category"] for r in rows))
