"""A real browser opens the built site, offline, the way a reader would.

Headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by Selenium) opens every
page from a local web server, with every host name but the server's made unresolvable, so a
file the site tries to fetch from a CDN fails as it would offline and shows as a console error.

The site is the one ``make test`` built with ``book site --check`` (``DOLLY_SITE_HTML``), or a
fresh build when this file runs alone. A screenshot of chapter 5 is saved as
``_build/artifacts/05_comparing-sizes.png`` (or under ``$DOLLY_ARTIFACTS``).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
import warnings
from pathlib import Path

import pytest

from dolly_helpers.book import paths

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="the browser test needs Chromium and its driver: apt-get install chromium chromium-driver",
)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

#: Seconds a page may take to load, typeset its math and render its widgets.
PAGE_TIMEOUT = 20
#: Chrome asks every server for /favicon.ico; the site names no icon, so that probe is not its error.
BROWSER_PROBES = ("/favicon.ico ",)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built HTML folder: ``$DOLLY_SITE_HTML`` if set, else a fresh build in a scratch folder."""
    given = os.environ.get("DOLLY_SITE_HTML")
    if given:
        html = Path(given)
        assert (html / "index.html").is_file(), f"DOLLY_SITE_HTML={given} holds no built site"
        return html
    from dolly_helpers.book.site import build_site

    return build_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def server(site):
    """The site served on a free port of 127.0.0.1; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--window-size=1280,1000", "--disable-dev-shm-usage",
                     "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-extensions", "--disable-sync", "--no-first-run", "--lang=en-US"):
        options.add_argument(argument)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(PAGE_TIMEOUT)
    driver.set_script_timeout(PAGE_TIMEOUT)
    yield driver
    driver.quit()


def open_page(browser, url: str) -> list[str]:
    """Open ``url`` and wait until its math, widgets and images are done; return its console errors."""
    browser.get(url)
    wait = WebDriverWait(browser, PAGE_TIMEOUT)
    wait.until(lambda driver: driver.execute_script("return document.readyState") == "complete",
               message=f"{url} did not finish loading")
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.MathJax && MathJax.startup ? MathJax.startup.promise.then(() => done(), () => done()) : done();")
    if browser.find_elements(By.CSS_SELECTOR, 'script[type="application/vnd.jupyter.widget-state+json"]'):
        wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, ".widget-subarea .jupyter-widgets"),
                   message=f"the saved widgets of {url} did not render")
    browser.execute_script("document.querySelectorAll('img').forEach(img => { img.loading = 'eager'; });")
    wait.until(lambda driver: driver.execute_script("return Array.from(document.images).every(img => img.complete)"),
               message=f"the images of {url} did not finish loading")
    return [entry["message"] for entry in browser.get_log("browser")
            if entry["level"] == "SEVERE" and not any(probe in entry["message"] for probe in BROWSER_PROBES)]


def test_every_page_opens_without_errors_and_with_all_its_images(site, server, browser):
    pages = sorted(page.relative_to(site).as_posix() for page in site.rglob("*.html")
                   if page.relative_to(site).parts[0] != "_static")  # the theme's template macros
    assert len(pages) > 10
    problems = []
    for page in pages:
        problems += [f"{page}: {message}" for message in open_page(browser, server + page)]
        broken = browser.execute_script(
            "return Array.from(document.images).filter(img => img.naturalWidth === 0)"
            ".map(img => img.getAttribute('src'))")
        problems += [f"{page}: image did not load: {src}" for src in broken]
    assert not problems, "\n".join(problems)


def test_chapter_5_shows_its_comparison_table(server, browser):
    assert open_page(browser, server + "notebooks/05_comparing-sizes.html") == []
    tables = [table for table in browser.find_elements(By.TAG_NAME, "table") if "tiny-dolly-large" in table.text]
    assert tables and tables[0].is_displayed()
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", tables[0])
    artifacts = Path(os.environ.get("DOLLY_ARTIFACTS", paths.ROOT / "_build" / "artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    screenshot = artifacts / "05_comparing-sizes.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000


def test_chapter_9_renders_its_widgets_with_their_saved_state(server, browser):
    assert open_page(browser, server + "notebooks/09_playground.html") == []
    assert browser.find_elements(By.CSS_SELECTOR, ".jupyter-widgets.widget-textarea")
    values = [area.get_property("value") for area in browser.find_elements(By.CSS_SELECTOR, ".widget-textarea textarea")]
    assert "Name three mountains in Asia." in values  # the state the chapter left the controls in
    assert browser.find_elements(By.CSS_SELECTOR, ".widget-button button, button.jupyter-button")
    answers = [table for table in browser.find_elements(By.CSS_SELECTOR, ".widget-html table") if "tiny-dolly-large" in table.text]
    assert answers and "Three mountains in Asia are" in answers[0].text


def test_math_is_typeset_from_the_site_itself(server, browser):
    assert open_page(browser, server + "notebooks/01_what-is-an-llm.html") == []
    assert browser.find_elements(By.TAG_NAME, "mjx-container")
    scripts = [script.get_attribute("src") for script in browser.find_elements(By.CSS_SELECTOR, "script[src*=mathjax]")]
    assert scripts and all(src.startswith(server) for src in scripts)


def test_search_finds_the_pile(server, browser):
    assert open_page(browser, server + "search.html?q=Pile") == []
    hits = WebDriverWait(browser, PAGE_TIMEOUT).until(
        lambda driver: driver.find_elements(By.CSS_SELECTOR, "#search-results ul.search li a"))
    assert any("02_the-pile.html" in (hit.get_attribute("href") or "") for hit in hits), [hit.text for hit in hits]


# --- The browser playground (book/browser-playground.md) ----------------------------------------

PLAYGROUND_PAGE = "book/browser-playground.html"
#: Seconds one answer of the page may take (a timeout, not a speed target).
ANSWER_TIMEOUT = 60


def _set(browser, fields: dict[str, str]) -> None:
    for element_id, value in fields.items():
        browser.execute_script("document.getElementById(arguments[0]).value = arguments[1];", element_id, value)


def _ask(browser, instruction: str, context: str | None = None, **fields: str) -> dict:
    """Fill the form, press Ask, wait for the answer; return its state, text, message and stats."""
    _set(browser, {"instruction": instruction, "context": context or "", "max-new-tokens": "64",
                   "decoding": "greedy", "temperature": "1.0", "top-p": "0.92", "top-k": "0", "seed": "", **fields})
    browser.execute_script("document.getElementById('answer').dataset.state = 'asked';")
    browser.find_element(By.ID, "ask").click()
    WebDriverWait(browser, ANSWER_TIMEOUT).until(
        lambda driver: driver.find_element(By.ID, "answer").get_attribute("data-state") in ("done", "error"),
        message=f"the page did not answer {instruction!r:.60}")
    answer = browser.find_element(By.ID, "answer")
    return {"state": answer.get_attribute("data-state"), "text": answer.get_property("textContent"),
            "stop": answer.get_attribute("data-stop"), "new_tokens": answer.get_attribute("data-new-tokens"),
            "seconds": answer.get_attribute("data-seconds"),
            "message": browser.find_element(By.ID, "message").get_property("textContent")}


@pytest.fixture(scope="module")
def playground(server, browser) -> dict:
    """The playground page opened and its default model loaded; the seconds that took and the first answer's."""
    browser.get(server + PLAYGROUND_PAGE)
    WebDriverWait(browser, PAGE_TIMEOUT).until(
        lambda driver: driver.find_element(By.ID, "answer").get_attribute("data-state") in ("ready", "error"),
        message="the playground did not load its model")
    assert browser.find_element(By.ID, "answer").get_attribute("data-state") == "ready", \
        browser.find_element(By.ID, "message").text
    # The page opens with "What is the highest mountain in Japan?" in the form: the reader's first question.
    browser.find_element(By.ID, "ask").click()
    WebDriverWait(browser, ANSWER_TIMEOUT).until(
        lambda driver: driver.find_element(By.ID, "answer").get_attribute("data-state") == "done")
    first_answer = browser.execute_script("return performance.now() / 1000")
    return {"first_answer_s": first_answer, "answer": browser.find_element(By.ID, "answer").get_property("textContent"),
            "model": browser.find_element(By.ID, "model").get_property("value")}


@pytest.fixture(scope="module")
def default_model():
    from dolly_helpers import DEFAULT_MODEL, load_model

    return load_model(DEFAULT_MODEL)


def test_the_playground_answers_the_book_questions_as_python_does(playground, browser, default_model):
    from dolly_helpers import generate
    from dolly_helpers.questions import COMPARISON_QUESTIONS

    expected = generate(default_model, [q.instruction for q in COMPARISON_QUESTIONS],
                        context=[q.context for q in COMPARISON_QUESTIONS], max_new_tokens=64)
    assert playground["answer"] == generate(default_model, "What is the highest mountain in Japan?").response
    page = [_ask(browser, q.instruction, q.context) for q in COMPARISON_QUESTIONS]
    assert len(page) == 18
    assert [p["state"] for p in page] == ["done"] * 18
    assert [p["text"] for p in page] == [r.response for r in expected]
    assert [(p["stop"], int(p["new_tokens"])) for p in page] == [(r.stop_reason, r.new_tokens) for r in expected]
    # Recorded for the book's maintainers (not a test of speed): load to first answer, and decoding speed.
    tokens = sum(int(p["new_tokens"]) for p in page)
    seconds = sum(float(p["seconds"]) for p in page)
    artifacts = Path(os.environ.get("DOLLY_ARTIFACTS", paths.ROOT / "_build" / "artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "browser-playground.json").write_text(json.dumps({
        "page_load_to_first_answer_s": round(playground["first_answer_s"], 2),
        "tokens_per_second": round(tokens / seconds, 1), "identical_answers": f"18 of {len(page)}"}, indent=1) + "\n")


def test_the_playground_gives_pythons_one_line_messages(playground, browser, default_model):
    from dolly_helpers import generate
    from dolly_helpers.decoding import DecodingSettings
    from dolly_helpers.request import prepare_request
    from dolly_helpers.questions import VELTORIA
    from dolly_helpers.validation import check_instruction

    def message_of(call) -> str:
        with pytest.raises((ValueError, TypeError)) as raised:
            call()
        return str(raised.value)

    empty = _ask(browser, "   ")
    assert (empty["state"], empty["text"]) == ("error", message_of(lambda: check_instruction("   ")))
    top_p = _ask(browser, "Name a river.", decoding="sample", **{"top-p": "1.5"})
    assert (top_p["state"], top_p["text"]) == ("error", message_of(lambda: DecodingSettings(do_sample=True, top_p=1.5)))
    too_many = _ask(browser, "Name a river.", **{"max-new-tokens": "240"})
    assert too_many["text"] == message_of(lambda: prepare_request(default_model, "Name a river.", None, 240))
    # A passage too long for the window is cut, with Python's warning, and answered.
    question, passage = "According to the passage, what is the highest mountain in Veltoria?", " ".join([VELTORIA] * 20)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = generate(default_model, question, context=passage)
    cut = _ask(browser, question, passage)
    assert (cut["state"], cut["message"]) == ("done", str(caught[-1].message))
    assert cut["text"] == expected.response


def test_the_playground_logs_no_error_and_loads_only_from_the_site(playground, server, browser):
    errors = [entry["message"] for entry in browser.get_log("browser")
              if entry["level"] == "SEVERE" and not any(probe in entry["message"] for probe in BROWSER_PROBES)]
    assert errors == []
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(entry => entry.name)")
    assert any(url.endswith("model.onnx") for url in loaded) and any(url.endswith(".wasm") for url in loaded)
    assert [url for url in loaded if not url.startswith(server)] == []


def test_the_playground_samples_repeatably_and_runs_a_base_model(playground, browser):
    from dolly_helpers import generate, load_model

    sampled = [_ask(browser, "Name three mountains in Asia.", decoding="sample", seed="7", temperature="0.8")
               for _ in range(2)]
    assert [s["state"] for s in sampled] == ["done", "done"] and sampled[0]["text"] == sampled[1]["text"]
    base = load_model("tiny-pythia-small")
    try:
        page = _ask(browser, "What is the highest mountain in Japan?", model="tiny-pythia-small")
    finally:
        _set(browser, {"model": playground["model"]})
    expected = generate(base, "What is the highest mountain in Japan?")
    assert (page["state"], page["text"], page["stop"]) == ("done", expected.response, expected.stop_reason)
