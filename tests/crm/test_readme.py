"""A newcomer reads the quick start first: right after the description and the screenshot, with
the two commands, the logins and how to serve on another port. Every link in it leads somewhere."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sections(text: str) -> list[str]:
    return re.findall(r"^## (.+)$", text, flags=re.MULTILINE)


def test_the_quick_start_comes_first_and_says_what_a_newcomer_needs():
    readme = (ROOT / "README.md").read_text()
    assert sections(readme)[0] == "Quick start"
    before, quick_start = readme.split("## Quick start", 1)
    quick_start = quick_start.split("\n## ", 1)[0]
    assert len(before.strip().splitlines()) <= 10  # the name, one paragraph, the screenshot
    for needed in ("make run", "make test", "make run PORT=8001", "funnel-demo-2026", "wang"):
        assert needed in quick_start


def test_the_feature_tour_lives_in_docs_and_every_local_link_leads_somewhere():
    for page in (ROOT / "README.md", *(ROOT / "docs").glob("*.md")):
        text = page.read_text()
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if target.startswith(("http://", "https://")):
                continue
            assert (page.parent / target).exists(), f"{page.name} links to {target}"
    tour = (ROOT / "docs" / "features.md").read_text()
    assert {"The funnel", "Tags, events and rules", "API and webhooks"} <= set(sections(tour))
