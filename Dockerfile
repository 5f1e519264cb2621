# The chat and the API in one image (see docker-compose.yml and README "Scaling out").
# Installs as ./run.sh does (pinned requirements.lock, verified models), nothing more.
FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# run.sh builds llama.cpp with its LLAMA_CMAKE_ARGS (portable AVX2, no multimodal library,
# tools or server); extra options go in CMAKE_ARGS: docker build --build-arg CMAKE_ARGS=...
ARG CMAKE_ARGS=""
RUN CMAKE_ARGS="$CMAKE_ARGS" ./run.sh setup
ENV PATH=/app/.venv/bin:$PATH \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False \
    RAG_HOST=0.0.0.0
# 0.0.0.0 is beyond loopback: `rag serve` needs RAG_API_KEY and `rag chat` RAG_CHAT_USER and
# RAG_CHAT_PASSWORD at run time (docker run -e RAG_API_KEY=...), or they refuse to start.
EXPOSE 7860 8800
CMD ["rag", "serve"]
