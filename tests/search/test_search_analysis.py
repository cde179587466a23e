"""The analyzer: consecutive positions, sub-words, mixed text, pre-segmented values."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from search import Segmented, index_tokens, query_words, segment
from search._whoosh import SegmentedText, SegmentedTokenizer


def test_main_words_get_consecutive_positions(segmenter):
    tokens = index_tokens("数控设备联网监测", segmenter)
    main = [w for w in query_words("数控设备联网监测", segmenter)]
    positions = {w: p for w, p in tokens}
    assert [positions[w] for w in main] == list(range(len(main)))


def test_sub_words_share_the_position_of_their_word(segmenter):
    tokens = dict(index_tokens("部署工业互联网平台", segmenter))
    assert tokens["工业互联网平台"] == tokens["工业"] == tokens["互联网"] == tokens["平台"]
    assert tokens["部署"] == tokens["工业互联网平台"] - 1


def test_english_numbers_and_full_width_text(segmenter):
    words = [w for w, _ in index_tokens("ＭＥＳ系统与ERP集成，OEE提升15%，ISO9001", segmenter)]
    for expected in ("mes", "系统", "erp", "集成", "oee", "15", "iso9001"):
        assert expected in words


def test_stop_words_leave_no_gap(segmenter):
    tokens = index_tokens("设备的联网", segmenter)
    assert [p for _, p in tokens] == [0, 1]


def test_segmented_value_is_not_cut_again(segmenter):
    value = Segmented("随便什么", [("预先", 0), ("切好", 1)])
    tokenizer = SegmentedTokenizer()
    assert [(t.text, t.pos) for t in tokenizer(value, positions=True)] == [
        ("预先", 0), ("切好", 1)
    ]


def test_segment_keeps_text_and_tokens(segmenter):
    seg = segment("质量检测", segmenter)
    assert str(seg) == "质量检测" and seg.length == len(seg.tokens) > 0


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="设备联网监测质量检测工业互联网平台的和 mesERP0123，。", max_size=40))
def test_positions_start_at_zero_and_never_jump(segmenter, text):
    positions = [p for _, p in index_tokens(text, segmenter)]
    if positions:
        assert positions[0] == 0
        assert all(0 <= b - a <= 1 for a, b in zip(positions, positions[1:], strict=False))


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="设备联网监测质量检测工业互联网平台的和 mesERP0123，。", max_size=80))
def test_fast_text_field_indexes_exactly_like_the_whoosh_tokenizer_path(segmenter, text):
    # SegmentedText reads a Segmented value's tokens directly; Whoosh's own TEXT.index goes
    # through SegmentedTokenizer and the Positions format. The postings must be identical.
    field = SegmentedText(analyzer=SegmentedTokenizer(), phrase=True)
    value = segment(text, segmenter)
    fast = sorted(field.index(value))
    slow = sorted(super(SegmentedText, field).index(value))
    assert fast == slow
    assert [type(item[2]) for item in fast] == [type(item[2]) for item in slow]
    decoded = {w.decode(): field.format.decode_positions(v) for w, _, _, v in fast}
    for word, pos in value.tokens:
        assert pos in decoded[word]
