"""Saved uploads are pruned: unused for a day, or least recently used beyond a size cap."""

from __future__ import annotations

import os
import time

from ui.uploads import prune_uploads, save_upload


def _saved(root, role, name, size, age_s, now):
    folder = root / role / name
    folder.mkdir(parents=True)
    (folder / "layer.geojson").write_bytes(b"x" * size)
    os.utime(folder, (now - age_s, now - age_s))
    return folder


def test_old_folders_go_then_least_recently_used_beyond_the_cap(tmp_path):
    now = time.time()
    stale = _saved(tmp_path, "network", "a" * 24, 100, 2 * 86400, now)
    older = _saved(tmp_path, "facilities", "b" * 24, 600, 3600, now)
    newer = _saved(tmp_path, "population", "c" * 24, 600, 60, now)
    deleted = prune_uploads(tmp_path, max_age_s=86400, max_total_bytes=10_000, now=now)
    assert deleted == [stale] and older.exists() and newer.exists()
    deleted = prune_uploads(tmp_path, max_age_s=86400, max_total_bytes=1000, now=now)
    assert deleted == [older] and newer.exists()
    # the folder being saved is kept even when it alone passes the cap
    assert prune_uploads(tmp_path, keep=newer, max_total_bytes=10, now=now) == []
    assert newer.exists()


def test_saving_marks_the_folder_used_and_prunes_the_others(tmp_path):
    now = time.time()
    stale = _saved(tmp_path, "facilities", "d" * 24, 10, 3 * 86400, now)
    saved = save_upload("sites.csv", b"name,lon,lat\nA,24.94,60.17\n", "facilities", root=tmp_path)
    assert saved.path.exists() and not stale.exists()
    assert time.time() - saved.path.parent.stat().st_mtime < 60
    again = save_upload("sites.csv", b"name,lon,lat\nA,24.94,60.17\n", "facilities", root=tmp_path)
    assert again.path == saved.path  # same bytes, same place, not deleted by its own save
