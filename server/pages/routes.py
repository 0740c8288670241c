"""The member's home page and the root-scoped PWA files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from quart import Blueprint, Response, current_app, g, send_from_directory

from server.auth.web import member_required, now, public, settings
from server.lib.render import render_page
from server.members.access import current_viewer
from server.notices.cache import notice_cache
from server.pages.news import home_news

bp = Blueprint("pages", __name__)
PWA_DIR = Path(__file__).resolve().parent.parent.parent / "pwa"
ROOT_FILES = {
    "service-worker.js": "text/javascript",
    "manifest.json": "application/manifest+json",
    "verify-manifest.json": "application/manifest+json",
}


@bp.get("/")
@member_required
async def home() -> str:
    """Home: what is new (新着), the co-op's notices, who is signed in and the menu."""
    return await render_page(
        "pages/home.html",
        member=g.member,
        news=await home_news(current_viewer(), now(), settings().home_news_days),
        notices=await notice_cache(current_app).current(now()),
    )


@bp.get("/<any('service-worker.js', 'manifest.json', 'verify-manifest.json'):name>")
@public
async def root_file(name: str) -> Response:
    """Serve the service worker and manifests from the root so their scope is the whole site."""
    if name == "manifest.json":
        response = Response(manifest(), mimetype=ROOT_FILES[name])
    elif name == "verify-manifest.json":
        response = Response(verify_manifest(), mimetype=ROOT_FILES[name])
    else:
        response = await send_from_directory(PWA_DIR, name, mimetype=ROOT_FILES[name])
    response.headers["Cache-Control"] = "no-cache"
    if name == "service-worker.js":
        response.headers["Service-Worker-Allowed"] = "/"
    return response


def _manifest_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PWA_DIR / "manifest.json").read_text(encoding="utf-8"))
    data["name"] = f"{settings().coop_name} マイページ"
    return data


def manifest() -> str:
    """pwa/manifest.json with the co-op's name from settings (a fact, not a literal)."""
    return json.dumps(_manifest_data(), ensure_ascii=False, separators=(",", ":"))


def verify_manifest() -> str:
    """The shops' verifier as an app of its own: installed from /verify, it opens /verify."""
    data = _manifest_data()
    data.update(
        id="/verify",
        name=f"{settings().coop_name} 組合員証の確認（お店用）",
        short_name="組合員証の確認",
        description="学校生協の指定店・提携店で、デジタル組合員証が本物かを確かめます。",
        start_url="/verify",
        scope="/verify",
    )
    data.pop("shortcuts", None)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
