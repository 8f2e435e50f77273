# kefu's container image: one image for web, worker and beat (compose.yaml, docs/operations.md "Containers").
#   docker build -t kefu .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    KEFU_VAR_DIR=/srv/kefu/var \
    DJANGO_STATIC_ROOT=/srv/kefu/static \
    DJANGO_MEDIA_ROOT=/srv/kefu/media

RUN groupadd --system kefu && useradd --system --gid kefu --home-dir /srv/kefu kefu \
    && mkdir -p /srv/kefu/app /srv/kefu/var /srv/kefu/static /srv/kefu/media \
    && chown -R kefu:kefu /srv/kefu
WORKDIR /srv/kefu/app

# Dependencies first: a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --chown=kefu:kefu . .
# Static files are collected into the image (hashed names, served by WhiteNoise). The key below only lets
# the settings load for this one command; the running container gets the real one from its environment.
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=collectstatic-only-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
    python manage.py collectstatic --noinput

USER kefu
EXPOSE 8000
ENV GUNICORN_BIND=0.0.0.0:8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "kefu.wsgi"]
