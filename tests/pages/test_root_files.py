"""The service worker and manifest are served from the root, so they cover the site."""

from __future__ import annotations

import json


async def test_service_worker_is_served_from_the_root(client) -> None:
    response = await client.get("/service-worker.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response.headers["Cache-Control"]


async def test_manifest_is_json_in_japanese(client) -> None:
    response = await client.get("/manifest.json")
    assert response.status_code == 200
    manifest = json.loads(await response.get_data(as_text=True))
    assert manifest["lang"] == "ja"
    assert manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        assert (await client.get(icon["src"])).status_code == 200


async def test_stylesheet_is_served(client) -> None:
    response = await client.get("/static/css/app.css")
    assert response.status_code == 200
    assert (
        "Cache-Control" not in response.headers
        or "no-store" not in response.headers["Cache-Control"]
    )
