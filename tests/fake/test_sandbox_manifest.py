"""The manifest flow's last step: a code converts once into the new App's credentials."""

from __future__ import annotations

from support.fake_world import World, app_jwt, shared_private_key


def test_a_manifest_code_converts_once_into_credentials_whose_key_signs_jwts(
    world: World,
) -> None:
    registration = world.fake.register_manifest_code("Hotfix Bot (acme)", shared_private_key())
    path = f"/app-manifests/{registration.code}/conversions"

    answer = world.client.post(path, headers={"authorization": ""})

    assert answer.status_code == 201
    body = answer.json()
    assert (body["id"], body["slug"], body["name"]) == (
        registration.app.id,
        "hotfix-bot-acme",
        "Hotfix Bot (acme)",
    )
    assert body["html_url"] == "https://github.com/apps/hotfix-bot-acme"
    assert (body["webhook_secret"], body["client_id"], body["client_secret"]) == (
        registration.webhook_secret,
        registration.client_id,
        registration.client_secret,
    )
    jwt = app_jwt(registration.app, body["pem"])
    assert world.client.get("/app", headers=world.app_auth(jwt)).json()["id"] == body["id"]
    assert world.client.post(path).status_code == 404  # used up
