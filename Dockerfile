# The chat and the API in one image (see docker-compose.yml and README "Scaling out").
# Installs as ./run.sh does (pinned requirements.lock, verified models), nothing more.
FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN ./run.sh setup
ENV PATH=/app/.venv/bin:$PATH \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False \
    RAG_HOST=0.0.0.0
EXPOSE 7860 8800
CMD ["rag", "serve"]
