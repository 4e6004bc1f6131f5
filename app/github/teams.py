"""Who is in a team of the repository's organization, as approval groups and break-glass
ask it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from githubkit.exception import RequestFailed

from app.github.client import InstallationClient


def owned_by_a_person(repository: Mapping[str, Any]) -> bool:
    """Whether GitHub's `repository` belongs to a person's account, which has no teams,
    rather than to an organization."""
    return bool(repository["owner"].get("type") == "User")


@dataclass(frozen=True, slots=True)
class TeamLookup:
    among: frozenset[str]  # those of the logins asked about who are in the team, casefolded
    # GitHub listed the team's members; False: it answered 404 (no such team, most likely)
    # and each login's membership was asked instead.
    listed: bool = True


async def members_among(
    github: InstallationClient, org: str, slug: str, logins: frozenset[str]
) -> frozenset[str]:
    """Those of `logins` who are in the team, casefolded (GitHub logins ignore case)."""
    return (await look_up_team(github, org, slug, logins)).among


async def look_up_team(
    github: InstallationClient, org: str, slug: str, logins: frozenset[str]
) -> TeamLookup:
    """Those of `logins` who are in the team, and whether GitHub lists the team at all."""
    try:
        members = await github.get_all(f"/orgs/{org}/teams/{slug}/members")
    except RequestFailed as error:
        if error.response.status_code != 404:
            raise
        # No such team, a personal account, or a server without the members list: ask for
        # each login instead (never cached: it says nothing of the others).
        memberships = await asyncio.gather(
            *(
                github.get_optional(f"/orgs/{org}/teams/{slug}/memberships/{login}")
                for login in logins
            )
        )
        among = frozenset(
            login.casefold()
            for login, membership in zip(logins, memberships, strict=True)
            if membership is not None and membership.get("state") == "active"
        )
        return TeamLookup(among, listed=False)
    in_team = {member["login"].casefold() for member in members}
    return TeamLookup(
        frozenset(login.casefold() for login in logins if login.casefold() in in_team)
    )
