# Kilele production image.
#   docker build -t kilele .
#   docker run -e DATABASE_URL=<schema owner> kilele migrate                       (one-off)
#   docker run -p 8080:8080 -e APP_DATABASE_URL=... -e WORKER_DATABASE_URL=... -e REDIS_URL=... \
#       -e PUBLIC_URL=https://... -e PII_KEYS=... -e PII_ACTIVE_KEY=... -e PII_INDEX_KEY=... \
#       -e AUDIT_KEY=... -e SMTP_URL=... kilele
# The image runs with KILELE_ENV=production: it refuses to start without those (README).

# Node >= 20 for the npm tooling (binaryen's wasm-opt); Debian bookworm ships 18.
FROM node:22-bookworm-slim AS node

# ---------------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder

COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && node --version && npm --version

RUN rustup target add wasm32-unknown-unknown \
    && apt-get update && apt-get install -y --no-install-recommends brotli && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock (a mismatch fails the
# build with "schema versions must exactly match"). Not --locked: that fails to resolve.
COPY Cargo.lock ./
RUN version="$(awk '/^\[\[package\]\]/ { wb = 0; next } /^name = "wasm-bindgen"$/ { wb = 1; next } wb && /^version = / { gsub(/"/, "", $3); print $3; exit }' Cargo.lock)" \
    && test -n "$version" \
    && cargo install wasm-bindgen-cli --version "$version" \
    && wasm-bindgen --version

# wasm-opt from the npm package binaryen (Debian's binaryen 108 produces a broken bundle).
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .
# Compile-time checked SQL reads the committed .sqlx/ data, never a live database.
ENV SQLX_OFFLINE=true
# The same build as scripts/dev and scripts/test: no cargo-leptos, the tools it would call.
RUN cargo build --release -p server --bin kilele \
    && scripts/build-site --release --hash-dir target/release \
    && test -x target/release/kilele \
    && test -f target/release/hash.txt && test -f target/release/hash-staff.txt \
    && test -d target/site/pkg

# ---------------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 kilele \
    && useradd --system --uid 10001 --gid kilele --home-dir /app --shell /usr/sbin/nologin kilele \
    && mkdir -p /var/lib/kilele/storage \
    && chown -R kilele:kilele /var/lib/kilele

WORKDIR /app
COPY --from=builder /src/target/release/kilele /src/target/release/hash.txt /src/target/release/hash-staff.txt /app/
COPY --from=builder /src/target/site /app/site
COPY --from=builder /src/migrations /app/migrations

ENV LEPTOS_SITE_ROOT=site \
    LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=0.0.0.0:8080 \
    LEPTOS_OUTPUT_NAME=kilele \
    LEPTOS_HASH_FILES=true \
    LEPTOS_ENV=PROD \
    KILELE_ENV=production \
    STORAGE_DIR=/var/lib/kilele/storage \
    RUST_LOG=info

# Uploaded files (student photos): mount persistent storage here and back it up.
VOLUME ["/var/lib/kilele/storage"]
EXPOSE 8080
USER kilele

ENTRYPOINT ["/app/kilele"]
CMD ["all"]
