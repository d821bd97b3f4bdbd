"""Read browser/example-queries.cypher (named queries) and browser/medkg.grass (label styles)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

BROWSER_DIR = Path(__file__).resolve().parents[2] / "browser"
QUERIES_FILE = BROWSER_DIR / "example-queries.cypher"
GRASS_FILE = BROWSER_DIR / "medkg.grass"

NAME_LINE = re.compile(r"^//\s*name:\s*(?P<name>.*?)\s*$")
WRITE_CLAUSES = re.compile(r"\b(CREATE|MERGE|SET|DELETE|DETACH|REMOVE|DROP|FOREACH|LOAD\s+CSV|CALL\s+dbms)\b",
                           re.IGNORECASE)
STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
GRASS_RULE = re.compile(r"\s*(?P<selector>[\w.\-]+)\s*\{(?P<body>(?:\"[^\"]*\"|'[^']*'|[^{}\"'])*)\}\s*")


class ExampleFileError(ValueError):
    """A malformed example or style file; the message names file, line and what is wrong."""


@dataclass(frozen=True)
class ExampleQuery:
    name: str
    line: int  # 1-based line of the `// name:` comment
    description: str
    cypher: str


def parse_examples(path: Path = QUERIES_FILE) -> list[ExampleQuery]:
    """Split the file at `// name:` lines; each query runs to its terminating semicolon."""
    examples: list[ExampleQuery] = []
    current: dict | None = None

    def close(end_line: int) -> None:
        if current is None:
            return
        cypher = "\n".join(current["body"]).strip()
        if cypher.endswith(";"):
            cypher = cypher[:-1].rstrip()
        if not current["name"]:
            raise ExampleFileError(f"{path}:{current['line']}: `// name:` with an empty name")
        if not cypher:
            raise ExampleFileError(f"{path}:{current['line']}: example {current['name']!r} has no query")
        if ";" in STRING_LITERAL.sub("''", cypher):
            raise ExampleFileError(f"{path}:{current['line']}: example {current['name']!r} holds more than one "
                                   f"statement (a ';' before line {end_line})")
        examples.append(ExampleQuery(current["name"], current["line"], " ".join(current["doc"]), cypher))

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.rstrip()
        match = NAME_LINE.match(line.strip())
        if match:
            close(lineno)
            current = {"name": match["name"], "line": lineno, "doc": [], "body": []}
        elif current is None:
            if line.strip() and not line.strip().startswith("//"):
                raise ExampleFileError(f"{path}:{lineno}: Cypher before the first `// name:` line: {line.strip()!r}")
        elif line.strip().startswith("//") and not current["body"]:
            current["doc"].append(line.strip().lstrip("/").strip())
        else:
            current["body"].append(line)
    close(lineno + 1 if examples or current else 1)
    return examples


def write_clauses(cypher: str) -> list[str]:
    """Write (or admin) clauses in a query, ignoring string literals and `//` comments."""
    code = "\n".join(part.split("//", 1)[0] for part in STRING_LITERAL.sub("''", cypher).splitlines())
    return [m.group(0).upper() for m in WRITE_CLAUSES.finditer(code)]


def parse_grass(path: Path = GRASS_FILE) -> dict[str, dict[str, str]]:
    """Selector -> properties of a Neo4j Browser style sheet (the Browser's own format has no comments)."""
    text = path.read_text(encoding="utf-8")
    if "/*" in text or "//" in text:
        raise ExampleFileError(f"{path}: comments are not part of the grass format (the Browser misreads them)")
    rules: dict[str, dict[str, str]] = {}
    pos = 0
    while pos < len(text.rstrip()):
        match = GRASS_RULE.match(text, pos)
        if match is None:
            lineno = text.count("\n", 0, pos) + 1
            raise ExampleFileError(f"{path}:{lineno}: not a `selector {{ key: value; }}` rule: {text[pos:pos + 60]!r}")
        pos = match.end()
        lineno = text.count("\n", 0, match.start()) + 1
        props: dict[str, str] = {}
        for decl in filter(None, (d.strip() for d in match["body"].split(";"))):
            key, sep, value = decl.partition(":")
            if not sep or not value.strip():
                raise ExampleFileError(f"{path}:{lineno}: rule {match['selector']!r}: bad declaration {decl!r}")
            props[key.strip()] = value.strip()
        rules[match["selector"]] = props
    return rules
