"""The import benchmark's file (also make loadtest's) is refused only where it means to be: its
bad emails. Every tag it names is a tag or an alias of the scheme the bench company is seeded
with, so a change to the demo's scheme cannot quietly turn a tenth of its rows into refusals
(which made the import lighter to time, and loadtest's "exactly the file" check fail)."""

from bench.management.commands.bench_import import TAGS
from demo.tags import SCHEME


def test_every_tag_the_bench_file_names_is_in_the_seeded_scheme():
    names = set()
    for _label, _colour, _single, tags, aliases in SCHEME:
        names.update(tags)
        names.update(aliases)
    assert set(TAGS) <= names, sorted(set(TAGS) - names)
