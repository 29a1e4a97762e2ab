# Multi-stage build: compile with the Rust toolchain, run on a small Debian base as a
# non-root user. (No Docker engine runs on the project's CI machines, so this file is
# kept to the README's own commands.)
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY .cargo .cargo
COPY build.rs .
COPY src src
COPY bench bench
COPY migrations migrations
COPY sql sql
COPY config config
COPY assets assets
RUN cargo build --release --locked --bin recarga

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app recarga
WORKDIR /app
COPY --from=build /src/target/release/recarga /usr/local/bin/recarga
COPY config config
USER recarga
ENV RECARGA_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["recarga"]
CMD ["serve"]
