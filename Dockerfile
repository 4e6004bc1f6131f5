# hotfix-bot: a small, non-root image. Build: docker build -t hotfix-bot .
# The builder installs the locked dependencies and the app into a venv; the final stage gets
# only that venv (no pip cache, no build tools, no sources besides the installed package).

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /venv
COPY requirements.lock /src/
RUN /venv/bin/pip install --no-deps --only-binary=:all: -r /src/requirements.lock
# app.yml with the sources: app/app.yml links to it, and the package carries a copy.
COPY pyproject.toml README.md app.yml /src/
COPY app /src/app
COPY policies /src/policies
# --no-deps: everything it needs is in the lock; `pip check` fails the build if not.
RUN /venv/bin/pip install --no-deps /src && /venv/bin/pip check

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --no-create-home hotfix-bot \
    && mkdir -p /data /srv/hotfix-bot \
    && chown hotfix-bot:hotfix-bot /data /srv/hotfix-bot
COPY --from=build /venv /venv
# The working directory holds .env after setup (the setup page reads the packaged app.yml,
# or an app.yml put here).
WORKDIR /srv/hotfix-bot
USER hotfix-bot
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite:////data/hotfix-bot.db
# The SQLite journal: mount a volume here so acknowledged deliveries survive a new image.
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '3000')}/healthz\", timeout=4)"]
CMD ["hotfix-bot", "serve"]
