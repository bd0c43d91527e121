"""The layout helpers behind generated boundaries."""

from __future__ import annotations

import itertools
import random

import pytest
from shapely.geometry import shape
from shapely.ops import unary_union

from wangge.demo.layout import Frame, Rect, Tiling, apportion, cut, split
from wangge.demo.names import chinese_number, credit_check_character, credit_code, grid_name


def test_tiling_shares_t_junction_vertices_so_children_cover_the_parent_exactly() -> None:
    # A strongly warped frame: without the shared vertices the children would leave gaps.
    frame = Frame(lat=36.65, lng=117.0, angle=30, warp=40, wavelength=800, phase=0.3)
    tiling = Tiling(frame)
    tiling.add("parent", Rect(0, 0, 300, 200))
    tiling.add("left", Rect(0, 0, 100, 200))
    tiling.add("top-right", Rect(100, 120, 300, 200))
    tiling.add("bottom-right-a", Rect(100, 0, 170, 120))
    tiling.add("bottom-right-b", Rect(170, 0, 300, 120))
    polygons = tiling.polygons()
    # "left" gets the corner (100, 120) of its right-hand neighbours in its eastern edge.
    assert len(polygons["left"]["coordinates"][0]) == 6
    assert len(polygons["parent"]["coordinates"][0]) == 9
    parent = shape(polygons["parent"])
    parts = [shape(polygons[k]) for k in ("left", "top-right", "bottom-right-a", "bottom-right-b")]
    assert all(p.is_valid for p in parts)
    assert unary_union(parts).symmetric_difference(parent).area <= 1e-12 * parent.area
    for a, b in itertools.combinations(parts, 2):
        assert a.intersection(b).area == 0


def test_tiling_rings_run_anticlockwise_and_close() -> None:
    tiling = Tiling(Frame(lat=30.0, lng=120.0))
    tiling.add("a", Rect(0, 0, 10, 10))
    ring = tiling.polygons()["a"]["coordinates"][0]
    assert ring[0] == ring[-1]
    assert shape(tiling.polygons()["a"]).exterior.is_ccw


def test_split_covers_the_rectangle_and_reads_like_a_page() -> None:
    parent = Rect(0, 0, 600, 400)
    pieces = split(parent, [1.0] * 7, random.Random(3))
    assert len(pieces) == 7
    assert sum(p.width * p.height for p in pieces) == parent.width * parent.height
    for a, b in itertools.combinations(pieces, 2):
        overlap_w = min(a.x1, b.x1) - max(a.x0, b.x0)
        overlap_h = min(a.y1, b.y1) - max(a.y0, b.y0)
        assert overlap_w <= 0 or overlap_h <= 0
    # West to east by column, north to south inside a column.
    assert pieces[0].x0 == 0
    assert pieces[0].y1 == 400
    assert pieces[-1].x1 == 600
    assert pieces[-1].y0 == 0


def test_cut_keeps_the_minimum_and_refuses_what_cannot_fit() -> None:
    spans = cut(0, 100, [100.0, 1.0, 1.0], minimum=20)
    assert spans[0][0] == 0
    assert spans[-1][1] == 100
    assert all(b - a >= 20 for a, b in spans)
    with pytest.raises(ValueError, match="not enough room"):
        cut(0, 50, [1.0, 1.0, 1.0], minimum=20)


def test_apportion_hits_the_total_exactly() -> None:
    rng = random.Random(1)
    shares = apportion(2971, 405, rng, spread=0.4, low=3)
    assert sum(shares) == 2971
    assert len(shares) == 405
    assert min(shares) >= 3
    with pytest.raises(ValueError, match="cannot apportion"):
        apportion(5, 3, rng, low=2)


def test_frame_refuses_a_folding_warp() -> None:
    with pytest.raises(ValueError, match="too strong"):
        Frame(lat=0, lng=0, warp=100, wavelength=500)


def test_chinese_numbers() -> None:
    assert [chinese_number(n) for n in (1, 6, 10, 12, 20, 35, 99)] == [
        "一",
        "六",
        "十",
        "十二",
        "二十",
        "三十五",
        "九十九",
    ]
    assert grid_name(21) == "第二十一网格"
    with pytest.raises(ValueError, match="1–99"):
        chinese_number(100)


def test_credit_codes_carry_valid_check_characters() -> None:
    assert credit_check_character("91350100M000100Y4") == "3"  # a published example
    code = credit_code("370103", 12345678)
    assert code == "91370103123456788C"
    assert credit_check_character(code[:17]) == code[17]
