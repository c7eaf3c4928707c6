"""Sign-in, roles and CSRF over real HTTP."""
from __future__ import annotations

import httpx


def test_admin_pages_need_sign_in(client):
    r = client.get("/admin")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    assert client.get("/api/v1/admin/me").status_code == 401


def test_sign_in_and_out(client, web):
    token = web.sign_in(client)
    assert client.get("/api/v1/admin/me").json() == {"username": "admin", "role": "admin"}
    assert client.post("/signout", data={"csrf_token": token}).status_code == 303
    assert client.get("/api/v1/admin/me").status_code == 401


def test_wrong_password_is_refused(client, web):
    token = web.csrf_from(client.get("/signin").text)
    r = client.post("/signin", data={"username": "admin", "password": "wrong!wrong", "csrf_token": token})
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    assert client.get("/api/v1/admin/me").status_code == 401


def test_post_without_csrf_token_is_refused(client, web):
    r = client.post("/signin", data={"username": "admin", "password": "correct horse battery"})
    assert r.status_code == 403
    client.get("/signin")
    r = client.post("/signin", data={"username": "admin", "password": "correct horse battery",
                                     "csrf_token": "forged.token"})
    assert r.status_code == 403


def test_a_token_from_another_session_is_refused(server, web):
    with httpx.Client(base_url=server.url) as a, httpx.Client(base_url=server.url) as b:
        token_a = web.csrf_from(a.get("/signin").text)
        b.get("/signin")
        r = b.post("/signin", data={"username": "admin", "password": "correct horse battery",
                                    "csrf_token": token_a})
        assert r.status_code == 403


def test_viewer_role_is_signed_in_but_not_admin(client, web):
    web.sign_in(client, web.VIEWER)
    assert client.get("/api/v1/admin/me").json()["role"] == "viewer"


def test_open_redirect_is_refused(client, web):
    token = web.csrf_from(client.get("/signin").text)
    r = client.post("/signin", data={"username": "admin", "password": "correct horse battery",
                                     "next": "//evil.example/", "csrf_token": token})
    assert r.headers["location"] == "/admin"


def test_oversized_body_is_413(client, web):
    r = client.post("/signin", content=b"x" * 3_000_000, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
