#!/usr/bin/env bash
# Regenerates the seed corpora under fuzz/corpus/<target> from the reference vectors
# (../shared/vectors: core-compat, core-noncompat, core-unflushed, vectors.json) and from a
# core built by the library (via fuzz_tree_bitfield's HC_FUZZ_WRITE_SEED).
#   fuzz/make_corpus.sh BUILD_DIR_WITH_REPLAY_BINARIES [SHARED_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:?usage: make_corpus.sh BUILD_DIR [SHARED_DIR]}"
SHARED="${2:-$ROOT/../shared}"
OUT="$ROOT/fuzz/corpus"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
HC_FUZZ_WRITE_SEED="$TMP" "$BUILD/tests/replay_fuzz_tree_bitfield" /dev/null >/dev/null || true
python3 - "$SHARED/vectors" "$OUT" "$TMP" <<'PY'
import json, os, struct, sys
vec, out, tmp = sys.argv[1:4]
def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)
def frames(buf, pos):
    """(bit, payload) of the valid-looking frame at pos"""
    if len(buf) - pos < 8: return None
    word = struct.unpack_from('<I', buf, pos + 4)[0]
    n = word >> 2
    if len(buf) - pos - 8 < n: return None
    return word & 3, buf[pos + 8: pos + 8 + n]
cores = ['core-compat', 'core-noncompat', 'core-unflushed']
for c in cores:
    files = {}
    for f in ['oplog', 'tree', 'bitfield', 'data']:
        with open(os.path.join(vec, c, f), 'rb') as fh:
            files[f] = fh.read()
    op = files['oplog']
    put('fuzz_oplog_file', c, op)
    for slot in (0, 4096):
        fr = frames(op, slot)
        if fr and fr[1]: put('fuzz_oplog_header', '%s-slot%d' % (c, slot // 4096), fr[1])
    pos, i = 8192, 0
    while True:
        fr = frames(op, pos)
        if not fr or not fr[1]: break
        put('fuzz_oplog_entry', '%s-entry%d' % (c, i), fr[1])
        put('fuzz_encoding', '%s-entry%d' % (c, i), bytes([i]) + fr[1])
        pos += 8 + len(fr[1]); i += 1
    tree, bf = files['tree'], files['bitfield'].rstrip(b'\0') or b'\0'
    put('fuzz_tree_bitfield', c, struct.pack('<H', len(tree)) + tree + bf)
    packed = b''
    for f in ['oplog', 'tree', 'bitfield']:
        data = files[f] if f != 'bitfield' else bf
        packed += struct.pack('<H', len(data)) + data
    put('fuzz_core_open', c, packed + files['data'])
v = json.load(open(os.path.join(vec, 'vectors.json')))
for k in ('compat', 'noncompat'):
    m = bytes.fromhex(v[k]['manifestEncoded'])
    put('fuzz_manifest', k, m)
    put('fuzz_encoding', 'manifest-' + k, b'\x04' + m)
for name, target in (('tree_bitfield.seed', 'fuzz_tree_bitfield'), ('core_open.seed', 'fuzz_core_open')):
    p = os.path.join(tmp, name)
    if os.path.exists(p):
        put(target, 'library-core', open(p, 'rb').read())
PY
for d in "$OUT"/*; do echo "$(basename "$d"): $(ls "$d" | wc -l) files, $(du -sk "$d" | cut -f1) KiB"; done
