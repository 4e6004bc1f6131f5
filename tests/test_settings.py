"""Settings: the names and defaults of docs/BEHAVIOUR.md, 'Environment', and one clear line
for a bad value."""

from __future__ import annotations

import base64
import errno
import os
import pwd
import socket
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from app import cli
from app.cli import CannotListen, listen, main
from app.journal import journal_path
from app.settings import APP_ID_NOT_A_NUMBER, Settings, SettingsError, load_settings


def test_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    settings = load_settings(env_file=None)

    assert settings.app_id is None and not settings.has_credentials
    assert settings.github_api_url == "https://api.github.com"
    assert settings.webhook_path == "/api/github/webhooks"
    assert (settings.host, settings.port) == ("127.0.0.1", 3000)
    assert settings.database_url == "sqlite:///hotfix-bot.db"
    assert journal_path(settings.database_url) == Path("hotfix-bot.db")
    assert (settings.log_level, settings.log_format) == ("info", "console")


def test_a_dot_env_file_in_the_working_directory_is_read(
    tmp_path: Path, private_key_pem: str
) -> None:
    escaped = private_key_pem.strip().replace("\n", "\\n")
    (tmp_path / ".env").write_text(
        f'APP_ID=42\nPRIVATE_KEY="{escaped}"\nWEBHOOK_SECRET=s3cret\n'
        "DATABASE_URL=sqlite:////var/lib/hotfix/journal.db\nPORT=8080\nLOG_FORMAT=json\n"
    )

    settings = load_settings()

    assert settings.app_id == 42
    assert settings.private_key_pem() == private_key_pem.strip() + "\n"
    assert journal_path(settings.database_url) == Path("/var/lib/hotfix/journal.db")
    assert (settings.port, settings.log_format) == (8080, "json")


@pytest.mark.parametrize("line_end", ["\\r\\n", "\r\n"], ids=["escaped", "as-is"])
def test_a_key_with_windows_line_ends_is_read(
    line_end: str, private_key_pem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVATE_KEY", private_key_pem.strip().replace("\n", line_end))
    assert load_settings(env_file=None).private_key_pem() == private_key_pem.strip() + "\n"


GHE_API = "https://github.example.com/api/v3"


@pytest.mark.parametrize(
    ("variables", "api_url"),
    [
        ({"GHE_HOST": "github.example.com"}, GHE_API),
        ({"GHE_HOST": "github.example.com:8443/"}, "https://github.example.com:8443/api/v3"),
        ({"GHE_HOST": "ghe.internal", "GHE_PROTOCOL": "HTTP"}, "http://ghe.internal/api/v3"),
        (
            {"GHE_HOST": "github.example.com", "GITHUB_API_URL": "https://proxy.example.com/gh"},
            "https://proxy.example.com/gh",
        ),
        ({"GHE_HOST": "github.example.com", "GITHUB_API_URL": "  "}, GHE_API),
        ({"GHE_HOST": "  "}, "https://api.github.com"),
    ],
    ids=[
        "host",
        "host-and-port",
        "http",
        "github-api-url-wins",
        "github-api-url-blank",
        "ghe-host-blank",
    ],
)
def test_probots_enterprise_host_stands_for_the_api_url_when_that_is_unset(
    variables: dict[str, str], api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert load_settings(env_file=None).github_api_url == api_url


@pytest.mark.parametrize("wrapped", [False, True], ids=["one-line", "wrapped-at-76"])
def test_a_base64_encoded_key_is_read_as_probot_reads_one(
    wrapped: bool, private_key_pem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded = base64.b64encode(private_key_pem.encode()).decode()
    if wrapped:  # as `base64` writes it, and a secret pasted from its output keeps
        encoded = "\n".join(textwrap.wrap(encoded, 76))
    monkeypatch.setenv("PRIVATE_KEY", encoded)
    assert load_settings(env_file=None).private_key_pem() == private_key_pem.strip() + "\n"


@pytest.mark.parametrize(
    "url", ["postgresql://hotfix:pw@db.internal:5432/hotfix", "postgres://db.internal/hotfix"]
)
def test_a_postgresql_url_is_a_database_url(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    assert load_settings(env_file=None).database_url == url


@pytest.mark.parametrize(
    ("content", "unreadable"),
    [("WEBHOOK_SECRET=caf\xe9\n".encode("latin-1"), 19), ("APP_ID=12\n".encode("utf-16"), 1)],
)
def test_a_dot_env_that_is_not_utf8_is_one_line_naming_the_file(
    tmp_path: Path, content: bytes, unreadable: int
) -> None:
    """Latin-1, or UTF-16 as PowerShell's `>` writes it; the bytes are not shown."""
    (tmp_path / ".env").write_bytes(content)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value) == (
        f".env: not UTF-8 text (byte {unreadable} cannot be read); save it as UTF-8"
    )


@contextmanager
def _a_dot_env_of_another_user(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A 0600 `.env` this process cannot read, in a directory it may enter, as the setup page
    leaves it when run by root and the service then runs as someone else. Root reads files
    whatever their mode, so as root the test reads it as nobody."""
    with tempfile.TemporaryDirectory() as directory:
        Path(directory).chmod(0o755)
        monkeypatch.chdir(directory)
        env_file = Path(directory, ".env")
        env_file.write_text("APP_ID=12\nWEBHOOK_SECRET=secretstuff\n")
        if os.geteuid() != 0:
            env_file.chmod(0o000)
            yield
            return
        env_file.chmod(0o600)
        os.seteuid(pwd.getpwnam("nobody").pw_uid)
        try:
            yield
        finally:
            os.seteuid(0)


@pytest.mark.parametrize("command", ["serve", "deliveries", "timers"])
def test_an_unreadable_dot_env_stops_every_command_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    with _a_dot_env_of_another_user(monkeypatch):
        status = main([command])

    assert (status, capsys.readouterr().err) == (
        2,
        "hotfix-bot: .env: cannot read the file: Permission denied; make it readable to the "
        "user hotfix-bot runs as (and to no one else: it holds secrets)\n",
    )


def test_the_environment_wins_over_dot_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("PORT=8080\n")
    monkeypatch.setenv("PORT", "9090")
    assert load_settings().port == 9090


def test_a_variable_left_blank_in_the_environment_is_read_from_dot_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_key_pem: str
) -> None:
    """As the setup page leaves it: the credentials in .env, a compose file's `APP_ID=`."""
    escaped = private_key_pem.strip().replace("\n", "\\n")
    (tmp_path / ".env").write_text(
        f'APP_ID=77\nPRIVATE_KEY="{escaped}"\nWEBHOOK_SECRET=from-setup\n'
    )
    monkeypatch.setenv("APP_ID", "")
    monkeypatch.setenv("WEBHOOK_SECRET", "")

    settings = load_settings()

    assert settings.app_id == 77
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == "from-setup"


def test_a_key_file_is_read_when_private_key_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_key_pem: str
) -> None:
    (tmp_path / "app.pem").write_text(private_key_pem)
    monkeypatch.setenv("APP_ID", "7")
    monkeypatch.setenv("PRIVATE_KEY_PATH", str(tmp_path / "app.pem"))
    assert load_settings().private_key_pem() == private_key_pem


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"APP_ID": "twelve"}, f"APP_ID: {APP_ID_NOT_A_NUMBER}"),
        ({"APP_ID": "Iv1.0123456789abcdef"}, f"APP_ID: {APP_ID_NOT_A_NUMBER}"),
        ({"APP_ID": "-3", "PRIVATE_KEY": "x"}, "APP_ID: Input should be greater than 0"),
        ({"APP_ID": "3"}, "PRIVATE_KEY: required when APP_ID is set"),
        (
            {"APP_ID": "3", "PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\nsecretstuff\n"},
            "PRIVATE_KEY: not a PEM private key without a passphrase",
        ),
        (  # base64, but of no PEM
            {"APP_ID": "3", "PRIVATE_KEY": base64.b64encode(b"secretstuff").decode()},
            "PRIVATE_KEY: not a PEM private key without a passphrase",
        ),
        (
            {"APP_ID": "3", "PRIVATE_KEY_PATH": "/nonexistent/key.pem"},
            "PRIVATE_KEY_PATH: cannot read the key file /nonexistent/key.pem",
        ),
        *(
            (
                {"GHE_HOST": host},
                "GHE_HOST: must be a host alone, like github.example.com (a port allowed), with "
                "no scheme, path or credentials",
            )
            for host in (
                "https://github.example.com",
                "github.example.com/api/v3",
                "user:secretstuff@github.example.com",
                "github.example.com?x",
                "github example.com",
            )
        ),
        ({"PORT": "http"}, "PORT: Input should be a valid integer"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT: Input should be 'json' or 'console'"),
        (
            {"DATABASE_URL": "mysql://db/x"},
            "DATABASE_URL: must look like sqlite:///relative.db, sqlite:////absolute/path.db or "
            "postgresql://user:password@host:port/database",
        ),
        ({"GITHUB_API_URL": "github.example.com"}, "GITHUB_API_URL: must be an http"),
        (
            {"NOTIFY_WEBHOOK_URL": "hooks.slack.com/services/secretstuff"},
            "NOTIFY_WEBHOOK_URL: must be an http:// or https:// URL",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable_without_its_value(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as raised:
        load_settings(env_file=None)

    text = str(raised.value)
    assert text.startswith(message)
    assert "\n" not in text
    assert "secretstuff" not in text


def test_serve_with_a_bad_value_stops_with_that_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APP_ID", "abc")
    monkeypatch.setenv("WEBHOOK_SECRET", "do-not-print-me")

    assert main(["serve"]) == 2

    error = capsys.readouterr().err
    assert error == (
        "hotfix-bot: APP_ID: must be the App ID, a number: its settings on GitHub show it under "
        "About, above the Client ID (Iv1...), which is not it\n"
    )


NO_HOST = (
    "GITHUB_API_URL: must name a host (and any port as a number), like https://api.github.com "
    "or https://HOST/api/v3 (GitHub Enterprise Server)"
)
NO_CHAT_HOST = (
    "NOTIFY_WEBHOOK_URL: must name a host (and any port as a number), like "
    "https://hooks.slack.com/services/…"
)


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        (
            "WEBHOOK_PATH",
            "/",
            "WEBHOOK_PATH: / is the status page: give deliveries a path of their own, like "
            "/api/github/webhooks",
        ),
        ("WEBHOOK_PATH", "/hooks?token=x", "WEBHOOK_PATH: must be a path alone, without ? or #"),
        ("WEBHOOK_PATH", "/hooks#github", "WEBHOOK_PATH: must be a path alone, without ? or #"),
        ("GITHUB_API_URL", "https://", NO_HOST),
        ("GITHUB_API_URL", "https:///api/v3", NO_HOST),
        ("GITHUB_API_URL", "https://[::1/api/v3", NO_HOST),
        ("GITHUB_API_URL", "https://ghe.acme.com:443x/api/v3", NO_HOST),
        ("NOTIFY_WEBHOOK_URL", "https://", NO_CHAT_HOST),
        ("NOTIFY_WEBHOOK_URL", "https://[::1/T0/B0/SECRET", NO_CHAT_HOST),
    ],
    ids=[
        "root",
        "query",
        "fragment",
        "no host",
        "only a path",
        "IPv6 without ]",
        "a port that is no number",
        "chat without a host",
        "chat's IPv6 without ]",
    ],
)
def test_a_webhook_path_or_url_that_cannot_work_stops_serve_with_one_line(
    variable: str,
    value: str,
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`WEBHOOK_PATH=/` took the status page's `POST /` (its ADMIN_TOKEN form) for itself."""
    monkeypatch.setenv(variable, value)
    started: list[Settings] = []
    monkeypatch.setattr(cli, "serve", started.append)  # what would start, were it reached

    assert main(["serve"]) == 2

    assert capsys.readouterr().err == f"hotfix-bot: {line}\n"
    assert started == []


def _pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        (ec.generate_private_key(ec.SECP256R1()), "an EC"),  # certbot's privkey.pem
        (ed25519.Ed25519PrivateKey.generate(), "an Ed25519"),
    ],
    ids=["EC", "Ed25519"],
)
@pytest.mark.parametrize("variable", ["PRIVATE_KEY", "PRIVATE_KEY_PATH"])
def test_a_key_that_is_not_rsa_stops_serve_with_one_line_naming_the_variable(
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
    kind: str,
    variable: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """GitHub takes an App's tokens signed RS256 alone: every delivery would fail."""
    key_file = tmp_path / "privkey.pem"
    key_file.write_text(_pem(key))
    monkeypatch.setenv("APP_ID", "7")
    monkeypatch.setenv(variable, str(key_file) if variable == "PRIVATE_KEY_PATH" else _pem(key))
    started: list[Settings] = []
    monkeypatch.setattr(cli, "serve", started.append)  # what would start, were it reached

    assert main(["serve"]) == 2

    where = f"{key_file} is" if variable == "PRIVATE_KEY_PATH" else "this is"
    assert capsys.readouterr().err == (
        f"hotfix-bot: {variable}: {where} {kind} key; a GitHub App's private key is RSA: "
        "generate one in the App's settings on GitHub and use the .pem it downloads\n"
    )
    assert started == []


def test_secrets_are_hidden_in_the_settings_repr(private_key_pem: str) -> None:
    settings = Settings(
        _env_file=None,
        APP_ID=1,
        PRIVATE_KEY=private_key_pem,
        WEBHOOK_SECRET="hunter2-secret",
        ADMIN_TOKEN="admin-token-secret",
        NOTIFY_WEBHOOK_URL="https://chat.example/hooks/chat-token-secret",
        DATABASE_URL="postgresql://hotfix:database-password-secret@db.example:5432/journal",
    )
    assert "database_url='db.example:5432/journal'" in repr(settings)
    assert "database-password-secret" not in repr(settings) + str(settings)
    assert "hunter2-secret" not in repr(settings) and "PRIVATE KEY" not in repr(settings)
    assert "admin-token-secret" not in repr(settings)
    assert "chat-token-secret" not in repr(settings) and "chat-token-secret" not in str(settings)
    assert settings.notify_webhook_url is not None
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == "admin-token-secret"


def test_admin_token_left_blank_in_dot_env_is_unset(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ADMIN_TOKEN=\n")
    assert load_settings().admin_token is None


def test_an_admin_token_of_spaces_stops_serve_with_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('ADMIN_TOKEN="   "\n')
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value) == (
        "ADMIN_TOKEN: is only whitespace: choose a secret, e.g. `openssl rand -hex 32`"
    )


def test_no_chat_unless_notify_webhook_url_is_set(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("NOTIFY_WEBHOOK_URL=\n")
    assert load_settings().notify_webhook_url is None
    (tmp_path / ".env").write_text("NOTIFY_WEBHOOK_URL=https://chat.example/hooks/x\n")
    url = load_settings().notify_webhook_url
    assert url is not None and url.get_secret_value() == "https://chat.example/hooks/x"


def test_urls_are_read_without_the_whitespace_around_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A URL pasted with a space, or read from a file with its line break, is the URL."""
    (tmp_path / ".env").write_text('NOTIFY_WEBHOOK_URL=" https://chat.example/hooks/x "\n')
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example/api/v3/\n")
    monkeypatch.setenv("DATABASE_URL", " sqlite:///journal.db\n")

    settings = load_settings()

    assert settings.notify_webhook_url is not None
    assert settings.notify_webhook_url.get_secret_value() == "https://chat.example/hooks/x"
    assert settings.github_api_url == "https://ghe.example/api/v3"
    assert settings.database_url == "sqlite:///journal.db"


@pytest.mark.parametrize("variable", ["NOTIFY_WEBHOOK_URL", "GITHUB_API_URL", "DATABASE_URL"])
def test_a_url_of_only_whitespace_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, " \n")
    settings = load_settings()
    unset = {
        "NOTIFY_WEBHOOK_URL": (settings.notify_webhook_url, None),
        "GITHUB_API_URL": (settings.github_api_url, "https://api.github.com"),
        "DATABASE_URL": (settings.database_url, "sqlite:///hotfix-bot.db"),
    }
    assert unset[variable][0] == unset[variable][1]


@pytest.mark.parametrize(
    ("variable", "given", "taken"),
    [
        ("LOG_LEVEL", "trace", "debug"),
        ("LOG_LEVEL", "debug", "debug"),
        ("LOG_LEVEL", "INFO", "info"),
        ("LOG_LEVEL", "warn", "warning"),
        ("LOG_LEVEL", "warning", "warning"),
        ("LOG_LEVEL", "error", "error"),
        ("LOG_LEVEL", "fatal", "critical"),
        ("LOG_FORMAT", "pretty", "console"),
        ("LOG_FORMAT", "JSON", "json"),
    ],
)
def test_log_level_and_format_take_probots_names_too(
    variable: str, given: str, taken: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, given)
    settings = load_settings(env_file=None)
    assert getattr(settings, variable.lower()) == taken


@pytest.mark.parametrize("command", [["serve"], ["deliveries"], ["redeliver", "d-1"]])
def test_a_journal_that_cannot_be_opened_stops_with_one_line_naming_database_url(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing can be created under /proc, not even by root.
    monkeypatch.setenv("DATABASE_URL", "sqlite:////proc/hotfix-bot-test/journal.db")

    assert main(command) == 2

    [line] = capsys.readouterr().err.splitlines()
    # `serve` makes a journal that is not there; the others read the one it made.
    hint = (
        ""
        if command == ["serve"]
        else "; run it where `hotfix-bot serve` runs, with the same environment and .env"
    )
    assert line == (
        "hotfix-bot: DATABASE_URL: cannot open the journal /proc/hotfix-bot-test/journal.db: "
        f"No such file or directory{hint}"
    )


@pytest.mark.parametrize(
    ("host", "line"),
    [
        ("bogus.invalid", "hotfix-bot: HOST: cannot resolve 'bogus.invalid': "),
        ("192.0.2.1", "hotfix-bot: HOST: 192.0.2.1 is not an address of this machine"),
        ("127.0.0.1", "hotfix-bot: PORT: {port} is in use on 127.0.0.1 by another program"),
    ],
    ids=["unresolvable", "not this machine's", "port in use"],
)
def test_an_address_serve_cannot_listen_on_stops_it_with_one_line_naming_the_variable(
    host: str,
    line: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("HOST", host)
        monkeypatch.setenv("PORT", str(port))
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'journal.db'}")

        # A server already running on that journal keeps its metrics files.
        running = tmp_path / "journal.db.metrics" / "counter_1.db"
        running.parent.mkdir()
        running.write_bytes(b"counts")

        assert main(["serve"]) == 2

    [printed] = capsys.readouterr().err.splitlines()
    assert printed.startswith(line.format(port=port))
    assert running.read_bytes() == b"counts"


def test_an_address_family_the_machine_lacks_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """`localhost` resolves to ::1 too; with IPv6 turned off uvicorn serves on 127.0.0.1."""
    real_socket = socket.socket

    def without_ipv6(family: int = socket.AF_INET, *rest: Any) -> socket.socket:
        if family == socket.AF_INET6:
            raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")
        return real_socket(family, *rest)

    ipv6 = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 0, 0, 0))
    ipv4 = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))
    monkeypatch.setattr(socket, "socket", without_ipv6)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *_, **__: [ipv6, ipv4])
    [bound] = listen("localhost", 0)
    assert bound.family == socket.AF_INET
    bound.close()

    monkeypatch.setattr(socket, "getaddrinfo", lambda *_, **__: [ipv6])
    with pytest.raises(CannotListen) as refused:
        listen("::1", 0)
    assert str(refused.value) == (
        "HOST, PORT: cannot listen on ::1:0: Address family not supported by protocol"
    )
