# syntax=docker/dockerfile:1.7
# TechVerse server image: the release binary and the built storefront and admin apps on a
# distroless runtime (glibc, CA certificates, no shell), running as uid 65532.
#
#   bash scripts/build-frontend          # frontend/dist: the apps (the deploy job builds them once)
#   docker build -t techverse .
#   docker run -p 8080:8080 techverse    # the embedded store under /data; TECHVERSE_* configure it
#
# The apps are copied in rather than built here: their toolchain (wasm32 target,
# wasm-bindgen, wasm-split, binaryen, esbuild) is what scripts/build-frontend installs, and the
# deploy job uploads the very same files to S3, so the image and the CDN never disagree.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY shared shared
COPY backend backend
COPY frontend frontend
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p techverse-backend --bin techverse \
    && install -D target/release/techverse /out/techverse \
    && install -d /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/techverse /app/techverse
COPY frontend/dist /app/dist
COPY --from=build --chown=65532:65532 /out/data /data
ENV TECHVERSE_LISTEN_ADDR=0.0.0.0:8080 \
    TECHVERSE_DATA_DIR=/data \
    TECHVERSE_STATIC_DIR=/app/dist \
    TECHVERSE_LOG_FORMAT=json
USER 65532:65532
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/app/techverse"]
CMD ["serve"]
