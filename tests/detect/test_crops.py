import numpy as np
import pytest

from translate.detect.crops import (
    Region,
    expand_box,
    face_box,
    frame_score,
    regions_for,
    tile_regions,
)


def test_small_image_is_scored_whole():
    assert regions_for((480, 512)) == [Region(0, 0, 512, 480, "image")]


def test_large_frame_is_tiled_full_size_and_covered():
    regions = tile_regions((720, 1280), tile=256, max_tiles=100)
    assert len(regions) == 3 * 5
    assert all(r.x1 - r.x0 == 256 and r.y1 - r.y0 == 256 for r in regions)
    covered = np.zeros((720, 1280), bool)
    for r in regions:
        covered[r.y0:r.y1, r.x0:r.x1] = True
    assert covered.all()


def test_tiles_are_capped_and_spread():
    regions = regions_for((1080, 1920), max_tiles=16)
    assert len(regions) == 16 and all(r.kind == "tile" for r in regions)
    assert regions[0].x0 == 0 and regions[0].y0 == 0
    assert regions[-1].x1 == 1920 and regions[-1].y1 == 1080  # first and last grid cells kept


def test_thin_frames_take_short_side_whole():
    regions = regions_for((100, 2000))
    assert all(r.y0 == 0 and r.y1 == 100 and r.x1 - r.x0 == 256 for r in regions)


def test_face_box_margin_square_and_clipped():
    r = expand_box((100, 100, 200, 180), (480, 640))
    assert (r.x1 - r.x0, r.y1 - r.y0) == (130, 130)  # 1.3 x the longer side
    assert ((r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2) == (150, 140)  # same centre
    edge = expand_box((0, 0, 100, 100), (480, 640))
    assert (edge.x0, edge.y0, edge.x1, edge.y1) == (0, 0, 115, 115)


def test_face_formats():
    landmarks = np.array([[110, 120], [190, 130], [150, 200]], np.float32)
    assert face_box(landmarks) == (110, 120, 190, 200)
    assert face_box({"box": (1, 2, 3, 4), "landmarks": landmarks}) == (1, 2, 3, 4)
    assert face_box({"landmarks": landmarks}) == (110, 120, 190, 200)

    class Face:
        box = (5, 6, 7, 8)

    assert face_box(Face()) == (5, 6, 7, 8)
    regions = regions_for((1080, 1920), faces=[{"box": (100, 100, 200, 200)}, (500, 500, 600, 600)])
    assert [r.kind for r in regions] == ["face", "face"]  # faces replace tiles
    with pytest.raises(ValueError):
        face_box(np.zeros(3))


def test_frame_score_max_over_faces_mean_over_tiles():
    faces = [Region(0, 0, 10, 10, "face"), Region(10, 10, 20, 20, "face")]
    tiles = [Region(0, 0, 10, 10, "tile"), Region(10, 10, 20, 20, "tile")]
    assert frame_score(faces, [0.1, 0.9]) == 0.9
    assert frame_score(tiles, [0.1, 0.9]) == pytest.approx(0.5)
    assert frame_score(tiles, [0.1, 0.9], tiles="max") == 0.9
    with pytest.raises(ValueError):
        frame_score(tiles, [0.1])


def test_region_crop():
    frame = np.arange(20 * 30 * 3).reshape(20, 30, 3)
    assert Region(5, 2, 15, 12, "tile").crop(frame).shape == (10, 10, 3)
