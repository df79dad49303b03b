"""Hand-made OpenStreetMap XML documents for the tests (what an ``.osm`` export holds)."""

from __future__ import annotations


def osm_xml(nodes: dict[int, tuple[float, float]], ways: list[tuple[int, list[int], dict[str, str]]]) -> str:
    """An OSM 0.6 XML document from ``{id: (lon, lat)}`` nodes and ``(id, refs, tags)`` ways."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    parts += [f'  <node id="{i}" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in nodes.items()]
    for way_id, refs, tags in ways:
        parts.append(f'  <way id="{way_id}">')
        parts += [f'    <nd ref="{r}"/>' for r in refs]
        parts += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        parts.append("  </way>")
    parts.append("</osm>")
    return "\n".join(parts)
