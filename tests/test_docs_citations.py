"""Every document the code cites is in the repository: each `docs/<page>.md` named in the package,
the tests, the rules files, pyproject.toml or deploy/ exists, and each section it cites there
(`docs/rules.md §8`, `§1-2`, `§1, §5`) is a numbered heading of that page."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCANNED = [
    *(REPO / "lightsms_pipeline").rglob("*.py"),
    *(REPO / "lightsms_pipeline").rglob("*.yaml"),
    *(REPO / "tests").rglob("*.py"),
    *(REPO / "deploy").iterdir(),
    REPO / "rules.yaml",
    REPO / "pyproject.toml",
]
_SECTION = r"§\d+(?:-§?\d+)?"
CITATION = re.compile(rf"docs/([\w-]+\.md)((?: {_SECTION}(?:, {_SECTION})*)?)")


def citations() -> list[tuple[str, str, int]]:
    """(file that cites, page, section number or 0 for the page alone), every one found."""
    found = []
    for path in SCANNED:
        if path == Path(__file__) or not path.is_file():
            continue
        for match in CITATION.finditer(path.read_text(encoding="utf-8")):
            where, page = str(path.relative_to(REPO)), match.group(1)
            numbers = [int(n) for n in re.findall(r"\d+", match.group(2))]
            ranges = re.findall(rf"({_SECTION})", match.group(2))
            for cited in ranges:
                low, *high = (int(n) for n in re.findall(r"\d+", cited))
                found.extend((where, page, n) for n in range(low, (high[0] if high else low) + 1))
            if not numbers:
                found.append((where, page, 0))
    return found


def numbered_sections(page: Path) -> set[int]:
    return {int(n) for n in re.findall(r"^## (\d+)\. ", page.read_text(encoding="utf-8"), flags=re.M)}


def test_every_cited_page_and_section_exists_in_docs():
    missing = [
        f"{where}: docs/{page}" + (f" §{n}" if n else "")
        for where, page, n in citations()
        if not (REPO / "docs" / page).is_file() or (n and n not in numbered_sections(REPO / "docs" / page))
    ]
    assert missing == []


def test_the_scan_finds_the_rules_and_api_citations_the_code_makes():
    cited = {(page, n) for _, page, n in citations()}
    # The rules sections the code implements, and the API's error table: each cited somewhere.
    assert {("rules.md", n) for n in (1, 2, 3, 4, 5, 6, 7, 8)} <= cited
    assert ("lightsms-api.md", 4) in cited
