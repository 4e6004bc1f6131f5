"""hotfix-bot: the service that acts on GitHub."""
