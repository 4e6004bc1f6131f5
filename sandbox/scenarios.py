"""The stories `hotfix-bot demo` can tell, by name: light to import, so the CLI can list them
without loading the fake GitHub."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    """Which story the demo tells, and where `develop` stands when the hotfix starts (the
    back-merge's outcome follows)."""

    # develop's own VERSION, committed there before the hotfix; None: main's, unchanged.
    develop_version: str | None = None
    # A P0 fixed during an incident: reviews asked at once, an escalation, an approval given
    # on the incident bridge and, a day after the merge, the reminder to confirm it. Otherwise
    # the quickstart's P1, from a failing check to the release.
    incident: bool = False
    # The quickstart's hotfix, then undone: GitHub's Revert button, the rollback shipped as the
    # next patch with one approval, merged and released, the hotfix told of it.
    rollback: bool = False

    @property
    def steps(self) -> int:
        """How many steps the story has: a rollback's three follow the quickstart's five."""
        return 8 if self.rollback else 5

    @property
    def develop_setting(self) -> str:
        if self.develop_version is None:
            return "one commit ahead of main"
        return f"two commits ahead of main, VERSION {self.develop_version.strip()}"


SCENARIOS = {
    "quickstart": Scenario(),
    # develop already names the next version, so the back-merge conflicts in VERSION alone.
    "version-conflict": Scenario(develop_version="1.3.0-dev\n"),
    "p0": Scenario(incident=True),
    "rollback": Scenario(rollback=True),
}
