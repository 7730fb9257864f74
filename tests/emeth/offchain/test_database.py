"""The execution-layer suite runs on the database it was asked for (``$L2KIT_TEST_DB_URL``)."""

from __future__ import annotations

import pytest

from offchain.emeth.execution.db import postgres_url
from offchain.errors import ConfigError
from tests.emeth.offchain.conftest import Env
from tests.helpers.db import on_postgres


def test_suiteRunsOnTheRequestedDatabase(env: Env) -> None:
    dialect = env.stack.service.engine.dialect.name
    assert dialect == ("postgresql" if on_postgres() else "sqlite")


def test_postgresUrlsUsePsycopg3() -> None:
    assert postgres_url("postgresql://u@h:5/db") == "postgresql+psycopg://u@h:5/db"
    assert postgres_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert postgres_url("sqlite:///x.db") == "sqlite:///x.db"


def test_postgresWithoutPsycopgIsOneLineError(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real = builtins.__import__

    def no_psycopg(name: str, *a: object, **k: object) -> object:
        if name == "psycopg":
            raise ImportError(name)
        return real(name, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    with pytest.raises(ConfigError, match=r"l2kit\[postgres\]"):
        postgres_url("postgresql://u@h/db")
