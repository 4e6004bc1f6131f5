"""The text the `version-bump` rule's fix gives, which several test files expect whole."""


def set_version_commands(version: str, base: str | None = None, fetched_from: str = "") -> str:
    """The shell commands, fenced, that set VERSION to `version` on hotfix/fix-login and push;
    with `base`, once that branch is merged into it: `origin`'s, or fetched from the URL
    `fetched_from` (a fork's commands fetch the base repository's)."""
    if base is None:
        merge = ""
    elif fetched_from:
        merge = f"git fetch {fetched_from} {base} &&\ngit merge --no-edit FETCH_HEAD &&\n"
    else:
        merge = f"git merge --no-edit origin/{base} &&\n"
    return (
        "```sh\n"
        "git fetch origin &&\n"
        "git checkout hotfix/fix-login &&\n"
        "git merge --ff-only origin/hotfix/fix-login &&\n"
        f"{merge}"
        f'echo "{version}" > VERSION &&\n'
        "git add VERSION &&\n"
        f'git commit -m "Bump the version to {version}" &&\n'
        "git push origin hotfix/fix-login\n```"
    )


def up_to_date_first(branch: str, base: str, version: str) -> str:
    """The words that say the fix brings `branch`, whose version does not go past `base`'s
    `version`, up to date with `base` first."""
    return (
        f"{branch} does not go past {base}'s version, {version}: the commands bring it up to "
        f"date with {base} first, so that the bump merges cleanly. "
    )
