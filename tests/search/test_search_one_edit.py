"""The one-edit index behind spelling suggestions finds exactly the terms within one
Damerau–Levenshtein edit, as comparing the word with every term would."""

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.support.levenshtein import damerau_levenshtein

from search._whoosh import OneEditIndex

# A small alphabet makes near misses (substitutions, transpositions) common.
WORDS = st.text(alphabet="设备联网ab", min_size=0, max_size=5)


@settings(max_examples=200, deadline=None)
@given(terms=st.lists(WORDS, max_size=40, unique=True), word=WORDS)
def test_within_one_is_every_term_one_edit_away(terms, word):
    expected = {t for t in terms if damerau_levenshtein(word, t) <= 1}
    assert set(OneEditIndex(terms).within_one(word)) == expected


def test_each_kind_of_edit():
    index = OneEditIndex(["设备联网", "设备连网", "设备联", "设备联网卡", "设联备网", "质量检测"])
    # itself, a substitution, a deletion, an insertion and a transposition
    assert sorted(index.within_one("设备联网")) == sorted(
        ["设备联网", "设备连网", "设备联", "设备联网卡", "设联备网"])
    assert index.within_one("质量监测") == ["质量检测"]
    assert index.within_one("设") == []  # two edits from 设备联, more from the rest
