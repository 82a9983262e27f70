"""How names sort: by their pinyin, as people look a name up (安 < 白 < 陈 < 丁), with names in
Latin letters among them (Alice < 安 < Bob). The key is stored with the name (Contact.name_sort,
in the "C" collation: compared byte by byte) so the list pages along an index; it is built
here, in Python, wherever a name is written.

A key is the name's words, lower-case, each Han character as its pinyin without tones
("chen wei"), then a tab and the name as read (NFKC, lower-case): homophones (陈伟, 谌伟) sort
apart and the same name sorts together, and the tab, below every character a word holds, keeps
陈 before 陈伟.

pypinyin reads the characters with its dictionaries of characters and of phrases, so a
character read two ways is read as the words around it ask (重庆 chong qing, 银行 yin hang).
A name starts with its surname, which some characters spell otherwise (曾 zeng, not ceng):
that reading is taken where no phrase decided.
"""

import functools
import re
import unicodedata

from pypinyin import Style, lazy_pinyin, pinyin
from pypinyin.constants import PHRASES_DICT

# Surnames whose reading is not the character's usual one (pypinyin reads words, not names).
SURNAMES = {
    "曾": "zeng", "单": "shan", "解": "xie", "仇": "qiu", "朴": "piao", "区": "ou",
    "查": "zha", "盖": "ge", "乐": "yue", "覃": "qin", "缪": "miao", "翟": "zhai",
    "召": "shao", "秘": "bi", "种": "chong", "员": "yun", "繁": "po", "句": "gou",
    "薄": "bo", "折": "she", "藏": "zang", "卜": "bu", "都": "du", "隗": "wei",
    "祭": "zhai", "佴": "nai", "乜": "nie", "重": "chong",
}  # fmt: skip
# The key's parts are cut to these lengths: a B-tree entry holds at most ~2,700 bytes, and
# nothing after the first words changes where a name sorts.
WORDS_LENGTH = 120
NAME_LENGTH = 60
KEY_LENGTH = WORDS_LENGTH + 1 + NAME_LENGTH
PHRASE_LENGTH = max(map(len, PHRASES_DICT))

_HAN = re.compile(r"([\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]+)")
_PUNCTUATION = re.compile(r"[^\w\s]+")


@functools.cache
def _reading(character: str) -> tuple[str, bool]:
    """A character's usual reading, without tones, and whether it has others."""
    readings = pinyin(character, style=Style.NORMAL, heteronym=True)[0]
    return readings[0], len(set(readings)) > 1


def _holds_a_phrase(run: str) -> bool:
    return any(
        run[start:end] in PHRASES_DICT
        for start in range(len(run) - 1)
        for end in range(start + 2, min(start + PHRASE_LENGTH, len(run)) + 1)
    )


@functools.lru_cache(maxsize=65_536)
def _run_words(run: str) -> tuple[str, ...]:
    """A run of Han characters as syllables. Read as phrases only where a character read two
    ways stands in a phrase of the dictionary: otherwise that gives each character's usual
    reading, at a tenth of the cost (phrases take ~20 µs a name)."""
    readings = [_reading(character) for character in run]
    if any(several for _word, several in readings) and _holds_a_phrase(run):
        return tuple(lazy_pinyin(run, style=Style.NORMAL))
    return tuple(word for word, _several in readings)


def _surname(run: str, words: tuple[str, ...]) -> tuple[str, ...]:
    reading = SURNAMES.get(run[0])
    # a phrase that reads the first character its own way (单于 chan yu) is left as read
    if reading is None or (len(run) > 1 and words[0] != _run_words(run[0])[0]):
        return words
    return (reading, *words[1:])


@functools.lru_cache(maxsize=65_536)
def name_sort_key(name: str) -> str:
    """The key a name sorts by: "chen wei\\t陈伟", "alice wang\\talice 王"."""
    text = " ".join(unicodedata.normalize("NFKC", name).casefold().split())
    words: list[str] = []
    for index, part in enumerate(_HAN.split(text)):
        if index % 2:  # a run of Han characters
            run_words = _run_words(part)
            words += _surname(part, run_words) if index == 1 and not words else run_words
        else:  # anything else, as words: "o'brien" as "obrien"
            words += _PUNCTUATION.sub("", part).split()
    return f"{' '.join(words)[:WORDS_LENGTH]}\t{text[:NAME_LENGTH]}"
