"""Uploaded zips (issue 10): size cap, compression ratio, byte counting, one InputError per failure.

The front door of the app's upload path is :func:`ui.uploads.save_upload` (the page hands it the
uploaded name and bytes); every case goes through it.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest

import ui.uploads as uploads
from layers.errors import InputError
from tests.conftest import shared_path
from ui.uploads import MAX_UNZIPPED_BYTES, MAX_UPLOAD_BYTES, save_upload


def _zip(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method, compresslevel=9 if method == zipfile.ZIP_DEFLATED else None) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _unpacked(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and "unzipped" in p.parts]


def test_unpacked_cap_is_the_upload_limit():
    assert MAX_UNZIPPED_BYTES == MAX_UPLOAD_BYTES


def test_zip_bomb_of_300_mb_is_refused_before_writing(tmp_path):
    """The 298 KB zip of issue 10 that expands to 300 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("grid.tif", "w", force_zip64=True) as member:
            for _ in range(300):
                member.write(bytes(1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 400 * 1024
    with pytest.raises(InputError, match=r"unpacks to 300 MB, over the 200 MB limit") as caught:
        save_upload("bomb.zip", data, "population", root=tmp_path)
    assert "bomb.zip" in str(caught.value)
    assert _unpacked(tmp_path) == []


def test_member_compressed_too_well_is_refused_naming_it(tmp_path):
    data = _zip({"people.tif": bytes(20 * 1024 * 1024), "people.tfw": b"1\n0\n0\n-1\n0\n0\n"})
    with pytest.raises(InputError, match=r"zip member 'people.tif' unpacks \d+× its packed size"):
        save_upload("people.zip", data, "population", root=tmp_path)
    assert _unpacked(tmp_path) == []


def test_declared_total_over_the_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UNZIPPED_BYTES", 1024 * 1024)
    data = _zip({"a.geojson": os.urandom(700_000), "b.geojson": os.urandom(700_000)})
    with pytest.raises(InputError, match="over the 1 MB limit"):
        save_upload("two.zip", data, "facilities", root=tmp_path)
    assert _unpacked(tmp_path) == []


def test_bytes_are_counted_while_unpacking_not_taken_from_headers(tmp_path, monkeypatch):
    """With the header check fooled, the running count still stops the copy at the cap."""
    monkeypatch.setattr(uploads, "MAX_UNZIPPED_BYTES", 3 * 1024 * 1024)
    monkeypatch.setattr(uploads, "_check_member_sizes", lambda members, label: None)  # a lying header
    data = _zip({"a.shp": os.urandom(2 * 1024 * 1024), "b.shp": os.urandom(2 * 1024 * 1024)})
    with pytest.raises(InputError, match=r"more than the 3 MB limit of an upload \(at member 'b.shp'\)"):
        save_upload("big.zip", data, "facilities", root=tmp_path)
    assert _unpacked(tmp_path) == [], "a half-unpacked zip must be removed"


def test_member_larger_than_its_header_says_is_refused_naming_it(tmp_path):
    payload = os.urandom(5000)
    data = bytearray(_zip({"sites.geojson": payload}, method=zipfile.ZIP_STORED))
    # declare 100 bytes instead of 5000 in the central directory (offset 24 of the entry)
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 100)
    with pytest.raises(InputError, match="zip member 'sites.geojson'") as caught:
        save_upload("liar.zip", bytes(data), "facilities", root=tmp_path)
    assert "liar.zip" in str(caught.value)
    assert _unpacked(tmp_path) == []


def test_member_under_a_300_character_folder_is_an_input_error(tmp_path):
    member = "d" * 300 + "/sites.geojson"
    data = _zip({member: b'{"type": "FeatureCollection", "features": []}'})
    with pytest.raises(InputError, match=r"zip member 'd+…d+/sites.geojson' cannot be written") as caught:
        save_upload("deep.zip", data, "facilities", root=tmp_path)
    assert not isinstance(caught.value, OSError)
    assert _unpacked(tmp_path) == []


def test_not_a_zip_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not a readable zip"):
        save_upload("broken.zip", b"PK\x03\x04 not really", "facilities", root=tmp_path)


def test_real_zipped_layers_still_unpack(tmp_path):
    """Real data: São Paulo's zipped GeoPackage (r5py sample) and the Helsinki grid zipped here."""
    spo = shared_path("sao_paulo", "spo_hexgrid_EPSG32723.gpkg.zip")
    saved = save_upload(spo.name, spo.read_bytes(), "population", root=tmp_path)
    assert saved.path.suffix == ".gpkg" and len(gpd.read_file(saved.path)) == 323
    grid = shared_path("helsinki", "helsinki_population_grid_2020.gpkg")
    saved = save_upload("grid.zip", _zip({grid.name: grid.read_bytes()}), "population", root=tmp_path)
    assert gpd.read_file(saved.path)["population"].sum() == pytest.approx(71_724, rel=0.001)
