"""The start banner of ``esdc-api serve``, by direct calls."""

from __future__ import annotations

from mockserver import create_app
from mockserver.server import banner
from tests.conftest import frozen_settings


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
