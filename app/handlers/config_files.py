"""The `.github/hotfix.yml` files a repository's config is made of: its organization's
defaults, then its own file (docs/BEHAVIOUR.md, "Organization defaults").

The organization's file is read from the default branch of its `.github` repository with
one request, revalidated by ETag, beside the reads of the repository's own file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from githubkit.exception import RequestFailed

from app.github.client import InstallationClient, classify, error_message
from app.github.files import read_default_branch_file, start_reading_files
from app.github.reads import Reads
from policies.config import CONFIG_PATH, HotfixConfig, OrgDefaults, load_config
from policies.files import FileText, UnreadableText

# The repository GitHub reads an organization's shared community files from.
ORG_REPOSITORY = ".github"


@dataclass(frozen=True, slots=True)
class NotReadable:
    """An organization file GitHub will not hand this installation (a `403` that is not a
    rate limit, or another error that is not retried): no base, and the check run says so."""

    answer: str  # GitHub's status and message: "403: Resource not accessible by integration"


# The organization's file as read: as a repository's, or one the installation may not read.
OrgFileText = FileText | NotReadable


async def read_org_file(github: InstallationClient, repository: str) -> OrgFileText:
    """The organization's `.github/hotfix.yml` for `repository`: None when there is none, or
    none the installation can see (a repository it was not given answers 404 too), and
    `NotReadable` when GitHub refuses it to the installation."""
    if _is_org_repository(repository):
        return None  # the organization's repository: its own file is read as such
    owner = repository.split("/", 1)[0]
    try:
        return await read_default_branch_file(github, f"{owner}/{ORG_REPOSITORY}", CONFIG_PATH)
    except RequestFailed as error:
        if classify(error).transient:
            raise  # a rate limit or GitHub failing: the worker retries
        answer = str(error.response.status_code)
        if message := error_message(error):
            answer += f": {message}"
        return NotReadable(answer)


def _is_org_repository(repository: str) -> bool:
    return repository.split("/", 1)[1].casefold() == ORG_REPOSITORY


def start_reading_org_file(
    reads: Reads, github: InstallationClient, repository: str
) -> asyncio.Task[OrgFileText]:
    """`read_org_file` as one of `reads`: started now, or the read started before."""
    return reads.start(("org file", repository), lambda: read_org_file(github, repository))


@dataclass(frozen=True, slots=True)
class ConfigFiles:
    """The two files as read; `config` makes the effective config of them."""

    repository: str
    ref: str  # the branch the repository's own file was read from
    org: OrgFileText
    own: FileText

    def holds_org_defaults(self, default_branch: str) -> bool:
        """Whether the repository's own file is its organization's defaults too: the
        `.github` repository's, on its default branch."""
        return self.ref == default_branch and _is_org_repository(self.repository)

    @property
    def org_file(self) -> str:
        """The organization's file as problems name it."""
        return f"{self._org_repository}:{CONFIG_PATH}"

    @property
    def _org_repository(self) -> str:
        return f"{self.repository.split('/', 1)[0]}/{ORG_REPOSITORY}"

    def config(self, default_branch: str) -> HotfixConfig:
        """The organization's file laid over the defaults, the repository's over that;
        `ConfigError` naming the file that cannot be used and why. An organization file the
        installation may not read is no base: the repository's file is laid over the
        defaults."""
        org = (
            OrgDefaults(self.org_file, self.org)
            if isinstance(self.org, str | UnreadableText)
            else None
        )
        return load_config(self.own, default_branch, org)

    @property
    def used(self) -> str:
        """Which files make the config, in the order they are laid over the defaults, and
        the organization's when the installation may not read it: one line for the check
        run."""
        files = []
        if isinstance(self.org, str | UnreadableText):
            files.append(f"{self._org_repository} {CONFIG_PATH}")
        if self.own is not None:
            files.append(f"{CONFIG_PATH} on {self.ref}")
        if isinstance(self.org, NotReadable):
            # Said, not failed on: an admin sees why the organization's policy is missing.
            missing = f"no {CONFIG_PATH} on {self.ref}"
            not_used = (
                f"; {self._org_repository}: {CONFIG_PATH} not readable "
                f"(GitHub answered {self.org.answer}), not used"
            )
        else:
            missing = f"no {CONFIG_PATH} on {self.ref} or in {self._org_repository}"
            not_used = ""
        used = ", then ".join(files) if files else f"the defaults ({missing})"
        return f"Config: {used}{not_used}"


def start_reading_config(
    reads: Reads, github: InstallationClient, repository: str, base_ref: str
) -> None:
    """Start the reads `base_config` makes for a pull request into `base_ref`, as some of
    `reads`, before the pull request is read."""
    start_reading_files(reads, github, repository, base_ref, [CONFIG_PATH])
    start_reading_org_file(reads, github, repository)


async def base_config(
    github: InstallationClient,
    repository: str,
    pull: Mapping[str, Any],
    reads: Reads | None = None,
) -> HotfixConfig:
    """The config of the pull request's base branch (for a merged one, the branch it merged
    into) over the organization's; `ConfigError` naming the file that cannot be used. With
    `reads`, those `start_reading_config` started for the same branch are used."""
    base = pull["base"]
    return await config_at(github, repository, base["ref"], base["repo"]["default_branch"], reads)


async def config_at(
    github: InstallationClient,
    repository: str,
    ref: str,
    default_branch: str,
    reads: Reads | None = None,
) -> HotfixConfig:
    """The config at `ref` (a branch or a commit SHA) over the organization's, as
    `base_config` makes it."""
    reads = reads or Reads()
    files, org_file = await asyncio.gather(
        start_reading_files(reads, github, repository, ref, [CONFIG_PATH]),
        start_reading_org_file(reads, github, repository),
    )
    return ConfigFiles(repository, ref, org_file, files.get(CONFIG_PATH)).config(default_branch)
