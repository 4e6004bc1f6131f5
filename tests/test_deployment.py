"""The Docker image and fly.toml: locked, non-root, the journal on a volume, /healthz.

Building the image needs a working container engine and the package index; where `docker
info` fails (a docker client without a daemon, or none at all) that test is skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
FLY = tomllib.loads((ROOT / "fly.toml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PINNED = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s]+)$")
SECRETS = (
    "APP_ID",
    "PRIVATE_KEY",
    "PRIVATE_KEY_PATH",
    "WEBHOOK_SECRET",
    "GITHUB_CLIENT_SECRET",
    "ADMIN_TOKEN",
)


def locked(lock: str = "requirements.lock") -> dict[str, str]:
    lines = (ROOT / lock).read_text().splitlines()
    requirements = [line for line in lines if line and not line.startswith("#")]
    pins = [PINNED.match(line) for line in requirements]
    assert all(pins), [line for line, pin in zip(requirements, pins, strict=True) if not pin]
    return {canonicalize_name(pin.group(1)): pin.group(2) for pin in pins if pin}


def test_the_lock_pins_every_runtime_dependency_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = locked()

    for dependency in map(Requirement, project["dependencies"]):
        name = canonicalize_name(dependency.name)
        assert name in pins, f"{name} is not in requirements.lock"
        assert dependency.specifier.contains(pins[name]), f"{name}=={pins[name]}: {dependency}"


def test_the_dev_lock_pins_every_test_tool_within_its_range_and_no_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, tools = locked(), locked("requirements-dev.lock")

    # One version of each package: a pin in both locks would be a constraint pip cannot meet
    # once they differ.
    assert not runtime.keys() & tools.keys(), runtime.keys() & tools.keys()
    for dependency in map(Requirement, project["optional-dependencies"]["test"]):
        name = canonicalize_name(dependency.name)
        assert name in tools, f"{name} is not in requirements-dev.lock"
        assert dependency.specifier.contains(tools[name]), f"{name}=={tools[name]}: {dependency}"


def test_the_image_is_small_non_root_locked_and_checks_healthz() -> None:
    final_stage = DOCKERFILE.rsplit("\nFROM ", 1)[1]

    assert final_stage.startswith("python:3.11-slim")
    assert "COPY --from=build /venv /venv" in final_stage
    assert "pip install" not in final_stage and "apt-get" not in final_stage
    assert re.search(r"^USER (?!root)\S+", final_stage, re.MULTILINE)
    assert "HOST=0.0.0.0" in final_stage and "PORT=3000" in final_stage
    assert "DATABASE_URL=sqlite:////data/" in final_stage
    assert "/healthz" in final_stage.split("HEALTHCHECK", 1)[1]
    assert "-r /src/requirements.lock" in DOCKERFILE
    ignored = [
        line for line in (ROOT / ".dockerignore").read_text().splitlines() if line[:1] not in "#"
    ]
    assert ignored[0] == "*"  # an allow-list: .env, journals and keys never reach the image
    assert not [line for line in ignored if ".env" in line or ".db" in line or ".pem" in line]


def test_fly_runs_one_machine_with_the_journal_on_a_volume_and_no_secrets() -> None:
    service = FLY["http_service"]

    assert service["internal_port"] == int(FLY["env"]["PORT"]) == 3000
    assert service["min_machines_running"] == 1 and service["auto_stop_machines"] == "off"
    assert [check["path"] for check in service["checks"]] == ["/healthz"]
    volume = FLY["mounts"]["destination"]
    assert FLY["env"]["DATABASE_URL"].startswith(f"sqlite:///{volume}/")
    assert not set(SECRETS) & set(FLY["env"])
    fly_text = (ROOT / "fly.toml").read_text()
    for secret in ("APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET", "ADMIN_TOKEN"):
        assert re.search(rf"^#.*\b{secret}\b", fly_text, re.MULTILINE), f"name {secret}"


def test_the_packaged_app_yml_is_the_top_level_one() -> None:
    """app/app.yml is what the setup page of an installed package reads; app.yml at the top
    is the one to edit. A copy in place of the link would go stale."""
    assert (ROOT / "app" / "app.yml").read_bytes() == (ROOT / "app.yml").read_bytes()


def test_a_built_package_holds_app_yml_and_finds_it_from_an_empty_directory(
    tmp_path: Path,
) -> None:
    # What a wheel holds is what setuptools' build_py lays out (bdist_wheel runs it); built
    # from a copy of the sources, so that the checkout gets no build files.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "app.yml"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("app", "policies"):
        ignored = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / package, source / package, symlinks=True, ignore=ignored)
    built = tmp_path / "built"
    build_py = ["-c", "import setuptools; setuptools.setup()", "-q", "build_py", "--build-lib"]
    subprocess.run(
        [sys.executable, *build_py, str(built)], cwd=source, capture_output=True, check=True
    )

    packaged = built / "app" / "app.yml"
    assert packaged.is_file() and not packaged.is_symlink()
    assert packaged.read_bytes() == (ROOT / "app.yml").read_bytes()
    empty = tmp_path / "empty"  # `pip install` elsewhere, started in a new directory
    empty.mkdir()
    found = subprocess.run(
        [sys.executable, "-c", "from app.pages.setup import manifest_path; print(manifest_path())"],
        cwd=empty,
        env={**os.environ, "PYTHONPATH": str(built)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout == f"{packaged}\n"


def container_engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        return f"`docker info` fails, no container engine to talk to: {info.stderr.strip()[:200]}"
    return None


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    problem = container_engine_problem()
    if problem is not None:
        pytest.skip(f"cannot build the image here: {problem}")
    tag = f"hotfix-bot-test:{uuid.uuid4().hex[:12]}"
    subprocess.run(["docker", "build", "--quiet", "-t", tag, str(ROOT)], check=True)
    yield tag
    subprocess.run(["docker", "rmi", "--force", tag], capture_output=True, check=False)


@pytest.mark.timeout(900)
def test_the_image_serves_healthz_as_a_non_root_user(image: str) -> None:
    container = subprocess.run(
        ["docker", "run", "--detach", "--publish", "127.0.0.1::3000", image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        port = (
            subprocess.run(
                ["docker", "port", container, "3000/tcp"],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.split(":")[-1]
            .strip()
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the container did not answer /healthz"
                time.sleep(0.5)
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
        user = subprocess.run(
            ["docker", "exec", container, "id", "-u"], capture_output=True, text=True, check=True
        )
        assert user.stdout.strip() != "0"
    finally:
        subprocess.run(["docker", "rm", "--force", container], capture_output=True, check=False)
