# Learnhub: one image, `learnhub serve`. Configure it with LEARNHUB_* variables (see README).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN useradd --create-home --uid 10001 learnhub
COPY pyproject.toml README.md ./
COPY service ./service
COPY handlers ./handlers
COPY digests ./digests
COPY subscribers ./subscribers
RUN pip install . && mkdir -p /app/var && chown learnhub:learnhub /app/var

USER learnhub
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4).status != 200)"
CMD ["learnhub", "serve", "--host", "0.0.0.0", "--port", "8080"]
