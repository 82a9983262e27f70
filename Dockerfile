FROM python:3.11-slim-bookworm
# The code runs from /app (PYTHONPATH), so web, worker and beat all import the same files.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PYTHONPATH=/app
WORKDIR /app
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY . .
RUN SECRET_KEY=build-only ALLOWED_HOSTS=build DATABASE_URL=postgres:///unused \
    python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 crm && chown -R crm /app
USER crm
EXPOSE 8000
CMD ["gunicorn", "crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
