"""The pages people open in a browser: setup (before the App exists) and status."""
