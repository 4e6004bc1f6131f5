"""App JWTs, installation tokens, and what each credential may see."""

from __future__ import annotations

import time

from support.fake_world import World, app_jwt

from sandbox import new_private_key_pem


def test_a_valid_jwt_mints_an_installation_token(world: World) -> None:
    answer = world.client.post(
        f"/app/installations/{world.installation_id}/access_tokens", headers=world.app_auth()
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["token"].startswith("ghs_")
    assert body["expires_at"].endswith("Z")
    assert body["repository_selection"] == "all"
    assert body["permissions"]["checks"] == "write"
    assert world.fake.tokens_minted[world.installation_id] == 2  # the fixture minted one


def test_iss_may_be_an_integer(world: World) -> None:
    answer = world.client.get("/app", headers=world.app_auth(app_jwt(world.app, iss=world.app.id)))
    assert answer.json()["slug"] == "hotfix-bot"


def test_a_jwt_signed_by_another_key_is_refused(world: World) -> None:
    answer = world.client.post(
        f"/app/installations/{world.installation_id}/access_tokens",
        headers=world.app_auth(app_jwt(world.app, new_private_key_pem())),
    )
    assert answer.status_code == 401
    assert world.fake.tokens_minted[world.installation_id] == 1


def test_expired_and_overlong_jwts_are_refused(world: World) -> None:
    now = int(time.time())
    expired = app_jwt(world.app, iat=now - 1200, exp=now - 600)
    overlong = app_jwt(world.app, iat=now, exp=now + 3600)
    for token in (expired, overlong):
        answer = world.client.get("/app", headers=world.app_auth(token))
        assert answer.status_code == 401
        assert "exp" in answer.json()["message"]


def test_an_installation_token_is_not_an_app_credential(world: World) -> None:
    assert world.client.get("/app").status_code == 401


def test_app_and_installations_listing(world: World) -> None:
    as_app = world.app_auth()
    assert world.client.get("/app", headers=as_app).json()["id"] == world.app.id
    listed = world.client.get("/app/installations", headers=as_app).json()
    repo_installation = world.client.get("/repos/acme/widgets/installation", headers=as_app).json()
    assert [i["id"] for i in listed] == [world.installation_id]
    assert listed[0]["account"]["login"] == "acme"
    assert repo_installation["id"] == world.installation_id


def test_missing_or_unknown_tokens_are_bad_credentials(world: World) -> None:
    for authorization in ("token ghs_nope", "Basic x", world.app_auth()["authorization"]):
        answer = world.client.get("/repos/acme/widgets", headers={"authorization": authorization})
        assert answer.status_code == 401
        assert answer.json()["message"] == "Bad credentials"
    del world.client.headers["authorization"]
    assert world.client.get("/repos/acme/widgets").status_code == 401


def test_bearer_installation_tokens_work_and_expiry_is_enforced(world: World) -> None:
    token = world.client.headers["authorization"].split()[1]
    answer = world.client.get("/repos/acme/widgets", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json()["default_branch"] == "main"
    world.fake.expire_tokens()
    assert world.client.get("/repos/acme/widgets").status_code == 401


def test_tokens_only_see_their_installation_repositories(world: World) -> None:
    other_installation = world.fake.add_installation(world.app.id, account="globex")
    world.fake.add_repo("globex/gadgets", other_installation)
    other_token = world.mint(other_installation)
    assert world.client.get("/repos/globex/gadgets").status_code == 404
    answer = world.client.get(
        "/repos/globex/gadgets", headers={"authorization": f"token {other_token}"}
    )
    assert answer.status_code == 200
    assert world.fake.requests[-1].installation_id == other_installation
    assert world.fake.tokens_minted[other_installation] == 1


def test_rate_limit_headers_count_down_per_installation(world: World) -> None:
    first = world.client.get("/repos/acme/widgets").headers
    second = world.client.get("/repos/acme/widgets").headers
    assert first["x-ratelimit-limit"] == "5000"
    assert int(second["x-ratelimit-remaining"]) == int(first["x-ratelimit-remaining"]) - 1
    assert int(first["x-ratelimit-reset"]) > time.time()
