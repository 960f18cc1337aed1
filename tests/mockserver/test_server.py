"""The start banner of ``esdc-api serve``, by direct calls."""

from __future__ import annotations

from mockserver import create_app
from mockserver.server import banner
from tests.conftest import REAL_46, frozen_settings


def test_banner_says_cors_is_off_and_how_to_turn_it_on() -> None:
    """F1: real deployments send no CORS headers; the banner says so and names the option."""
    text = banner(create_app(frozen_settings()), "http://127.0.0.1:8000")
    line = next(row for row in text.splitlines() if row.strip().startswith("CORS"))
    assert "off" in line and "--cors-origin ORIGIN" in line and "/api/" in line


def test_banner_names_the_origins_cors_is_on_for() -> None:
    server = create_app(frozen_settings(cors_origins=("http://localhost:5173",)))
    line = next(
        row for row in banner(server, "http://x").splitlines() if row.strip().startswith("CORS")
    )
    assert "http://localhost:5173" in line and "/api/" in line


def test_banner_example_uses_a_key_of_the_world_it_serves() -> None:
    """The curl line works as printed: demo-alice-key in the demo world, a plain user's own key
    in the world recorded from Danube Cloud 4.6 (which has no alice)."""
    demo = banner(create_app(frozen_settings()), "http://x")
    assert "curl -H 'ES-API-KEY: demo-alice-key' http://x/api/task/" in demo
    recorded = REAL_46 / "world.json"
    server = create_app(frozen_settings(world=recorded, scale=0.0))
    text = banner(server, "http://x")
    line = next(row for row in text.splitlines() if "curl -H" in row)
    key = line.split("ES-API-KEY: ")[1].split("'")[0]
    user = next(u for u in server.deployment.users.values() if u.api_key == key)
    assert not user.is_staff and not user.admin_dcs and user.api_access and user.is_active
