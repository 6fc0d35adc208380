from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import Settings, SettingsError, load


def test_defaults_are_mutual_tls_on_sqlite(tmp_path: Path) -> None:
    """No file, no environment. Result: TLS on, SQLite under the base folder."""
    settings = load(None, {}, base=tmp_path)
    assert settings.insecure_plaintext is False
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'aeo-gateway.db'}"
    assert settings.partners_dir == tmp_path / "partners"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    """workers=10 in the file, 20 in the environment. Result: 20, typed as int."""
    config = tmp_path / "gw.toml"
    config.write_text('workers = 10\nlisten = "0.0.0.0:9000"\n')
    settings = load(config, {"AEO_GATEWAY_WORKERS": "20"})
    assert settings.workers == 20
    assert settings.listen == "0.0.0.0:9000"
    assert settings.tls_cert == tmp_path / "certs/dev/server.pem"


@pytest.mark.parametrize(
    ("content", "environ"),
    [
        ("unknown_thing = 1\n", {}),
        ("", {"AEO_GATEWAY_NOPE": "1"}),
        ("workers = 'many'\n", {}),
        ("workers = 1\n", {}),
        ("max_open_gaps = 0\n", {}),
        ('listen = "nonsense"\n', {}),
        ('database_url = "mysql://x"\n', {}),
        ("insecure_plaintext = 'maybe'\n", {}),
        ("workers = [\n", {}),
    ],
)
def test_bad_settings_stop_start_up_with_a_message(
    tmp_path: Path, content: str, environ: dict[str, str]
) -> None:
    """An unknown key, a wrong type, an out-of-range value, broken TOML. Result: SettingsError."""
    config = tmp_path / "gw.toml"
    config.write_text(content)
    with pytest.raises(SettingsError):
        load(config, environ)


def test_settings_are_frozen() -> None:
    """Code tries to change a setting after start-up. Result: refused."""
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.workers = 3  # type: ignore[misc]


def test_the_default_gap_bound_is_the_cores() -> None:
    """No max_open_gaps set. Result: the bound the core uses when none is given."""
    from gateway.domain.sequences import MAX_OPEN_GAPS

    assert Settings().max_open_gaps == MAX_OPEN_GAPS


def test_gateway_keys_dir_is_unset_by_default_and_relative_to_the_base(tmp_path: Path) -> None:
    """No gateway_keys_dir, then one relative in the environment. Result: None (keys go beside
    signing_key), then the folder under the base folder; an empty value means unset."""
    assert load(None, {}, base=tmp_path).gateway_keys_dir is None
    env = {"AEO_GATEWAY_GATEWAY_KEYS_DIR": "var/gateway-keys"}
    assert load(None, env, base=tmp_path).gateway_keys_dir == tmp_path / "var" / "gateway-keys"
    assert load(None, {"AEO_GATEWAY_GATEWAY_KEYS_DIR": ""}, base=tmp_path).gateway_keys_dir is None
