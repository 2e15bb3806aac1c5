# syntax=docker/dockerfile:1
#
# evidenced container image: a release build on Debian 12, run on distroless cc-debian12
# (glibc, libgcc, CA certificates, no shell) as the unprivileged "nonroot" user (65532).
# The root filesystem can be mounted read-only: the only writable path is the declared
# volume /var/lib/evidenced. Credentials come from the task role, never from the image.
#
#   docker build -t evidenced .
#   docker run --read-only -v evidenced-state:/var/lib/evidenced evidenced --help

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
# Only what the binary needs (see .dockerignore); tests and docs stay out of the context.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The registry and target caches speed up rebuilds; the binary is copied out of the cache
# mount because the mount is not part of the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin evidenced \
    && install -D -m 0755 target/release/evidenced /out/evidenced \
    && install -d -m 0750 /out/var/lib/evidenced

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="evidenced" \
      org.opencontainers.image.description="Continuously collects AWS FTR / Competency evidence into a hash-chained, verifiable store" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/evidenced /evidenced
# Owned by nonroot so that the volume ECS (or Docker) creates from it is writable: ECS
# copies the image's content and ownership at a VOLUME path into the task's bind mount.
COPY --from=build --chown=65532:65532 /out/var/lib/evidenced /var/lib/evidenced
# The production configuration (store URL, collectors, schedules). Deployment-specific
# values are overridden by EVIDENCED_<SECTION>__<KEY> variables in the task definition.
COPY deploy/evidenced.toml /etc/evidenced/evidenced.toml
ENV EVIDENCED_CONFIG=/etc/evidenced/evidenced.toml
VOLUME ["/var/lib/evidenced"]
WORKDIR /var/lib/evidenced
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/evidenced", "healthcheck"]
ENTRYPOINT ["/evidenced"]
CMD ["run"]
