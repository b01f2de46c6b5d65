# shellcheck shell=bash
# Helpers shared by scripts/dev and scripts/test. Source this file; do not run it.
#
#   ensure_tools [--with-browser]   Rust target + components, wasm-bindgen-cli, npm packages,
#                                   Debian packages (PostgreSQL, Redis, brotli, Chromium)
#   cargo_leptos_in_background      starts `cargo install cargo-leptos` (only for `cargo leptos
#                                   watch`; nothing else needs it) unless it is installed
#   ensure_services                 PostgreSQL + Redis; exports DATABASE_URL and REDIS_URL
#   ensure_s3_server                an S3-compatible server for the storage tests (moto, from
#                                   PyPI); exports KILELE_TEST_S3_ENDPOINT
#   write_env_file                  writes .env for `cargo leptos watch`
#
# Every step says what it does and is skipped when already satisfied.

if [[ -n "${KILELE_LIB_LOADED:-}" ]]; then
    return 0
fi
KILELE_LIB_LOADED=1

KILELE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly KILELE_ROOT

readonly CARGO_LEPTOS_VERSION="0.3.10"
readonly LOCAL_PG_PORT=5433
readonly LOCAL_REDIS_PORT=6380
readonly LOCAL_S3_PORT=9310
readonly MOTO_VERSION="5.2.1"
readonly DEFAULT_DB_NAME="kilele"

# ---------------------------------------------------------------------------------------------
# Output

info() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
skip() { printf '    \033[2mok:\033[0m %s\n' "$*"; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() {
    printf '\033[1;31merror:\033[0m %s\n' "$*" >&2
    exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# The directory cargo builds into (honours CARGO_TARGET_DIR and .cargo/config.toml).
cargo_target_dir() {
    cargo metadata --no-deps --format-version 1 |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))'
}

# Run a command as root (directly when we are root, otherwise through sudo).
as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif have sudo; then
        sudo "$@"
    else
        die "need root to run '$*', and sudo is not installed"
    fi
}

# ---------------------------------------------------------------------------------------------
# Tools

# Version of the `wasm-bindgen` package recorded in Cargo.lock.
wasm_bindgen_lock_version() {
    local lock="$KILELE_ROOT/Cargo.lock"
    [[ -f "$lock" ]] || die "Cargo.lock not found at $lock"
    awk '
        /^\[\[package\]\]/ { in_wb = 0; next }
        /^name = "wasm-bindgen"$/ { in_wb = 1; next }
        in_wb && /^version = / { gsub(/"/, "", $3); print $3; exit }
    ' "$lock"
}

# If another `cargo install <crate>` is running (for example a background setup job), wait for
# it instead of compiling the same thing twice.
wait_for_other_cargo_install() {
    local crate="$1" pids
    pids="$(pgrep -f "cargo install.* ${crate}([@ ]|$)" || true)"
    [[ -n "$pids" ]] || return 0
    info "another 'cargo install ${crate}' is running (pid ${pids//$'\n'/, }); waiting for it"
    while pgrep -f "cargo install.* ${crate}([@ ]|$)" >/dev/null; do
        sleep 10
    done
}

APT_UPDATED=""
apt_install() {
    have apt-get || die "missing system packages: $* (no apt-get here; install them with your package manager)"
    if [[ -z "$APT_UPDATED" ]]; then
        info "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        APT_UPDATED=1
    fi
    info "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

pg_bindir() {
    local dir
    dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)"
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
        printf '%s\n' "$dir"
    fi
}

pg_answers() { have pg_isready && pg_isready -q -h 127.0.0.1 -p "$1" -t 2; }
s3_answers() { curl -s -o /dev/null --max-time 2 "$1/moto-api/" 2>/dev/null; }
redis_answers() { have redis-cli && [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == "PONG" ]]; }

# shellcheck disable=SC2120 # its one option is optional
ensure_tools() {
    local with_browser="" opt
    for opt in "$@"; do
        case "$opt" in
            --with-browser) with_browser=1 ;;
            *) die "ensure_tools: unknown option $opt" ;;
        esac
    done

    # --- System packages (first: cargo install needs a C toolchain, the rest needs node) ---
    local -a pkgs=()
    have cc || pkgs+=(build-essential pkg-config)
    have node || pkgs+=(nodejs)
    have npm || pkgs+=(npm)
    if ! have psql || ! have pg_isready; then
        pkgs+=(postgresql-client)
    fi
    if [[ -z "${DATABASE_URL:-}" ]] && ! pg_answers 5432 && ! pg_answers "$LOCAL_PG_PORT" &&
        [[ -z "$(pg_bindir)" ]]; then
        pkgs+=(postgresql)
    fi
    if [[ -z "${REDIS_URL:-}" ]] && ! redis_answers 6379 && ! redis_answers "$LOCAL_REDIS_PORT" &&
        ! have redis-server; then
        pkgs+=(redis-server)
    fi
    have brotli || pkgs+=(brotli)
    if [[ -n "$with_browser" && ! -x "${KILELE_CHROMIUM:-/usr/bin/chromium}" ]]; then
        pkgs+=(chromium)
    fi
    if ((${#pkgs[@]})); then
        apt_install "${pkgs[@]}"
    else
        skip "system packages (PostgreSQL, Redis${with_browser:+, Chromium}, node) present"
    fi

    # --- Rust toolchain ---
    if ! have cargo || ! have rustup; then
        die "cargo/rustup not found: install Rust with rustup (https://rustup.rs), then re-run"
    fi
    if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        skip "rust target wasm32-unknown-unknown"
    else
        info "rustup target add wasm32-unknown-unknown"
        rustup target add wasm32-unknown-unknown
    fi
    local comp
    for comp in rustfmt clippy; do
        if rustup component list --installed 2>/dev/null | grep -q "^${comp}"; then
            skip "rust component $comp"
        else
            info "rustup component add $comp"
            rustup component add "$comp"
        fi
    done

    # --- wasm-bindgen-cli, exactly the version in Cargo.lock ---
    local wb_version
    wb_version="$(wasm_bindgen_lock_version)"
    [[ -n "$wb_version" ]] || die "no wasm-bindgen package in Cargo.lock"
    if wasm-bindgen --version 2>/dev/null | grep -qFw "$wb_version"; then
        skip "wasm-bindgen-cli $wb_version"
    else
        wait_for_other_cargo_install wasm-bindgen-cli
        if wasm-bindgen --version 2>/dev/null | grep -qFw "$wb_version"; then
            skip "wasm-bindgen-cli $wb_version"
        else
            # Not --locked: with it, dependency resolution fails (webpki-roots).
            info "cargo install wasm-bindgen-cli --version $wb_version (about 4 minutes)"
            cargo install --force wasm-bindgen-cli --version "$wb_version"
        fi
    fi

    # --- npm packages (binaryen's wasm-opt for release builds, playwright-core for e2e) ---
    local node_major
    node_major="$(node -p 'process.versions.node.split(".")[0]')"
    if ((node_major < 20)); then
        warn "node $(node --version) is older than 20; the browser tests need node >= 20"
    fi
    if [[ ! -f "$KILELE_ROOT/package.json" ]]; then
        die "package.json missing at the repository root"
    elif [[ ! -f "$KILELE_ROOT/package-lock.json" ]]; then
        info "npm install (no package-lock.json yet)"
        (cd "$KILELE_ROOT" && npm install --no-audit --no-fund)
    elif [[ ! -f "$KILELE_ROOT/node_modules/.package-lock.json" ||
        "$KILELE_ROOT/package-lock.json" -nt "$KILELE_ROOT/node_modules/.package-lock.json" ]]; then
        info "npm ci"
        (cd "$KILELE_ROOT" && npm ci --no-audit --no-fund)
    else
        skip "node_modules up to date with package-lock.json"
    fi
}

# cargo-leptos is needed only for `cargo leptos watch` (live reload while developing); the site
# itself is built by scripts/build-site with the tools cargo-leptos calls. Its install takes
# ~27 minutes on 2 cores, so it runs in the background and never holds up the demo or CI.
cargo_leptos_in_background() {
    if cargo leptos --version 2>/dev/null | grep -qFw "$CARGO_LEPTOS_VERSION"; then
        skip "cargo-leptos $CARGO_LEPTOS_VERSION (for cargo leptos watch)"
        return 0
    fi
    if pgrep -f "cargo install.* cargo-leptos([@ ]|$)" >/dev/null; then
        skip "cargo-leptos install already running in the background"
        return 0
    fi
    mkdir -p "$KILELE_ROOT/.data"
    local log="$KILELE_ROOT/.data/cargo-leptos-install.log"
    info "installing cargo-leptos $CARGO_LEPTOS_VERSION in the background, at low priority, for 'cargo leptos watch' (log: .data/cargo-leptos-install.log)"
    nohup nice -n 19 cargo install --locked "cargo-leptos@$CARGO_LEPTOS_VERSION" >"$log" 2>&1 </dev/null &
    disown || true
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL URL helpers

# pg_url_with_db URL DBNAME -> the same URL pointing at another database (query string kept).
pg_url_with_db() {
    local url="$1" db="$2" query="" base scheme rest authority
    base="${url%%\?*}"
    if [[ "$url" == *\?* ]]; then
        query="?${url#*\?}"
    fi
    scheme="${base%%://*}"
    rest="${base#*://}"
    authority="${rest%%/*}"
    printf '%s://%s/%s%s\n' "$scheme" "$authority" "$db" "$query"
}

# pg_url_db URL -> the database name in the URL (empty when there is none).
pg_url_db() {
    local base rest
    base="${1%%\?*}"
    rest="${base#*://}"
    if [[ "$rest" == */* ]]; then
        printf '%s\n' "${rest#*/}"
    fi
}

# Run SQL against the maintenance database of the server in DATABASE_URL.
pg_admin_sql() {
    local sql="$1" maint
    for maint in postgres template1; do
        if psql -X -w -q -v ON_ERROR_STOP=1 -At -d "$(pg_url_with_db "$DATABASE_URL" "$maint")" -c "$sql" 2>/dev/null; then
            return 0
        fi
    done
    # Once more, showing the error this time.
    psql -X -w -q -v ON_ERROR_STOP=1 -At -d "$(pg_url_with_db "$DATABASE_URL" postgres)" -c "$sql"
}

# Create database $1 on the DATABASE_URL server unless it exists.
pg_create_db_if_missing() {
    local db="$1" exists
    [[ "$db" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "unexpected database name '$db' (letters, digits, _ only)"
    exists="$(pg_admin_sql "SELECT 1 FROM pg_database WHERE datname = '$db'")"
    if [[ "$exists" == "1" ]]; then
        skip "database $db exists"
    else
        info "creating database $db"
        pg_admin_sql "CREATE DATABASE \"$db\""
    fi
}

pg_can_login() { psql -X -w -q -At -d "$1" -c 'SELECT 1' >/dev/null 2>&1; }

# pg_url_with_user URL USER -> the same URL with another user and no password.
pg_url_with_user() {
    local url="$1" user="$2" scheme rest hostpart
    scheme="${url%%://*}"
    rest="${url#*://}"
    hostpart="${rest%%[/?]*}"
    rest="${rest#"$hostpart"}"
    hostpart="${hostpart##*@}"
    printf '%s://%s@%s%s\n' "$scheme" "$user" "$hostpart" "$rest"
}

# The server and worker connect as `kilele_app` (APP_DATABASE_URL, or DATABASE_URL with the
# user swapped and no password). Without APP_DATABASE_URL that needs trust auth for it. False
# only when the server asks for a password or rejects the authentication; "role does not
# exist" (the migrations create it) and other errors count as fine.
pg_trusts_app_role() {
    local err
    if err="$(psql -X -w -q -At -d "$(pg_url_with_user "$(pg_url_with_db "$1" postgres)" kilele_app)" -c 'SELECT 1' 2>&1)"; then
        return 0
    fi
    [[ "$err" != *password* && "$err" != *authentication* && "$err" != *pg_hba.conf* ]]
}

# ---------------------------------------------------------------------------------------------
# Services

# Start (initialising if needed) the project-local cluster in .data/pg on 127.0.0.1:5433.
start_local_postgres() {
    local bindir data log runas=()
    bindir="$(pg_bindir)"
    [[ -n "$bindir" ]] ||
        die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: install the Debian package 'postgresql', or set DATABASE_URL"
    data="$KILELE_ROOT/.data/pg"
    log="$KILELE_ROOT/.data/postgres.log"
    mkdir -p "$KILELE_ROOT/.data"

    # PostgreSQL refuses to run as root: run it as the system user `postgres`.
    if [[ "$(id -u)" -eq 0 ]]; then
        if ! id -u postgres >/dev/null 2>&1; then
            info "creating system user postgres"
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin postgres
        fi
        have runuser || die "runuser (util-linux) is needed to start PostgreSQL as user postgres"
        runas=(runuser -u postgres --)
        mkdir -p "$data"
        touch "$log"
        chown postgres: "$data" "$log"
        chmod 700 "$data"
        "${runas[@]}" test -w "$data" ||
            die "user postgres cannot reach $data (a parent directory is not traversable); make it traversable (chmod o+x) or set DATABASE_URL"
    fi

    if [[ ! -f "$data/PG_VERSION" ]]; then
        info "initialising a PostgreSQL cluster in .data/pg (trust auth, 127.0.0.1:$LOCAL_PG_PORT)"
        "${runas[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        # A throwaway development/test cluster: durability is traded for speed.
        "${runas[@]}" tee -a "$data/postgresql.conf" >/dev/null <<EOF

# --- Kilele development cluster (scripts/lib.sh) ---
listen_addresses = '127.0.0.1'
port = $LOCAL_PG_PORT
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    fi

    info "starting PostgreSQL from .data/pg on 127.0.0.1:$LOCAL_PG_PORT (log: .data/postgres.log)"
    "${runas[@]}" "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null ||
        die "PostgreSQL in .data/pg did not start; see .data/postgres.log"
    echo "    stop it with: ${runas[*]:+${runas[*]} }$bindir/pg_ctl -D $data stop"
}

ensure_postgres() {
    if ! have psql || ! have pg_isready; then
        die "psql/pg_isready missing: install the Debian package 'postgresql-client'"
    fi

    if [[ -n "${DATABASE_URL:-}" ]]; then
        info "PostgreSQL: using DATABASE_URL from the environment"
        pg_isready -q -d "$DATABASE_URL" -t 5 ||
            die "the PostgreSQL server in DATABASE_URL does not answer (pg_isready failed)"
    else
        local url5432="postgres://postgres@127.0.0.1:5432/$DEFAULT_DB_NAME"
        local url_local="postgres://postgres@127.0.0.1:$LOCAL_PG_PORT/$DEFAULT_DB_NAME"
        if pg_answers 5432 && pg_can_login "$(pg_url_with_db "$url5432" postgres)" &&
            { [[ -n "${APP_DATABASE_URL:-}" ]] || pg_trusts_app_role "$url5432"; }; then
            info "PostgreSQL: using the server on 127.0.0.1:5432 as user postgres"
            DATABASE_URL="$url5432"
        else
            if pg_answers 5432; then
                warn "a PostgreSQL server answers on 127.0.0.1:5432 but users postgres and kilele_app cannot both log in without a password; using a project-local cluster instead (or set DATABASE_URL and APP_DATABASE_URL)"
            fi
            if pg_answers "$LOCAL_PG_PORT"; then
                skip "PostgreSQL already running on 127.0.0.1:$LOCAL_PG_PORT"
            else
                start_local_postgres
            fi
            pg_can_login "$(pg_url_with_db "$url_local" postgres)" ||
                die "PostgreSQL on 127.0.0.1:$LOCAL_PG_PORT does not accept user postgres without a password; stop it or set DATABASE_URL"
            DATABASE_URL="$url_local"
        fi
    fi
    export DATABASE_URL

    local db
    db="$(pg_url_db "$DATABASE_URL")"
    [[ -n "$db" ]] || die "DATABASE_URL names no database (expected postgres://user@host:port/dbname)"
    pg_create_db_if_missing "$db"

    if [[ -z "${APP_DATABASE_URL:-}" ]] && ! pg_trusts_app_role "$DATABASE_URL"; then
        die "the server and worker connect as kilele_app; without a password that needs trust auth for it on this PostgreSQL server. Set APP_DATABASE_URL (postgres://kilele_app:PASSWORD@host:port/$db) or allow trust for kilele_app in pg_hba.conf"
    fi
}

ensure_redis() {
    if [[ -n "${REDIS_URL:-}" ]]; then
        info "Redis: using REDIS_URL from the environment"
        if have redis-cli && [[ "$(redis-cli -u "$REDIS_URL" ping 2>/dev/null)" != "PONG" ]]; then
            die "the Redis server in REDIS_URL does not answer PING"
        fi
    elif redis_answers 6379; then
        info "Redis: using the server on 127.0.0.1:6379"
        REDIS_URL="redis://127.0.0.1:6379"
    else
        if redis_answers "$LOCAL_REDIS_PORT"; then
            skip "Redis already running on 127.0.0.1:$LOCAL_REDIS_PORT"
        else
            have redis-server ||
                die "nothing answers on 127.0.0.1:6379 and redis-server is not installed: install the Debian package 'redis-server', or set REDIS_URL"
            have redis-cli || die "redis-cli missing: install the Debian package 'redis-tools'"
            local dir="$KILELE_ROOT/.data/redis"
            mkdir -p "$dir"
            info "starting redis-server on 127.0.0.1:$LOCAL_REDIS_PORT (data dir .data/redis, no persistence)"
            redis-server --port "$LOCAL_REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
                --dir "$dir" --save '' --appendonly no \
                --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
            local i
            for ((i = 0; i < 50; i++)); do
                redis_answers "$LOCAL_REDIS_PORT" && break
                sleep 0.2
            done
            redis_answers "$LOCAL_REDIS_PORT" ||
                die "redis-server did not answer on 127.0.0.1:$LOCAL_REDIS_PORT; see .data/redis/redis.log"
            echo "    stop it with: redis-cli -p $LOCAL_REDIS_PORT shutdown nosave"
        fi
        REDIS_URL="redis://127.0.0.1:$LOCAL_REDIS_PORT"
    fi
    export REDIS_URL
}

# The storage tests run against a real S3-compatible server: moto's standalone server (PyPI),
# in memory, on 127.0.0.1:$LOCAL_S3_PORT. KILELE_TEST_S3_ENDPOINT set by the caller wins.
ensure_s3_server() {
    if [[ -n "${KILELE_TEST_S3_ENDPOINT:-}" ]]; then
        info "S3: using KILELE_TEST_S3_ENDPOINT=$KILELE_TEST_S3_ENDPOINT"
        curl -s -o /dev/null --max-time 5 "$KILELE_TEST_S3_ENDPOINT/" ||
            die "the S3 server in KILELE_TEST_S3_ENDPOINT does not answer"
        return 0
    fi
    local endpoint="http://127.0.0.1:$LOCAL_S3_PORT"
    have curl || apt_install curl
    if s3_answers "$endpoint"; then
        skip "S3 server (moto) already running on 127.0.0.1:$LOCAL_S3_PORT"
    else
        if ! have moto_server; then
            have python3 || apt_install python3 python3-pip python3-venv
            local venv="$HOME/.local/share/kilele/moto-$MOTO_VERSION"
            if [[ ! -x "$venv/bin/moto_server" ]]; then
                info "installing moto[server]==$MOTO_VERSION (an S3-compatible test server) into $venv"
                python3 -m venv "$venv" ||
                    die "python3 -m venv failed: install the Debian package 'python3-venv'"
                "$venv/bin/pip" install --quiet "moto[server]==$MOTO_VERSION" ||
                    die "pip could not install moto[server]==$MOTO_VERSION"
            fi
            PATH="$venv/bin:$PATH"
        fi
        local dir="$KILELE_ROOT/.data/moto"
        mkdir -p "$dir"
        info "starting moto_server (S3, in memory) on 127.0.0.1:$LOCAL_S3_PORT (log .data/moto/moto.log)"
        nohup moto_server -H 127.0.0.1 -p "$LOCAL_S3_PORT" >"$dir/moto.log" 2>&1 &
        echo $! >"$dir/moto.pid"
        local i
        for ((i = 0; i < 100; i++)); do
            s3_answers "$endpoint" && break
            sleep 0.2
        done
        s3_answers "$endpoint" || die "moto_server did not answer on $endpoint; see .data/moto/moto.log"
        echo "    stop it with: kill \$(cat .data/moto/moto.pid)"
    fi
    export KILELE_TEST_S3_ENDPOINT="$endpoint"
}

ensure_services() {
    ensure_postgres
    ensure_redis
    # Compile-time checked queries: use the committed .sqlx/ data when there is some, so the
    # build does not depend on the state of the development database.
    if [[ -d "$KILELE_ROOT/.sqlx" && -z "${SQLX_OFFLINE:-}" ]]; then
        export SQLX_OFFLINE=true
    fi
    echo "    DATABASE_URL=$DATABASE_URL"
    echo "    REDIS_URL=$REDIS_URL"
}

# ---------------------------------------------------------------------------------------------
# .env

# Write .env (git-ignored) so that `cargo leptos watch` alone finds the services. Lines for other
# variables that someone added by hand are kept.
write_env_file() {
    local env_file="$KILELE_ROOT/.env" tmp
    : "${DATABASE_URL:?write_env_file: DATABASE_URL is not set (run ensure_services first)}"
    : "${REDIS_URL:?write_env_file: REDIS_URL is not set (run ensure_services first)}"
    tmp="$(mktemp "$KILELE_ROOT/.env.XXXXXX")"
    {
        echo "# Written by scripts/dev (scripts/lib.sh write_env_file). Other lines are kept."
        echo "DATABASE_URL=$DATABASE_URL"
        echo "REDIS_URL=$REDIS_URL"
        echo "KILELE_ENV=development"
        if [[ -n "${APP_DATABASE_URL:-}" ]]; then
            echo "APP_DATABASE_URL=$APP_DATABASE_URL"
        fi
        if [[ -f "$env_file" ]]; then
            grep -Ev '^[[:space:]]*(export[[:space:]]+)?(DATABASE_URL|APP_DATABASE_URL|REDIS_URL|KILELE_ENV)=|^# Written by scripts/dev' "$env_file" || true
        fi
    } >"$tmp"
    mv "$tmp" "$env_file"
    info "wrote .env (DATABASE_URL, REDIS_URL, KILELE_ENV=development)"
}
