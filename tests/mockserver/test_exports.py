import mockserver


def test_package_exports_the_app_factory_and_settings_only() -> None:
    assert sorted(mockserver.__all__) == ["ReferenceServer", "Settings", "create_app"]
    for name in mockserver.__all__:
        assert getattr(mockserver, name).__module__.startswith("mockserver.")
