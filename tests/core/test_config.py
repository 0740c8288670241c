"""Settings come from MYPAGE_* variables; production refuses unsafe ones."""

from __future__ import annotations

import pytest

from server.config import DEV_SECRET, ConfigError, Settings
from server.db import database_url


def test_defaults_are_the_coops_facts() -> None:
    settings = Settings.from_env({})
    assert settings.coop_name == "群馬県学校生協"
    assert settings.coop_free_dial == "0120-39-5318"
    assert settings.coop_fax == "0120-03-5318"
    assert settings.paper_fee_yen == 100
    assert settings.mail_from == "no-reply@Gmypage.jp"
    assert settings.database_url == "sqlite://data/mypage.sqlite3"


def test_values_are_read_and_typed() -> None:
    settings = Settings.from_env(
        {
            "MYPAGE_SESSION_IDLE_MINUTES": "10",
            "MYPAGE_SMTP_STARTTLS": "true",
            "MYPAGE_PUSH_ALLOWED_HOSTS": "a.example, b.example",
            "MYPAGE_COOP_NAME": "テスト生協",
        }
    )
    assert settings.session_idle_minutes == 10
    assert settings.smtp_starttls is True
    assert settings.push_allowed_hosts == ("a.example", "b.example")
    assert settings.coop_name == "テスト生協"


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ConfigError, match="MYPAGE_SECRET_KEY"):
        Settings.from_env({"MYPAGE_ENV": "production", "MYPAGE_BASE_URL": "https://x.example"})
    with pytest.raises(ConfigError, match="MYPAGE_SECRET_KEY"):
        Settings.from_env(
            {
                "MYPAGE_ENV": "production",
                "MYPAGE_SECRET_KEY": DEV_SECRET,
                "MYPAGE_BASE_URL": "https://x.example",
            }
        )


def test_production_needs_https_and_rate_limits() -> None:
    good = {
        "MYPAGE_ENV": "production",
        "MYPAGE_SECRET_KEY": "k" * 40,
        "MYPAGE_BASE_URL": "https://mypage.example.jp",
    }
    assert Settings.from_env(good).cookie_secure
    assert Settings.from_env(good).session_cookie_name == "__Host-mypage_session"
    with pytest.raises(ConfigError):
        Settings.from_env({**good, "MYPAGE_BASE_URL": "http://mypage.example.jp"})
    with pytest.raises(ConfigError):
        Settings.from_env({**good, "MYPAGE_RATE_LIMITS": "false"})


def test_bad_values_are_reported() -> None:
    with pytest.raises(ConfigError, match="MYPAGE_SESSION_IDLE_MINUTES"):
        Settings.from_env({"MYPAGE_SESSION_IDLE_MINUTES": "many"})
    with pytest.raises(ConfigError, match="MYPAGE_ENV"):
        Settings.from_env({"MYPAGE_ENV": "staging"})


def test_secret_never_in_repr() -> None:
    settings = Settings(smtp_password="hunter2-secret", secret_key="k" * 40)
    assert "hunter2-secret" not in repr(settings)
    assert "k" * 40 not in repr(settings)


def test_the_postgresql_pool_is_sized_by_a_setting() -> None:
    settings = Settings.from_env({"MYPAGE_DB_POOL_SIZE": "12"})
    assert settings.db_pool_size == 12
    url = database_url("postgres://u@h:5432/mypage", settings.db_pool_size)
    assert url == "postgres://u@h:5432/mypage?maxsize=12&minsize=1"
    # A size written in the URL wins; SQLite has no pool.
    assert database_url("postgres://u@h/m?maxsize=3", 12) == "postgres://u@h/m?maxsize=3"
    assert "maxsize" not in database_url("sqlite:///tmp/x.sqlite3", 12)
    with pytest.raises(ConfigError):
        Settings.from_env({"MYPAGE_DB_POOL_SIZE": "0"})
    with pytest.raises(ConfigError):
        Settings.from_env({"MYPAGE_SESSION_CACHE_SECONDS": "60"})


def test_cpu_threads_are_a_setting() -> None:
    assert Settings.from_env({}).cpu_threads == 0  # one fewer than the cores
    assert Settings.from_env({"MYPAGE_CPU_THREADS": "2"}).cpu_threads == 2
    with pytest.raises(ConfigError):
        Settings.from_env({"MYPAGE_CPU_THREADS": "-1"})
