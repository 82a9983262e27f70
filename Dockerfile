FROM python:3.11-slim-bookworm
# The code runs from /app (PYTHONPATH), so web, worker and beat all import the same files.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PYTHONPATH=/app
WORKDIR /app
COPY pyproject.toml requirements.lock ./
# What running needs (pyproject's dependencies) at the locked versions; the dev tools (pytest,
# Playwright, ruff …) and the embedded PostgreSQL stay out of the image.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
    > /tmp/requirements.txt \
    && pip install -c requirements.lock -r /tmp/requirements.txt && rm /tmp/requirements.txt
COPY . .
RUN SECRET_KEY=build-only ALLOWED_HOSTS=build DATABASE_URL=postgres:///unused \
    python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 crm && chown -R crm /app
USER crm
EXPOSE 8000
CMD ["gunicorn", "crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
