"""The worked-solutions site, opened from disk in a real headless Chromium (Debian's package).

The site is built once per run (shared by the xdist workers) into a temporary folder; Chromium is
driven over the DevTools protocol on 127.0.0.1 with ``websocket-client``. Screenshots of the index
and of notebook 05's gradient maps go to ``build/test-artifacts/``.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import asdict
from pathlib import Path

import nbformat
import pytest

from autograder import course_root
from autograder.author import site, submissions

REPO = course_root.REPO_ROOT
ARTIFACTS = REPO / "build" / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
HIDDEN = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS", "### BEGIN SOLUTION",
           "### END SOLUTION", "### BEGIN MARK SCHEME", "### END MARK SCHEME")


# ---------------------------------------------------------------- the site, built once per run

@pytest.fixture(scope="module")
def built(tmp_path_factory, worker_id) -> tuple[Path, list[site.Page]]:
    """The site's folder and pages; under xdist the first worker builds, the others wait."""
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent
    out, manifest = shared / "solutions-site", shared / "solutions-site.json"
    with open(shared / "solutions-site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest.exists():
            pages = site.build(REPO, out, progress=False)
            manifest.write_text(json.dumps([asdict(p) | {"source": str(p.source)}
                                            for p in pages]))
    pages = [site.Page(**(p | {"source": Path(p["source"])}))
             for p in json.loads(manifest.read_text())]
    return out, pages


# ---------------------------------------------------------------- without a browser

@pytest.mark.parametrize("assignment", course_root.assignments(REPO))
def test_pages_keep_solutions_and_lose_hidden_tests_and_markers(assignment):
    for path in course_root.notebooks(REPO, assignment):
        page = next(p for p in site.collect(REPO) if p.source == path)
        assert page.title and page.summary, f"{path.name}: no heading or first paragraph"
        nb = site.solution_notebook(page, REPO)
        text = "\n".join(cell.source for cell in nb.cells)
        assert not [m for m in MARKERS if m in text]
        assert not [line for line in hidden_test_lines(path) if line in text]
        for code in submissions.solution_cells(nbformat.read(path, as_version=4)).values():
            assert code.strip() in text


def test_a_failing_notebook_is_named_with_its_cell(tmp_path):
    shutil.copy(REPO / course_root.CONFIG_FILE, tmp_path)
    (tmp_path / "source" / "01_broken").mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 · Broken\n\nText."),
                                         nbformat.v4.new_code_cell("ratio = 1 / 0")])
    nbformat.write(nb, tmp_path / "source" / "01_broken" / "01_broken.ipynb")
    with pytest.raises(site.NotebookFailed, match=r"01_broken.ipynb, cell 2 \(ratio = 1 / 0\): "
                                                  r"ZeroDivisionError"):
        site.build(tmp_path, tmp_path / "site", progress=False)
    assert not (tmp_path / "site").exists()


# ---------------------------------------------------------------- a small DevTools client

class Chromium:
    """Headless Chromium on a fresh profile, one page target, commands over a websocket."""

    FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--hide-scrollbars", "--window-size=1280,900",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0")

    def __init__(self, binary: str, profile: Path):
        import websocket

        log = profile / "chromium.log"
        with open(log, "wb") as stderr:
            self.process = subprocess.Popen(
                [binary, *self.FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdout=subprocess.DEVNULL, stderr=stderr)
        port_file, deadline = profile / "DevToolsActivePort", time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"{binary} did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            target = next(t for t in json.load(r) if t["type"] == "page")
        self.ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=60,
                                              suppress_origin=True)
        self.next_id, self.events = 0, []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        # A page that asks for the network is reported below; the request itself never leaves.
        self.send("Network.setBlockedURLs", urls=["http://*", "https://*", "ws://*", "wss://*"])

    def send(self, method: str, **params) -> dict:
        """Run one DevTools command; keep the events that arrive meanwhile."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        """Read events until ``method`` arrives."""
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.ws.recv()))

    def open(self, url: str) -> None:
        """Load ``url`` and wait until it and its images are loaded."""
        self.events = []
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        self.js("Promise.all(Array.from(document.images, i => i.decode().catch(() => null)))")

    def js(self, expression: str):
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions, failed loads and requests beyond the disk."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                found.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                    for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                found.append(f"exception: {details.get('exception', details).get('description')}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
            elif method == "Network.loadingFailed":
                reason = params.get("errorText") or params.get("blockedReason", "")
                found.append(f"failed load: {reason}")
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if not url.startswith(("file:", "data:", "about:", "blob:")):
                    found.append(f"network request: {url}")
        return found

    def screenshot(self, path: Path, clip: dict | None = None) -> None:
        """A PNG of the page: the whole of it, or the ``clip`` rectangle (CSS pixels)."""
        if clip is None:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": 1280, "height": min(size["height"], 6000)}
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip=clip | {"scale": 1})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        if getattr(self, "ws", None) is not None:
            self.ws.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's Chromium; missing, it skips the module, or fails it under CI (which installs it)."""
    binary = shutil.which(CHROMIUM) or shutil.which("chromium")
    if binary is None:
        reason = f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    chromium = Chromium(binary, tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


# ---------------------------------------------------------------- what the pages must show

def hidden_test_lines(source: Path) -> set[str]:
    """Lines of the hidden-test regions that appear nowhere else in the source notebook."""
    hidden, visible = set(), []
    for cell in nbformat.read(source, as_version=4).cells:
        inside = False
        for line in cell.source.splitlines():
            if HIDDEN[0] in line or HIDDEN[1] in line:
                inside = HIDDEN[0] in line
            elif inside:
                hidden.add(line.strip())
            else:
                visible.append(line)
    text = "\n".join(visible)
    return {line for line in hidden if len(line) >= 10 and line not in text}


def test_every_page_loads_from_disk_without_errors_or_network(browser, built):
    out, pages = built
    assert pages, "no notebook in source/"
    for name in [site.INDEX] + [p.href for p in pages]:
        browser.open((out / name).as_uri())
        assert browser.problems() == [], name
        assert browser.js("document.title"), name


def test_every_plot_is_embedded_and_drawn(browser, built):
    out, pages = built
    for page in pages:
        browser.open((out / page.href).as_uri())
        images = browser.js("Array.from(document.images, i => ({src: i.src.slice(0, 30), "
                            "complete: i.complete, w: i.naturalWidth, h: i.naturalHeight}))")
        assert len(images) >= page.images, f"{page.href}: {len(images)} <img>, {page.images} plots"
        for image in images:
            assert image["src"].startswith("data:image/"), f"{page.href}: {image}"
            assert image["complete"] and image["w"] > 0 and image["h"] > 0, f"{page.href}: {image}"


def test_no_hidden_test_text_on_any_page(browser, built):
    out, pages = built
    for page in pages:
        forbidden = hidden_test_lines(page.source) | set(MARKERS)
        browser.open((out / page.href).as_uri())
        text, markup = browser.js("document.body.innerText"), (out / page.href).read_text()
        leaked = sorted(line for line in forbidden if line in text or line in markup)
        assert not leaked, f"{page.href} shows hidden test text: {leaked}"


def test_index_links_every_notebook_in_order(browser, built):
    out, pages = built
    browser.open((out / site.INDEX).as_uri())
    browser.screenshot(ARTIFACTS / "solutions-index.png")
    links = browser.js("Array.from(document.querySelectorAll('.celltag_learning-path li'), "
                       "li => li.querySelector('a').getAttribute('href'))")
    assert links == [p.href for p in pages]
    text = browser.js("document.body.innerText")
    assert all(page.title in text for page in pages)


def test_pages_link_previous_index_and_next(browser, built):
    out, pages = built
    for i, page in enumerate(pages):
        browser.open((out / page.href).as_uri())
        rel = browser.js("Object.fromEntries(['prev', 'index', 'next'].map(r => [r, Array.from("
                         "document.querySelectorAll(`nav a[rel=${r}]`), a => a.getAttribute("
                         "'href'))]))")
        assert rel["index"] == [site.INDEX] * 2, page.href
        assert rel["prev"] == ([pages[i - 1].href] * 2 if i > 0 else []), page.href
        assert rel["next"] == ([pages[i + 1].href] * 2 if i + 1 < len(pages) else []), page.href
        hrefs = browser.js("Array.from(document.querySelectorAll('a[href]'), a => a.href)")
        for href in hrefs:
            if href.startswith("file:"):
                target = Path(urllib.request.url2pathname(urllib.parse.urlsplit(href).path))
                assert target.is_file(), f"{page.href} links to a missing {href}"


# The output area of the first figure under the first heading that matches PATTERN (else under the
# first later text cell that does, else the first figure of the page), as a screenshot clip.
FIGURE_CLIP_JS = """(() => {
    const pattern = PATTERN, cells = Array.from(document.querySelectorAll('.jp-Cell'));
    const heading = cells.findIndex(c => Array.from(c.querySelectorAll('h1, h2, h3, h4'))
        .some(h => pattern.test(h.textContent)));
    const text = cells.findIndex((c, i) => i > 0 && c.classList.contains('jp-MarkdownCell')
        && pattern.test(c.innerText));
    const start = heading >= 0 ? heading : Math.max(text, 0);
    const image = cells.slice(start).map(c => c.querySelector('img')).find(i => i)
        || document.images[0];
    if (!image) return null;
    const r = (image.closest('.jp-OutputArea') || image).getBoundingClientRect();
    return {x: 0, y: r.top + window.scrollY - 8, width: 1280,
            height: Math.min(r.height + 16, 3000)};
})()"""


def test_screenshot_of_notebook_05_gradient_maps(browser, built):
    out, pages = built
    page = next((p for p in pages if p.assignment.startswith("05")), None)
    if page is None:
        pytest.skip("no source/05* notebook yet: the gradient-map screenshot needs notebook 05")
    browser.open((out / page.href).as_uri())
    clip = browser.js(FIGURE_CLIP_JS.replace("PATTERN", "/gradient map/i"))
    assert clip is not None, f"{page.href} has no figure"
    shot = ARTIFACTS / "solutions-05-gradient-maps.png"
    browser.screenshot(shot, clip)
    assert shot.stat().st_size > 0


# What the formulas of a page look like once rendered: MathML holding a literal "&" (an alignment
# mark read as a letter), text cells still showing "$$" or a TeX command, formulas left as TeX,
# display formulas too wide for the page (at the browser's 1280 pixels).
FORMULA_PROBLEMS_JS = r"""(() => ({
    ampersand: Array.from(document.querySelectorAll('math'), m => m.textContent)
        .filter(t => t.includes('&')).map(t => t.slice(0, 80)),
    unrendered: Array.from(document.querySelectorAll('.jp-MarkdownCell'), c => c.innerText)
        .flatMap(t => t.match(/\$\$|\\(begin|end|frac|sum|text|mathrm|operatorname)\b.{0,40}/g)
                 || []),
    left_as_tex: Array.from(document.querySelectorAll('code.tex'),
                            c => c.textContent.slice(0, 80)),
    wider_than_the_page: Array.from(document.querySelectorAll('math[display=block]'))
        .filter(m => m.scrollWidth > m.closest('.jp-RenderedMarkdown').clientWidth + 1)
        .map(m => m.textContent.slice(0, 80)),
}))()"""


def test_every_formula_is_rendered_and_05s_four_lines_are_aligned(browser, built):
    out, pages = built
    for page in pages:
        browser.open((out / page.href).as_uri())
        problems = {k: v for k, v in browser.js(FORMULA_PROBLEMS_JS).items() if v}
        assert not problems, f"{page.href}: {problems}"
    page = next((p for p in pages if p.assignment.startswith("05")), None)
    if page is None:
        pytest.skip("no source/05* notebook yet: the four lines are notebook 05's")
    browser.open((out / page.href).as_uri())
    table = browser.js("(() => { const t = document.querySelector('math[display=block] mtable');"
                       " if (!t) return null; const r = t.getBoundingClientRect();"
                       " return {rows: t.querySelectorAll('mtr').length, columns: t.querySelector("
                       "'mtr').children.length, clip: {x: 0, y: r.top + window.scrollY - 8, "
                       "width: 1280, height: r.height + 16}}; })()")
    assert table is not None, f"{page.href}: the four lines are not a table of aligned rows"
    assert (table["rows"], table["columns"]) == (4, 4), table
    equals = browser.js("Array.from(document.querySelector('math[display=block] mtable')"
                        ".querySelectorAll('mtr'), r => r.children[1].querySelector('mo')"
                        ".getBoundingClientRect().left)")
    assert max(equals) - min(equals) < 1, f"the = signs of the four lines are not aligned: {equals}"
    browser.screenshot(ARTIFACTS / "solutions-05-four-lines.png", table["clip"])
