"""The worked-solutions site: every source notebook executed with its solutions, as static HTML.

Each notebook of ``source/`` goes through nbgrader's ``ClearHiddenTests`` and ``ClearMarkScheme``,
loses its solution markers, runs in a fresh ``python3`` kernel (nbconvert's
``ExecutePreprocessor``) and is exported by nbconvert's ``HTMLExporter`` with the template in
``autograder/author/templates/solutions`` (the lab template plus a previous / index / next bar).
Plots are embedded as base64 images and formulas as MathML, so a page needs neither a server nor
the network. The index is a notebook too, exported the same way: the learning path.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import ExecutePreprocessor
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, NbGraderPreprocessor
from traitlets import Unicode

from autograder import cells, course_root, mathml
from autograder.author import submissions

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_OUT = Path("build") / "solutions"
INDEX = "index.html"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")


@dataclass
class Page:
    """One notebook of the site: where it comes from, where it goes, what the index says."""

    assignment: str
    source: Path
    href: str
    title: str
    summary: str
    exercises: list[str] = field(default_factory=list)
    images: int = 0  # image outputs on the page, counted after execution


class RemoveSolutionMarkers(NbGraderPreprocessor):
    """Drop the ``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines and keep the solution."""

    begin_solution_delimeter = Unicode("BEGIN SOLUTION").tag(config=True)
    end_solution_delimeter = Unicode("END SOLUTION").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        markers = (self.begin_solution_delimeter, self.end_solution_delimeter)
        lines = cell.source.split("\n")
        cell.source = "\n".join(line for line in lines if not any(m in line for m in markers))
        return cell, resources


class SolutionsExporter(HTMLExporter):
    """HTMLExporter with the site's template and MathML formulas."""

    def __init__(self, **kw):
        kw.setdefault("extra_template_basedirs", [str(TEMPLATES)])
        kw.setdefault("template_name", "solutions")
        kw.setdefault("embed_images", True)
        super().__init__(**kw)

    markdown2html = mathml.markdown2html


NOT_PROSE = re.compile(r"#|\||<|!\[|>|```|\$\$|[*+-] |\d+\. ")  # headings, tables, lists ...


def describe(nb: nbformat.NotebookNode) -> tuple[str, str]:
    """The notebook's first heading (as plain text) and the first paragraph of prose after it."""
    title = ""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for block in re.split(r"\n\s*\n", cell.source.strip()):
            lines = [line.strip() for line in block.strip().splitlines()]
            if not title and lines and lines[0].startswith("#"):
                title = re.sub(r"`|\*\*?", "", lines[0].lstrip("#")).strip()
                lines = lines[1:]
            if title and lines and not NOT_PROSE.match(lines[0]):
                # A last sentence that announces a list ("... run through the notebook:") goes.
                return title, re.sub(r"(?<=[.!?])\s+[^.!?]+:$", "", " ".join(lines))
    return title, ""


def collect(root: Path) -> list[Page]:
    """Every notebook of every assignment, in course order."""
    pages = []
    for assignment in course_root.assignments(root):
        for path in course_root.notebooks(root, assignment):
            nb = nbformat.read(path, as_version=4)
            title, summary = describe(nb)
            stem = path.stem if path.stem == assignment else f"{assignment}--{path.stem}"
            exercises = list(dict.fromkeys(  # the functions the student writes, in order
                name for code in submissions.solution_cells(nb).values()
                for name in sorted(cells.defined_names(code))))
            pages.append(Page(assignment, path, f"{stem}.html", title or path.stem, summary,
                              exercises))
    return pages


def solution_notebook(page: Page, root: Path) -> nbformat.NotebookNode:
    """The source notebook without hidden tests, mark schemes or solution markers."""
    nb = nbformat.read(page.source, as_version=4)
    config = course_root.load_config(root)
    resources: dict = {}
    for preprocessor in (ClearHiddenTests, ClearMarkScheme, RemoveSolutionMarkers):
        nb, resources = preprocessor(config=config).preprocess(nb, resources)
    nb.metadata["title"] = page.title
    return nb


class NotebookFailed(RuntimeError):
    """Source notebooks raised errors while their solutions ran."""


def failure(page: Page, nb: nbformat.NotebookNode, error: BaseException) -> str:
    """One line on where a notebook failed: the cell, its first line, the error."""
    for number, cell in enumerate(nb.cells, 1):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.output_type == "error":
                first = next((line for line in cell.source.splitlines() if line.strip()), "")
                return (f"{page.source.name}, cell {number} ({first.strip()[:60]}): "
                        f"{out.ename}: {out.evalue}")
    return f"{page.source.name}: {type(error).__name__}: {str(error).strip()[:300]}"


def execute(nb: nbformat.NotebookNode, folder: Path, timeout: int = 600) -> None:
    """Run every cell in a fresh python3 kernel whose working folder is ``folder``."""
    # The kernel's own log (a warning that it talks TCP on 127.0.0.1) is not the notebook's.
    ExecutePreprocessor(kernel_name="python3", timeout=timeout,
                        extra_arguments=["--IPKernelApp.log_level=ERROR"]).preprocess(
        nb, {"metadata": {"path": str(folder)}})


def count_images(nb: nbformat.NotebookNode) -> int:
    """How many image outputs the executed notebook holds."""
    return sum(1 for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
               if any(t in out.get("data", {}) for t in IMAGE_TYPES))


def nav(pages: list[Page], i: int) -> dict:
    """The previous / index / next links of page ``i``."""
    def link(j):
        return {"href": pages[j].href, "title": pages[j].title} if 0 <= j < len(pages) else None
    return {"prev": link(i - 1), "index": INDEX, "next": link(i + 1)}


def index_notebook(pages: list[Page]) -> nbformat.NotebookNode:
    """The index page, as a notebook: what the site is and the learning path."""
    intro = (
        "# Conv2D backprop: the worked solutions\n\n"
        "Every notebook of the course, run from top to bottom with its exercises solved: the "
        "text, the code, the printed checks and the plots. Read them in order; each one builds on "
        "the one before, from a single-channel forward pass to the backward pass of a "
        "multi-channel, strided, padded Conv2D layer, checked against PyTorch in float64.\n\n"
        "These pages are the instructor's versions without the hidden tests the grader runs. To "
        "try the exercises yourself first, open the student notebooks in `release/` with "
        "`make lab`."
    )
    entries = []
    for page in pages:
        you_write = ", ".join(f"`{name}`" for name in page.exercises)
        entry = f"1. **[{page.title}]({page.href})**: {page.summary}"
        entries.append(entry + (f" *You write* {you_write}." if you_write else ""))
    path = nbformat.v4.new_markdown_cell("## The learning path\n\n" + "\n".join(entries),
                                         metadata={"tags": ["learning-path"]})
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(intro), path],
        metadata={"title": "Conv2D backprop: worked solutions",
                  "language_info": {"name": "python"}})


def write_page(nb: nbformat.NotebookNode, target: Path, site_nav: dict | None,
               folder: Path) -> None:
    """Export one notebook with the site's template."""
    resources = {"site_nav": site_nav, "metadata": {"path": str(folder), "name": target.stem}}
    body, _ = SolutionsExporter().from_notebook_node(nb, resources=resources)
    target.write_text(body, encoding="utf-8")


def build(root: Path = course_root.REPO_ROOT, out: Path | None = None,
          progress: bool = True) -> list[Page]:
    """Execute every source notebook and write the site into ``out``; return its pages.

    Each notebook runs in a copy of its assignment folder: a file a notebook writes must not land
    in ``source/``, which nbgrader copies whole into ``release/``. Every notebook runs even when
    one fails; then ``NotebookFailed`` lists the failures and nothing is written.
    """
    from tqdm import tqdm

    out = Path(out) if out is not None else root / DEFAULT_OUT
    pages, done, failed = collect(root), [], []
    with tempfile.TemporaryDirectory(prefix="solutions-") as tmp:
        bar = tqdm(pages, desc="running notebooks", unit="notebook", disable=not progress)
        for page in bar:
            bar.set_postfix_str(page.source.name)
            folder = Path(tmp) / Path(page.href).stem
            shutil.copytree(page.source.parent, folder,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.ipynb"))
            nb = solution_notebook(page, root)
            try:
                execute(nb, folder)
            except Exception as error:  # reported with the others below
                failed.append(failure(page, nb, error))
            done.append((page, nb, folder))
        if failed:
            raise NotebookFailed("a source notebook failed with its own solutions:\n  "
                                 + "\n  ".join(failed))
        out.mkdir(parents=True, exist_ok=True)  # pages are overwritten, nothing else is removed
        for i, (page, nb, folder) in enumerate(done):
            page.images = count_images(nb)
            write_page(nb, out / page.href, nav(pages, i), folder)
    first = {"prev": None, "index": None, "next": nav(pages, -1)["next"]}
    write_page(index_notebook(pages), out / INDEX, first if pages else None, root)
    return pages
