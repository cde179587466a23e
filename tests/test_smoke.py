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


@pytest.mark.parametrize("path", ["/packages/?_anchor=x", "/packages/?_external=1&_scheme=js",
                                  "/search/?q=a&_anchor=x", "/packages/99999999999999999999",
                                  "/packages/?page=99999999999999999999",
                                  "/profile/provider/3000000000"])
def test_hostile_urls_never_500(client, path):
    assert client.get(path).status_code in (200, 404)
