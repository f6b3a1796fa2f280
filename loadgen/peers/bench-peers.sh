#!/bin/bash
# bench-peers.sh: `make bench-peers`. Installs Postfix and Dovecot from the
# Debian packages (root, non-interactive), runs them on loopback ports 2526
# (SMTP) and 1111 (POP3) with their own configuration and queue directories
# (the system's default instances are neither configured nor started), with
# the same mailboxes and passwords as our cluster, then runs
# `pmbench -peers-smtp` which drives both sides with the same loadgen
# workloads and writes results/peers.json. The configs used are copied to
# results/peers-config/. Everything is stopped at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "bench-peers: must run as root (apt-get, Postfix)" >&2; exit 1; }

PEERS=loadgen/peers
PF_DIR=/etc/postfix-pmbench
DC_CONF=/etc/dovecot/pmbench.conf
VMAIL=/var/lib/pmbench/vmail
OUT=${OUT:-results}
SMTP_PORT=2526
POP_PORT=1111

install_packages() {
	if dpkg -s postfix dovecot-core dovecot-pop3d >/dev/null 2>&1; then return; fi
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	# Keep the packages from starting their default daemons (policy-rc.d,
	# invoke-rc.d(8)): we run our own instances on other ports.
	local policy=/usr/sbin/policy-rc.d saved=""
	if [ -e $policy ]; then saved=$(mktemp); cp -p $policy "$saved"; fi
	printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		postfix dovecot-core dovecot-pop3d || { restore_policy "$saved"; exit 1; }
	restore_policy "$saved"
}

restore_policy() {
	if [ -n "$1" ]; then mv "$1" /usr/sbin/policy-rc.d; else rm -f /usr/sbin/policy-rc.d; fi
}

# users prints "name password" for every benchmark mailbox (bench.PeerUsers).
users() {
	for set in user:100 pop:40 pbig:16; do
		for ((i = 0; i < ${set#*:}; i++)); do echo "${set%:*}$i@example.com pass$i"; done
	done
}

render() { sed -e "s|@VMAIL@|$VMAIL|g" -e "s|@UID@|$VUID|g" -e "s|@GID@|$VGID|g" "$1"; }

configure() {
	id pmbvmail >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin pmbvmail
	VUID=$(id -u pmbvmail) VGID=$(id -g pmbvmail)
	rm -rf "$VMAIL" && mkdir -p "$VMAIL" && chown pmbvmail:pmbvmail "$VMAIL"
	mkdir -p $PF_DIR
	{ render $PEERS/main.cf
	  echo "queue_directory = /var/spool/postfix-pmbench"
	  echo "data_directory = /var/lib/postfix-pmbench"
	  echo "meta_directory = /etc/postfix"; } >$PF_DIR/main.cf
	cp $PEERS/master.cf $PF_DIR/master.cf
	users | awk '{split($1, a, "@"); print $1, a[2] "/" a[1] "/"}' >/etc/postfix/pmbench-vmailbox
	mkdir -p /var/spool/postfix-pmbench /var/lib/postfix-pmbench
	chown postfix /var/lib/postfix-pmbench
	postfix -c $PF_DIR set-permissions >/dev/null 2>&1 || true
	postfix -c $PF_DIR check
	render $PEERS/dovecot.conf >$DC_CONF
	# The same passwords, stored {PLAIN}: Dovecot's auth cache keeps the
	# hash and verifies every login again (argon2id then dominates a POP
	# session), while our userbase remembers a verified password; plain
	# storage gives Dovecot cheap logins too (it favours Dovecot slightly).
	users | awk '{print $1 ":{PLAIN}" $2}' >/etc/dovecot/pmbench-users
	chmod 640 /etc/dovecot/pmbench-users && chgrp dovecot /etc/dovecot/pmbench-users
	mkdir -p "$OUT/peers-config"
	cp $PF_DIR/main.cf $PF_DIR/master.cf $DC_CONF "$OUT/peers-config/"
	dpkg-query -W postfix dovecot-core dovecot-pop3d >"$OUT/peers-config/versions.txt"
}

wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
		sleep 0.2
	done
	echo "bench-peers: nothing listens on port $1" >&2; return 1
}

stop_all() {
	postfix -c $PF_DIR stop >/dev/null 2>&1 || true
	doveadm -c $DC_CONF stop >/dev/null 2>&1 || true
}

install_packages
configure
trap stop_all EXIT
stop_all
postfix -c $PF_DIR start
dovecot -c $DC_CONF
wait_port $SMTP_PORT
wait_port $POP_PORT
bin/pmbench -bin bin -out "$OUT" -peers-smtp 127.0.0.1:$SMTP_PORT -peers-pop 127.0.0.1:$POP_PORT \
	-peers-maildir "$VMAIL" -note "${BENCH_NOTE:-}"
# summary.md shows the new ratios next to the suite's results.
bin/pmbench -out "$OUT" -resummarize
