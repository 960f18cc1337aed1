"""The start banner of ``esdc-api serve``, by direct calls."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mockserver import Settings, create_app
from mockserver.server import banner, with_control_token
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


def test_beyond_loopback_the_control_api_gets_a_token_and_the_banner_warns() -> None:
    """Issue 12 H2: ``--host 0.0.0.0`` printed the same banner as loopback, and the control
    API was then open to the network without credentials."""
    settings, made_up = with_control_token(frozen_settings(host="0.0.0.0"))
    assert made_up and settings.control_token == made_up
    text = banner(create_app(settings), "http://0.0.0.0:8000", made_up_token=made_up)
    assert "WARNING" in text and "open to the network" in text
    assert f"ESDC-Control: {made_up}" in text


def test_on_loopback_no_token_is_made_and_the_banner_says_who_may_call() -> None:
    settings, made_up = with_control_token(frozen_settings(host="127.0.0.1"))
    assert made_up is None and settings.control_token is None
    text = banner(create_app(settings), "http://127.0.0.1:8000")
    assert "WARNING" not in text and "closed to other sites' pages" in text
    assert "other Host headers get 400" in text


def test_a_given_token_is_kept_and_not_printed() -> None:
    settings, made_up = with_control_token(frozen_settings(host="0.0.0.0", control_token="k"))
    assert made_up is None and settings.control_token == "k"
    text = banner(create_app(settings), "http://0.0.0.0:8000")
    assert "ESDC-Control: <token>" in text and "ESDC-Control: k" not in text


def test_banner_says_the_control_api_is_off() -> None:
    settings, made_up = with_control_token(frozen_settings(host="0.0.0.0", control=False))
    assert made_up is None
    text = banner(create_app(settings), "http://0.0.0.0:8000")
    assert "control API  off (--no-control)" in text and "/control/ui/" not in text


def test_serve_takes_the_control_options_from_the_command_line_and_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The token the banner tells to keep in ``ESDC_SERVE_CONTROL_TOKEN`` is read from it."""
    import mockserver.server
    from esdc_api.cli import cli

    given: list[Settings] = []
    monkeypatch.setattr(mockserver.server, "run", given.append)
    runner = CliRunner()
    env = {"ESDC_SERVE_CONTROL_TOKEN": "from-env"}
    assert runner.invoke(cli, ["serve"], env=env).exit_code == 0
    assert (
        runner.invoke(
            cli,
            ["serve", "--no-control", "--allowed-host", "tasks.example.com"]
            + ["--forwarded-allow-ips", "10.0.0.1", "--max-body-size", "100"],
        ).exit_code
        == 0
    )
    assert given[0].control_token == "from-env" and given[0].control
    assert not given[1].control and given[1].allowed_hosts == ("tasks.example.com",)
    assert given[1].forwarded_allow_ips == ("10.0.0.1",) and given[1].max_body_size == 100


@pytest.mark.parametrize("enabled", [True, False])
def test_serve_leaves_the_collector_as_it_found_it(
    monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    """serve imports the server with the collector off (they make no garbage), then turns it
    back on only if it was on."""
    import gc

    import mockserver.server
    from esdc_api.cli import cli

    seen: list[bool] = []
    monkeypatch.setattr(mockserver.server, "run", lambda _settings: seen.append(gc.isenabled()))
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        assert CliRunner().invoke(cli, ["serve"]).exit_code == 0
        assert seen == [enabled] and gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
