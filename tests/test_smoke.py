"""Every page a visitor can reach renders, in both languages."""

import pytest


@pytest.mark.parametrize("path", ["/", "/packages/", "/auth/login", "/auth/register"])
def test_public_pages_render(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "智改数转服务平台" in response.get_data(as_text=True)


def test_login_required_redirects(client):
    response = client.get("/needs/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_unknown_page_is_404_in_chinese(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "找不到页面" in response.get_data(as_text=True)
