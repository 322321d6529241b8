#!/usr/bin/env bash
# Mail captures (SMTP with AUTH, MIME, attachments and STARTTLS; POP3 and
# IMAP from a real dovecot), each in its own throw-away netns lw-mail-*.
# Run as root:  sudo bash pcaps/make_mail.sh        (make.sh calls it too)
# No traffic leaves the namespaces' loopback. 127.0.0.1 (client) and
# 127.0.0.2 (server) are rewritten to 10.20.1.15 and 198.51.100.80.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS=$HERE/tools
PY=${PYTHON:-python3}
REWRITE_NAT='127.0.0.1/32:10.20.1.15/32,127.0.0.2/32:198.51.100.80/32'
MS="$PY $TOOLS/mail_scenarios.py"

BGPIDS=()
stop_bg() {
    local p
    for p in "${BGPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${BGPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    BGPIDS=()
}

start_bg() { # LOG WORD CMD...: start CMD in the background, wait for WORD in LOG
    local log=$1 word=$2 i
    shift 2
    "$@" >"$log" 2>&1 &
    BGPIDS+=("$!")
    for i in $(seq 200); do
        grep -q "$word" "$log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "make_mail.sh: '$*' did not start:" >&2
    cat "$log" >&2
    return 1
}

scenario_smtp() {
    local tmp=$1
    start_bg "$tmp/srv.log" ready $MS smtp-server "$tmp"
    $MS smtp-client "$tmp"
}

scenario_popimap() {
    local tmp=$1
    chmod 755 "$tmp"
    $MS maildir "$tmp"
    chown -R nobody:nogroup "$tmp/mail"
    mkdir -p "$tmp/run"
    cat >"$tmp/dovecot.conf" <<CONF
protocols = imap pop3
listen = 127.0.0.2
base_dir = $tmp/run
state_dir = $tmp/run
log_path = $tmp/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$tmp/mail/%u
pop3_uidl_format = %f
passdb {
  driver = passwd-file
  args = scheme=PLAIN $tmp/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$tmp/mail/%u
}
CONF
    dovecot -F -c "$tmp/dovecot.conf" >"$tmp/dovecot.out" 2>&1 &
    BGPIDS+=("$!")
    for _ in $(seq 100); do
        grep -q "starting up" "$tmp/dovecot.log" 2>/dev/null && break
        sleep 0.05
    done
    sleep 0.5
    $MS pop3-client
    sleep 0.2
    $MS imap-client
}

inner() {
    local name=$1 raw=$2
    INNER_TMP=$(mktemp -d)
    trap 'stop_bg; rm -rf "$INNER_TMP"' EXIT
    ip link set lo up mtu 1500
    ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
    start_bg "$INNER_TMP/tcpdump.log" "listening on" tcpdump -i lo -U --immediate-mode -s 0 -w "$raw" tcp
    local td=${BGPIDS[0]}
    "scenario_$name" "$INNER_TMP"
    sleep 1
    kill -INT "$td"
    wait "$td" || true
    stop_bg
}

if [[ ${1:-} == __inner ]]; then
    inner "$2" "$3"
    exit 0
fi

[[ $(id -u) == 0 ]] || { echo "make_mail.sh: run as root" >&2; exit 1; }

ensure_deps() {
    local need=()
    command -v dovecot >/dev/null || need+=(dovecot-imapd dovecot-pop3d)
    command -v tcprewrite >/dev/null || need+=(tcpreplay)
    command -v openssl >/dev/null || need+=(openssl)
    if ((${#need[@]})); then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
    fi
    $PY -c 'import aiosmtpd' 2>/dev/null || $PY -m pip install -q aiosmtpd ||
        $PY -m pip install -q --break-system-packages aiosmtpd
}

WORK=$(mktemp -d)
NS=
cleanup() {
    [[ -n $NS ]] && ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

capture() { # SCENARIO OUT.pcap
    local name=$1 out=$2
    NS=lw-mail-$name
    ip netns del "$NS" 2>/dev/null || true
    ip netns add "$NS"
    ip netns exec "$NS" bash "$HERE/make_mail.sh" __inner "$name" "$WORK/$name.raw.pcap"
    ip netns del "$NS"
    NS=
    tcprewrite --pnat="$REWRITE_NAT" --fixcsum -i "$WORK/$name.raw.pcap" -o "$out"
    echo "== $out: $(tcpdump -nn -r "$out" 2>/dev/null | wc -l) packets, $(stat -c %s "$out") bytes"
}

ensure_deps
PY_V=$($PY -c 'import sys; print("python3 %d.%d.%d" % sys.version_info[:3])')
AIO_V=$($PY -c 'import aiosmtpd; print("aiosmtpd", aiosmtpd.__version__)')
DOVE_V="dovecot $(dovecot --version | cut -d' ' -f1)"
NOTE="in netns lo (MTU 1500, offloads off), tcprewrite to 10.20.1.15 -> 198.51.100.80"

capture smtp "$HERE/mail_smtp.pcap"
$MS truth mail_smtp mail_smtp.pcap \
    "$PY_V smtplib (AUTH LOGIN, multipart: GBK subject, GBK base64 text, QP html, GBK csv with RFC 2231 name, deflated docx; then a STARTTLS session) to $AIO_V with a self-signed cert; $NOTE" \
    "$HERE/mail_smtp.truth.json"
# One capture, split by server port: the same values travel both flows, and
# a replay reports a value once per path (dedup).
capture popimap "$WORK/popimap.pcap"
for p in pop3:110 imap:143; do
    tcpdump -r "$WORK/popimap.pcap" -w "$HERE/mail_${p%%:*}.pcap" "tcp port ${p#*:}" 2>/dev/null
    echo "== mail_${p%%:*}.pcap: $(stat -c %s "$HERE/mail_${p%%:*}.pcap") bytes"
done
$MS truth mail_pop3 mail_pop3.pcap \
    "$PY_V poplib (USER/PASS, RETR) against $DOVE_V (passwd-file user, maildir with one MIME message; captured with mail_imap.pcap); $NOTE" \
    "$HERE/mail_pop3.truth.json"
$MS truth mail_imap mail_imap.pcap \
    "$PY_V imaplib (LOGIN, FETCH BODY.PEEK[]) against $DOVE_V (passwd-file user, maildir with one MIME message; captured with mail_pop3.pcap); $NOTE" \
    "$HERE/mail_imap.truth.json"
