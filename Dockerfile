# One image recipe, a target per service: `issuer` and `resource-api`.
# No `# syntax=` line: it would make BuildKit pull a frontend image from a registry.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /src
# Dependencies first, so that a code change does not reinstall them.
COPY requirements.lock pyproject.toml README.md ./
COPY shared/pyproject.toml shared/README.md ./shared/
# jwtkit (shared/) is a distribution of this repository, not of the index: its own dependencies
# are installed here, itself below.
RUN /opt/venv/bin/python -c "import subprocess, sys, tomllib; \
load = lambda path: tomllib.load(open(path, 'rb'))['project']; \
project, jwtkit = load('pyproject.toml'), load('shared/pyproject.toml'); \
extras = project['optional-dependencies']; \
deps = jwtkit['dependencies'] + extras['issuer'] + extras['resource-api']; \
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '-q', '-c', 'requirements.lock', *deps])"
COPY shared ./shared
COPY issuer ./issuer
COPY resource_api ./resource_api
COPY service_runtime ./service_runtime
RUN /opt/venv/bin/pip install -q --no-deps ./shared . && /opt/venv/bin/python -m compileall -q /opt/venv

FROM ${PYTHON_IMAGE} AS runtime
# The final image has no compilers and no build tools: the venv is copied in, nothing built.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app \
    && mkdir /data && chown app /data
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER app
WORKDIR /tmp

FROM runtime AS issuer
ENV ISSUER_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
CMD ["python", "-m", "issuer", "serve", "--host", "0.0.0.0", "--port", "8000"]

FROM runtime AS resource-api
EXPOSE 8001
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8001/readyz', timeout=2).status != 200)"]
CMD ["python", "-m", "resource_api", "serve", "--host", "0.0.0.0", "--port", "8001"]
