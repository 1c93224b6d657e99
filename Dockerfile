# vaeguard in a small CPU-only image that runs under any user id.
#   docker build -t vaeguard .
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/data" vaeguard fit flows.csv --model model
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
# HOME in /tmp: `docker run --user "$(id -u):$(id -g)"` gives a user id with no home folder, and the
# libraries underneath (matplotlib, torch) want somewhere to keep their caches.
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp
# /data is writable by any user id, so the image works both with --user (files then belong to the host
# user who ran it) and without it (a non-root default user).
RUN mkdir /data && chmod 1777 /data
USER 10001:10001
WORKDIR /data
# No network is needed at run time: the model and the data are files under /data.
ENTRYPOINT ["vaeguard"]
CMD ["--help"]
