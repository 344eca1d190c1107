"""Formulas as MathML: nbconvert's markdown rendering without MathJax, so a page renders its
formulas without the network (the solutions site and the feedback pages)."""

from __future__ import annotations

import html
import logging
import re

from jinja2 import pass_context
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

log = logging.getLogger(__name__)


def _portable_tex(tex: str) -> str:
    """The few MathJax idioms latex2mathml reads differently, in forms it renders right."""
    tex = re.sub(r"\\tag\{(.*?)\}", lambda m: r"\qquad (" + m[1].replace("$", "") + ")", tex)
    tex = tex.replace(r"\operatorname{", r"\mathrm{")
    # latex2mathml has no aligned environment; align* gives the same table of columns
    tex = re.sub(r"\\(begin|end)\{aligned\}", r"\\\1{align*}", tex)
    return re.sub(r"\\text\{([^{}]*)\}",
                  lambda m: r"\text{" + re.sub(r"\\([_%&#$])", r"\1", m[1]) + "}", tex)


# Chromium's MathML ignores columnalign (Firefox obeys it): the same alignment as CSS, where
# Chromium reads it (a plain "right" it ignores too, "-webkit-right" it follows).
CELL_ALIGN = {"left": "left", "right": "-webkit-right"}


def _aligned_cells(mathml: str) -> str:
    """Each ``<mtd columnalign=...>`` also aligned by an inline style, for Chromium."""
    return re.sub(r'<mtd columnalign="(left|right)"',
                  lambda m: f'{m[0]} style="text-align: {CELL_ALIGN[m[1]]}"', mathml)


def _mathml(tex: str, display: str) -> str:
    """LaTeX as MathML, which browsers render without a script; the TeX itself if it fails."""
    try:
        return _aligned_cells(latex_to_mathml(_portable_tex(tex), display=display))
    except Exception as error:  # any parser failure: show the source instead
        log.warning("formula left as TeX (%s): %s", error, tex)
        return f'<code class="tex">{html.escape(tex)}</code>'


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with formulas as MathML instead of MathJax input."""

    def block_math(self, body: str) -> str:
        return _mathml(body, "block")

    def inline_math(self, body: str) -> str:
        return _mathml(body, "inline")

    def latex_environment(self, name: str, body: str) -> str:
        return _mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")


@pass_context
def markdown2html(self: HTMLExporter, context, source: str) -> str:
    """An exporter's ``markdown2html`` filter, formulas as MathML (assign it in the class)."""
    cell = context.get("cell", {})
    renderer = MathMLRenderer(
        escape=False,
        attachments=cell.get("attachments", {}),
        embed_images=self.embed_images,
        path=context.get("resources", {}).get("metadata", {}).get("path", ""),
        anchor_link_text=self.anchor_link_text,
        exclude_anchor_links=self.exclude_anchor_links,
        **self.lexer_options,
    )
    return MarkdownWithMath(renderer=renderer).render(source)
