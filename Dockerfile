# vaeguard in a small CPU-only image.
#   docker build -t vaeguard .
#   docker run --rm -v "$PWD:/data" vaeguard fit flows.csv --model model
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The CPU build of torch (the default wheel on PyPI bundles CUDA and is several GB).
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md /src/
COPY vaeguard /src/vaeguard
RUN pip install /src

FROM python:3.11-slim
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1
RUN useradd --create-home --uid 10001 vaeguard && mkdir /data && chown vaeguard /data
USER vaeguard
WORKDIR /data
ENTRYPOINT ["vaeguard"]
CMD ["--help"]
