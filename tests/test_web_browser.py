"""The web UI in a real browser: Debian's Chromium driven by Playwright, against `geohazard serve` running as a
separate process on the real 0.5B model, real Chroma, e5 and BM25.

Every request the browser makes is recorded; the module ends by asserting none left the app's own host.
Screenshots of each tab are written to docs/screenshots/ (the README shows them).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.config import load_settings
from app.provision import is_installed
from support.webserver import ingest_fixture_corpus, running_server, server_env

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not is_installed(load_settings().models_dir, "qwen0.5b"):
        pytest.fail("the 0.5B test model is not installed: run `geohazard model install --model qwen0.5b`")
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing: run scripts/setup-browser.sh")
    # a home outside /tmp and outside the working directory, as ~/.local/share is on a real install: Gradio
    # serves neither, so downloads and restored conversations must go through its own temp dir (issue 19)
    home = Path(tempfile.mkdtemp(prefix="geohazard-web-", dir="/var/tmp")) / "home"
    home.mkdir()
    assert not str(home).startswith(tempfile.gettempdir()) and not str(home).startswith(str(Path.cwd()))
    env = server_env(home)
    kb = ingest_fixture_corpus(home, env)
    try:
        with running_server(home, kb, env) as (url, proc):
            yield {"url": url, "home": home, "proc": proc}
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def browser_context(server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--disable-gpu"],
            viewport={"width": 1400, "height": 1000}, accept_downloads=True, locale="zh-CN",
        )
        browser.on("request", lambda request: requests.append(request.url))
        yield browser, requests
        browser.close()
    own = urlsplit(server["url"]).netloc
    foreign = sorted({u for u in requests if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != own})
    print(f"browser requests: {len(requests)}, to other hosts: {len(foreign)}")
    assert requests, "no requests recorded"
    assert not foreign, f"the page reached other hosts: {foreign[:10]}"


@pytest.fixture(scope="module")
def page(browser_context, server):
    browser, _ = browser_context
    page = browser.pages[0] if browser.pages else browser.new_page()
    page.set_default_timeout(240_000)
    page.goto(server["url"])
    page.locator("#question textarea").wait_for()
    return page


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_chat_streams_a_cited_answer_and_opens_the_source(page):
    open_tab(page, "对话")
    page.locator("#question textarea").fill("示例省规定群测群防员发现异常情况后应当在多长时间内报告？")
    page.locator("#send").click()
    seen: list[str] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        bubbles = page.locator("#chat .message-row.bot-row, #chat .bot").all_inner_texts()
        if bubbles and (not seen or bubbles[-1] != seen[-1]):
            seen.append(bubbles[-1])
        if page.locator("#sources .gh-sources-title", has_text="引用的资料").count():
            break
        time.sleep(0.1)
    answer = page.locator("#chat").inner_text()
    print(f"distinct bubble states while streaming: {len(seen)}")
    assert len(seen) >= 3, seen  # status, tokens arriving, final answer
    assert "30分钟" in answer
    assert "[1]" in answer or "[2]" in answer or "[3]" in answer
    source = page.locator("#sources details.gh-source").first
    source.locator("summary").click()
    passage = source.locator(".gh-passage").first
    assert passage.is_visible()
    assert "第四条" in source.inner_text()
    assert source.locator("mark").count() >= 1, "cited words are not highlighted"
    shot(page, "chat")


def test_conversation_survives_a_page_refresh(page):
    page.reload()
    page.locator("#question textarea").wait_for()
    page.wait_for_function("document.querySelector('#chat') && document.querySelector('#chat').innerText"
                           ".includes('30分钟')")
    assert "群测群防员" in page.locator("#chat").inner_text()


def test_restored_conversation_exports_markdown(page, tmp_path):
    """The conversation restored after the reload (home outside /tmp) is offered as a Markdown download."""
    open_tab(page, "对话")
    page.wait_for_function("document.querySelector('#chat').innerText.includes('30分钟')")
    with page.expect_download() as info:
        page.locator("#export").click()
    path = tmp_path / "conversation.md"
    info.value.save_as(path)
    text = path.read_text(encoding="utf-8")
    assert info.value.suggested_filename.startswith("对话-") and "群测群防员" in text and "30分钟" in text


def test_assessment_form_shows_the_grade_card(page):
    open_tab(page, "险情研判")
    page.locator("#f-place textarea").fill("示例省示例县青山镇石门村三组")
    page.locator("#f-people input").fill("180")
    page.locator("#f-households input").fill("45")
    page.locator("#f-potential input").fill("3000")
    page.locator("#f-volume textarea").fill("50万立方米")
    page.get_by_text("影响范围估算（可选").click()
    page.locator("#f-height input").fill("300")
    page.locator("#f-slope-height input").fill("120")
    page.locator("#f-slope-angle input").fill("35")
    page.locator("#f-distance input").fill("800")
    page.locator("#assess-run").click()
    card = page.locator("#grade-card .gh-card")
    card.wait_for()
    first = card.inner_text()  # the code's grade, shown while the model still writes its advice
    assert "中型" in first and "Ⅲ级" in first and "正在依据资料生成" in first, first
    page.wait_for_function("!document.querySelector('#grade-card').innerText.includes('正在依据资料生成')",
                           timeout=240_000)
    text = card.inner_text()
    assert "险情" in text and "中型" in text, text
    assert "Ⅲ级" in text and "应急响应" in text
    assert "依据" in text
    # the runout estimate (code, Corominas 1996) with its profile figure; the village 800 m below the toe
    assert "影响范围估算" in text and "保守距离" in text and "Corominas" in text, text
    assert "在预计影响距离之内" in text, text
    figure = page.locator("#reach-figure svg")
    assert figure.count() == 1 and "坡脚" in figure.inner_html()
    shot(page, "assess")


def test_duty_brief_exports_a_docx_with_its_fields(page, tmp_path):
    from docx import Document

    open_tab(page, "值班报告")
    page.get_by_role("button", name="用最近的研判结果填入").click()
    page.wait_for_function("document.querySelector('#b-place textarea').value.includes('石门村')")
    page.locator("#b-time textarea").fill("2026年11月25日8时30分")
    page.locator("#b-reporter textarea").fill("示例县自然资源局 值班员张三 0000-1234567")
    page.locator("#brief-check").click()
    status = page.locator("#brief-status")
    page.wait_for_function("document.querySelector('#brief-status').innerText.includes('尚缺')")
    assert "已采取的措施" in status.inner_text()  # the officer has not stated it yet
    page.locator("#brief-save").click()
    link = page.locator("#brief-files a[download$='.docx']").first
    link.wait_for()
    with page.expect_download() as info:
        link.click()
    path = tmp_path / "brief.docx"
    info.value.save_as(path)
    doc = Document(str(path))
    assert doc.paragraphs[0].text == "地质灾害速报"
    table = {row.cells[0].text: row.cells[1].text for row in doc.tables[0].rows}
    assert "石门村" in table["发生地点"]
    assert table["灾害类型"] == "滑坡"
    assert "180人" in table["人员伤亡和受威胁情况"]
    assert table["报告单位和联系人"].startswith("示例县自然资源局")
    assert table["已采取的措施"] == "【待补充】"
    assert any("缺少" in p.text and "已采取的措施" in p.text for p in doc.paragraphs)
    assert "保守距离" in table["影响范围估算"] and "Corominas" in table["影响范围估算"]
    assert len(doc.inline_shapes) == 1  # the runout profile
    shot(page, "brief")


HOSTILE = """# 示例县危岩巡查记录

一、巡查情况

黑石沟右岸危岩体WY-07巡查发现新的掉块。<img src=x onerror="window.__pwned=1">
<script>window.__pwned=2</script>
[点击查看详情](javascript:window.__pwned=3)

二、处置

**警戒范围**为坡脚以外50米，设专人值守。
"""


def test_uploaded_pdf_is_listed(page, tmp_path):
    from eval.pdfgen import make_pdf

    pdf = make_pdf(tmp_path / "示例市崩塌应急处置办法.pdf",
                   [["第一条 为做好崩塌灾害应急处置，制定本办法。", "第二条 发现危岩掉块时，立即设置警戒区。"],
                    ["第三条 崩塌险情解除前，不得撤除警戒。"]])
    hostile = tmp_path / "示例县危岩巡查记录.md"
    hostile.write_text(HOSTILE, encoding="utf-8")
    open_tab(page, "知识库")
    page.locator("#upload input[type=file]").set_input_files([str(pdf), str(hostile)])
    page.locator("#ingest").click()
    page.locator("#ingest-results", has_text="已导入").wait_for()
    documents = page.locator("#documents")
    documents.filter(has_text="示例市崩塌应急处置办法").wait_for()
    assert "示例市崩塌应急处置办法" in documents.inner_text()
    assert "已可按关键词检索" in page.locator("#ingest-results").inner_text()  # vectors follow in the background
    # the table follows the background vectors (a timer while any are missing) until both documents are ready
    page.wait_for_function("""() => {
        const table = document.querySelector('#documents').innerText;
        return table.includes('示例县危岩巡查记录') && !table.includes('可关键词检索');
    }""", timeout=120_000)
    shot(page, "kb")


def test_document_markup_is_shown_not_run(page):
    """A document's <script>, onerror handler and javascript: link appear as text in the sources; none runs."""
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_tab(page, "对话")
    page.locator("#question textarea").fill("黑石沟右岸危岩体WY-07巡查发现了什么？")
    page.locator("#send").click()
    sources = page.locator("#sources")
    sources.locator(".gh-source", has_text="示例县危岩巡查记录").first.wait_for()
    page.wait_for_function("!document.querySelector('#sources').innerText.includes('正在生成')")
    entry = sources.locator(".gh-source", has_text="示例县危岩巡查记录").first
    entry.locator("summary").click()
    shown = entry.inner_text()
    assert "<script>window.__pwned=2</script>" in shown and "onerror" in shown  # shown as text
    assert page.evaluate("typeof window.__pwned") == "undefined" and not dialogs
    assert page.locator("#sources script, #chat script").count() == 0
    assert page.locator("#sources a[href^='javascript'], #chat a[href^='javascript']").count() == 0
    print("hostile document: markup shown as text, scripts run: 0")


def test_an_incident_reported_in_three_messages_is_regraded_in_the_chat(page):
    """Issue 14: the second report raises the grade and the assessment says what changed; the third adds deaths
    (a 灾情 grade) while keeping the figures already reported."""
    import json

    open_tab(page, "对话")
    page.get_by_role("button", name="新对话").click()
    page.wait_for_function("!document.querySelector('#chat').innerText.includes('黑石沟')")

    def send(message: str, expect: str) -> str:
        page.locator("#question textarea").fill(message)
        page.locator("#send").click()
        page.wait_for_function(f"document.querySelector('#chat').innerText.includes({json.dumps(expect)}) && "
                               "!document.querySelector('#chat').innerText.includes('正在依据资料生成处置建议')",
                               timeout=300_000)
        return page.locator("#chat").inner_text()

    first = send("示例县石门村后山发生滑坡，威胁32户约120人", "中型")
    assert "【情况变化】" not in first
    second = send("核实后受威胁人数增加到600人", "中型 → 大型")
    assert "【情况变化】" in second and "受威胁人数由120人增至600人" in second
    third = send("又发现3名遇难者", "死亡人数")
    assert "灾情" in third.split("核实后受威胁人数增加到600人")[-1]
    shot(page, "incident")
