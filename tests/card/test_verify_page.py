"""The shops' verifier page without script: paste a code, read the verdict."""

from __future__ import annotations

from tests.card.device import Device
from tests.card.test_credential import signed_in
from tests.helpers import page, post_form


async def test_verify_page_is_public_and_may_use_the_camera(app) -> None:
    visitor = app.test_client()
    response = await visitor.get("/verify")
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert 'id="verify-app"' in html and 'name="code"' in html
    assert "camera=(self)" in response.headers["Permissions-Policy"]
    # Other pages keep the camera off.
    assert "camera=()" in (await visitor.get("/login")).headers["Permissions-Policy"]


async def test_a_pasted_code_shows_the_verdict_without_script(app, client, clock) -> None:
    await signed_in(client, name="山田 花子", member_no="00012345")
    device = Device()
    await device.issue(client)
    shop = app.test_client()
    response = await post_form(shop, "/verify", {"code": device.code(clock.now)})
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert 'data-reason=""' in html and "<strong>有効</strong>" in html
    assert "山田 花子" in html and "00012345" in html
    clock.advance(minutes=3)
    html = await (await post_form(shop, "/verify", {"code": device.code(clock.now, -6)})).get_data(
        as_text=True
    )
    assert 'data-reason="out_of_time"' in html and "<strong>時間外</strong>" in html


async def test_an_empty_or_foreign_code_is_explained(app) -> None:
    shop = app.test_client()
    response = await post_form(shop, "/verify", {"code": ""})
    assert response.status_code == 400
    assert "貼り付けてください" in await response.get_data(as_text=True)
    response = await post_form(shop, "/verify", {"code": "00012345"})
    html = await response.get_data(as_text=True)
    assert "<strong>読み取れません</strong>" in html
    status, _ = await page(shop, "/verify")
    assert status == 200
