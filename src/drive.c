/* Hyperdrive (hyperdrive 11.13.4 index.js, hyperblobs 2.x): entries in a Hyperbee under the
 * sub-encoder prefix "files\0", JSON values, file contents in a blobs core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "encoding.h"
#include "hypercore.h"
#include "manifest.h"

#define BLOB_BLOCK (64u * 1024u) /* hyperblobs DEFAULT_BLOCK_SIZE */
#define BLOB_BATCH 16            /* the write stream appends 16 blocks at a time */

struct hc_drive {
  hc_core *db, *blobs;
  hc_bee *root; /* the bee itself */
  hc_bee *files; /* sub "files" */
  hc_bee_get_block_cb get_block;
  void *get_block_user;
};

/* ---------------------------------------------------------------- paths ---- */

/* unix-path-resolve('/', path): '/' or '\\' separate names; '', '.' skipped; '..' goes up
 * (NULL when it would leave the root). */
char *hc_drive_normalize(const char *path) {
  size_t n = strlen(path);
  char *out = malloc(n + 2);
  if (!out) return NULL;
  size_t o = 1;
  out[0] = '/';
  const char *p = path, *end = path + n;
  while (p <= end) {
    const char *q = p;
    while (q < end && *q != '/' && *q != '\\') q++;
    size_t len = (size_t)(q - p);
    if (len == 0 || (len == 1 && p[0] == '.')) {
      /* skip */
    } else if (len == 2 && p[0] == '.' && p[1] == '.') {
      if (o == 1) {
        free(out);
        return NULL;
      }
      while (o > 1 && out[o - 1] != '/') o--;
      if (o > 1) o--;
    } else {
      if (o > 1) out[o++] = '/';
      memcpy(out + o, p, len);
      o += len;
    }
    p = q + 1;
  }
  out[o] = 0;
  return out;
}

/* std(name, false): normalised and not the root. */
static int file_path(const char *path, char **out) {
  *out = hc_drive_normalize(path);
  if (!*out) return HC_ERR_INVALID_ARG;
  if (strcmp(*out, "/") == 0) {
    free(*out);
    *out = NULL;
    return HC_ERR_INVALID_ARG;
  }
  return HC_OK;
}

/* ---------------------------------------------------------------- JSON ---- */

static const char *ws(const char *p, const char *e) {
  while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/* The end of the JSON value at p (NULL when malformed); depth-bounded. */
static const char *jskip(const char *p, const char *e, int depth) {
  p = ws(p, e);
  if (p >= e || depth > 64) return NULL;
  if (*p == '"') {
    for (p++; p < e; p++) {
      if (*p == '\\') {
        if (++p >= e) return NULL;
      } else if (*p == '"') {
        return p + 1;
      }
    }
    return NULL;
  }
  if (*p == '{' || *p == '[') {
    char close = *p == '{' ? '}' : ']';
    bool obj = *p == '{';
    p = ws(p + 1, e);
    if (p < e && *p == close) return p + 1;
    for (;;) {
      if (obj) {
        p = jskip(p, e, depth + 1);
        if (!p) return NULL;
        p = ws(p, e);
        if (p >= e || *p != ':') return NULL;
        p++;
      }
      p = jskip(p, e, depth + 1);
      if (!p) return NULL;
      p = ws(p, e);
      if (p >= e) return NULL;
      if (*p == close) return p + 1;
      if (*p != ',') return NULL;
      p++;
    }
  }
  const char *s = p;
  while (p < e && (strchr("+-.eE", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
    p++;
  return p > s ? p : NULL;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static bool hex4(const char *p, const char *e, unsigned *v) {
  if (e - p < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(p[i]);
    if (h < 0) return false;
    *v = *v << 4 | (unsigned)h;
  }
  return true;
}

static size_t utf8_put(char *o, unsigned cp) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) { o[0] = (char)(0xc0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | cp >> 12); o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | cp >> 18); o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
  o[2] = (char)(0x80 | (cp >> 6 & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* Decodes the JSON string [p, end) (p at the opening quote) into out (>= its length + 1). */
static bool jstring(const char *p, const char *end, char *out, size_t *olen) {
  size_t o = 0;
  p++;
  end--; /* the closing quote */
  while (p < end) {
    if (*p != '\\') {
      out[o++] = *p++;
      continue;
    }
    p++;
    char c = *p++;
    switch (c) {
      case 'n': out[o++] = '\n'; break;
      case 't': out[o++] = '\t'; break;
      case 'r': out[o++] = '\r'; break;
      case 'b': out[o++] = '\b'; break;
      case 'f': out[o++] = '\f'; break;
      case 'u': {
        unsigned cp, lo;
        if (!hex4(p, end, &cp)) return false;
        p += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
            hex4(p + 2, end, &lo) && lo >= 0xdc00 && lo < 0xe000) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          p += 6;
        }
        o += utf8_put(out + o, cp);
        break;
      }
      default: out[o++] = c;
    }
  }
  out[o] = 0;
  *olen = o;
  return true;
}

static bool jnumber(const char *p, const char *e, uint64_t *v) {
  p = ws(p, e);
  uint64_t x = 0;
  const char *s = p;
  while (p < e && *p >= '0' && *p <= '9') {
    if (x > (UINT64_MAX - 9) / 10) return false;
    x = x * 10 + (uint64_t)(*p++ - '0');
  }
  if (p == s || (p < e && (*p == '.' || *p == 'e' || *p == 'E'))) return false;
  *v = x;
  return true;
}

static bool jis(const char *p, const char *e, const char *lit) {
  p = ws(p, e);
  size_t n = strlen(lit);
  return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0;
}

/* Walks the members of the object [p, e): cb(key, key_len, value, value_end). */
typedef bool (*member_cb)(void *u, const char *k, size_t kl, const char *v, const char *ve);
static bool jobject(const char *p, const char *e, member_cb cb, void *u) {
  p = ws(p, e);
  if (p >= e || *p != '{') return false;
  if (!jskip(p, e, 0)) return false;
  p = ws(p + 1, e);
  if (*p == '}') return true;
  for (;;) {
    p = ws(p, e);
    const char *ke = jskip(p, e, 1);
    if (!ke || *p != '"') return false;
    const char *c = ws(ke, e);
    const char *v = ws(c + 1, e);
    const char *ve = jskip(v, e, 1);
    if (!ve) return false;
    if (!cb(u, p + 1, (size_t)(ke - p - 2), v, ve)) return false;
    p = ws(ve, e);
    if (*p == '}') return true;
    p++;
  }
}

typedef struct entry_parse {
  bool executable, has_blob;
  const char *link, *link_end; /* the JSON string, or NULL */
  const char *meta, *meta_end;
  uint64_t blob[4]; /* blockOffset, byteOffset, blockLength, byteLength */
  unsigned blob_seen;
  bool block_map;
} entry_parse;

static bool blob_member(void *u, const char *k, size_t kl, const char *v, const char *ve) {
  entry_parse *ep = u;
  static const char *const names[4] = {"blockOffset", "byteOffset", "blockLength", "byteLength"};
  for (int i = 0; i < 4; i++) {
    if (kl == strlen(names[i]) && memcmp(k, names[i], kl) == 0) {
      if (!jnumber(v, ve, &ep->blob[i])) return false;
      ep->blob_seen |= 1u << i;
    }
  }
  if (kl == 8 && memcmp(k, "blockMap", 8) == 0) ep->block_map = jis(v, ve, "true");
  return true;
}

static bool entry_member(void *u, const char *k, size_t kl, const char *v, const char *ve) {
  entry_parse *ep = u;
  if (kl == 10 && memcmp(k, "executable", 10) == 0) {
    ep->executable = jis(v, ve, "true");
  } else if (kl == 8 && memcmp(k, "linkname", 8) == 0) {
    if (*v == '"') ep->link = v, ep->link_end = ve;
  } else if (kl == 4 && memcmp(k, "blob", 4) == 0) {
    if (*v == '{') {
      if (!jobject(v, ve, blob_member, ep)) return false;
      if (ep->blob_seen != 15) return false;
      ep->has_blob = true;
    }
  } else if (kl == 8 && memcmp(k, "metadata", 8) == 0) {
    ep->meta = v;
    ep->meta_end = ve;
  }
  return true;
}

static int parse_entry(const hc_bee_entry *be, hc_drive_entry **out) {
  *out = NULL;
  if (!be->has_value) return HC_ERR_BEE_CORRUPT;
  /* the value is NUL-terminated by hc_bee_entry */
  const char *v = (const char *)be->value, *ve = v + be->value_len;
  if (memchr(v, 0, be->value_len)) return HC_ERR_BEE_CORRUPT;
  entry_parse ep;
  memset(&ep, 0, sizeof(ep));
  if (!jobject(v, ve, entry_member, &ep)) return HC_ERR_BEE_CORRUPT;
  size_t plen = be->key_len, llen = ep.link ? (size_t)(ep.link_end - ep.link) : 0;
  size_t mlen = ep.meta ? (size_t)(ep.meta_end - ep.meta) : 4;
  hc_drive_entry *e = calloc(1, sizeof(*e) + plen + llen + mlen + 3);
  if (!e) return HC_ERR_NOMEM;
  char *s = (char *)(e + 1);
  e->path = s;
  memcpy(s, be->key, plen);
  s[plen] = 0;
  s += plen + 1;
  if (ep.link) {
    size_t n;
    if (!jstring(ep.link, ep.link_end, s, &n)) {
      free(e);
      return HC_ERR_BEE_CORRUPT;
    }
    e->linkname = s;
    s += n + 1;
  }
  e->metadata = s;
  memcpy(s, ep.meta ? ep.meta : "null", mlen);
  s[mlen] = 0;
  e->seq = be->seq;
  e->executable = ep.executable;
  e->has_blob = ep.has_blob;
  e->block_offset = ep.blob[0];
  e->byte_offset = ep.blob[1];
  e->block_length = ep.blob[2];
  e->byte_length = ep.blob[3];
  e->block_map = ep.has_blob && ep.block_map;
  *out = e;
  return HC_OK;
}

void hc_drive_entry_free(hc_drive_entry *e) { free(e); }

/* ---------------------------------------------------------------- open ---- */

/* Drives of non-compat cores (corestore 7, hyperdrive 11.x/13.x on hypercore 11) name no
 * blobs key in their header: it is the key of the db manifest's "content manifest"
 * (generateContentManifest): the same signers, each namespace H(BLOBS || db key || ns),
 * BLOBS = hypercore-crypto namespace('hyperdrive', 1)[0], no prologue. */
static int blobs_key_from_manifest(hc_core *db, uint8_t key[HC_KEY_BYTES]) {
  size_t mlen;
  const uint8_t *enc = hc_core_manifest(db, &mlen);
  if (!enc) return HC_ERR_NOT_FOUND;
  hc_manifest m;
  memset(&m, 0, sizeof(m));
  hc_dec d;
  hc_dec_init(&d, enc, mlen);
  if (hc_manifest_decode(&d, &m) != HC_OK) return HC_ERR_NOT_FOUND;
  if (m.version < 1 || hc_manifest_is_compat(&m, hc_core_key(db))) return HC_ERR_NOT_FOUND;
  uint8_t blobs_ns[32];
  hc_crypto_namespace(blobs_ns, "hyperdrive", 0);
  for (size_t i = 0; i < m.nsigners; i++) {
    hc_buf parts[3] = {{blobs_ns, 32}, {hc_core_key(db), 32}, {m.signers[i].namespace_, 32}};
    hc_crypto_hash_parts(m.signers[i].namespace_, parts, 3, NULL, 0);
  }
  m.has_prologue = false;
  m.has_linked = false;
  m.nlinked = 0;
  m.has_user_data = false;
  m.user_data_len = 0;
  return hc_manifest_hash(&m, key) == HC_OK ? HC_OK : HC_ERR_NOT_FOUND;
}

int hc_drive_content_key(hc_core *db, const hc_drive_opts *opts, uint8_t key[HC_KEY_BYTES]) {
  if (opts && opts->version != HC_DRIVE_OPTS_VERSION) return HC_ERR_BAD_VERSION;
  hc_bee_opts bo = {.version = HC_BEE_OPTS_VERSION};
  if (opts) {
    bo.get_block = opts->get_block;
    bo.get_block_user = opts->get_block_user;
  }
  hc_bee *bee;
  int rc = hc_bee_open(&bee, db, &bo);
  if (rc) return rc;
  const uint8_t *cf;
  size_t len;
  rc = hc_bee_content_feed(bee, &cf, &len);
  if (rc == HC_OK && len < HC_KEY_BYTES) rc = blobs_key_from_manifest(db, key);
  else if (rc == HC_OK) memcpy(key, cf, HC_KEY_BYTES);
  hc_bee_close(bee);
  return rc;
}

int hc_drive_open(hc_drive **out, hc_core *db, hc_core *blobs, const hc_drive_opts *opts) {
  *out = NULL;
  if (!db) return HC_ERR_INVALID_ARG;
  if (opts && opts->version != HC_DRIVE_OPTS_VERSION) return HC_ERR_BAD_VERSION;
  hc_drive *d = calloc(1, sizeof(*d));
  if (!d) return HC_ERR_NOMEM;
  d->db = db;
  d->blobs = blobs;
  hc_bee_opts bo = {.version = HC_BEE_OPTS_VERSION, .header_metadata = true};
  if (opts) {
    d->get_block = bo.get_block = opts->get_block;
    d->get_block_user = bo.get_block_user = opts->get_block_user;
  }
  if (blobs) {
    bo.content_feed = hc_core_key(blobs);
    bo.content_feed_len = HC_KEY_BYTES;
  }
  int rc = hc_bee_open(&d->root, db, &bo);
  if (rc == HC_OK) rc = hc_bee_sub(d->root, (const uint8_t *)"files", 5, NULL, 0, &d->files);
  if (rc == HC_OK && blobs && hc_core_length(db) > 0) {
    const uint8_t *cf;
    size_t len;
    rc = hc_bee_content_feed(d->root, &cf, &len);
    if (rc == HC_OK && len >= HC_KEY_BYTES && memcmp(cf, hc_core_key(blobs), HC_KEY_BYTES) != 0)
      rc = HC_ERR_KEY_MISMATCH;
  }
  if (rc) {
    hc_drive_close(d);
    return rc;
  }
  *out = d;
  return HC_OK;
}

void hc_drive_close(hc_drive *d) {
  if (!d) return;
  hc_bee_close(d->files);
  hc_bee_close(d->root);
  free(d);
}

hc_bee *hc_drive_bee(hc_drive *d) { return d->root; }

/* ---------------------------------------------------------------- reading ---- */

int hc_drive_entry_get(hc_drive *d, const char *path, hc_drive_entry **out) {
  *out = NULL;
  char *p;
  int rc = file_path(path, &p);
  if (rc) return rc;
  hc_bee_entry *be;
  rc = hc_bee_get(d->files, (const uint8_t *)p, strlen(p), &be);
  free(p);
  if (rc) return rc;
  rc = parse_entry(be, out);
  hc_bee_entry_free(be);
  return rc;
}

struct hc_drive_iter {
  hc_drive *d;
  bool recursive;
  char *folder; /* normalised, without a trailing '/' ("" for the root) */
  size_t flen;
  hc_bee_iter *it; /* recursive */
  char *prev, *prev_name;
  char *name;
  bool done;
};

int hc_drive_list(hc_drive *d, const char *folder, bool recursive, hc_drive_iter **out) {
  *out = NULL;
  char *f = hc_drive_normalize(folder ? folder : "/");
  if (!f) return HC_ERR_INVALID_ARG;
  if (strcmp(f, "/") == 0) f[0] = 0; /* std(folder, true) */
  hc_drive_iter *it = calloc(1, sizeof(*it));
  if (!it) {
    free(f);
    return HC_ERR_NOMEM;
  }
  it->d = d;
  it->recursive = recursive;
  it->folder = f;
  it->flen = strlen(f);
  it->prev = strdup("/");
  it->prev_name = strdup("");
  if (!it->prev || !it->prev_name) {
    hc_drive_list_free(it);
    return HC_ERR_NOMEM;
  }
  if (recursive) {
    /* prefixRange(folder): gt folder + "/", lt folder + "0" ('0' is '/' + 1) */
    char *gt = malloc(it->flen + 2), *lt = malloc(it->flen + 2);
    int rc = HC_ERR_NOMEM;
    if (gt && lt) {
      memcpy(gt, f, it->flen);
      memcpy(lt, f, it->flen);
      gt[it->flen] = '/';
      lt[it->flen] = '0';
      hc_bee_range r = {.version = HC_BEE_RANGE_VERSION, .gt = (uint8_t *)gt,
                        .gt_len = it->flen + 1, .lt = (uint8_t *)lt, .lt_len = it->flen + 1};
      rc = hc_bee_iter_new(d->files, &r, &it->it);
    }
    free(gt);
    free(lt);
    if (rc) {
      hc_drive_list_free(it);
      return rc;
    }
  }
  *out = it;
  return HC_OK;
}

void hc_drive_list_free(hc_drive_iter *it) {
  if (!it) return;
  hc_bee_iter_free(it->it);
  free(it->folder);
  free(it->prev);
  free(it->prev_name);
  free(it->name);
  free(it);
}

/* shallowReadStream: peek the first key after the previous child, skip to the next name. */
static int shallow_next(hc_drive_iter *it, hc_bee_entry **out, bool *is_dir) {
  for (;;) {
    size_t pl = strlen(it->prev);
    char *gt = malloc(it->flen + pl + 1), *lt = malloc(it->flen + 2);
    if (!gt || !lt) {
      free(gt);
      free(lt);
      return HC_ERR_NOMEM;
    }
    memcpy(gt, it->folder, it->flen);
    memcpy(gt + it->flen, it->prev, pl);
    memcpy(lt, it->folder, it->flen);
    lt[it->flen] = '0';
    hc_bee_range r = {.version = HC_BEE_RANGE_VERSION, .gt = (uint8_t *)gt,
                      .gt_len = it->flen + pl, .lt = (uint8_t *)lt, .lt_len = it->flen + 1};
    hc_bee_entry *be;
    int rc = hc_bee_peek(it->d->files, &r, &be);
    free(gt);
    free(lt);
    if (rc) return rc;
    if (be->key_len < it->flen + 1) {
      hc_bee_entry_free(be);
      return HC_ERR_BEE_CORRUPT;
    }
    const char *suffix = (const char *)be->key + it->flen + 1;
    size_t slen = be->key_len - it->flen - 1;
    const char *slash = memchr(suffix, '/', slen);
    size_t nlen = slash ? (size_t)(slash - suffix) : slen;
    char *name = malloc(nlen + 1), *prev = malloc(nlen + 3);
    if (!name || !prev) {
      free(name);
      free(prev);
      hc_bee_entry_free(be);
      return HC_ERR_NOMEM;
    }
    memcpy(name, suffix, nlen);
    name[nlen] = 0;
    snprintf(prev, nlen + 3, "/%s%s", name, slash ? "0" : "");
    /* prev only grows in key order: the loop ends */
    free(it->prev);
    it->prev = prev;
    if (strcmp(name, it->prev_name) == 0) {
      free(name);
      hc_bee_entry_free(be);
      continue;
    }
    free(it->prev_name);
    it->prev_name = name;
    *is_dir = slash != NULL;
    *out = be;
    return HC_OK;
  }
}

int hc_drive_list_next(hc_drive_iter *it, hc_drive_entry **out, const char **name,
                       bool *is_dir) {
  *out = NULL;
  if (name) *name = NULL;
  if (is_dir) *is_dir = false;
  if (it->done) return HC_ERR_NOT_FOUND;
  hc_bee_entry *be;
  bool dir = false;
  int rc = it->recursive ? hc_bee_iter_next(it->it, &be) : shallow_next(it, &be, &dir);
  if (rc) {
    if (rc == HC_ERR_NOT_FOUND) it->done = true;
    return rc;
  }
  rc = parse_entry(be, out);
  hc_bee_entry_free(be);
  if (rc) return rc;
  if (!it->recursive) {
    if (name) *name = it->prev_name;
    if (is_dir) *is_dir = dir;
  }
  return HC_OK;
}

static int blob_block(hc_drive *d, uint64_t index, uint8_t **out, size_t *len) {
  if (d->get_block) return d->get_block(d->get_block_user, d->blobs, index, out, len);
  return hc_core_get_alloc(d->blobs, index, out, len);
}

/* One map block of a block-map blob: uint version (0), then an array of {uint index, uint
 * byteLength}, the file's data blocks in order (hyperblobs lib/block-map.js). Emits the part
 * of [start, end) they hold; *pos: the file byte where the next data block starts. */
static int read_map_block(hc_drive *d, const uint8_t *m, size_t mlen, uint64_t start,
                          uint64_t end, uint64_t *pos, hc_drive_write_cb cb, void *user) {
  hc_dec dec;
  hc_dec_init(&dec, m, mlen);
  if (hc_dec_uint(&dec) != 0 || dec.err) return HC_ERR_CORRUPT; /* version 0 only */
  uint64_t n = hc_dec_uint_max(&dec, hc_dec_left(&dec) / 2);
  for (uint64_t i = 0; i < n && !dec.err && *pos < end; i++) {
    uint64_t index = hc_dec_uint(&dec), blen = hc_dec_uint(&dec);
    if (dec.err) break;
    if (blen > UINT64_MAX - *pos) return HC_ERR_CORRUPT;
    uint64_t bs = *pos, be = bs + blen;
    *pos = be;
    if (be <= start) continue; /* skipped without fetching: the map gives its size */
    if (index >= hc_core_length(d->blobs)) return HC_ERR_CORRUPT;
    uint8_t *blk;
    size_t len;
    int rc = blob_block(d, index, &blk, &len);
    if (rc) return rc;
    uint64_t a = start > bs ? start : bs, b = end < be ? end : be;
    if (len != blen) rc = HC_ERR_CORRUPT; /* the map lies about the block */
    else if (a < b && cb(user, blk + (a - bs), (size_t)(b - a))) rc = HC_ERR_CALLBACK;
    hc_free(blk);
    if (rc) return rc;
  }
  return dec.err ? HC_ERR_CORRUPT : HC_OK;
}

/* A block-map blob (hyperblobs dedup, hyperdrive 13 createWriteStream({dedup})): its blocks
 * are the map (at most 64, as hyperblobs allows), naming the data blocks, which may be shared
 * with other blobs. byteLength is the map's size; the file's is the sum of the map's lengths. */
static int read_block_map(hc_drive *d, const hc_drive_entry *e, uint64_t start,
                          uint64_t length, hc_drive_write_cb cb, void *user) {
  if (e->block_length > 64) return HC_ERR_CORRUPT;
  uint64_t end = length > UINT64_MAX - start ? UINT64_MAX : start + length, pos = 0;
  for (uint64_t i = 0; i < e->block_length && pos < end; i++) {
    uint8_t *m;
    size_t mlen;
    int rc = blob_block(d, e->block_offset + i, &m, &mlen);
    if (rc) return rc;
    rc = read_map_block(d, m, mlen, start, end, &pos, cb, user);
    hc_free(m);
    if (rc) return rc;
  }
  return HC_OK;
}

int hc_drive_read(hc_drive *d, const hc_drive_entry *e, uint64_t start, uint64_t length,
                  hc_drive_write_cb cb, void *user) {
  if (!e->has_blob) return HC_OK;
  if (!d->blobs) return HC_ERR_INVALID_ARG;
  uint64_t first = e->block_offset, nblocks = e->block_length;
  if (first > UINT64_MAX - nblocks || first + nblocks > hc_core_length(d->blobs))
    return HC_ERR_CORRUPT; /* the entry points at blobs that do not exist */
  if (e->block_map) return read_block_map(d, e, start, length, cb, user);
  if (start >= e->byte_length) return HC_OK;
  uint64_t end = length > e->byte_length - start ? e->byte_length : start + length;
  /* skip whole blocks through the tree when it can (no block fetched), else by sizes */
  uint64_t idx = first, pos = 0; /* pos: byte of the blob where block idx starts */
  if (start > 0 && e->byte_offset <= UINT64_MAX - start) {
    uint64_t si, so;
    if (hc_core_seek(d->blobs, e->byte_offset + start, &si, &so) == HC_OK && si >= first &&
        si < first + nblocks && so <= start) {
      idx = si;
      pos = start - so;
    } else {
      /* a sparse replica may lack the tree to seek: guess the block from hyperblobs' fixed
       * 64 KiB blocks, fetch it (its proof brings the nodes for its byte offset), check */
      uint64_t guess = first + start / BLOB_BLOCK, off;
      uint8_t *blk;
      size_t len;
      if (guess < first + nblocks && blob_block(d, guess, &blk, &len) == HC_OK) {
        hc_free(blk);
        if (hc_core_byte_offset(d->blobs, guess, &off) == HC_OK && off >= e->byte_offset &&
            off - e->byte_offset <= start && start < off - e->byte_offset + len) {
          idx = guess;
          pos = off - e->byte_offset;
        }
      }
    }
  }
  for (; idx < first + nblocks && pos < end; idx++) {
    uint8_t *blk;
    size_t len;
    int rc = blob_block(d, idx, &blk, &len);
    if (rc) return rc;
    if (len > e->byte_length - pos) {
      hc_free(blk);
      return HC_ERR_CORRUPT; /* the blocks hold more than byteLength */
    }
    uint64_t bs = pos, be = pos + len;
    uint64_t a = start > bs ? start : bs, b = end < be ? end : be;
    if (a < b && cb(user, blk + (a - bs), (size_t)(b - a))) {
      hc_free(blk);
      return HC_ERR_CALLBACK;
    }
    hc_free(blk);
    pos = be;
  }
  if (pos < end) return HC_ERR_CORRUPT; /* fewer bytes than byteLength */
  return HC_OK;
}

/* ---------------------------------------------------------------- writing ---- */

static size_t json_str(char *o, const char *s) {
  size_t n = 0;
  if (o) o[n] = '"';
  n++;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    size_t k;
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*p;
      k = 2;
    } else if (*p < 0x20) {
      k = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
    } else {
      esc[0] = (char)*p;
      k = 1;
    }
    if (o) memcpy(o + n, esc, k);
    n += k;
  }
  if (o) o[n] = '"';
  return n + 1;
}

/* JSON.stringify({executable, linkname, blob, metadata}) in the reference's key order. */
static char *entry_json(bool executable, const char *link, const uint64_t *blob,
                        const char *meta) {
  size_t ll = link ? json_str(NULL, link) : 4;
  size_t cap = 200 + ll + (meta ? strlen(meta) : 4);
  char *o = malloc(cap);
  if (!o) return NULL;
  size_t n = (size_t)snprintf(o, cap, "{\"executable\":%s,\"linkname\":",
                              executable ? "true" : "false");
  if (link) n += json_str(o + n, link);
  else n += (size_t)snprintf(o + n, cap - n, "null");
  if (blob)
    n += (size_t)snprintf(o + n, cap - n,
                          ",\"blob\":{\"blockOffset\":%llu,\"byteOffset\":%llu,\"blockLength\":"
                          "%llu,\"byteLength\":%llu}",
                          (unsigned long long)blob[0], (unsigned long long)blob[1],
                          (unsigned long long)blob[2], (unsigned long long)blob[3]);
  else
    n += (size_t)snprintf(o + n, cap - n, ",\"blob\":null");
  snprintf(o + n, cap - n, ",\"metadata\":%s}", meta ? meta : "null");
  return o;
}

static int put_entry(hc_drive *d, const char *path, bool executable, const char *link,
                     const uint64_t *blob, const char *meta) {
  char *p;
  int rc = file_path(path, &p);
  if (rc) return rc;
  if (meta) {
    const char *me = meta + strlen(meta);
    const char *end = jskip(meta, me, 0);
    if (!end || ws(end, me) != me) {
      free(p);
      return HC_ERR_INVALID_ARG;
    }
  }
  char *json = entry_json(executable, link, blob, meta);
  if (!json) {
    free(p);
    return HC_ERR_NOMEM;
  }
  rc = hc_bee_put(d->files, (const uint8_t *)p, strlen(p), (const uint8_t *)json, strlen(json),
                  NULL);
  free(json);
  free(p);
  return rc;
}

typedef struct mem_src {
  const uint8_t *data;
  size_t len, pos;
} mem_src;

static int mem_read(void *user, uint8_t *buf, size_t cap, size_t *got) {
  mem_src *m = user;
  size_t n = m->len - m->pos < cap ? m->len - m->pos : cap;
  if (n) memcpy(buf, m->data + m->pos, n);
  m->pos += n;
  *got = n;
  return 0;
}

int hc_drive_put(hc_drive *d, const char *path, const uint8_t *data, size_t len,
                 bool executable, const char *metadata_json) {
  mem_src m = {data, len, 0};
  return hc_drive_put_stream(d, path, mem_read, &m, executable, metadata_json);
}

/* Fills a whole 64 KiB block unless the source ends. */
static int fill_block(hc_drive_read_cb cb, void *user, uint8_t *buf, size_t *got) {
  *got = 0;
  while (*got < BLOB_BLOCK) {
    size_t n = 0;
    if (cb(user, buf + *got, BLOB_BLOCK - *got, &n)) return HC_ERR_CALLBACK;
    if (n == 0) break;
    *got += n;
  }
  return HC_OK;
}

int hc_drive_put_stream(hc_drive *d, const char *path, hc_drive_read_cb cb, void *user,
                        bool executable, const char *metadata_json) {
  if (!d->blobs) return HC_ERR_INVALID_ARG;
  char *p;
  int rc = file_path(path, &p);
  if (rc) return rc;
  free(p);
  uint64_t blob[4] = {hc_core_length(d->blobs), hc_core_byte_length(d->blobs), 0, 0};
  uint8_t *buf = malloc((size_t)BLOB_BLOCK * BLOB_BATCH);
  if (!buf) return HC_ERR_NOMEM;
  for (bool eof = false; !eof && rc == HC_OK;) {
    hc_buf blocks[BLOB_BATCH];
    size_t n = 0;
    while (n < BLOB_BATCH) {
      size_t got;
      if ((rc = fill_block(cb, user, buf + n * BLOB_BLOCK, &got))) break;
      if (got) {
        blocks[n].data = buf + n * BLOB_BLOCK;
        blocks[n].len = got;
        n++;
      }
      if (got < BLOB_BLOCK) {
        eof = true;
        break;
      }
    }
    if (rc == HC_OK && n) rc = hc_core_append(d->blobs, blocks, n, NULL, NULL);
  }
  free(buf);
  if (rc) return rc;
  blob[2] = hc_core_length(d->blobs) - blob[0];
  blob[3] = hc_core_byte_length(d->blobs) - blob[1];
  return put_entry(d, path, executable, NULL, blob, metadata_json);
}

int hc_drive_symlink(hc_drive *d, const char *path, const char *target) {
  return put_entry(d, path, false, target, NULL, NULL);
}

int hc_drive_del(hc_drive *d, const char *path) {
  char *p;
  int rc = file_path(path, &p);
  if (rc) return rc;
  rc = hc_bee_del(d->files, (const uint8_t *)p, strlen(p), NULL);
  free(p);
  return rc;
}
