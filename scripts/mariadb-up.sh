#!/usr/bin/env bash
# mariadb-up.sh DIR PORT — start a throwaway MariaDB on 127.0.0.1:PORT with
# its data in DIR (installing Debian's mariadb-server if missing), create
# database "signet" for user signet, who may also create and use databases
# named signet_* (signet_rekor_v1 for the Rekor v1 log; tests make their
# own), and print the log-storage URL for signet.
# Stop it with: kill "$(cat DIR/mariadb.pid)"
set -euo pipefail
dir=${1:?usage: mariadb-up.sh DIR PORT}
port=${2:?usage: mariadb-up.sh DIR PORT}
if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mariadb-server >&2
fi
PATH=$PATH:/usr/sbin:/usr/bin
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
user_flag=""; [ "$(id -u)" = 0 ] && user_flag="--user=root"
if [ ! -d "$dir/data/mysql" ]; then
  mariadb-install-db --no-defaults $user_flag --datadir="$dir/data" --auth-root-authentication-method=normal >"$dir/install.log" 2>&1
fi
mariadbd --no-defaults $user_flag --datadir="$dir/data" --socket="$dir/mariadb.sock" --pid-file="$dir/mariadb.pid" \
  --port="$port" --bind-address=127.0.0.1 --skip-name-resolve --innodb-flush-log-at-trx-commit=2 \
  >"$dir/mariadb.log" 2>&1 &
for _ in $(seq 1 100); do
  if mariadb --no-defaults --socket="$dir/mariadb.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
    mariadb --no-defaults --socket="$dir/mariadb.sock" -uroot -e \
      "CREATE DATABASE IF NOT EXISTS signet; CREATE USER IF NOT EXISTS 'signet'@'127.0.0.1' IDENTIFIED BY 'signet'; GRANT ALL ON signet.* TO 'signet'@'127.0.0.1'; GRANT ALL ON \`signet\\_%\`.* TO 'signet'@'127.0.0.1'; FLUSH PRIVILEGES;"
    echo "mysql://signet:signet@tcp(127.0.0.1:$port)/signet"
    exit 0
  fi
  sleep 0.2
done
echo "MariaDB did not start; see $dir/mariadb.log" >&2
tail -20 "$dir/mariadb.log" >&2
exit 1
