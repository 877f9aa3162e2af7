"""`lightsms-pipeline docs`: the documents the package's messages cite (`docs/rules.md §2`, …),
read from the installed package.

Messages, asset descriptions and column descriptions cite `docs/<page>.md`, a path in the
repository. A user who installed the wheel has no repository: the wheel carries the same pages
as package data (lightsms_pipeline/docs, a link to the repository's docs/ that setuptools copies
into the wheel, pyproject.toml), and this command shows where they are or prints one.
"""

from __future__ import annotations

import sys
from importlib import resources
from importlib.resources.abc import Traversable

from lightsms_pipeline.errors import ConfigurationError

DOCS_PACKAGE = "lightsms_pipeline.docs"


def docs_folder() -> Traversable:
    return resources.files(DOCS_PACKAGE)


def doc_names() -> list[str]:
    return sorted(entry.name for entry in docs_folder().iterdir() if entry.name.endswith(".md"))


def doc_hint(name: str) -> str:
    """What a message adds to a citation so that an installed package's user can read it."""
    return f"`lightsms-pipeline docs {name}` prints it"


def run_docs(name: str | None) -> int:
    """Without a name: each page and where it is installed. With one (`rules` or `rules.md`):
    that page's text on stdout."""
    if name is None:
        folder = docs_folder()
        for page in doc_names():
            print(f"docs/{page}  {folder / page}")
        return 0
    page = name if name.endswith(".md") else f"{name}.md"
    if page not in doc_names():
        raise ConfigurationError(f"no document {name!r}; there are: {', '.join(doc_names())}")
    sys.stdout.write((docs_folder() / page).read_text(encoding="utf-8"))
    return 0
