# vaeguard in a small CPU-only image.
#   docker build -t vaeguard .
#   docker run --rm -v "$PWD:/data" vaeguard fit flows.csv --model model
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md /src/
COPY vaeguard /src/vaeguard
COPY scripts/install.sh /src/scripts/install.sh
# Same script CI runs; the CPU wheel index keeps CUDA (several GB) out of the image.
RUN TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu sh /src/scripts/install.sh /src

FROM python:3.11-slim
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 vaeguard && mkdir /data && chown vaeguard /data
USER vaeguard
WORKDIR /data
# No network is needed at run time: the model and the data are files under /data.
ENTRYPOINT ["vaeguard"]
CMD ["--help"]
