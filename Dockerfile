# snapdelta in a container: `docker build -t snapdelta .` from the repository's root.
# The image holds the snapdelta binary and the Debian libraries it links, runs as an unprivileged
# user, and keeps its home (registry, states, change files when local) in /var/lib/snapdelta.
# deploy/compose.yaml runs workers with PostgreSQL and an S3-compatible store.

FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libisal-dev zlib1g-dev libzstd-dev libxxhash-dev libsqlite3-dev \
      libcli11-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev \
      libcurl4-openssl-dev libpugixml-dev libssl-dev librdkafka-dev libsimdjson-dev \
      libpq-dev libcpp-httplib-dev libjemalloc-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY include include
COPY src src
# The commit --version names (the build context has no .git): --build-arg COMMIT=$(git rev-parse --short=12 HEAD)
ARG COMMIT=unknown
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSNAPDELTA_BUILD_TESTS=OFF \
      -DSNAPDELTA_BUILD_COMMIT="${COMMIT}" \
    && cmake --build build --target snapdelta -j "$(nproc)" \
    && strip build/snapdelta

FROM debian:bookworm-slim
# runtime packages: the shared libraries the binary links (libc6, libgcc-s1, libstdc++6 and
# zlib1g are in the base image).
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates libisal2 libzstd1 libxxhash0 libsqlite3-0 libtomlplusplus3 libcurl4 \
      libpugixml1v5 libssl3 librdkafka1 libsimdjson14 libpq5 libcpp-httplib0.11 libfmt9 \
      libjemalloc2 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/snapdelta --create-home \
         --shell /usr/sbin/nologin snapdelta
COPY --from=build /src/build/snapdelta /usr/local/bin/snapdelta
USER snapdelta
WORKDIR /var/lib/snapdelta
VOLUME /var/lib/snapdelta
# snapdelta serve, or watch/worker --serve 0.0.0.0:8700 --allow-remote
EXPOSE 8700
ENTRYPOINT ["/usr/local/bin/snapdelta"]
CMD ["--help"]
