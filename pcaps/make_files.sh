#!/usr/bin/env bash
# Files and FTP captures (files_http.pcap, files_ftp.pcap) from real software
# over loopback inside throw-away network namespaces (lw-files-*). Run as
# root: `sudo bash pcaps/make_files.sh` (pcaps/make.sh runs it too).
#   files_http: curl multipart uploads of a docx, an xlsx and a PDF to a
#               python http.server upload handler; a zip download.
#   files_ftp:  pyftpdlib server, python ftplib client: login, STOR (passive,
#               PASV), RETR (passive), STOR (active, PORT).
# Captured 127.0.0.1 (client) and 127.0.0.2 (server) are rewritten to
# 10.20.1.15 and 198.51.100.80. No traffic leaves the namespaces' loopback.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOL=$HERE/tools/files_scenarios.py
PY=${PYTHON:-python3}
REWRITE_NAT='127.0.0.1/32:10.20.1.15/32,127.0.0.2/32:198.51.100.80/32'

BGPIDS=()
stop_bg() {
    local p
    for p in "${BGPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${BGPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    BGPIDS=()
}
start_bg() { # LOG WORD CMD...
    local log=$1 word=$2 i
    shift 2
    "$@" >"$log" 2>&1 &
    BGPIDS+=("$!")
    for i in $(seq 200); do
        grep -q "$word" "$log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "make_files.sh: '$*' did not start:" >&2
    cat "$log" >&2
    return 1
}

scenario_http() {
    local d=$1 ct_docx=application/vnd.openxmlformats-officedocument.wordprocessingml.document
    local ct_xlsx=application/vnd.openxmlformats-officedocument.spreadsheetml.sheet
    start_bg "$d/srv.log" ready $PY "$TOOL" http-server "$d"
    c() { local port=$1; shift; curl -sS -o /dev/null --interface 127.0.0.1 --local-port "$port" "$@"; }
    c 42001 -F "file=@$d/record.docx;type=$ct_docx" -F "note=hr" http://127.0.0.2:8080/upload
    c 42002 -F "file=@$d/staff.xlsx;type=$ct_xlsx" http://127.0.0.2:8080/upload
    c 42003 -F "file=@$d/statement.pdf;type=application/pdf" http://127.0.0.2:8080/upload
    c 42004 http://127.0.0.2:8080/export.zip
    echo '{"up_docx": 8080, "up_xlsx": 8080, "up_pdf": 8080, "down_zip": 8080}' >"$d/ports.json"
}

scenario_ftp() {
    local d=$1
    start_bg "$d/srv.log" ready $PY "$TOOL" ftp-server "$d"
    $PY "$TOOL" ftp-client "$d"
}

inner() { # SCENARIO DIR RAW
    local name=$1 d=$2 raw=$3
    trap 'stop_bg' EXIT
    ip link set lo up mtu 1500
    ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
    start_bg "$d/tcpdump.log" "listening on" tcpdump -i lo -U --immediate-mode -s 0 -w "$raw" tcp
    local td=${BGPIDS[0]}
    "scenario_$name" "$d"
    sleep 1
    kill -INT "$td"
    wait "$td" || true
    stop_bg
}

if [[ ${1:-} == __inner ]]; then
    inner "$2" "$3" "$4"
    exit 0
fi

[[ $(id -u) == 0 ]] || { echo "make_files.sh: run as root" >&2; exit 1; }
$PY -c 'import pyftpdlib' 2>/dev/null || $PY -m pip install -q pyftpdlib ||
    $PY -m pip install -q --break-system-packages pyftpdlib

WORK=$(mktemp -d)
NSES=()
cleanup() {
    local ns
    for ns in "${NSES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

capture() { # SCENARIO OUT.pcap ORIGIN
    local name=$1 out=$2 origin=$3 ns=lw-files-$1 d=$WORK/$1
    mkdir -p "$d"
    $PY "$TOOL" make-files "$d"
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    NSES+=("$ns")
    ip netns exec "$ns" bash "$HERE/make_files.sh" __inner "$name" "$d" "$d/raw.pcap"
    ip netns del "$ns"
    tcprewrite --pnat="$REWRITE_NAT" --fixcsum -i "$d/raw.pcap" -o "$out"
    $PY "$TOOL" truth "$d" "${out%.pcap}.truth.json" "$origin"
    echo "== $out: $(tcpdump -nn -r "$out" 2>/dev/null | wc -l) packets, $(stat -c %s "$out") bytes"
}

CURL_V=$(curl --version | head -1 | cut -d' ' -f1-2)
PY_V=$($PY -c 'import sys; print("python3 %d.%d.%d" % sys.version_info[:3])')
FTPD_V=$($PY -c 'import pyftpdlib; print("pyftpdlib", pyftpdlib.__ver__)')
NOTE="in netns lo (MTU 1500, offloads off), tcprewrite to 10.20.1.15 -> 198.51.100.80"
capture http "$HERE/files_http.pcap" \
    "$CURL_V multipart uploads (docx, xlsx, PDF) and a zip download (Content-Disposition attachment) from a $PY_V http.server handler; $NOTE"
capture ftp "$HERE/files_ftp.pcap" \
    "$PY_V ftplib client to $FTPD_V: login, STOR docx (PASV), RETR xlsx (PASV), STOR csv (PORT, active); $NOTE"
