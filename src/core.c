/* The core: ties oplog, merkle tree, bitfield and data together (lib/core.js of 10.38.2).
 *
 * Design note (in the manner of SQLite's pager): what must hold for a core to survive a crash
 * at any instant, and what happens when a write fails.
 *
 * Write order of every mutation (append, truncate, clear, user data, verified download):
 *   1. data: the block bytes go to `data` first (appends: one pwritev at the old byte length;
 *      downloads: batched, written before their entries at defer_flush). Nothing points at
 *      them yet, so a crash here leaves garbage past the end, invisible and overwritten later.
 *   2. the oplog entry: one CRC-framed entry with the new tree nodes, the bitfield range and
 *      the upgrade (signature). From the moment it is written the mutation is durable against
 *      a process crash: opening replays it (replay_entry). Durable cores fsync `data` first.
 *   3. memory: bitfield, Merkle tree and header copy are updated from the same batch, after the
 *      entry, so memory never shows what storage could lose.
 * Flushing (the first mutation after open, then whenever the oplog reaches 64 KiB, and
 * hc_core_flush) moves the entries' state into the files and drops them: `bitfield` and `tree`
 * are written (and, when syncing, fsynced) BEFORE the oplog header flips to the new length and
 * the entries are truncated, so at every instant either the old header plus its entries or the
 * new header describes a tree that is on disk. A header too big for the oplog's slots goes to
 * the `header` file first (fsynced when syncing; oplog_ext.c) and only then does the oplog
 * point at it. A truncation's entry must reach the oplog before the tree file shrinks:
 * replay_entry copes with a header whose roots a crash in the middle of a flush truncated away.
 * Reads go through the block store's read-ahead (block_store.c), which every write to `data`
 * drops, so it never serves bytes the file no longer holds.
 *
 * The `failed` state: entered when a step after the oplog entry fails (memory could not be
 * updated, or deferred downloads could not be written), i.e. when memory and storage may
 * disagree. From then on every mutation (append, truncate, clear, user data, verified
 * download) and hc_core_flush return HC_ERR_IO, and close does not flush; reads still answer
 * from what is in memory. It is never left on the same handle: close it
 * and open the core again, which rebuilds memory from storage (header + replayed entries). A
 * failure BEFORE the oplog entry (a short disk, EIO on the data write) changes nothing and
 * does not enter it: the call returns the error and the core stays usable. */
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "flat_tree.h"
#include "grow.h"
#include "messages.h"
#include "block_encryption.h"
#include "block_store.h"
#include "oplog_ext.h"

#define MAX_OPLOG_SIZE 65536

static int defer_flush(hc_core *c);

/* A backend's file must carry a method table of a version this library knows (1..current). */
static int check_methods(int rc, hc_storage **st) {
  if (rc != HC_OK || ((*st)->methods->version >= 1 &&
                      (*st)->methods->version <= HC_STORAGE_METHODS_VERSION))
    return rc;
  hc_storage_close(*st);
  *st = NULL;
  return HC_ERR_BAD_VERSION;
}

static int open_file(hc_core *c, const char *name, hc_storage **out) {
  unsigned flags = c->readonly ? HC_STORAGE_READONLY : HC_STORAGE_CREATE;
  int rc = check_methods(c->factory->open(c->factory, name, flags, out), out);
  if (rc == HC_ERR_NOT_FOUND && c->readonly) {
    /* a read-only core whose file was never written: an empty stand-in */
    if (!c->empty_factory) {
      rc = hc_storage_memory_factory_new(&c->empty_factory);
      if (rc) return rc;
    }
    rc = c->empty_factory->open(c->empty_factory, name, HC_STORAGE_CREATE, out);
  }
  return rc;
}

/* ---- contiguous length (updateContig) ---- */

static void update_contig(hc_core *c, uint64_t start, uint64_t length, bool drop) {
  uint64_t end = start + length;
  uint64_t v = c->header.contiguous_length;
  if (drop) {
    if (v <= end && v > start) v = start;
  } else if (v <= end && v >= start) {
    v = end;
    while (hc_bitfield_get(&c->bitfield, v)) v++;
  }
  c->header.contiguous_length = v;
}

static void add_reorg_hint(hc_core *c, uint64_t ancestors, uint64_t fork) {
  hc_oplog_header *h = &c->header;
  if (c->tree.length == 0 || c->tree.fork == fork) return;
  while (h->n_reorgs >= HC_OPLOG_MAX_REORGS) {
    memmove(h->reorgs, h->reorgs + 1, (h->n_reorgs - 1) * sizeof *h->reorgs);
    h->n_reorgs--;
  }
  while (h->n_reorgs > 0 && h->reorgs[h->n_reorgs - 1].ancestors > ancestors) h->n_reorgs--;
  h->reorgs[h->n_reorgs].from = c->tree.fork;
  h->reorgs[h->n_reorgs].to = fork;
  h->reorgs[h->n_reorgs].ancestors = ancestors;
  h->n_reorgs++;
}

static int sync_header_tree(hc_core *c) {
  c->header.fork = c->tree.fork;
  c->header.length = c->tree.length;
  c->header.has_root_hash = true;
  hc_merkle_hash(&c->tree, c->header.root_hash);
  return hc_oplog_header_set_signature(&c->header, c->tree.signature, c->tree.signature_len);
}

/* Applies a committed truncation record to snapshots' bookkeeping. */
static int note_truncation(hc_core *c, uint64_t ancestors) {
  if (hc_grow((void **)&c->truncations, &c->truncations_cap, c->ntruncations + 1,
              sizeof *c->truncations, 8))
    return HC_ERR_NOMEM;
  c->truncations[c->ntruncations++] = ancestors;
  return HC_OK;
}

/* ---- replay ---- */

static int replay_entry(void *ctx, const hc_oplog_entry *e) {
  hc_core *c = ctx;
  int rc;
  if (!c->tree_ready) {
    rc = hc_merkle_set_head(&c->tree, c->header.length, c->header.fork, c->header.signature,
                            c->header.signature_len);
    if (rc == HC_ERR_CORRUPT && c->header.length > 0) {
      /* A crash (or failed write) inside a flush after a truncation: the tree file was
       * truncated before the header flip, so this older header's roots are gone. The entries
       * still carry the upgrade that replaces them; nroots == 0 with length > 0 marks the
       * head as missing until then (do_open refuses the core if none comes). */
      c->tree.length = c->header.length;
      c->tree.fork = c->header.fork;
      c->tree.nroots = 0;
      c->tree.byte_length = 0;
      rc = HC_OK;
    }
    if (rc) return rc;
    c->tree_ready = true;
  }
  if (e->has_user_data) {
    rc = hc_oplog_header_set_user_data(&c->header, e->ud_key, e->ud_key_len, e->ud_value, e->ud_len);
    if (rc) return rc;
  }
  for (size_t i = 0; i < e->nnodes; i++) {
    rc = hc_merkle_add_node(&c->tree, &e->nodes[i]);
    if (rc) return rc;
  }
  if (e->has_bitfield) {
    rc = hc_bitfield_set_range(&c->bitfield, e->bf_start, e->bf_length, !e->drop);
    if (rc) return rc;
    update_contig(c, e->bf_start, e->bf_length, e->drop);
  }
  if (e->has_upgrade) {
    hc_merkle_batch b;
    hc_merkle_batch_init(&b, &c->tree);
    rc = hc_merkle_batch_truncate(&b, e->length, e->fork);
    if (!rc) {
      b.ancestors = e->ancestors;
      rc = hc_merkle_batch_set_signature(&b, e->signature, e->signature_len);
    }
    if (!rc) {
      add_reorg_hint(c, b.ancestors, b.fork);
      rc = hc_merkle_batch_commit(&b);
    }
    hc_merkle_batch_cleanup(&b);
    if (rc) return rc == HC_ERR_NOT_FOUND ? HC_ERR_CORRUPT : rc;
    rc = sync_header_tree(c);
    if (rc) return rc;
  }
  return HC_OK;
}

/* The oplog entry of a tree batch: its new nodes, and (when upgraded) the tree upgrade. */
static void entry_from_batch(hc_oplog_entry *e, const hc_merkle_batch *b) {
  memset(e, 0, sizeof *e);
  e->has_tree_nodes = true;
  e->nodes = b->nodes;
  e->nnodes = b->nnodes;
  if (b->upgraded) {
    e->has_upgrade = true;
    e->fork = b->fork;
    e->ancestors = b->ancestors;
    e->length = b->length;
    e->signature = b->signature;
    e->signature_len = b->signature_len;
  }
}

/* ---- flushing ---- */

static int flush_header(hc_core *c, bool sync) {
  int (*oplog_flush)(hc_oplog *, const hc_oplog_header *) =
      sync ? hc_oplog_flush_sync : hc_oplog_flush;
  int rc = oplog_flush(&c->oplog, &c->header);
  if (rc != HC_ERR_HEADER_OVERFLOW) return rc;
  /* big header: the full header goes into `header` (oplog_ext.c), the oplog points at it */
  if (!c->header_file) {
    rc = open_file(c, "header", &c->header_file);
    if (rc) return rc;
  }
  hc_oplog_header ext;
  rc = hc_oplog_ext_write(c->header_file, &c->header, sync, &c->ext_start, &c->ext_length, &ext);
  if (rc) return rc;
  return oplog_flush(&c->oplog, &ext);
}

static int sync_all(hc_core *c);

/* With `sync` (durable cores, hc_core_flush) every step is durable before the next one makes
 * it matter: the oplog entries before tree/bitfield change (a flushed tree truncation needs
 * its entry for replay), tree/bitfield before the header flip drops the entries. */
static int flush_oplog(hc_core *c, bool sync) {
  int rc = sync ? sync_all(c) : HC_OK;
  if (!rc) rc = hc_bitfield_flush(&c->bitfield);
  if (!rc) rc = hc_merkle_flush(&c->tree);
  if (!rc && sync) rc = hc_storage_sync(c->bitfield_file);
  if (!rc && sync) rc = hc_storage_sync(c->tree_file);
  if (!rc) rc = flush_header(c, sync);
  return rc;
}

/* The first mutation after open flushes (as the reference), later ones when the oplog reaches
 * its size limit. The reference also flushes every 4th operation; that only costs five system
 * calls (bitfield, tree, header, oplog truncate) and gains nothing: the oplog entries hold the
 * same state, replayed on open, within the same 64 KiB bound. */
static bool should_flush(hc_core *c) {
  if (--c->auto_flush == 0 || c->oplog.byte_length >= MAX_OPLOG_SIZE) {
    c->auto_flush = -1;
    return true;
  }
  if (c->auto_flush < -1000000) c->auto_flush = -1;
  if (!c->manifest_flushed && c->header.has_manifest) {
    c->manifest_flushed = true;
    return true;
  }
  return false;
}

static int sync_all(hc_core *c) {
  int rc = hc_storage_sync(c->data_file);
  if (!rc) rc = hc_storage_sync(c->tree_file);
  if (!rc) rc = hc_storage_sync(c->bitfield_file);
  if (!rc && c->header_file) rc = hc_storage_sync(c->header_file);
  if (!rc) rc = hc_storage_sync(c->oplog_file);
  return rc;
}

/* After a mutation's oplog entry is written: maybe flush, maybe fsync. */
static int after_mutation(hc_core *c, bool force_flush) {
  int rc = HC_OK;
  if (force_flush || should_flush(c)) rc = flush_oplog(c, c->durable);
  if (!rc && c->durable) rc = sync_all(c);
  return rc;
}

/* After a verified download: the reference flushes on its append schedule (every 4th op);
 * downloads come in thousands, so we flush when the oplog reaches its size limit (or a new
 * manifest must reach the header). Same files, same crash safety (the oplog holds it all). */
static int after_download(hc_core *c) {
  int rc = HC_OK;
  if (c->oplog.byte_length >= MAX_OPLOG_SIZE || (!c->manifest_flushed && c->header.has_manifest)) {
    c->manifest_flushed = true;
    rc = flush_oplog(c, c->durable);
  }
  if (!rc && c->durable) rc = sync_all(c);
  return rc;
}

/* ---- open / create ---- */

/* opts->manifest decoded (HC_ERR_INVALID_ARG if malformed or followed by extra bytes). */
static int opts_manifest(const hc_core_opts *o, hc_manifest *m) {
  hc_dec d;
  hc_dec_init(&d, o->manifest, o->manifest_len);
  if (hc_manifest_decode(&d, m) != HC_OK || hc_dec_left(&d) != 0) return HC_ERR_INVALID_ARG;
  return HC_OK;
}

static int create_header(hc_core *c, const hc_core_opts *o) {
  hc_oplog_header *h = &c->header;
  memset(h, 0, sizeof *h);
  uint8_t pk[HC_KEY_BYTES], sk[HC_SECRET_KEY_BYTES];
  hc_manifest man;
  bool have_pair = false, custom = o->manifest != NULL;
  if (custom) {
    int rc = opts_manifest(o, &man);
    if (rc) return rc;
  }
  if (o->secret_key) {
    memcpy(sk, o->secret_key, HC_SECRET_KEY_BYTES);
    hc_crypto_sk_to_pk(pk, sk);
    have_pair = true;
  } else if (o->seed) {
    hc_crypto_seed_keypair(pk, sk, o->seed);
    have_pair = true;
  } else if (!o->key && !custom) {
    hc_crypto_keypair(pk, sk);
    have_pair = true;
  }
  bool non_compat = custom || (have_pair && o->non_compat);
  if (have_pair) {
    if (!non_compat && o->key && memcmp(o->key, pk, HC_KEY_BYTES) != 0) {
      hc_crypto_wipe(sk, sizeof sk);
      return HC_ERR_KEY_MISMATCH; /* compat: the key must be the public key */
    }
    h->has_keypair = true;
    memcpy(h->public_key, pk, HC_KEY_BYTES);
    h->has_secret_key = true;
    memcpy(h->secret_key, sk, HC_SECRET_KEY_BYTES);
    hc_crypto_wipe(sk, sizeof sk);
  }
  if (non_compat) {
    /* compat: false: the key is the manifest hash */
    if (!custom) hc_manifest_default(&man, pk);
    h->has_manifest = true;
    h->manifest = man;
    int rc = hc_manifest_hash(&man, h->key);
    if (rc) return rc;
    if (o->key && memcmp(o->key, h->key, HC_KEY_BYTES) != 0) return HC_ERR_KEY_MISMATCH;
  } else if (have_pair) {
    h->has_manifest = true;
    hc_manifest_default(&h->manifest, pk);
    memcpy(h->key, pk, HC_KEY_BYTES);
  } else {
    memcpy(h->key, o->key, HC_KEY_BYTES); /* a clone: the manifest arrives with the first proof */
  }
  return flush_header(c, c->durable);
}

static int do_open(hc_core *c, const hc_core_opts *o) {
  int rc;
  unsigned oflags = c->readonly ? HC_STORAGE_READONLY : (HC_STORAGE_LOCK | (o->no_create ? 0 : HC_STORAGE_CREATE));
  rc = check_methods(c->factory->open(c->factory, "oplog", oflags, &c->oplog_file), &c->oplog_file);
  if (rc == HC_ERR_NOT_FOUND) return HC_ERR_NO_CORE;
  if (rc) return rc;
  if (o->overwrite && !c->readonly) {
    static const char *names[] = {"tree", "bitfield", "data", "header"};
    for (size_t i = 0; i < 4; i++) {
      hc_storage *s;
      if (c->factory->open(c->factory, names[i], 0, &s) == HC_OK) {
        rc = hc_storage_truncate(s, 0);
        hc_storage_close(s);
        if (rc) return rc;
      }
    }
    rc = hc_storage_truncate(c->oplog_file, 0);
    if (rc) return rc;
  }
  if ((rc = open_file(c, "tree", &c->tree_file)) || (rc = open_file(c, "bitfield", &c->bitfield_file)) ||
      (rc = open_file(c, "data", &c->data_file)))
    return rc;
  if ((rc = hc_merkle_init(&c->tree, c->tree_file))) return rc;
  c->tree_inited = true;
  if ((rc = hc_bitfield_open(&c->bitfield, c->bitfield_file))) return rc;
  c->bitfield_inited = true;

  bool has_header = false;
  rc = hc_oplog_open(&c->oplog, c->oplog_file, c->readonly, &c->header, &has_header,
                     replay_entry, c);
  c->header_inited = has_header;
  if (rc == HC_ERR_CORRUPT || rc == HC_ERR_DECODE) return HC_ERR_CORRUPT;
  if (rc) return rc;

  if (has_header && c->header.external) {
    /* load the big header */
    uint64_t start = c->header.ext_start, len = c->header.ext_length;
    if (len > HC_OPLOG_EXT_MAX) return HC_ERR_CORRUPT;
    rc = open_file(c, "header", &c->header_file);
    if (rc) return rc;
    hc_oplog_header big;
    rc = hc_oplog_ext_read(c->header_file, start, len, &big);
    if (rc) return rc;
    hc_oplog_header_cleanup(&c->header);
    c->header = big;
    c->ext_start = start;
    c->ext_length = len;
    if (c->oplog.length) return HC_ERR_CORRUPT; /* entries replayed on the pointer: not supported */
  }

  if (!has_header) {
    if (o->no_create || c->readonly) return HC_ERR_NO_CORE;
    rc = create_header(c, o);
    c->header_inited = true;
    if (!rc && c->durable) rc = sync_all(c); /* a created core is acknowledged by the open */
    if (rc) return rc;
  }
  if (o->key && memcmp(o->key, c->header.key, HC_KEY_BYTES) != 0) return HC_ERR_KEY_MISMATCH;
  bool adopted_manifest = false;
  if (o->manifest && has_header) { /* an existing core: the manifest must be its own */
    hc_manifest m;
    if ((rc = opts_manifest(o, &m))) return rc;
    if (!hc_manifest_matches_key(&m, c->header.key)) return HC_ERR_KEY_MISMATCH;
    if (!c->header.has_manifest) {
      c->header.has_manifest = true;
      c->header.manifest = m;
      adopted_manifest = true;
    }
  }
  if (c->header.has_manifest && !hc_manifest_matches_key(&c->header.manifest, c->header.key))
    return HC_ERR_CORRUPT;
  c->compat = c->header.has_manifest && hc_manifest_is_compat(&c->header.manifest, c->header.key);
  if (c->header.has_manifest && c->header.manifest.has_prologue) {
    c->tree.has_prologue = true;
    memcpy(c->tree.prologue_hash, c->header.manifest.prologue_hash, HC_HASH_BYTES);
    c->tree.prologue_length = c->header.manifest.prologue_length;
  }
  if (!c->tree_ready) {
    rc = hc_merkle_set_head(&c->tree, c->header.length, c->header.fork, c->header.signature,
                            c->header.signature_len);
    if (rc) return rc;
    c->tree_ready = true;
  }
  if (c->tree.length > 0 && c->tree.nroots == 0) return HC_ERR_CORRUPT; /* head never found */
  if (c->header.contiguous_length == 0) {
    uint64_t z = hc_bitfield_find(&c->bitfield, 0, false, UINT64_MAX);
    c->header.contiguous_length = z == UINT64_MAX ? 0 : z;
  }
  hc_crypto_discovery_key(c->discovery_key, c->header.key);
  if (o->encryption_key) hc_core_set_encryption_key(c, o->encryption_key, o->is_block_key);
  c->manifest_flushed = c->header.has_manifest && !adopted_manifest;
  c->auto_flush = 1;
  return HC_OK;
}

int hc_core_open(hc_core **out, hc_storage_factory *factory, const hc_core_opts *opts) {
  hc_core_opts def;
  if (!out || !factory) return HC_ERR_INVALID_ARG;
  *out = NULL;
  if (!opts) {
    memset(&def, 0, sizeof def);
    def.version = HC_CORE_OPTS_VERSION;
    opts = &def;
  }
  /* Version 1 is the only layout so far; a caller built against an unknown one is refused
   * rather than misread (hc_core_opts.version). */
  if (opts->version != HC_CORE_OPTS_VERSION || factory->version != HC_STORAGE_FACTORY_VERSION)
    return HC_ERR_BAD_VERSION;
  if (opts->seed && opts->secret_key) return HC_ERR_INVALID_ARG;
  if (hc_crypto_init() != HC_OK) return HC_ERR_IO;
  hc_core *c = calloc(1, sizeof *c);
  if (!c) return HC_ERR_NOMEM;
  c->factory = factory;
  c->readonly = opts->readonly;
  c->durable = opts->durable;
  int rc = do_open(c, opts);
  if (rc) {
    hc_core_close(c);
    return rc;
  }
  *out = c;
  return HC_OK;
}

int hc_core_open_dir(hc_core **out, const char *dir, const hc_core_opts *opts) {
  hc_storage_factory *f;
  if (!out) return HC_ERR_INVALID_ARG;
  int rc = hc_storage_file_factory_new(&f, dir);
  if (rc) return rc;
  rc = hc_core_open(out, f, opts);
  if (rc) {
    hc_storage_factory_free(f);
    return rc;
  }
  (*out)->own_factory = true;
  return HC_OK;
}

void hc_core_close(hc_core *c) {
  if (!c) return;
  if (c->refs > 0) { /* sessions still hold it */
    c->refs--;
    return;
  }
  if (!c->failed) defer_flush(c); /* verified downloads still in memory */
  if (c->tree_inited) hc_merkle_cleanup(&c->tree);
  if (c->bitfield_inited) hc_bitfield_cleanup(&c->bitfield);
  if (c->header_inited) hc_oplog_header_cleanup(&c->header);
  hc_storage_close(c->oplog_file);
  hc_storage_close(c->tree_file);
  hc_storage_close(c->bitfield_file);
  hc_storage_close(c->data_file);
  hc_storage_close(c->header_file);
  hc_storage_factory_free(c->empty_factory);
  if (c->own_factory) hc_storage_factory_free(c->factory);
  free(c->truncations);
  free(c->manifest_buf);
  free(c->listeners);
  free(c->d_data);
  hc_readahead_free(&c->ra);
  free(c->d_oplog);
  free(c->d_runs);
  free(c->d_events);
  free(c);
}

int hc_core_flush(hc_core *c) {
  if (c->readonly) return HC_ERR_NOT_WRITABLE;
  if (c->failed) return HC_ERR_IO; /* never write a memory state that diverged from storage */
  int drc = defer_flush(c);
  if (drc) return drc;
  c->manifest_flushed = true;
  c->auto_flush = 4;
  int rc = flush_oplog(c, true);
  if (!rc) rc = sync_all(c);
  return rc;
}

/* ---- properties ---- */

const uint8_t *hc_core_key(const hc_core *c) { return c->header.key; }
const uint8_t *hc_core_discovery_key(const hc_core *c) { return c->discovery_key; }
uint64_t hc_core_length(const hc_core *c) { return c->tree.length; }
uint64_t hc_core_byte_length(const hc_core *c) {
  return c->tree.byte_length - (c->encrypted ? HC_ENCRYPTION_PADDING * c->tree.length : 0);
}

size_t hc_core_padding(const hc_core *c) { return c->encrypted ? HC_ENCRYPTION_PADDING : 0; }

int hc_core_set_encryption_key(hc_core *c, const uint8_t *key, bool is_block_key) {
  if (!c) return HC_ERR_INVALID_ARG;
  if (!key) {
    c->encrypted = false;
    hc_crypto_wipe(&c->encryption, sizeof c->encryption);
    return HC_OK;
  }
  bool compat = c->header.has_manifest ? c->compat : true;
  hc_block_encryption_init(&c->encryption, key, c->header.key, compat, is_block_key);
  c->encrypted = true;
  return HC_OK;
}
uint64_t hc_core_fork(const hc_core *c) { return c->tree.fork; }

uint64_t hc_core_contiguous_length(const hc_core *c) {
  uint64_t v = c->header.contiguous_length;
  return v < c->tree.length ? v : c->tree.length;
}

bool hc_core_writable(const hc_core *c) {
  if (!c->header.has_secret_key) return false;
  if (!c->header.has_manifest)
    return memcmp(c->header.public_key, c->header.key, HC_KEY_BYTES) == 0;
  for (size_t i = 0; i < c->header.manifest.nsigners; i++)
    if (memcmp(c->header.manifest.signers[i].public_key, c->header.public_key, HC_KEY_BYTES) == 0)
      return c->header.manifest.quorum <= 1; /* multisig: one key pair alone cannot sign */
  return false;
}

const uint8_t *hc_core_signature(const hc_core *c, size_t *len) {
  if (len) *len = c->tree.signature_len;
  return c->tree.signature;
}

static int enc_manifest(hc_enc *e, const void *m) {
  hc_manifest_encode(e, m);
  return HC_OK;
}

const uint8_t *hc_core_manifest(const hc_core *c, size_t *len) {
  hc_core *mc = (hc_core *)c;
  if (!c->header.has_manifest) {
    if (len) *len = 0;
    return NULL;
  }
  uint8_t *buf;
  size_t n;
  if (hc_encode_alloc(enc_manifest, &c->header.manifest, 0, 0, NULL, 0, &buf, &n)) {
    if (len) *len = 0;
    return NULL;
  }
  free(mc->manifest_buf);
  mc->manifest_buf = buf;
  if (len) *len = n;
  return buf;
}

int hc_core_public_key(const hc_core *c, uint8_t out[HC_KEY_BYTES]) {
  if (!c->header.has_keypair) return HC_ERR_NOT_FOUND;
  memcpy(out, c->header.public_key, HC_KEY_BYTES);
  return HC_OK;
}

/* ---- append ---- */

static int sign_batch(hc_core *c, hc_merkle_batch *b) {
  if (c->readonly || !hc_core_writable(c)) return HC_ERR_NOT_WRITABLE;
  if (!c->header.has_manifest) {
    /* upsert the compat manifest (an old core without one) */
    c->header.has_manifest = true;
    hc_manifest_default(&c->header.manifest, c->header.key);
    c->compat = true;
    c->manifest_flushed = false;
  }
  uint8_t hash[HC_HASH_BYTES], sig[128];
  size_t siglen;
  hc_merkle_batch_hash(b, hash);
  int rc = hc_manifest_sign(&c->header.manifest, c->header.key, hash, b->length, b->fork,
                            c->header.secret_key, sig, &siglen);
  if (rc) return rc;
  return hc_merkle_batch_set_signature(b, sig, siglen);
}

/* Checks an external signature of the batch against the manifest (the compat default for
 * the key when the core has none yet, then adopted) and sets it. */
static int set_external_signature(hc_core *c, hc_merkle_batch *b, const uint8_t *sig,
                                  size_t siglen) {
  hc_manifest m;
  bool upsert = !c->header.has_manifest;
  if (upsert) hc_manifest_default(&m, c->header.key);
  else m = c->header.manifest;
  if (hc_manifest_verify_tree(&m, c->header.key, b->roots, b->nroots, b->length, b->fork, sig,
                              siglen) != HC_OK)
    return HC_ERR_BAD_SIGNATURE;
  if (upsert) {
    c->header.has_manifest = true;
    c->header.manifest = m;
    c->compat = true;
    c->manifest_flushed = false;
  }
  return hc_merkle_batch_set_signature(b, sig, siglen);
}

/* What append_blocks does with the batch: sign it with the core's key pair, use an external
 * signature (verified), or only report its tree hash / length / fork (nothing stored). */
enum { APPEND_SIGN, APPEND_EXTERNAL, APPEND_DRY };
typedef struct append_mode {
  int mode;
  const uint8_t *sig;
  size_t siglen;
  uint8_t *hash; /* APPEND_DRY: out */
  uint64_t *fork;
} append_mode;

static int verify_signature(hc_core *c);

static int append_blocks(hc_core *c, const hc_buf *blocks, size_t n, const append_mode *am,
                         uint64_t *length, uint64_t *byte_length);

int hc_core_append(hc_core *c, const hc_buf *blocks, size_t n, uint64_t *length,
                   uint64_t *byte_length) {
  append_mode am = {APPEND_SIGN, NULL, 0, NULL, NULL};
  return append_blocks(c, blocks, n, &am, length, byte_length);
}

int hc_core_append_signed(hc_core *c, const hc_buf *blocks, size_t n, const uint8_t *signature,
                          size_t signature_len, uint64_t *length, uint64_t *byte_length) {
  append_mode am = {APPEND_EXTERNAL, signature, signature_len, NULL, NULL};
  return append_blocks(c, blocks, n, &am, length, byte_length);
}

int hc_core_batch_hash(hc_core *c, const hc_buf *blocks, size_t n,
                       uint8_t tree_hash[HC_HASH_BYTES], uint64_t *length, uint64_t *fork) {
  if (!c || !tree_hash) return HC_ERR_INVALID_ARG;
  if (n == 0) {
    if (length) *length = c->tree.length;
    if (fork) *fork = c->tree.fork;
    return hc_core_tree_hash(c, c->tree.length, tree_hash);
  }
  append_mode am = {APPEND_DRY, NULL, 0, tree_hash, fork};
  return append_blocks(c, blocks, n, &am, length, NULL);
}

static int append_blocks(hc_core *c, const hc_buf *blocks, size_t n, const append_mode *am,
                         uint64_t *length, uint64_t *byte_length) {
  if (!c || (n && !blocks)) return HC_ERR_INVALID_ARG;
  if (am->mode != APPEND_DRY && c->readonly) return HC_ERR_NOT_WRITABLE;
  if (am->mode == APPEND_SIGN && !hc_core_writable(c)) return HC_ERR_NOT_WRITABLE;
  if (c->failed) return HC_ERR_IO;
  int drc = defer_flush(c);
  if (drc) return drc;
  if (n == 0) goto done;
  /* never extend (and sign) a tree whose stored roots do not match its signature: a corrupt
   * `tree` file would otherwise get a fresh valid signature. Checked once per open. */
  if (am->mode != APPEND_DRY && c->tree.length > 0 && c->header.has_manifest && !c->signature_ok &&
      verify_signature(c) != HC_OK)
    return HC_ERR_CORRUPT;
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (blocks[i].len > HC_MAX_BLOCK_BYTES) return HC_ERR_BLOCK_TOO_LARGE;
    if (blocks[i].len && !blocks[i].data) return HC_ERR_INVALID_ARG;
    total += blocks[i].len;
  }
  /* encrypted cores store padding || ciphertext; hashes cover the stored form */
  hc_buf *stored = NULL;
  uint8_t *enc_buf = NULL;
  if (c->encrypted) {
    stored = malloc(n * sizeof *stored);
    enc_buf = malloc(total + n * HC_ENCRYPTION_PADDING);
    if (!stored || !enc_buf) {
      free(stored);
      free(enc_buf);
      return HC_ERR_NOMEM;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
      hc_block_encrypt(&c->encryption, c->tree.length + i, c->tree.fork, blocks[i].data,
                       blocks[i].len, enc_buf + o);
      stored[i].data = enc_buf + o;
      stored[i].len = blocks[i].len + HC_ENCRYPTION_PADDING;
      o += stored[i].len;
    }
    blocks = stored;
    total = o;
  }
  hc_merkle_batch b;
  hc_merkle_batch_init(&b, &c->tree);
  int rc = HC_OK;
  for (size_t i = 0; i < n && !rc; i++) rc = hc_merkle_batch_append(&b, blocks[i].data, blocks[i].len);
  if (!rc && c->tree.has_prologue && b.length < c->tree.prologue_length) rc = HC_ERR_INVALID_ARG;
  if (!rc && am->mode == APPEND_DRY) {
    hc_merkle_batch_hash(&b, am->hash);
    if (am->fork) *am->fork = b.fork;
    if (length) *length = b.length;
    rc = 1; /* done: store nothing */
  }
  if (!rc) rc = am->mode == APPEND_EXTERNAL ? set_external_signature(c, &b, am->sig, am->siglen)
                                            : sign_batch(c, &b);
  /* 1. data, in one write */
  if (!rc) {
    hc_readahead_drop(&c->ra);
    if (enc_buf) {
      rc = hc_storage_write(c->data_file, c->tree.byte_length, enc_buf, total);
    } else if (total) {
      rc = hc_storage_writev(c->data_file, c->tree.byte_length, blocks, n); /* one pwritev */
    }
    if (!rc && c->durable) rc = hc_storage_sync(c->data_file); /* before the entry */
  }
  /* 2. oplog entry */
  if (!rc) {
    hc_oplog_entry e;
    entry_from_batch(&e, &b);
    e.has_bitfield = true;
    e.bf_start = b.ancestors;
    e.bf_length = n;
    rc = hc_oplog_append(&c->oplog, &e, 1, false);
  }
  /* 3. memory: from here the append is durable in the oplog */
  if (!rc) {
    uint64_t start = b.ancestors;
    rc = hc_bitfield_set_range(&c->bitfield, start, n, true);
    if (!rc) rc = hc_merkle_batch_commit(&b);
    if (!rc) rc = sync_header_tree(c);
    if (!rc) update_contig(c, start, n, false);
    if (!rc) c->signature_ok = true; /* we signed (or verified) exactly these roots */
    if (rc) c->failed = true; /* memory state diverged: reopen to recover */
  }
  hc_merkle_batch_cleanup(&b);
  free(stored);
  free(enc_buf);
  if (rc == 1) return HC_OK; /* APPEND_DRY */
  if (rc) return rc;
  rc = after_mutation(c, false);
  if (rc) return rc;
  hc__core_emit(c, HC_EVENT_APPEND, c->tree.length - n, n);
done:
  if (length) *length = c->tree.length;
  if (byte_length) *byte_length = c->tree.byte_length;
  return HC_OK;
}

/* ---- reads ---- */

static int block_range(hc_core *c, uint64_t index, uint64_t *offset, uint64_t *size) {
  if (c->d_nruns) { /* a deferred download is being read: write it first */
    int rc = defer_flush(c);
    if (rc) return rc;
  }
  if (index >= c->tree.length) return HC_ERR_OUT_OF_RANGE;
  if (!hc_bitfield_get(&c->bitfield, index)) return HC_ERR_NOT_AVAILABLE;
  hc_node leaf;
  int rc = hc_merkle_get(&c->tree, 2 * index, &leaf);
  if (rc == HC_ERR_NOT_FOUND) return HC_ERR_CORRUPT;
  if (rc) return rc;
  rc = hc_merkle_byte_offset(&c->tree, 2 * index, offset);
  if (rc) return rc;
  if (leaf.size > 65536) { /* a corrupt size must not drive a huge allocation: is it there? */
    uint64_t dsize;
    rc = hc_storage_stat(c->data_file, &dsize, NULL);
    if (rc) return rc;
    if (*offset > dsize || leaf.size > dsize - *offset) return HC_ERR_CORRUPT;
  }
  *size = leaf.size;
  return HC_OK;
}

int hc_core_block_size(hc_core *c, uint64_t index, size_t *size) {
  uint64_t off, sz;
  int rc = block_range(c, index, &off, &sz);
  if (rc) return rc;
  if (c->encrypted) {
    if (sz < HC_ENCRYPTION_PADDING) return HC_ERR_DECRYPT;
    sz -= HC_ENCRYPTION_PADDING;
  }
  *size = (size_t)sz;
  return HC_OK;
}

/* Reads data bytes [off, off + sz) through the block store's read-ahead. */
static int data_read(hc_core *c, uint64_t off, uint8_t *buf, size_t sz) {
  return hc_block_store_read(&c->ra, c->data_file, c->tree.byte_length, off, buf, sz);
}

/* Reads block `index` (stored at data [off, off + sz)) into buf and checks its leaf hash. */
static int read_block_at(hc_core *c, uint64_t index, uint64_t off, uint64_t sz, uint8_t *buf) {
  int rc = data_read(c, off, buf, (size_t)sz);
  if (rc == HC_ERR_SHORT_READ) return HC_ERR_CORRUPT;
  if (rc) return rc;
  hc_node leaf;
  uint8_t h[HC_HASH_BYTES];
  rc = hc_merkle_get(&c->tree, 2 * index, &leaf);
  if (rc) return rc == HC_ERR_NOT_FOUND ? HC_ERR_CORRUPT : rc;
  hc_crypto_leaf(h, buf, (size_t)sz);
  if (memcmp(h, leaf.hash, HC_HASH_BYTES) != 0) return HC_ERR_BAD_CHECKSUM;
  return HC_OK;
}

static int read_block(hc_core *c, uint64_t index, uint8_t *buf, size_t cap, size_t *len) {
  uint64_t off, sz;
  int rc = block_range(c, index, &off, &sz);
  if (rc) return rc;
  if (len) *len = (size_t)sz;
  if (sz > cap) return HC_ERR_NOBUF;
  return read_block_at(c, index, off, sz, buf);
}

/* The stored form of block `index` (ciphertext with padding on encrypted cores), hash
 * checked, in a new buffer. */
int hc__core_get_raw(hc_core *c, uint64_t index, uint8_t **out, size_t *len) {
  uint64_t off, sz;
  *out = NULL;
  int rc = block_range(c, index, &off, &sz);
  if (rc) return rc;
  uint8_t *buf = malloc(sz ? (size_t)sz : 1);
  if (!buf) return HC_ERR_NOMEM;
  rc = read_block_at(c, index, off, sz, buf);
  if (rc) {
    free(buf);
    return rc;
  }
  *out = buf;
  *len = (size_t)sz;
  return HC_OK;
}

/* Decrypts a stored block into out (len - 8 bytes); a fork id from the future means the key
 * is wrong. */
static int decrypt_block(hc_core *c, uint64_t index, const uint8_t *in, size_t len, uint8_t *out) {
  uint64_t fork;
  if (len < HC_ENCRYPTION_PADDING) return HC_ERR_DECRYPT;
  hc_block_decrypt(&c->encryption, index, in, len, out, &fork);
  if (fork > c->tree.fork) {
    hc_crypto_wipe(out, len - HC_ENCRYPTION_PADDING);
    return HC_ERR_DECRYPT;
  }
  return HC_OK;
}

int hc_core_get(hc_core *c, uint64_t index, uint8_t *buf, size_t cap, size_t *len) {
  if (!c || (!buf && cap)) return HC_ERR_INVALID_ARG;
  if (!c->encrypted) return read_block(c, index, buf, cap, len);
  size_t sz;
  int rc = hc_core_block_size(c, index, &sz);
  if (rc) return rc;
  if (len) *len = sz;
  if (sz > cap) return HC_ERR_NOBUF;
  uint8_t *raw;
  size_t rl;
  rc = hc__core_get_raw(c, index, &raw, &rl);
  if (rc) return rc;
  rc = decrypt_block(c, index, raw, rl, buf);
  free(raw);
  return rc;
}

int hc_core_get_alloc(hc_core *c, uint64_t index, uint8_t **out, size_t *len) {
  if (!c || !out) return HC_ERR_INVALID_ARG;
  *out = NULL;
  uint8_t *raw;
  size_t rl;
  int rc = hc__core_get_raw(c, index, &raw, &rl);
  if (rc) return rc;
  if (c->encrypted) {
    uint8_t *plain = malloc(rl > HC_ENCRYPTION_PADDING ? rl - HC_ENCRYPTION_PADDING : 1);
    if (!plain) rc = HC_ERR_NOMEM;
    if (!rc) rc = decrypt_block(c, index, raw, rl, plain);
    free(raw);
    if (rc) {
      free(plain);
      return rc;
    }
    raw = plain;
    rl -= HC_ENCRYPTION_PADDING;
  }
  *out = raw;
  if (len) *len = rl;
  return HC_OK;
}

/* Checks node `index` hashes up to a root of the current tree. */
static int verify_path(hc_core *c, const hc_node *node) {
  hc_node cur = *node;
  for (;;) {
    for (size_t r = 0; r < c->tree.nroots; r++) {
      if (c->tree.roots[r].index == cur.index)
        return memcmp(c->tree.roots[r].hash, cur.hash, HC_HASH_BYTES) == 0 &&
                       c->tree.roots[r].size == cur.size
                   ? HC_OK
                   : HC_ERR_BAD_CHECKSUM;
    }
    hc_node sib, parent;
    uint64_t si = hc_ft_sibling(cur.index);
    int rc = hc_merkle_get(&c->tree, si, &sib);
    if (rc) return rc == HC_ERR_NOT_FOUND ? HC_ERR_BAD_CHECKSUM : rc;
    parent.index = hc_ft_parent(cur.index);
    parent.size = cur.size + sib.size;
    hc_crypto_parent(parent.hash, &cur, &sib);
    if (parent.index > 2 * c->tree.length) return HC_ERR_BAD_CHECKSUM;
    cur = parent;
  }
}

static int verify_signature(hc_core *c) {
  if (c->signature_ok) return HC_OK;
  if (c->tree.length == 0) return HC_OK;
  if (!c->header.has_manifest) return HC_ERR_BAD_SIGNATURE;
  int rc = hc_manifest_verify_tree(&c->header.manifest, c->header.key, c->tree.roots,
                                   c->tree.nroots, c->tree.length, c->tree.fork,
                                   c->tree.signature, c->tree.signature_len);
  if (rc == HC_OK) c->signature_ok = true;
  return rc;
}

int hc_core_get_verified(hc_core *c, uint64_t index, uint8_t *buf, size_t cap, size_t *len) {
  int rc = read_block(c, index, buf, cap, len);
  if (rc) return rc;
  hc_node leaf;
  rc = hc_merkle_get(&c->tree, 2 * index, &leaf);
  if (!rc) rc = verify_path(c, &leaf);
  if (!rc) rc = verify_signature(c);
  return rc;
}

bool hc_core_has(hc_core *c, uint64_t start, uint64_t end) {
  if (end > c->tree.length || start > end) return false;
  return hc_bitfield_all(&c->bitfield, start, end);
}

int hc_core_tree_hash(hc_core *c, uint64_t length, uint8_t out[HC_HASH_BYTES]) {
  if (length > c->tree.length) return HC_ERR_OUT_OF_RANGE;
  hc_node roots[HC_MAX_ROOTS];
  size_t n;
  int rc = hc_merkle_get_roots(&c->tree, length, roots, &n);
  if (rc) return rc;
  hc_crypto_tree(out, roots, n);
  return HC_OK;
}

int hc_core_seek(hc_core *c, uint64_t byte_offset, uint64_t *index, uint64_t *offset) {
  uint64_t total = hc_core_byte_length(c);
  if (byte_offset >= total) {
    if (byte_offset == total) {
      *index = c->tree.length;
      *offset = 0;
      return HC_OK;
    }
    return HC_ERR_OUT_OF_RANGE;
  }
  return hc_merkle_seek(&c->tree, byte_offset, hc_core_padding(c), index, offset);
}

int hc_core_byte_offset(hc_core *c, uint64_t index, uint64_t *offset) {
  if (index > c->tree.length) return HC_ERR_OUT_OF_RANGE;
  return hc_merkle_byte_offset(&c->tree, 2 * index, offset);
}

/* ---- truncate / clear ---- */

static int truncate_impl(hc_core *c, uint64_t new_length, uint64_t fork, const append_mode *am);

int hc_core_truncate_fork(hc_core *c, uint64_t new_length, uint64_t fork) {
  append_mode am = {APPEND_SIGN, NULL, 0, NULL, NULL};
  return truncate_impl(c, new_length, fork, &am);
}

int hc_core_truncate_signed(hc_core *c, uint64_t new_length, uint64_t fork,
                            const uint8_t *signature, size_t signature_len) {
  if (!c) return HC_ERR_INVALID_ARG;
  append_mode am = {APPEND_EXTERNAL, signature, signature_len, NULL, NULL};
  return truncate_impl(c, new_length, fork, &am);
}

static int truncate_impl(hc_core *c, uint64_t new_length, uint64_t fork, const append_mode *am) {
  if (c->readonly || (am->mode == APPEND_SIGN && !hc_core_writable(c))) return HC_ERR_NOT_WRITABLE;
  if (c->failed) return HC_ERR_IO;
  int drc = defer_flush(c);
  if (drc) return drc;
  if (new_length > c->tree.length) return HC_ERR_OUT_OF_RANGE;
  if (fork < c->tree.fork) return HC_ERR_INVALID_ARG;
  if (c->tree.has_prologue && new_length < c->tree.prologue_length) return HC_ERR_INVALID_ARG;
  hc_merkle_batch b;
  hc_merkle_batch_init(&b, &c->tree);
  int rc = hc_merkle_batch_truncate(&b, new_length, fork);
  if (!rc && new_length > 0)
    rc = am->mode == APPEND_EXTERNAL ? set_external_signature(c, &b, am->sig, am->siglen)
                                     : sign_batch(c, &b);
  uint64_t old = c->tree.length;
  if (!rc) {
    hc_oplog_entry e;
    entry_from_batch(&e, &b); /* no new nodes: the tree shrinks */
    e.has_bitfield = true;
    e.drop = true;
    e.bf_start = b.ancestors;
    e.bf_length = old - b.ancestors;
    rc = hc_oplog_append(&c->oplog, &e, 1, false);
  }
  if (!rc) {
    rc = hc_bitfield_set_range(&c->bitfield, b.ancestors, old - b.ancestors, false);
    if (!rc) add_reorg_hint(c, b.ancestors, b.fork);
    if (!rc) rc = hc_merkle_batch_commit(&b);
    if (!rc) update_contig(c, b.ancestors, old - b.ancestors, true);
    if (!rc) rc = sync_header_tree(c);
    if (!rc) rc = note_truncation(c, b.ancestors);
    if (rc) c->failed = true;
    c->signature_ok = false;
  }
  hc_merkle_batch_cleanup(&b);
  if (rc) return rc;
  rc = after_mutation(c, true);
  if (rc) return rc;
  hc__core_emit(c, HC_EVENT_TRUNCATE, new_length, old - new_length);
  return HC_OK;
}

int hc_core_truncate(hc_core *c, uint64_t new_length) {
  return hc_core_truncate_fork(c, new_length, c->tree.fork + 1);
}

int hc_core_clear(hc_core *c, uint64_t start, uint64_t end, uint64_t *freed) {
  if (freed) *freed = 0;
  if (c->readonly) return HC_ERR_NOT_WRITABLE;
  if (c->failed) return HC_ERR_IO;
  int drc = defer_flush(c);
  if (drc) return drc;
  if (start > end) return HC_ERR_INVALID_ARG;
  if (end > c->tree.length) end = c->tree.length;
  if (start >= end) return HC_OK;
  hc_oplog_entry e;
  memset(&e, 0, sizeof e);
  e.has_bitfield = true;
  e.drop = true;
  e.bf_start = start;
  e.bf_length = end - start;
  int rc = hc_oplog_append(&c->oplog, &e, 1, false);
  if (rc) return rc;
  rc = hc_bitfield_set_range(&c->bitfield, start, end - start, false);
  if (rc) {
    c->failed = true;
    return rc;
  }
  if (start < c->header.contiguous_length) c->header.contiguous_length = start;
  /* widen to the neighbouring already-cleared blocks, then punch the data */
  uint64_t s = start;
  while (s > 0 && !hc_bitfield_get(&c->bitfield, s - 1)) s--;
  uint64_t en = hc_bitfield_find(&c->bitfield, end, true, c->tree.length);
  if (en == UINT64_MAX) en = c->tree.length;
  if (s < en && s < c->tree.length) {
    uint64_t off, eoff, before = 0, after = 0;
    rc = hc_merkle_byte_offset(&c->tree, 2 * s, &off);
    if (!rc) rc = hc_merkle_byte_offset(&c->tree, 2 * en, &eoff);
    if (!rc) rc = hc_storage_stat(c->data_file, NULL, &before);
    if (!rc && c->durable) rc = hc_storage_sync(c->oplog_file); /* the drop before the punch */
    hc_readahead_drop(&c->ra);
    if (!rc) rc = hc_storage_del(c->data_file, off, eoff - off);
    if (!rc) rc = hc_storage_stat(c->data_file, NULL, &after);
    if (rc) return rc;
    if (freed) *freed = before > after ? before - after : 0;
  }
  rc = after_mutation(c, false);
  if (rc) return rc;
  hc__core_emit(c, HC_EVENT_CLEAR, start, end - start);
  return HC_OK;
}

/* ---- user data ---- */

int hc_core_set_user_data(hc_core *c, const char *key, const uint8_t *value, size_t len) {
  if (!c || !key) return HC_ERR_INVALID_ARG;
  if (c->readonly) return HC_ERR_NOT_WRITABLE;
  if (c->failed) return HC_ERR_IO;
  int drc = defer_flush(c);
  if (drc) return drc;
  if (!value) len = 0;
  size_t kl = strlen(key);
  const uint8_t *cur;
  size_t curlen;
  bool exists = hc_core_get_user_data(c, key, &cur, &curlen) == HC_OK;
  if (exists && len && curlen == len && memcmp(cur, value, len) == 0) return HC_OK;
  if (!exists && !len) return HC_OK;
  hc_oplog_entry e;
  memset(&e, 0, sizeof e);
  e.has_user_data = true;
  e.ud_key = key;
  e.ud_key_len = kl;
  e.ud_value = len ? value : NULL;
  e.ud_len = len;
  int rc = hc_oplog_append(&c->oplog, &e, 1, false);
  if (rc) return rc;
  rc = hc_oplog_header_set_user_data(&c->header, key, kl, value, len);
  if (rc) {
    c->failed = true;
    return rc;
  }
  return after_mutation(c, false);
}

int hc_core_get_user_data(hc_core *c, const char *key, const uint8_t **value, size_t *len) {
  size_t kl = strlen(key);
  for (size_t i = 0; i < c->header.n_user_data; i++) {
    hc_user_data *u = &c->header.user_data[i];
    if (u->key_len == kl && memcmp(u->key, key, kl) == 0) {
      *value = u->value;
      *len = u->len;
      return HC_OK;
    }
  }
  return HC_ERR_NOT_FOUND;
}

/* ---- verify everything ---- */

int hc_core_verify(hc_core *c, uint64_t *bad_index) {
  if (bad_index) *bad_index = UINT64_MAX;
  c->signature_ok = false;
  int rc = verify_signature(c);
  if (rc) return rc;
  uint64_t len = c->tree.length;
  uint8_t *buf = NULL;
  size_t cap = 0;
  /* every stored block against its leaf node */
  for (uint64_t i = 0; i < len; i++) {
    if (!hc_bitfield_get(&c->bitfield, i)) continue;
    uint64_t off, sz;
    rc = block_range(c, i, &off, &sz);
    if (rc == HC_OK && sz > cap) {
      uint8_t *nb = realloc(buf, (size_t)sz);
      if (!nb) {
        free(buf);
        return HC_ERR_NOMEM;
      }
      buf = nb;
      cap = (size_t)sz;
    }
    size_t got;
    if (rc == HC_OK) rc = read_block(c, i, buf, cap, &got);
    if (rc == HC_ERR_NOMEM || rc == HC_ERR_IO) break;
    if (rc) {
      if (bad_index) *bad_index = i;
      rc = HC_ERR_BAD_CHECKSUM;
      break;
    }
  }
  free(buf);
  if (rc) return rc;
  /* every parent against its children, every root against the signed roots */
  for (uint64_t i = 1; i + 1 < 2 * len; i += 2) {
    hc_node p, l, r;
    if (hc_merkle_get(&c->tree, i, &p) != HC_OK) continue;
    if (hc_ft_right_span(i) >= 2 * len) continue;
    int a = hc_merkle_get(&c->tree, hc_ft_left_child(i), &l);
    int b = hc_merkle_get(&c->tree, hc_ft_right_child(i), &r);
    if (a == HC_ERR_NOT_FOUND || b == HC_ERR_NOT_FOUND) {
      /* sparse is fine where nothing below is stored: a stored block needs both children of
       * every node on its path (else hc_core_get_verified fails on it) */
      uint64_t stored = hc_bitfield_find(&c->bitfield, hc_ft_left_span(i) / 2, true,
                                         hc_ft_right_span(i) / 2 + 1);
      if (stored == UINT64_MAX) continue;
      if (bad_index) *bad_index = stored;
      return HC_ERR_BAD_CHECKSUM;
    }
    if (a || b) return a ? a : b;
    uint8_t h[HC_HASH_BYTES];
    hc_crypto_parent(h, &l, &r);
    if (memcmp(h, p.hash, HC_HASH_BYTES) != 0 || p.size != l.size + r.size) {
      if (bad_index) *bad_index = hc_ft_left_span(i) / 2;
      return HC_ERR_BAD_CHECKSUM;
    }
  }
  for (size_t r = 0; r < c->tree.nroots; r++) {
    hc_node n;
    rc = hc_merkle_get(&c->tree, c->tree.roots[r].index, &n);
    if (rc || memcmp(n.hash, c->tree.roots[r].hash, HC_HASH_BYTES) != 0) {
      if (bad_index) *bad_index = hc_ft_left_span(c->tree.roots[r].index) / 2;
      return HC_ERR_BAD_CHECKSUM;
    }
  }
  return HC_OK;
}

/* ---- snapshots ---- */

struct hc_snapshot {
  hc_core *core;
  uint64_t length, byte_length, fork;
  size_t truncations_seen;
  hc_node roots[HC_MAX_ROOTS];
  size_t nroots;
};

int hc_core_snapshot(hc_core *c, uint64_t length, hc_snapshot **out) {
  if (length > c->tree.length) return HC_ERR_OUT_OF_RANGE;
  hc_snapshot *s = calloc(1, sizeof *s);
  if (!s) return HC_ERR_NOMEM;
  int rc = hc_merkle_get_roots(&c->tree, length, s->roots, &s->nroots);
  if (rc) {
    free(s);
    return rc;
  }
  s->core = c;
  s->length = length;
  s->fork = c->tree.fork;
  for (size_t i = 0; i < s->nroots; i++) s->byte_length += s->roots[i].size;
  s->truncations_seen = c->ntruncations;
  *out = s;
  return HC_OK;
}

void hc_snapshot_free(hc_snapshot *s) { free(s); }
uint64_t hc_snapshot_length(const hc_snapshot *s) { return s->length; }
uint64_t hc_snapshot_byte_length(const hc_snapshot *s) {
  return s->byte_length - (s->core->encrypted ? HC_ENCRYPTION_PADDING * s->length : 0);
}
uint64_t hc_snapshot_fork(const hc_snapshot *s) { return s->fork; }

int hc_snapshot_tree_hash(hc_snapshot *s, uint8_t out[HC_HASH_BYTES]) {
  hc_crypto_tree(out, s->roots, s->nroots);
  return HC_OK;
}

/* Blocks below the lowest truncation since the snapshot are unchanged. */
static uint64_t snapshot_valid_length(const hc_snapshot *s) {
  uint64_t v = s->length;
  for (size_t i = s->truncations_seen; i < s->core->ntruncations; i++)
    if (s->core->truncations[i] < v) v = s->core->truncations[i];
  return v;
}

int hc_snapshot_get_alloc(hc_snapshot *s, uint64_t index, uint8_t **out, size_t *len) {
  if (index >= s->length) return HC_ERR_OUT_OF_RANGE;
  if (index >= snapshot_valid_length(s)) return HC_ERR_SNAPSHOT_STALE;
  return hc_core_get_alloc(s->core, index, out, len);
}

bool hc_snapshot_has(hc_snapshot *s, uint64_t start, uint64_t end) {
  if (end > s->length || start > end) return false;
  if (end > snapshot_valid_length(s)) return false;
  return hc_core_has(s->core, start, end);
}

/* ---- storage management ---- */

int hc_core_storage_usage(hc_core *c, hc_storage_usage *size, hc_storage_usage *allocated) {
  hc_storage *files[5] = {c->oplog_file, c->tree_file, c->bitfield_file, c->data_file, c->header_file};
  uint64_t sz[5] = {0}, al[5] = {0};
  for (int i = 0; i < 5; i++) {
    if (!files[i]) continue;
    int rc = hc_storage_stat(files[i], &sz[i], &al[i]);
    if (rc) return rc;
  }
  if (size) {
    size->oplog = sz[0], size->tree = sz[1], size->bitfield = sz[2], size->data = sz[3], size->header = sz[4];
  }
  if (allocated) {
    allocated->oplog = al[0], allocated->tree = al[1], allocated->bitfield = al[2];
    allocated->data = al[3], allocated->header = al[4];
  }
  return HC_OK;
}

int hc_core_purge(hc_core *c) {
  if (!c) return HC_ERR_INVALID_ARG;
  if (c->readonly) {
    hc_core_close(c);
    return HC_ERR_NOT_WRITABLE;
  }
  hc_storage_factory *f = c->factory;
  bool own = c->own_factory;
  c->own_factory = false;
  hc_core_close(c); /* drops the lock after closing every file */
  int rc = f->destroy ? f->destroy(f) : HC_ERR_INVALID_ARG;
  if (own) hc_storage_factory_free(f);
  return rc;
}

/* ---- events ---- */

int hc_core_on_update(hc_core *c, hc_core_update_cb cb, void *user) {
  if (!c || !cb) return HC_ERR_INVALID_ARG;
  for (size_t i = 0; i < c->nlisteners; i++)
    if (c->listeners[i].cb == cb && c->listeners[i].user == user) return HC_OK;
  if (hc_grow((void **)&c->listeners, &c->listeners_cap, c->nlisteners + 1, sizeof *c->listeners,
              4))
    return HC_ERR_NOMEM;
  c->listeners[c->nlisteners].cb = cb;
  c->listeners[c->nlisteners].user = user;
  c->nlisteners++;
  return HC_OK;
}

void hc_core_off_update(hc_core *c, hc_core_update_cb cb, void *user) {
  for (size_t i = 0; i < c->nlisteners; i++) {
    if (c->listeners[i].cb == cb && c->listeners[i].user == user) {
      memmove(&c->listeners[i], &c->listeners[i + 1], (c->nlisteners - i - 1) * sizeof *c->listeners);
      c->nlisteners--;
      return;
    }
  }
}

void hc__core_emit(hc_core *c, hc_core_event ev, uint64_t start, uint64_t length) {
  /* listeners may unregister themselves while we iterate: walk a snapshot */
  size_t n = c->nlisteners;
  if (n == 0) return;
  struct hc_core_listener local[16], *copy = n <= 16 ? local : malloc(n * sizeof *copy);
  if (!copy) return;
  memcpy(copy, c->listeners, n * sizeof *copy);
  for (size_t i = 0; i < n; i++) {
    bool still = false;
    for (size_t j = 0; j < c->nlisteners; j++)
      if (c->listeners[j].cb == copy[i].cb && c->listeners[j].user == copy[i].user) still = true;
    if (still) copy[i].cb(copy[i].user, c, ev, start, length);
  }
  if (copy != local) free(copy);
}

/* ---- proofs ---- */

int hc__core_build_proof(hc_core *c, const hc_proof_request *req, hc_proof *p, uint8_t **value) {
  memset(p, 0, sizeof *p);
  *value = NULL;
  if (req->has_block) {
    if (req->block_index >= c->tree.length) return HC_ERR_OUT_OF_RANGE;
    if (!hc_bitfield_get(&c->bitfield, req->block_index)) return HC_ERR_NOT_AVAILABLE;
  }
  int rc = hc_merkle_proof(&c->tree, req, p);
  if (rc == HC_ERR_NOT_FOUND) rc = HC_ERR_NOT_AVAILABLE;
  if (rc) {
    hc_proof_cleanup(p);
    return rc;
  }
  p->fork = c->tree.fork;
  if (req->has_block) {
    size_t vl;
    rc = hc__core_get_raw(c, req->block_index, value, &vl);
    if (rc) {
      hc_proof_cleanup(p);
      return rc;
    }
    p->block_value = *value;
    p->block_value_len = vl;
  }
  size_t mlen = 0;
  const uint8_t *man = NULL;
  if (req->manifest && !c->compat) man = hc_core_manifest(c, &mlen);
  if (man) {
    p->has_manifest = true;
    p->manifest = man;
    p->manifest_len = mlen;
  }
  return HC_OK;
}

static int enc_data(hc_enc *e, const void *p) { return hc_msg_data_encode(e, p); }

int hc_core_proof(hc_core *c, const hc_proof_request *req, uint64_t request_id, uint8_t **out,
                  size_t *out_len) {
  if (!c || !req || !out || !out_len) return HC_ERR_INVALID_ARG;
  *out = NULL;
  hc_proof p;
  uint8_t *value;
  int rc = hc__core_build_proof(c, req, &p, &value);
  if (rc) return rc;
  p.request = request_id;
  rc = hc_encode_alloc(enc_data, &p, 0, 0, NULL, 0, out, out_len);
  free(value);
  hc_proof_cleanup(&p);
  return rc;
}

typedef struct sig_ctx {
  hc_core *core;
  const hc_manifest *manifest;
} sig_ctx;

static int verify_sig_cb(void *ctx, const hc_merkle_batch *b, const uint8_t *sig, size_t siglen) {
  sig_ctx *s = ctx;
  return hc_manifest_verify_tree(s->manifest, s->core->header.key, b->roots, b->nroots, b->length,
                                 b->fork, sig, siglen);
}

/* The manifest to verify with: ours, or the proof's (which must hash to our key), or the
 * compat default for our key. */
static int proof_manifest(hc_core *c, const hc_proof *p, hc_manifest *m, bool *is_new) {
  *is_new = false;
  if (c->header.has_manifest) {
    *m = c->header.manifest;
    return HC_OK;
  }
  if (p->has_manifest) {
    hc_dec d;
    hc_dec_init(&d, p->manifest, p->manifest_len);
    if (hc_manifest_decode(&d, m) != HC_OK) return HC_ERR_BAD_PROOF;
  } else {
    hc_manifest_default(m, c->header.key); /* compat assumption */
  }
  if (!hc_manifest_matches_key(m, c->header.key)) return HC_ERR_BAD_MANIFEST;
  *is_new = true;
  return HC_OK;
}

static void adopt_manifest(hc_core *c, const hc_manifest *m) {
  c->header.has_manifest = true;
  c->header.manifest = *m;
  c->compat = hc_manifest_is_compat(m, c->header.key);
  c->manifest_flushed = false;
  if (c->encrypted && !c->encryption.is_block_key && c->encryption.compat != c->compat) {
    uint8_t k[HC_KEY_BYTES];
    memcpy(k, c->encryption.key, HC_KEY_BYTES);
    hc_block_encryption_init(&c->encryption, k, c->header.key, c->compat, false);
    hc_crypto_wipe(k, HC_KEY_BYTES);
  }
  if (m->has_prologue) {
    c->tree.has_prologue = true;
    memcpy(c->tree.prologue_hash, m->prologue_hash, HC_HASH_BYTES);
    c->tree.prologue_length = m->prologue_length;
  }
}

static int verify_decoded(hc_core *c, const hc_proof *p, hc_merkle_batch *b, hc_manifest *m,
                          bool *nm) {
  /* our own manifest is used in place (branch storeperf): copying it (4 KB, room for 32
   * signers) for every verified block: 400 MB of copying for 100,000 blocks */
  const hc_manifest *use = &c->header.manifest;
  *nm = false;
  if (!c->header.has_manifest) {
    int rc = proof_manifest(c, p, m, nm);
    if (rc) return rc;
    use = m;
  }
  if (p->fork != c->tree.fork) return HC_ERR_BAD_PROOF; /* reorgs go through hc__core_reorg */
  if (p->has_block && p->block_value_len > HC_MAX_BLOCK_BYTES) return HC_ERR_BAD_PROOF;
  sig_ctx ctx = {c, use};
  return hc_merkle_verify(&c->tree, p, verify_sig_cb, &ctx, b);
}

/* ---- deferred download writes ---- */

static int defer_event(hc_core *c, hc_core_event ev, uint64_t start, uint64_t length) {
  int rc = hc_grow((void **)&c->d_events, &c->d_events_cap, c->d_nevents + 1, sizeof *c->d_events, 16);
  if (rc) return rc;
  c->d_events[c->d_nevents].ev = ev;
  c->d_events[c->d_nevents].start = start;
  c->d_events[c->d_nevents].length = length;
  c->d_nevents++;
  return HC_OK;
}

static int defer_data(hc_core *c, uint64_t off, const uint8_t *data, size_t len) {
  int rc = hc_grow((void **)&c->d_data, &c->d_data_cap, c->d_data_len + len, 1, 16);
  if (rc) return rc;
  if (len) memcpy(c->d_data + c->d_data_len, data, len);
  struct hc_defer_run *last = c->d_nruns ? &c->d_runs[c->d_nruns - 1] : NULL;
  if (last && last->off + last->len == off && last->pos + last->len == c->d_data_len) {
    last->len += len;
  } else {
    rc = hc_grow((void **)&c->d_runs, &c->d_runs_cap, c->d_nruns + 1, sizeof *c->d_runs, 16);
    if (rc) return rc;
    c->d_runs[c->d_nruns].off = off;
    c->d_runs[c->d_nruns].pos = c->d_data_len;
    c->d_runs[c->d_nruns].len = len;
    c->d_nruns++;
  }
  c->d_data_len += len;
  return HC_OK;
}

/* Writes what is deferred: data first, then the oplog entries that make it count. */
/* A written batch's buffers go back to the heap (branch storeperf): kept, every replicating
 * core would hold its largest batch (tens of KB) for as long as it is open, 1,000 cores on one
 * connection 50 MB, all of it fresh pages; given back, the next core's batch reuses them. */
static void defer_release(hc_core *c) {
  free(c->d_data);
  free(c->d_oplog);
  c->d_data = c->d_oplog = NULL;
  c->d_data_cap = c->d_oplog_cap = 0;
}

static int defer_flush(hc_core *c) {
  int rc = HC_OK;
  if (!c->d_nruns && !c->d_entries && !c->d_nevents) return HC_OK;
  if (c->d_nruns) hc_readahead_drop(&c->ra);
  for (size_t i = 0; i < c->d_nruns && !rc; i++)
    rc = hc_storage_write(c->data_file, c->d_runs[i].off, c->d_data + c->d_runs[i].pos, c->d_runs[i].len);
  if (!rc) rc = hc_oplog_write_frames(&c->oplog, c->d_oplog, c->d_oplog_len, c->d_entries);
  c->d_nruns = 0;
  c->d_data_len = 0;
  c->d_oplog_len = 0;
  c->d_entries = 0;
  defer_release(c);
  if (rc) {
    c->d_nevents = 0;
    c->failed = true; /* memory is ahead of storage: reopen to recover */
    return rc;
  }
  rc = after_download(c);
  size_t n = c->d_nevents;
  c->d_nevents = 0;
  for (size_t i = 0; i < n; i++) hc__core_emit(c, c->d_events[i].ev, c->d_events[i].start, c->d_events[i].length);
  return rc;
}

void hc__core_defer_begin(hc_core *c) { c->deferring++; }

int hc__core_defer_end(hc_core *c) {
  if (c->deferring > 0) c->deferring--;
  return c->deferring ? HC_OK : defer_flush(c);
}

/* Can the tree file hold the nodes of a tree of `length` blocks? Checked before an upgrade is
 * recorded: a validly signed but absurd length (2^40 blocks and more) must be refused while
 * the directory still verifies, not fail when the tree is flushed after the oplog has it. The
 * last leaf has the highest slot; a file shorter than that gets a zero slot written there (a
 * hole reads as zeros anyway), which fails on a file system that cannot be that large. */
static int check_tree_capacity(hc_core *c, uint64_t length) {
  if (!length) return HC_OK;
  if (length > (UINT64_MAX / HC_TREE_SLOT_BYTES - 1) / 2) return HC_ERR_TOO_LARGE;
  uint64_t end = (2 * (length - 1) + 1) * HC_TREE_SLOT_BYTES;
  if (end > (uint64_t)INT64_MAX) return HC_ERR_TOO_LARGE;
  uint64_t size = 0, alloc = 0;
  if (hc_storage_stat(c->tree.file, &size, &alloc) == HC_OK && size >= end) return HC_OK;
  static const uint8_t zero[HC_TREE_SLOT_BYTES];
  int rc = hc_storage_write(c->tree.file, end - HC_TREE_SLOT_BYTES, zero, sizeof zero);
  if (rc == HC_ERR_IO || rc == HC_ERR_NOMEM || rc == HC_ERR_TOO_LARGE) return HC_ERR_TOO_LARGE;
  return rc;
}

/* Stores a verified batch (+ block) through one oplog entry. */
static int store_verified(hc_core *c, const hc_proof *p, hc_merkle_batch *b, bool *stored_block) {
  int rc = HC_OK;
  if (b->upgraded && b->length > c->tree.length && (rc = check_tree_capacity(c, b->length))) return rc;
  bool defer = c->deferring > 0 && !c->durable;
  bool has_block = p->has_block && !hc_bitfield_get(&c->bitfield, p->block_index);
  uint64_t old_len = c->tree.length;
  *stored_block = false;
  if (has_block) {
    /* the block's byte offset may need the new nodes: they are verified, add them first */
    for (size_t i = 0; i < b->nnodes && !rc; i++) rc = hc_merkle_add_node(&c->tree, &b->nodes[i]);
    hc_merkle view = c->tree;
    if (b->upgraded) {
      memcpy(view.roots, b->roots, b->nroots * sizeof *b->roots);
      view.nroots = b->nroots;
      view.length = b->length;
      view.byte_length = b->byte_length;
    }
    uint64_t off = 0;
    if (!rc) rc = hc_merkle_byte_offset(&view, 2 * p->block_index, &off);
    hc_readahead_drop(&c->ra);
    if (!rc && defer) rc = defer_data(c, off, p->block_value, p->block_value_len);
    else if (!rc) rc = hc_storage_write(c->data_file, off, p->block_value, p->block_value_len);
    if (!rc && c->durable) rc = hc_storage_sync(c->data_file); /* before the entry */
    if (rc) return rc;
  }
  hc_oplog_entry e;
  entry_from_batch(&e, b);
  e.has_tree_nodes = b->nnodes > 0;
  if (has_block) {
    e.has_bitfield = true;
    e.bf_start = p->block_index;
    e.bf_length = 1;
  }
  if (!e.has_tree_nodes && !e.has_upgrade && !e.has_bitfield) return HC_OK;
  if (defer) {
    rc = hc_oplog_frame_into(&c->oplog, &e, &c->d_oplog, &c->d_oplog_len, &c->d_oplog_cap);
    if (!rc) c->d_entries++;
  } else {
    rc = hc_oplog_append(&c->oplog, &e, 1, false);
  }
  if (rc) return rc;
  if (has_block) rc = hc_bitfield_set_range(&c->bitfield, p->block_index, 1, true);
  if (!rc) rc = hc_merkle_batch_commit(b);
  if (!rc && b->upgraded) rc = sync_header_tree(c);
  if (!rc && has_block) update_contig(c, p->block_index, 1, false);
  if (rc) {
    c->failed = true;
    return rc;
  }
  if (b->upgraded) c->signature_ok = false;
  *stored_block = has_block;
  if (defer) { /* written (and announced) at hc__core_defer_end */
    if (b->upgraded && c->tree.length > old_len)
      rc = defer_event(c, HC_EVENT_UPGRADE, old_len, c->tree.length - old_len);
    if (!rc && has_block) rc = defer_event(c, HC_EVENT_DOWNLOAD, p->block_index, 1);
    if (!rc && c->d_oplog_len >= MAX_OPLOG_SIZE) rc = defer_flush(c);
    if (rc) c->failed = true;
    return rc;
  }
  rc = after_download(c);
  if (rc) return rc;
  if (b->upgraded && c->tree.length > old_len)
    hc__core_emit(c, HC_EVENT_UPGRADE, old_len, c->tree.length - old_len);
  if (has_block) hc__core_emit(c, HC_EVENT_DOWNLOAD, p->block_index, 1);
  return HC_OK;
}

int hc__core_apply(hc_core *c, const hc_proof *p, bool *stored_block) {
  *stored_block = false;
  if (c->readonly) return HC_ERR_NOT_WRITABLE;
  if (c->failed) return HC_ERR_IO;
  hc_merkle_batch b;
  hc_manifest m;
  bool nm;
  memset(&b, 0, sizeof b);
  int rc = verify_decoded(c, p, &b, &m, &nm);
  if (!rc && nm) adopt_manifest(c, &m);
  if (!rc) rc = store_verified(c, p, &b, stored_block);
  hc_merkle_batch_cleanup(&b);
  return rc;
}

/* ---- fork switches (ReorgBatch of lib/merkle-tree.js; the search is in merkle_reorg.c) ---- */

int hc__core_reorg_begin(hc_core *c, const hc_proof *p, hc_reorg *r) {
  memset(r, 0, sizeof *r);
  if (c->readonly) return HC_ERR_NOT_WRITABLE;
  if (c->failed) return HC_ERR_IO;
  int drc = defer_flush(c);
  if (drc) return drc;
  if (!p->has_upgrade || p->upgrade_start != 0 || p->fork <= c->tree.fork) return HC_ERR_BAD_PROOF;
  hc_manifest m;
  bool nm;
  int rc = proof_manifest(c, p, &m, &nm);
  if (rc) return rc;
  /* verify against the key alone: a view of our tree with no length */
  hc_merkle empty = c->tree;
  empty.length = 0;
  empty.byte_length = 0;
  empty.nroots = 0;
  empty.fork = p->fork;
  hc_proof up = *p; /* only the upgrade part: blocks come later through normal requests */
  up.has_block = up.has_hash = up.has_seek = false;
  hc_merkle_batch vb;
  sig_ctx ctx = {c, &m};
  rc = hc_merkle_verify(&empty, &up, verify_sig_cb, &ctx, &vb);
  if (rc) return rc == HC_ERR_NOT_AVAILABLE ? HC_ERR_BAD_PROOF : rc;
  if (nm) adopt_manifest(c, &m);
  rc = hc_merkle_reorg_start(&c->tree, &vb, r);
  hc_merkle_batch_cleanup(&vb);
  return rc;
}

int hc__core_reorg_update(hc_core *c, hc_reorg *r, const hc_proof *p) {
  return hc_merkle_reorg_update(&c->tree, r, p);
}

void hc__core_reorg_cleanup(hc_reorg *r) { hc_merkle_reorg_cleanup(r); }

int hc__core_reorg_apply(hc_core *c, hc_reorg *r, uint64_t *ancestors) {
  *ancestors = 0;
  if (!r->active) return HC_ERR_INVALID_ARG;
  if (c->readonly) return HC_ERR_NOT_WRITABLE;
  if (c->failed) return HC_ERR_IO;
  int rc = defer_flush(c);
  if (rc) return rc;
  if (c->tree.fork != r->tree_fork || c->tree.length != r->tree_length) return HC_ERR_BUSY;
  hc_merkle_batch *b = &r->batch;
  uint64_t anc = r->ancestors;
  if (anc > r->tree_length) anc = r->tree_length; /* cannot share more than we have */
  if (anc > b->length) anc = b->length;
  b->ancestors = anc;
  uint64_t old = c->tree.length;
  if ((rc = check_tree_capacity(c, b->length))) { /* before anything is recorded */
    hc__core_reorg_cleanup(r);
    return rc;
  }
  hc_oplog_entry e;
  entry_from_batch(&e, b); /* b->ancestors == anc */
  if (old > anc) {
    e.has_bitfield = true;
    e.drop = true;
    e.bf_start = anc;
    e.bf_length = old - anc;
  }
  rc = hc_oplog_append(&c->oplog, &e, 1, false);
  if (!rc) {
    if (old > anc) rc = hc_bitfield_set_range(&c->bitfield, anc, old - anc, false);
    if (!rc) add_reorg_hint(c, anc, b->fork);
    if (!rc) rc = hc_merkle_batch_commit(b);
    if (!rc && old > anc) update_contig(c, anc, old - anc, true);
    if (!rc) rc = sync_header_tree(c);
    if (!rc) rc = note_truncation(c, anc);
    if (rc) c->failed = true;
    c->signature_ok = false;
  }
  hc__core_reorg_cleanup(r);
  if (rc) return rc;
  rc = after_mutation(c, true);
  if (rc) return rc;
  *ancestors = anc;
  hc__core_emit(c, HC_EVENT_TRUNCATE, anc, old > anc ? old - anc : 0);
  if (c->tree.length > anc) hc__core_emit(c, HC_EVENT_UPGRADE, anc, c->tree.length - anc);
  return HC_OK;
}

int hc__core_reorg(hc_core *c, const hc_proof *p, uint64_t *ancestors) {
  hc_reorg r;
  *ancestors = 0;
  int rc = hc__core_reorg_begin(c, p, &r);
  if (!rc) rc = hc__core_reorg_apply(c, &r, ancestors);
  hc__core_reorg_cleanup(&r);
  return rc;
}

int hc_core_verify_proof(hc_core *c, const uint8_t *proof, size_t len) {
  hc_proof p;
  memset(&p, 0, sizeof p);
  if (hc_msg_data_decode(proof, len, &p) != HC_OK) return HC_ERR_DECODE;
  hc_merkle_batch b;
  hc_manifest m;
  bool nm;
  memset(&b, 0, sizeof b);
  int rc = verify_decoded(c, &p, &b, &m, &nm);
  hc_merkle_batch_cleanup(&b);
  hc_proof_cleanup(&p);
  return rc == HC_ERR_NOT_AVAILABLE ? HC_ERR_BAD_PROOF : rc;
}

int hc_core_apply_proof(hc_core *c, const uint8_t *proof, size_t len) {
  hc_proof p;
  memset(&p, 0, sizeof p);
  if (hc_msg_data_decode(proof, len, &p) != HC_OK) return HC_ERR_DECODE;
  bool stored;
  int rc = hc__core_apply(c, &p, &stored);
  hc_proof_cleanup(&p);
  return rc == HC_ERR_NOT_AVAILABLE ? HC_ERR_BAD_PROOF : rc;
}
