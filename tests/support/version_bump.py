"""The text the `version-bump` rule's fix gives, which several test files expect whole."""


def set_version_commands(version: str) -> str:
    """The shell commands, fenced, that set VERSION to `version` on hotfix/fix-login and push."""
    return (
        "```sh\n"
        "git fetch origin &&\n"
        "git checkout hotfix/fix-login &&\n"
        "git merge --ff-only origin/hotfix/fix-login &&\n"
        f'echo "{version}" > VERSION &&\n'
        "git add VERSION &&\n"
        f'git commit -m "Bump the version to {version}" &&\n'
        "git push origin hotfix/fix-login\n```"
    )
