"""The MedKG guide for Neo4j Browser (`:play <url>`, the Browser's HTML slide format): what is in the graph (the
newest build's counts), the sources and their licenses, and the example queries of browser/example-queries.cypher
as clickable (runnable) code blocks."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from kg.schema import get_schema
from kg.settings import REPO_ROOT

BROWSER_DIR = REPO_ROOT / "browser"
QUERIES_FILE = BROWSER_DIR / "example-queries.cypher"
GRASS_FILE = BROWSER_DIR / "medkg.grass"
NAME_LINE = re.compile(r"^//\s*name:\s*(?P<name>.*?)\s*$")


def example_queries(path: Path = QUERIES_FILE) -> list[dict[str, str]]:
    """[{name, description, cypher}] split at `// name:` lines; the query runs to its semicolon."""
    out: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = NAME_LINE.match(line)
        if m:
            out.append({"name": m.group("name"), "doc": [], "body": []})
        elif out and line.startswith("//") and not out[-1]["body"]:
            out[-1]["doc"].append(line.lstrip("/ ").strip())
        elif out and line.strip():
            out[-1]["body"].append(line)
    return [{"name": q["name"], "description": " ".join(q["doc"]),
             "cypher": "\n".join(q["body"]).strip().removesuffix(";").rstrip()} for q in out if q["body"]]


def _slide(title: str, lead: str, content: str) -> str:
    return (f'<slide class="row-fluid"><div class="col-sm-3"><h3>{html.escape(title)}</h3>'
            f'<p class="lead">{lead}</p></div><div class="col-sm-9">{content}</div></slide>')


def guide_html(build: dict[str, Any] | None) -> str:
    schema = get_schema()
    if build:
        counts = build.get("counts")
        counts = json.loads(counts) if isinstance(counts, str) else (counts or {})
        nodes = counts.get("nodes", {}) if isinstance(counts, dict) else {}
        rels = counts.get("relationships", {}) if isinstance(counts, dict) else {}
        rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{v:,}</td></tr>" for k, v in sorted(
            nodes.items(), key=lambda kv: -kv[1]) if isinstance(v, int))
        rel_rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{v:,}</td></tr>" for k, v in sorted(
            rels.items(), key=lambda kv: -kv[1]) if isinstance(v, int))
        what = (f"<p>Build <code>{html.escape(str(build.get('id')))}</code> ({html.escape(str(build.get('status')))}"
                f", finished {html.escape(str(build.get('finished')))}).</p>"
                f"<table class=\"table\"><tr><th>label</th><th>nodes</th></tr>{rows}</table>"
                f"<table class=\"table\"><tr><th>type</th><th>relationships</th></tr>{rel_rows}</table>")
    else:
        what = "<p>No complete graph build yet: run <code>medkg kg build</code>.</p>"
    sources = "".join(f"<tr><td>{html.escape(s.name)}</td><td>{html.escape(str(s.version))}</td>"
                      f"<td>{html.escape(s.license)}</td></tr>" for s in schema.sources.values())
    queries = "".join(
        f"<h4>{html.escape(q['name'])}</h4>"
        + (f"<p>{html.escape(q['description'])}</p>" if q["description"] else "")
        + f'<figure><pre class="pre-scrollable code runnable">{html.escape(q["cypher"])}</pre></figure>'
        for q in example_queries())
    slides = [
        _slide("MedKG", "A medical knowledge graph: drugs, diseases, genes, symptoms, side effects, interactions, "
               "and pseudonymous patients, every node and edge with its source, version and license.",
               "<p>The style sheet <code>medkg.grass</code> is applied on connect (one colour and caption per "
               "label). Click a query on the following slides to put it in the editor, then run it.</p>"
               '<p><b>Patients</b> are pseudonymous (ids <code>P-…</code>, 10-year age bands, years only).</p>'),
        _slide("What is in the graph", "Counts of the newest build.", what),
        _slide("Sources and licenses", "Several sources are non-commercial: a deployment can leave them out "
               "(<code>medkg kg build --commercial-only</code>).",
               f'<table class="table"><tr><th>source</th><th>version</th><th>license</th></tr>{sources}</table>'),
        _slide("Example queries", "From <code>browser/example-queries.cypher</code>; all read-only.", queries),
    ]
    return ('<article class="guide" id="medkg-guide"><carousel class="deck container-fluid">'
            + "".join(slides) + "</carousel></article>")
