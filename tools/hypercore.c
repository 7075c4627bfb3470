/* hypercore — command-line tool over the public libhypercore API.
 *
 *   hypercore CMD [ARGS...]      (see `hypercore --help`)
 *
 * Exit status: 0 success, 1 operational error, 2 usage error. Errors go to stderr as
 * "hypercore: CMD: message". Only the public API (hypercore.h) is used. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd_store.h"
int hc_cli_seed(int argc, char **argv); /* tools/cmd_seed.c */
#include "hypercore.h"
#include "cmd_swarm.h"

#define EXIT_OPERR 1
#define EXIT_USAGE 2

int hc_cmd_bee(int argc, char **argv);   /* tools/cmd_bee.c */
int hc_cmd_drive(int argc, char **argv); /* tools/cmd_bee.c */

#define LINE_BATCH_BLOCKS 1000
#define LINE_BATCH_BYTES (64u * 1024u * 1024u)

/* ---------------------------------------------------------------- command table ---- */

typedef struct ctx ctx;

typedef struct cmd_def {
  const char *name;
  const char *synopsis; /* after "hypercore NAME " */
  const char *summary;  /* one line for the global help */
  const char *help;     /* details for `hypercore NAME --help` */
  const char *const *opts; /* allowed long options; a trailing '=' means it takes a value */
  int min_pos, max_pos;    /* positional arguments (max -1: unbounded) */
  int (*run)(ctx *c);
} cmd_def;

#define MAX_OPTS 16

struct ctx {
  const cmd_def *cmd;
  const char **pos;
  int npos;
  bool set[MAX_OPTS];
  const char *val[MAX_OPTS];
};

/* ---------------------------------------------------------------- diagnostics ---- */

static void vmsg(const char *cmd, const char *fmt, va_list ap) {
  char buf[1024];
  vsnprintf(buf, sizeof(buf), fmt, ap);
  if (cmd)
    fprintf(stderr, "hypercore: %s: %s\n", cmd, buf);
  else
    fprintf(stderr, "hypercore: %s\n", buf);
}

/* Operational error: message, returns 1. */
static int fail(ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vmsg(c ? c->cmd->name : NULL, fmt, ap);
  va_end(ap);
  return EXIT_OPERR;
}

/* Usage error: "bad arguments: ..." plus a hint, returns 2. */
static int usage_err(const cmd_def *cmd, const char *fmt, ...) {
  char buf[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (cmd) {
    fprintf(stderr, "hypercore: %s: bad arguments: %s\n", cmd->name, buf);
    fprintf(stderr, "usage: hypercore %s %s\n", cmd->name, cmd->synopsis);
    fprintf(stderr, "Try 'hypercore %s --help' for more information.\n", cmd->name);
  } else {
    fprintf(stderr, "hypercore: bad arguments: %s\n", buf);
    fprintf(stderr, "Try 'hypercore --help' for more information.\n");
  }
  return EXIT_USAGE;
}

/* ---------------------------------------------------------------- output ---- */

/* Writes everything to stdout. 0 on success; on error prints a message (not for EPIPE, a
 * reader that went away) and returns 1. */
static int out_write(ctx *c, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len > 0) {
    ssize_t n = write(STDOUT_FILENO, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) { /* non-blocking stdout: wait */
        struct pollfd pfd = {STDOUT_FILENO, POLLOUT, 0};
        poll(&pfd, 1, 1000);
        continue;
      }
      if (errno == EPIPE) return EXIT_OPERR;
      return fail(c, "writing to stdout: %s", strerror(errno));
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int out_printf(ctx *c, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0) return fail(c, "formatting output failed");
  if ((size_t)n < sizeof(small)) return out_write(c, small, (size_t)n);
  char *big = malloc((size_t)n + 1);
  if (!big) return fail(c, "%s", hc_strerror(HC_ERR_NOMEM));
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  int rc = out_write(c, big, (size_t)n);
  free(big);
  return rc;
}

/* ---------------------------------------------------------------- parsing ---- */

/* Strict unsigned decimal: digits only, no sign, no spaces, no overflow. */
static bool parse_u64(const char *s, uint64_t *out) {
  uint64_t v = 0;
  if (!s || !*s) return false;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

static int opt_index(const cmd_def *cmd, const char *name, size_t nlen, bool *takes_value) {
  if (!cmd->opts) return -1;
  for (int i = 0; cmd->opts[i]; i++) {
    const char *o = cmd->opts[i];
    size_t olen = strlen(o);
    bool tv = olen > 0 && o[olen - 1] == '=';
    if (tv) olen--;
    if (olen == nlen && memcmp(o, name, nlen) == 0) {
      *takes_value = tv;
      return i;
    }
  }
  return -1;
}

static bool flag(const ctx *c, const char *name) {
  bool tv;
  int i = opt_index(c->cmd, name, strlen(name), &tv);
  return i >= 0 && c->set[i];
}

static const char *optval(const ctx *c, const char *name) {
  bool tv;
  int i = opt_index(c->cmd, name, strlen(name), &tv);
  return i >= 0 && c->set[i] ? c->val[i] : NULL;
}

/* Parses a numeric argument; on failure prints a usage error (returns 2), else 0. */
static int num_arg(ctx *c, const char *what, const char *s, uint64_t *out) {
  if (!parse_u64(s, out))
    return usage_err(c->cmd, "%s must be a non-negative decimal integer, got '%s'", what, s);
  return 0;
}

/* ---------------------------------------------------------------- opening ---- */

/* DIR is JS hypercore 11 / corestore 7 storage. When v11 was pointed at a v10 core it moved
 * the v10 files into db/: say how to get that core back. */
static int v11_fail(ctx *c, const char *dir) {
  int ret = fail(c, "%s: %s", dir, hc_strerror(HC_ERR_STORAGE_V11));
  char path[4096];
  struct stat st;
  if (snprintf(path, sizeof path, "%s/db/oplog", dir) < (int)sizeof path && stat(path, &st) == 0)
    fprintf(stderr,
            "hypercore: %s: %s/db/oplog is a hypercore 10 core that JS hypercore 11 moved aside "
            "when it opened %s; move db/oplog, db/tree, db/bitfield and db/data back into %s "
            "to open it here\n",
            c->cmd->name, dir, dir, dir);
  return ret;
}

static int open_core(ctx *c, const char *dir, bool readonly, hc_core **out) {
  struct stat st;
  *out = NULL;
  if (stat(dir, &st) < 0) {
    if (errno == ENOENT) return fail(c, "no core at %s", dir);
    return fail(c, "%s: %s", dir, strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) return fail(c, "%s is not a directory", dir);
  hc_core_opts o;
  memset(&o, 0, sizeof(o));
  o.version = HC_CORE_OPTS_VERSION;
  o.no_create = true;
  o.readonly = readonly;
  uint8_t ekey[32];
  const char *ek = optval(c, "encryption-key");
  if (ek) {
    if (hc_hex_decode(ekey, 32, ek) != HC_OK)
      return usage_err(c->cmd, "--encryption-key must be 64 hex characters");
    o.encryption_key = ekey;
  }
  int rc = hc_core_open_dir(out, dir, &o);
  if (rc == HC_OK) return 0;
  *out = NULL;
  switch (rc) {
    case HC_ERR_NO_CORE: return fail(c, "no core at %s", dir);
    case HC_ERR_LOCKED: return fail(c, "%s: %s", dir, hc_strerror(rc));
    case HC_ERR_STORAGE_V11: return v11_fail(c, dir);
    default: return fail(c, "cannot open core at %s: %s", dir, hc_strerror(rc));
  }
}

/* Message for an error reading/locating block `index` of a core (or snapshot) of `length`. */
static int block_fail(ctx *c, int rc, uint64_t index, uint64_t length) {
  switch (rc) {
    case HC_ERR_OUT_OF_RANGE:
      return fail(c, "index %" PRIu64 " out of range (length %" PRIu64 ")", index, length);
    case HC_ERR_NOT_AVAILABLE:
      return fail(c, "block %" PRIu64 " not available locally", index);
    default: return fail(c, "block %" PRIu64 ": %s", index, hc_strerror(rc));
  }
}

static int write_fail(ctx *c, int rc) {
  switch (rc) {
    case HC_ERR_NOT_WRITABLE: return fail(c, "%s", hc_strerror(rc));
    default: return fail(c, "%s", hc_strerror(rc));
  }
}

/* ---------------------------------------------------------------- input ---- */

/* Reads all of fd into a new buffer, at most max bytes (HC_ERR_BLOCK_TOO_LARGE beyond). */
static int read_fd_all(int fd, size_t max, uint8_t **out, size_t *out_len, int *err_no) {
  struct stat st;
  size_t cap = 64 * 1024, len = 0;
  *out = NULL;
  *out_len = 0;
  *err_no = 0;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    if ((uint64_t)st.st_size > max) return HC_ERR_BLOCK_TOO_LARGE;
    cap = (size_t)st.st_size + 1; /* +1 to see EOF without growing */
  }
  if (cap > max + 1) cap = max + 1;
  uint8_t *buf = malloc(cap ? cap : 1);
  if (!buf) return HC_ERR_NOMEM;
  for (;;) {
    if (len == cap) {
      if (cap > max) { /* read max+1 bytes already */
        free(buf);
        return HC_ERR_BLOCK_TOO_LARGE;
      }
      size_t ncap = cap * 2;
      if (ncap > max + 1) ncap = max + 1;
      uint8_t *nb = realloc(buf, ncap);
      if (!nb) {
        free(buf);
        return HC_ERR_NOMEM;
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      *err_no = errno;
      free(buf);
      return HC_ERR_IO;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  if (len > max) {
    free(buf);
    return HC_ERR_BLOCK_TOO_LARGE;
  }
  *out = buf;
  *out_len = len;
  return HC_OK;
}

/* Reads file `path` ("-" = stdin) as one block; prints errors itself. */
static int read_block_file(ctx *c, const char *path, uint8_t **out, size_t *len) {
  int fd = STDIN_FILENO;
  bool is_stdin = strcmp(path, "-") == 0;
  if (!is_stdin) {
    fd = open(path, O_RDONLY);
    if (fd < 0) return fail(c, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      close(fd);
      return fail(c, "%s: %s", path, strerror(EISDIR));
    }
  }
  int eno;
  int rc = read_fd_all(fd, HC_MAX_BLOCK_BYTES, out, len, &eno);
  if (!is_stdin) close(fd);
  if (rc == HC_ERR_BLOCK_TOO_LARGE)
    return fail(c, "%s: %s (more than %u bytes)", is_stdin ? "stdin" : path, hc_strerror(rc),
                HC_MAX_BLOCK_BYTES);
  if (rc == HC_ERR_IO) return fail(c, "%s: %s", is_stdin ? "stdin" : path, strerror(eno));
  if (rc != HC_OK) return fail(c, "%s", hc_strerror(rc));
  return 0;
}

/* ---------------------------------------------------------------- commands ---- */

/* Parses a comma-separated list of hex items of `item` bytes each into out (max items). */
static bool parse_hex_list(const char *s, size_t item, uint8_t *out, size_t max, size_t *n) {
  *n = 0;
  while (*s) {
    const char *e = strchr(s, ',');
    size_t l = e ? (size_t)(e - s) : strlen(s);
    char tmp[2 * 64 + 1];
    if (*n == max || l != 2 * item) return false;
    memcpy(tmp, s, l);
    tmp[l] = 0;
    if (hc_hex_decode(out + item * *n, item, tmp) != HC_OK) return false;
    (*n)++;
    s += l;
    if (*s == ',') s++;
  }
  return *n > 0;
}

/* create's manifest options (--manifest, or --signers/--namespace/--quorum/--prologue, the
 * signers defaulting to own_pk): the encoded manifest into *out (malloc'd), NULL if none. */
static int create_manifest(ctx *c, const uint8_t *own_pk, uint8_t **out, size_t *len) {
  const char *mhex = optval(c, "manifest"), *sg = optval(c, "signers");
  const char *ns = optval(c, "namespace"), *q = optval(c, "quorum"), *pro = optval(c, "prologue");
  *out = NULL;
  *len = 0;
  if (mhex) {
    if (sg || ns || q || pro) return usage_err(c->cmd, "--manifest excludes the other manifest options");
    size_t n = strlen(mhex) / 2;
    if (!n || !(*out = malloc(n))) return fail(c, "%s", hc_strerror(HC_ERR_NOMEM));
    if (strlen(mhex) % 2 || hc_hex_decode(*out, n, mhex) != HC_OK) {
      free(*out);
      *out = NULL;
      return usage_err(c->cmd, "--manifest must be hex");
    }
    *len = n;
    return 0;
  }
  if (!sg && !ns && !q && !pro) return 0;
  static uint8_t pks[HC_MANIFEST_MAX_SIGNERS * 32], nss[HC_MANIFEST_MAX_SIGNERS * 32];
  hc_manifest_params mp = HC_MANIFEST_PARAMS_INIT;
  if (sg) {
    if (!parse_hex_list(sg, 32, pks, HC_MANIFEST_MAX_SIGNERS, &mp.nsigners))
      return usage_err(c->cmd, "--signers must be a comma-separated list of 64-hex public keys (at most %d)", HC_MANIFEST_MAX_SIGNERS);
  } else if (own_pk) {
    memcpy(pks, own_pk, 32);
    mp.nsigners = 1;
  }
  mp.public_keys = pks;
  if (ns) {
    size_t nn;
    if (!parse_hex_list(ns, 32, nss, HC_MANIFEST_MAX_SIGNERS, &nn) || (nn != 1 && nn != mp.nsigners))
      return usage_err(c->cmd, "--namespace must be one 64-hex namespace or one per signer");
    for (size_t i = nn; i < mp.nsigners; i++) memcpy(nss + 32 * i, nss, 32);
    mp.namespaces = nss;
  }
  if (q) {
    uint64_t v;
    int ret = num_arg(c, "--quorum", q, &v);
    if (ret) return ret;
    if (v > mp.nsigners) return usage_err(c->cmd, "--quorum %s is more than the %zu signers", q, mp.nsigners);
    mp.has_quorum = true;
    mp.quorum = (uint32_t)v;
  }
  if (pro) {
    const char *colon = strchr(pro, ':');
    char hh[65];
    if (!colon || colon - pro != 64) return usage_err(c->cmd, "--prologue must be HASHHEX64:LENGTH");
    memcpy(hh, pro, 64);
    hh[64] = 0;
    if (hc_hex_decode(mp.prologue_hash, 32, hh) != HC_OK || !parse_u64(colon + 1, &mp.prologue_length))
      return usage_err(c->cmd, "--prologue must be HASHHEX64:LENGTH");
    mp.has_prologue = true;
  }
  size_t n;
  int rc = hc_manifest_build(&mp, NULL, 0, &n);
  if (rc == HC_OK && !(*out = malloc(n))) rc = HC_ERR_NOMEM;
  if (rc == HC_OK) rc = hc_manifest_build(&mp, *out, n, len);
  if (rc != HC_OK) {
    free(*out);
    *out = NULL;
    return fail(c, "cannot build the manifest: %s", hc_strerror(rc));
  }
  return 0;
}

static int cmd_create(ctx *c) {
  const char *dir = c->pos[0];
  const char *seed_hex = optval(c, "seed"), *sk_hex = optval(c, "secret-key");
  const char *key_hex = optval(c, "key");
  uint8_t seed[HC_SEED_BYTES], sk[HC_SECRET_KEY_BYTES], key[HC_KEY_BYTES];
  if ((seed_hex != NULL) + (sk_hex != NULL) + (key_hex != NULL) > 1)
    return usage_err(c->cmd, "--seed, --secret-key and --key are exclusive");
  if (key_hex && hc_id_decode(key, key_hex) != HC_OK)
    return usage_err(c->cmd, "--key must be %d hex characters or a z-base-32 id", 2 * HC_KEY_BYTES);
  if (seed_hex && hc_hex_decode(seed, sizeof(seed), seed_hex) != HC_OK)
    return usage_err(c->cmd, "--seed must be %d hex characters", 2 * HC_SEED_BYTES);
  if (sk_hex && hc_hex_decode(sk, sizeof(sk), sk_hex) != HC_OK)
    return usage_err(c->cmd, "--secret-key must be %d hex characters", 2 * HC_SECRET_KEY_BYTES);
  bool overwrite = flag(c, "overwrite");
  bool have_sk = sk_hex != NULL;
  bool manifest_opts = optval(c, "signers") || optval(c, "namespace") || optval(c, "quorum") ||
                       optval(c, "prologue");
  uint8_t own_pk[HC_KEY_BYTES];
  if (manifest_opts && !optval(c, "signers") && !key_hex) { /* the signer is our own key pair */
    int krc = seed_hex ? hc_keypair_from_seed(own_pk, sk, seed)
              : sk_hex ? hc_keypair_public_key(own_pk, sk)
                       : hc_keypair_generate(own_pk, sk);
    if (krc != HC_OK) return fail(c, "%s", hc_strerror(krc));
    have_sk = !seed_hex;
  }
  uint8_t *man = NULL;
  size_t man_len = 0;
  int mret = create_manifest(c, manifest_opts && !optval(c, "signers") && !key_hex ? own_pk : NULL,
                             &man, &man_len);
  if (mret) return mret;

  struct stat st;
  if (stat(dir, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return fail(c, "%s is not a directory", dir);
    if (!overwrite) { /* is there a core already? */
      hc_core *probe = NULL;
      hc_core_opts po;
      memset(&po, 0, sizeof(po));
      po.version = HC_CORE_OPTS_VERSION;
      po.no_create = true;
      po.readonly = true;
      int prc = hc_core_open_dir(&probe, dir, &po);
      if (prc == HC_ERR_STORAGE_V11) {
        free(man);
        return v11_fail(c, dir);
      }
      if (prc == HC_OK) {
        hc_core_close(probe);
        free(man);
        return fail(c, "%s at %s (use --overwrite to replace it)", hc_strerror(HC_ERR_EXISTS),
                    dir);
      }
      if (prc != HC_ERR_NO_CORE) {
        free(man);
        return fail(c, "%s at %s: %s (use --overwrite to replace it)",
                    hc_strerror(HC_ERR_EXISTS), dir, hc_strerror(prc));
      }
    }
  } else if (errno != ENOENT) {
    free(man);
    return fail(c, "%s: %s", dir, strerror(errno));
  }

  hc_core_opts o;
  memset(&o, 0, sizeof(o));
  o.version = HC_CORE_OPTS_VERSION;
  o.overwrite = overwrite;
  o.seed = seed_hex ? seed : NULL;
  o.secret_key = have_sk ? sk : NULL;
  o.key = key_hex ? key : NULL;
  o.non_compat = flag(c, "non-compat");
  o.manifest = man;
  o.manifest_len = man_len;
  hc_core *core = NULL;
  int rc = hc_core_open_dir(&core, dir, &o);
  free(man);
  memset(seed, 0, sizeof(seed));
  memset(sk, 0, sizeof(sk));
  if (rc == HC_ERR_STORAGE_V11) return v11_fail(c, dir);
  if (rc != HC_OK) return fail(c, "cannot create core at %s: %s", dir, hc_strerror(rc));
  char hex[2 * HC_KEY_BYTES + 1];
  hc_hex_encode(hex, hc_core_key(core), HC_KEY_BYTES);
  hc_core_close(core);
  return out_printf(c, "%s\n", hex);
}

/* --signer-keys SK,SK,...: each key signs (tree hash, length, fork) as a signer of the core's
 * manifest; the partials are assembled into sig (*sl bytes). 0 or the exit code. */
static int multisig_signature(ctx *c, hc_core *core, const char *sks, const uint8_t hash[32],
                              uint64_t len, uint64_t fork, uint8_t *sig, size_t cap, size_t *sl) {
  static uint8_t keys[HC_MANIFEST_MAX_SIGNERS * 64];
  hc_multisig_partial parts[HC_MANIFEST_MAX_SIGNERS];
  size_t nk, ml;
  if (!parse_hex_list(sks, 64, keys, HC_MANIFEST_MAX_SIGNERS, &nk))
    return usage_err(c->cmd, "--signer-keys must be a comma-separated list of 128-hex secret keys");
  const uint8_t *man = hc_core_manifest(core, &ml);
  if (!man) return fail(c, "the core has no manifest");
  int rc = HC_OK;
  for (size_t i = 0; i < nk && rc == HC_OK; i++)
    rc = hc_multisig_sign(man, ml, keys + 64 * i, hash, len, fork, &parts[i]);
  memset(keys, 0, sizeof(keys));
  if (rc == HC_ERR_NOT_FOUND) return fail(c, "a --signer-keys key is not a signer of this core");
  if (rc == HC_OK) rc = hc_multisig_assemble(man, ml, parts, nk, sig, cap, sl);
  if (rc == HC_ERR_INVALID_ARG) return fail(c, "--signer-keys names a signer twice");
  if (rc != HC_OK) return fail(c, "cannot sign: %s", hc_strerror(rc));
  return 0;
}

static int do_append(ctx *c, hc_core *core, const hc_buf *blocks, size_t n, uint64_t *length) {
  for (size_t i = 0; i < n; i++)
    if (blocks[i].len > HC_MAX_BLOCK_BYTES)
      return fail(c, "%s: block %zu has %zu bytes (at most %u)",
                  hc_strerror(HC_ERR_BLOCK_TOO_LARGE), i, blocks[i].len, HC_MAX_BLOCK_BYTES);
  const char *sks = optval(c, "signer-keys");
  int rc;
  if (sks) { /* multisig: each secret key signs, the partials are assembled */
    static uint8_t sig[HC_MANIFEST_MAX_SIGNERS * 80];
    uint8_t hash[HC_HASH_BYTES];
    uint64_t len, fork;
    size_t sl;
    rc = hc_core_batch_hash(core, blocks, n, hash, &len, &fork);
    if (rc != HC_OK) return write_fail(c, rc);
    int ret = multisig_signature(c, core, sks, hash, len, fork, sig, sizeof(sig), &sl);
    if (ret) return ret;
    rc = hc_core_append_signed(core, blocks, n, sig, sl, length, NULL);
  } else {
    rc = hc_core_append(core, blocks, n, length, NULL);
  }
  if (rc != HC_OK) return write_fail(c, rc);
  return 0;
}

/* One block per line of stdin, batched. */
static int append_lines(ctx *c, hc_core *core, uint64_t *length) {
  hc_buf *blocks = calloc(LINE_BATCH_BLOCKS, sizeof(*blocks));
  if (!blocks) return fail(c, "%s", hc_strerror(HC_ERR_NOMEM));
  size_t n = 0, bytes = 0;
  int ret = 0;
  char *line = NULL;
  size_t lcap = 0;
  for (;;) {
    errno = 0;
    ssize_t r = getline(&line, &lcap, stdin);
    if (r < 0) {
      if (ferror(stdin)) ret = fail(c, "reading stdin: %s", strerror(errno ? errno : EIO));
      break;
    }
    size_t len = (size_t)r;
    if (len > 0 && line[len - 1] == '\n') len--;
    if (len > HC_MAX_BLOCK_BYTES) {
      ret = fail(c, "%s: line %" PRIu64 " has %zu bytes (at most %u)",
                 hc_strerror(HC_ERR_BLOCK_TOO_LARGE), *length + n + 1, len, HC_MAX_BLOCK_BYTES);
      break;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
      ret = fail(c, "%s", hc_strerror(HC_ERR_NOMEM));
      break;
    }
    memcpy(copy, line, len);
    blocks[n].data = copy;
    blocks[n].len = len;
    n++;
    bytes += len;
    if (n == LINE_BATCH_BLOCKS || bytes >= LINE_BATCH_BYTES) {
      ret = do_append(c, core, blocks, n, length);
      for (size_t i = 0; i < n; i++) free((void *)blocks[i].data);
      n = 0;
      bytes = 0;
      if (ret) break;
    }
  }
  if (!ret && n > 0) ret = do_append(c, core, blocks, n, length);
  for (size_t i = 0; i < n; i++) free((void *)blocks[i].data);
  free(line);
  free(blocks);
  return ret;
}

static int cmd_append(ctx *c) {
  bool raw = flag(c, "raw");
  if (raw && c->npos > 1) return usage_err(c->cmd, "--raw reads stdin; give no BLOCK arguments");
  hc_core *core;
  int ret = open_core(c, c->pos[0], false, &core);
  if (ret) return ret;
  uint64_t length = hc_core_length(core);
  if (!hc_core_writable(core) && !optval(c, "signer-keys")) {
    hc_core_close(core);
    return fail(c, "%s", hc_strerror(HC_ERR_NOT_WRITABLE));
  }
  if (c->npos > 1) {
    size_t n = (size_t)(c->npos - 1);
    hc_buf *blocks = calloc(n, sizeof(*blocks));
    if (!blocks) {
      ret = fail(c, "%s", hc_strerror(HC_ERR_NOMEM));
    } else {
      for (size_t i = 0; i < n; i++) {
        blocks[i].data = (const uint8_t *)c->pos[i + 1];
        blocks[i].len = strlen(c->pos[i + 1]);
      }
      ret = do_append(c, core, blocks, n, &length);
      free(blocks);
    }
  } else if (raw) {
    uint8_t *buf;
    size_t len;
    ret = read_block_file(c, "-", &buf, &len);
    if (!ret) {
      hc_buf b = {buf, len};
      ret = do_append(c, core, &b, 1, &length);
      free(buf);
    }
  } else {
    ret = append_lines(c, core, &length);
  }
  hc_core_close(core);
  if (ret) return ret;
  return out_printf(c, "%" PRIu64 "\n", length);
}

static int cmd_append_files(ctx *c, int first, int count) {
  hc_buf *blocks = calloc((size_t)count, sizeof(*blocks));
  if (!blocks) return fail(c, "%s", hc_strerror(HC_ERR_NOMEM));
  int ret = 0, loaded = 0;
  hc_core *core = NULL;
  ret = open_core(c, c->pos[0], false, &core);
  if (!ret && !hc_core_writable(core) && !optval(c, "signer-keys"))
    ret = fail(c, "%s", hc_strerror(HC_ERR_NOT_WRITABLE));
  for (; !ret && loaded < count; loaded++) {
    uint8_t *buf;
    size_t len;
    ret = read_block_file(c, c->pos[first + loaded], &buf, &len);
    if (ret) break;
    blocks[loaded].data = buf;
    blocks[loaded].len = len;
  }
  uint64_t length = 0;
  if (!ret) ret = do_append(c, core, blocks, (size_t)count, &length);
  for (int i = 0; i < loaded; i++) free((void *)blocks[i].data);
  free(blocks);
  hc_core_close(core);
  if (ret) return ret;
  return out_printf(c, "%" PRIu64 "\n", length);
}

static int cmd_append_file(ctx *c) { return cmd_append_files(c, 1, 1); }
static int cmd_batch(ctx *c) { return cmd_append_files(c, 1, c->npos - 1); }

static int get_remote(ctx *c, const char *dir, uint64_t index, const char *connect);
static const char *optval(const ctx *c, const char *name);

static int cmd_get(ctx *c) {
  uint64_t index;
  int ret = num_arg(c, "INDEX", c->pos[1], &index);
  if (ret) return ret;
  if (optval(c, "connect")) return get_remote(c, c->pos[0], index, optval(c, "connect"));
  hc_core *core;
  if ((ret = open_core(c, c->pos[0], true, &core))) return ret;
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = hc_core_get_alloc(core, index, &buf, &len);
  if (rc != HC_OK)
    ret = block_fail(c, rc, index, hc_core_length(core));
  else
    ret = out_write(c, buf, len);
  hc_free(buf);
  hc_core_close(core);
  return ret;
}

static int cmd_cat(ctx *c) {
  uint64_t start = 0, end = 0;
  const char *s = optval(c, "start"), *e = optval(c, "end");
  int ret;
  if (s && (ret = num_arg(c, "--start", s, &start))) return ret;
  if (e && (ret = num_arg(c, "--end", e, &end))) return ret;
  hc_core *core;
  if ((ret = open_core(c, c->pos[0], true, &core))) return ret;
  uint64_t length = hc_core_length(core);
  if (!e) end = length;
  if (end > length) {
    ret = fail(c, "--end %" PRIu64 " out of range (length %" PRIu64 ")", end, length);
  } else if (start > end) {
    ret = fail(c, "--start %" PRIu64 " is past --end %" PRIu64, start, end);
  }
  for (uint64_t i = start; !ret && i < end; i++) {
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = hc_core_get_alloc(core, i, &buf, &len);
    if (rc != HC_OK)
      ret = block_fail(c, rc, i, length);
    else
      ret = out_write(c, buf, len);
    hc_free(buf);
  }
  hc_core_close(core);
  return ret;
}

static int cmd_manifest(ctx *c) {
  hc_core *core;
  int ret = open_core(c, c->pos[0], true, &core);
  if (ret) return ret;
  size_t len;
  const uint8_t *enc = hc_core_manifest(core, &len);
  static hc_manifest_info m = HC_MANIFEST_INFO_INIT; /* ~4 KiB: static, the CLI is one thread */
  if (!enc || hc_manifest_parse(enc, len, hc_core_key(core), &m) != HC_OK) {
    hc_core_close(core);
    return fail(c, "the core has no manifest yet");
  }
  char *hex = malloc(2 * len + 1);
  if (!hex) {
    hc_core_close(core);
    return fail(c, "%s", hc_strerror(HC_ERR_NOMEM));
  }
  if (flag(c, "hex")) {
    hc_hex_encode(hex, enc, len);
    ret = out_printf(c, "%s\n", hex);
  } else {
    char k[65], a[65], b[65];
    hc_hex_encode(k, hc_core_key(core), 32);
    ret = out_printf(c, "{\"key\":\"%s\",\"compat\":%s,\"version\":%u,\"hash\":\"blake2b\","
                     "\"allowPatch\":%s,\"quorum\":%u,\"signers\":[",
                     k, m.compat ? "true" : "false", m.manifest_version,
                     m.allow_patch ? "true" : "false", m.quorum);
    for (size_t i = 0; i < m.nsigners && !ret; i++) {
      hc_hex_encode(a, m.namespaces[i], 32);
      hc_hex_encode(b, m.public_keys[i], 32);
      ret = out_printf(c, "%s{\"signature\":\"ed25519\",\"namespace\":\"%s\",\"publicKey\":\"%s\"}",
                       i ? "," : "", a, b);
    }
    if (!ret && m.has_prologue) {
      hc_hex_encode(a, m.prologue_hash, 32);
      ret = out_printf(c, "],\"prologue\":{\"hash\":\"%s\",\"length\":%" PRIu64 "}", a,
                       m.prologue_length);
    } else if (!ret) {
      ret = out_printf(c, "],\"prologue\":null");
    }
    /* hypercore 11 (manifest v2+): linked core keys and user data (hex), null when absent */
    if (!ret) ret = out_printf(c, ",\"linked\":%s", m.has_linked ? "[" : "null");
    for (size_t i = 0; m.has_linked && i < m.nlinked && !ret; i++) {
      hc_hex_encode(a, m.linked[i], 32);
      ret = out_printf(c, "%s\"%s\"", i ? "," : "", a);
    }
    if (!ret && m.has_linked) ret = out_printf(c, "]");
    if (!ret && m.has_user_data) {
      hc_hex_encode(hex, m.user_data, m.user_data_len); /* hex holds 2 * len + 1 */
      ret = out_printf(c, ",\"userData\":\"%s\"}\n", hex);
    } else if (!ret) {
      ret = out_printf(c, ",\"userData\":null}\n");
    }
  }
  free(hex);
  hc_core_close(core);
  return ret;
}

static int cmd_info(ctx *c) {
  const char *lstr = optval(c, "length");
  uint64_t at = 0;
  int ret;
  if (lstr && (ret = num_arg(c, "--length", lstr, &at))) return ret;
  hc_core *core;
  if ((ret = open_core(c, c->pos[0], true, &core))) return ret;
  uint64_t length = hc_core_length(core), byte_length = hc_core_byte_length(core);
  uint64_t fork = hc_core_fork(core), contig = hc_core_contiguous_length(core);
  uint8_t hash[HC_HASH_BYTES];
  int rc;
  if (lstr) {
    hc_snapshot *snap = NULL;
    if (at > length) {
      hc_core_close(core);
      return fail(c, "--length %" PRIu64 " out of range (length %" PRIu64 ")", at, length);
    }
    rc = hc_core_snapshot(core, at, &snap);
    if (rc == HC_OK) {
      length = hc_snapshot_length(snap);
      byte_length = hc_snapshot_byte_length(snap);
      fork = hc_snapshot_fork(snap);
      if (contig > length) contig = length;
      rc = hc_snapshot_tree_hash(snap, hash);
      hc_snapshot_free(snap);
    }
  } else {
    rc = hc_core_tree_hash(core, length, hash);
  }
  if (rc != HC_OK) {
    hc_core_close(core);
    return fail(c, "tree hash at length %" PRIu64 ": %s", lstr ? at : length, hc_strerror(rc));
  }
  char key[2 * HC_KEY_BYTES + 1], dkey[2 * HC_KEY_BYTES + 1], th[2 * HC_HASH_BYTES + 1];
  char id[HC_ID_CHARS + 1];
  hc_storage_usage size, used;
  bool have_usage = hc_core_storage_usage(core, &size, &used) == HC_OK;
  hc_id_encode(id, hc_core_key(core));
  hc_hex_encode(key, hc_core_key(core), HC_KEY_BYTES);
  hc_hex_encode(dkey, hc_core_discovery_key(core), HC_KEY_BYTES);
  hc_hex_encode(th, hash, HC_HASH_BYTES);
  hc_core_close(core);
  if (flag(c, "json"))
    return out_printf(c,
                      "{\"key\":\"%s\",\"discoveryKey\":\"%s\",\"length\":%" PRIu64
                      ",\"byteLength\":%" PRIu64 ",\"fork\":%" PRIu64
                      ",\"contiguousLength\":%" PRIu64 ",\"treeHash\":\"%s\"}\n",
                      key, dkey, length, byte_length, fork, contig, th);
  ret = out_printf(c,
                    "key:               %s\n"
                    "id:                %s\n"
                    "discovery key:     %s\n"
                    "length:            %" PRIu64 "\n"
                    "byte length:       %" PRIu64 "\n"
                    "fork:              %" PRIu64 "\n"
                    "contiguous length: %" PRIu64 "\n"
                    "tree hash:         %s\n",
                    key, id, dkey, length, byte_length, fork, contig, th);
  if (!ret && have_usage)
    ret = out_printf(c,
                     "storage (bytes, allocated on disk):\n"
                     "  oplog            %" PRIu64 " (%" PRIu64 ")\n"
                     "  tree             %" PRIu64 " (%" PRIu64 ")\n"
                     "  bitfield         %" PRIu64 " (%" PRIu64 ")\n"
                     "  data             %" PRIu64 " (%" PRIu64 ")\n",
                     size.oplog, used.oplog, size.tree, used.tree, size.bitfield, used.bitfield,
                     size.data, used.data);
  return ret;
}

static int cmd_purge(ctx *c) {
  hc_core *core;
  int ret = open_core(c, c->pos[0], false, &core);
  if (ret) return ret;
  int rc = hc_core_purge(core);
  if (rc) return fail(c, "purge failed: %s", hc_strerror(rc));
  return 0;
}

static int cmd_verify(ctx *c) {
  hc_core *core;
  int ret = open_core(c, c->pos[0], true, &core);
  if (ret) return ret;
  uint64_t bad = UINT64_MAX, length = hc_core_length(core);
  uint64_t stored = hc_core_contiguous_length(core); /* verify checks exactly the stored blocks */
  for (uint64_t i = stored; i < length; i++) stored += hc_core_has(core, i, i + 1);
  int rc = hc_core_verify(core, &bad);
  hc_core_close(core);
  if (rc == HC_OK && stored == length)
    return out_printf(c, "ok: all %" PRIu64 " blocks are stored and verify\n", length);
  if (rc == HC_OK)
    return out_printf(c,
                      "ok: %" PRIu64 " stored blocks of %" PRIu64 " verify (%" PRIu64
                      " cleared or not downloaded)\n",
                      stored, length, length - stored);
  if (bad != UINT64_MAX) return fail(c, "block %" PRIu64 ": %s", bad, hc_strerror(rc));
  return fail(c, "%s", hc_strerror(rc));
}

static int cmd_truncate(ctx *c) {
  uint64_t nl;
  int ret = num_arg(c, "LENGTH", c->pos[1], &nl);
  if (ret) return ret;
  hc_core *core;
  if ((ret = open_core(c, c->pos[0], false, &core))) return ret;
  uint64_t length = hc_core_length(core);
  const char *sks = optval(c, "signer-keys");
  int rc;
  if (!hc_core_writable(core) && !sks) {
    rc = HC_ERR_NOT_WRITABLE;
  } else if (nl > length) {
    rc = HC_ERR_OUT_OF_RANGE;
  } else if (sks) { /* multisig: sign the truncated tree at fork + 1 */
    static uint8_t sig[HC_MANIFEST_MAX_SIGNERS * 80];
    uint8_t hash[HC_HASH_BYTES];
    size_t sl = 0;
    uint64_t fork = hc_core_fork(core) + 1;
    rc = hc_core_tree_hash(core, nl, hash);
    if (rc == HC_OK && nl > 0 &&
        (ret = multisig_signature(c, core, sks, hash, nl, fork, sig, sizeof(sig), &sl))) {
      hc_core_close(core);
      return ret;
    }
    if (rc == HC_OK) rc = hc_core_truncate_signed(core, nl, fork, sig, sl);
  } else {
    rc = hc_core_truncate(core, nl);
  }
  if (rc == HC_ERR_OUT_OF_RANGE)
    ret = fail(c, "length %" PRIu64 " out of range (length %" PRIu64 ")", nl, length);
  else if (rc != HC_OK)
    ret = write_fail(c, rc);
  else
    ret = out_printf(c, "%" PRIu64 " %" PRIu64 "\n", hc_core_length(core), hc_core_fork(core));
  hc_core_close(core);
  return ret;
}

static int cmd_clear(ctx *c) {
  uint64_t start, end;
  int ret;
  if ((ret = num_arg(c, "START", c->pos[1], &start))) return ret;
  if ((ret = num_arg(c, "END", c->pos[2], &end))) return ret;
  if (start > end) return usage_err(c->cmd, "START %" PRIu64 " is past END %" PRIu64, start, end);
  hc_core *core;
  if ((ret = open_core(c, c->pos[0], false, &core))) return ret;
  uint64_t length = hc_core_length(core);
  if (end > length) {
    ret = fail(c, "END %" PRIu64 " out of range (length %" PRIu64 ")", end, length);
  } else {
    int rc = hc_core_clear(core, start, end, NULL);
    if (rc != HC_OK) ret = fail(c, "%s", hc_strerror(rc));
  }
  hc_core_close(core);
  return ret;
}

static int cmd_seek(ctx *c) {
  uint64_t off;
  int ret = num_arg(c, "BYTE_OFFSET", c->pos[1], &off);
  if (ret) return ret;
  hc_core *core;
  if ((ret = open_core(c, c->pos[0], true, &core))) return ret;
  uint64_t index = 0, inner = 0;
  int rc = hc_core_seek(core, off, &index, &inner);
  if (rc == HC_ERR_OUT_OF_RANGE)
    ret = fail(c, "byte offset %" PRIu64 " out of range (byte length %" PRIu64 ")", off,
               hc_core_byte_length(core));
  else if (rc == HC_ERR_NOT_AVAILABLE)
    ret = fail(c, "byte offset %" PRIu64 ": %s", off, hc_strerror(rc));
  else if (rc != HC_OK)
    ret = fail(c, "%s", hc_strerror(rc));
  else
    ret = out_printf(c, "%" PRIu64 " %" PRIu64 "\n", index, inner);
  hc_core_close(core);
  return ret;
}

static int cmd_user_data(ctx *c) {
  const char *key = c->pos[1];
  bool del = flag(c, "delete");
  if (del && c->npos > 2) return usage_err(c->cmd, "--delete takes no VALUE");
  if (!*key) return usage_err(c->cmd, "KEY must not be empty");
  bool set = del || c->npos > 2;
  hc_core *core;
  int ret = open_core(c, c->pos[0], !set, &core);
  if (ret) return ret;
  if (set) {
    const char *v = del ? NULL : c->pos[2];
    int rc = hc_core_set_user_data(core, key, (const uint8_t *)v, v ? strlen(v) : 0);
    if (rc != HC_OK) ret = fail(c, "setting '%s': %s", key, hc_strerror(rc));
  } else {
    const uint8_t *v = NULL;
    size_t len = 0;
    int rc = hc_core_get_user_data(core, key, &v, &len);
    if (rc == HC_ERR_NOT_FOUND)
      ret = fail(c, "no user data for key '%s'", key);
    else if (rc != HC_OK)
      ret = fail(c, "reading '%s': %s", key, hc_strerror(rc));
    else
      ret = out_write(c, v, len);
  }
  hc_core_close(core);
  return ret;
}

static int cmd_proof(ctx *c) {
  uint64_t index, from = 0, nodes = 0;
  const char *fs = optval(c, "upgrade-from"), *ns = optval(c, "nodes");
  int ret;
  if ((ret = num_arg(c, "INDEX", c->pos[1], &index))) return ret;
  if (fs && (ret = num_arg(c, "--upgrade-from", fs, &from))) return ret;
  if (ns && (ret = num_arg(c, "--nodes", ns, &nodes))) return ret;
  hc_core *core;
  if ((ret = open_core(c, c->pos[0], true, &core))) return ret;
  uint64_t length = hc_core_length(core);
  hc_proof_request req;
  memset(&req, 0, sizeof(req));
  req.has_block = true;
  req.block_index = index;
  req.block_nodes = nodes;
  if (fs) {
    req.has_upgrade = true;
    req.upgrade_start = from;
    req.upgrade_length = from <= length ? length - from : 0;
  }
  uint8_t *proof = NULL;
  size_t plen = 0;
  int rc;
  if (index >= length)
    rc = HC_ERR_OUT_OF_RANGE;
  else if (!hc_core_has(core, index, index + 1))
    rc = HC_ERR_NOT_AVAILABLE;
  else if (fs && from >= length)
    rc = HC_ERR_INVALID_ARG;
  else
    rc = hc_core_proof(core, &req, 0, &proof, &plen);
  if (rc == HC_ERR_INVALID_ARG && fs)
    ret = fail(c, "--upgrade-from %" PRIu64 ": bad upgrade range (length %" PRIu64 ")", from,
               length);
  else if (rc != HC_OK)
    ret = block_fail(c, rc, index, length);
  hc_core_close(core);
  if (ret) {
    hc_free(proof);
    return ret;
  }
  char *hex = malloc(2 * plen + 2);
  if (!hex) {
    hc_free(proof);
    return fail(c, "%s", hc_strerror(HC_ERR_NOMEM));
  }
  hc_hex_encode(hex, proof, plen);
  hex[2 * plen] = '\n';
  ret = out_write(c, hex, 2 * plen + 1);
  free(hex);
  hc_free(proof);
  return ret;
}

static int cmd_checkout(ctx *c) {
  uint64_t at, index = 0;
  int ret;
  if ((ret = num_arg(c, "LENGTH", c->pos[1], &at))) return ret;
  if (c->npos > 2 && (ret = num_arg(c, "INDEX", c->pos[2], &index))) return ret;
  hc_core *core;
  if ((ret = open_core(c, c->pos[0], true, &core))) return ret;
  uint64_t length = hc_core_length(core);
  hc_snapshot *snap = NULL;
  if (at > length) {
    hc_core_close(core);
    return fail(c, "LENGTH %" PRIu64 " out of range (length %" PRIu64 ")", at, length);
  }
  int rc = hc_core_snapshot(core, at, &snap);
  if (rc != HC_OK) {
    hc_core_close(core);
    return fail(c, "snapshot at %" PRIu64 ": %s", at, hc_strerror(rc));
  }
  if (c->npos > 2) {
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = index >= hc_snapshot_length(snap) ? HC_ERR_OUT_OF_RANGE
                                           : hc_snapshot_get_alloc(snap, index, &buf, &len);
    if (rc != HC_OK)
      ret = block_fail(c, rc, index, hc_snapshot_length(snap));
    else
      ret = out_write(c, buf, len);
    hc_free(buf);
  } else {
    uint8_t hash[HC_HASH_BYTES];
    rc = hc_snapshot_tree_hash(snap, hash);
    if (rc != HC_OK) {
      ret = fail(c, "tree hash at length %" PRIu64 ": %s", at, hc_strerror(rc));
    } else {
      char th[2 * HC_HASH_BYTES + 1];
      hc_hex_encode(th, hash, HC_HASH_BYTES);
      ret = out_printf(c,
                       "length:            %" PRIu64 "\n"
                       "byte length:       %" PRIu64 "\n"
                       "tree hash:         %s\n",
                       hc_snapshot_length(snap), hc_snapshot_byte_length(snap), th);
    }
  }
  hc_snapshot_free(snap);
  hc_core_close(core);
  return ret;
}


/* ---------------------------------------------------------------- replication ---- */

static int parse_hostport(ctx *c, const char *s, char *host, size_t hostcap, uint16_t *port) {
  const char *colon = strrchr(s, ':');
  uint64_t p;
  if (!colon || !parse_u64(colon + 1, &p) || p > 65535)
    return usage_err(c->cmd, "expected HOST:PORT, got '%s'", s);
  size_t hl = (size_t)(colon - s);
  if (hl >= hostcap) return usage_err(c->cmd, "host too long");
  memcpy(host, s, hl);
  host[hl] = 0;
  if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') { /* [::1]:port */
    memmove(host, host + 1, hl - 2);
    host[hl - 2] = 0;
  }
  if (!*host) strcpy(host, "127.0.0.1");
  *port = (uint16_t)p;
  return 0;
}

static int parse_key(ctx *c, const char *s, uint8_t key[32]) {
  if (hc_id_decode(key, s) != HC_OK)
    return usage_err(c->cmd, "KEY must be 64 hex characters or a 52-character z-base-32 id, got '%s'", s);
  return 0;
}

typedef struct net_state {
  ctx *c;
  hc_core *core;
  hc_replicator *r;
  int conn_err;
  char conn_msg[256];
  bool closed;
  bool done_at_close; /* the core was in sync with the remote when the connection ended */
  /* progress */
  uint64_t blocks, bytes, started, last_print;
  bool tty, live;
  /* clone: give up after this long without verified progress (0: never) */
  uint64_t stall_ms, last_progress, progress_mark;
  bool stalled;
  /* serve */
  int peers;
  char *line;
  size_t line_len, line_cap;
  bool stdin_eof;
} net_state;

static void net_on_close(void *user, hc_net *net, hc_replicator *r, int err, const char *msg) {
  net_state *st = user;
  if (st->r == r) {
    st->closed = true;
    st->done_at_close = hc_replicator_done(r, st->core);
    st->conn_err = err;
    snprintf(st->conn_msg, sizeof st->conn_msg, "%s", msg && *msg ? msg : hc_strerror(err));
    st->r = NULL;
  }
  if (st->peers > 0 && !st->r) {
    if (err) fprintf(stderr, "hypercore: serve: peer disconnected: %s\n", msg && *msg ? msg : hc_strerror(err));
  }
}

static void print_progress(net_state *st, bool final) {
  uint64_t now = hc_net_now_ms();
  if (!final && (!st->tty || now - st->last_print < 200)) return;
  st->last_print = now;
  double secs = (double)(now - st->started) / 1000.0;
  double mbps = secs > 0 ? (double)st->bytes / 1e6 / secs : 0;
  uint64_t len = hc_core_length(st->core);
  if (final) {
    if (st->tty) fputc('\n', stderr);
    fprintf(stderr, "cloned %" PRIu64 " blocks, %" PRIu64 " bytes in %.2f s (%.1f MB/s); length %" PRIu64 ", fork %" PRIu64 "\n",
            st->blocks, st->bytes, secs, mbps, len, hc_core_fork(st->core));
  } else {
    fprintf(stderr, "\r%" PRIu64 "/%" PRIu64 " blocks, %" PRIu64 " bytes, %.1f MB/s   ", st->blocks, len,
            st->bytes, mbps);
  }
}

static void on_download(void *user, hc_replicator *r, hc_core *core, uint64_t index, size_t bytes) {
  net_state *st = user;
  st->blocks++;
  st->bytes += bytes;
  print_progress(st, false);
}

#define DEFAULT_STALL_MS 60000

static hc_replicator *new_replicator(net_state *st, bool initiator) {
  hc_replicator_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_REPLICATOR_OPTS_VERSION;
  o.is_initiator = initiator;
  /* tests: a shorter Noise handshake timeout (default 15 s) */
  const char *hs = getenv("HC_HANDSHAKE_TIMEOUT_MS");
  uint64_t hs_ms;
  if (hs && parse_u64(hs, &hs_ms)) o.handshake_timeout_ms = hs_ms;
  hc_replicator_callbacks cb;
  cb = (hc_replicator_callbacks)HC_REPLICATOR_CALLBACKS_INIT;
  cb.on_download = on_download;
  hc_replicator *r;
  if (hc_replicator_new(&r, &o, &cb, st) != HC_OK) return NULL;
  if (hc_replicator_add_core(r, st->core) != HC_OK) {
    hc_replicator_free(r);
    return NULL;
  }
  return r;
}

/* Long-running commands stop cleanly on SIGTERM / SIGINT: connections closed, the core
 * flushed and closed; serve exits 0, clone and get exit 128 + the signal (143 / 130). */
static volatile sig_atomic_t stop_signal;
static hc_net *volatile stop_net; /* a loop with no until-callback of ours (get --connect) */
static void on_stop_signal(int sig) {
  stop_signal = sig;
  if (stop_net) hc_net_stop(stop_net); /* a flag: seen when poll returns with EINTR */
}
static void catch_stop_signals(struct sigaction *old_term, struct sigaction *old_int) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, old_term);
  sigaction(SIGINT, &sa, old_int);
}

/* Verified progress: the length or the blocks downloaded moved (bytes alone do not count: a
 * peer streaming data nobody asked for must not keep a clone alive forever). */
static bool clone_stalled(net_state *st) {
  uint64_t now = hc_net_now_ms(), mark = hc_core_length(st->core) + st->blocks;
  if (mark != st->progress_mark || !st->last_progress ||
      (st->r && hc_replicator_done(st->r, st->core))) {
    st->progress_mark = mark;
    st->last_progress = now;
    return false;
  }
  if (st->stall_ms && now - st->last_progress >= st->stall_ms) st->stalled = true;
  return st->stalled;
}

static bool clone_done(void *user, hc_net *net) {
  net_state *st = user;
  if (st->closed || stop_signal) return true;
  if (clone_stalled(st)) return true;
  return !st->live && hc_replicator_done(st->r, st->core);
}

static int connect_to(ctx *c, net_state *st, hc_net *net, const char *spec) {
  char host[256];
  uint16_t port;
  int ret = parse_hostport(c, spec, host, sizeof host, &port);
  if (ret) return ret;
  st->r = new_replicator(st, true);
  if (!st->r) return fail(c, "%s", hc_strerror(HC_ERR_NOMEM));
  int rc = hc_net_connect(net, host, port, st->r);
  if (rc) {
    st->r = NULL;
    return fail(c, "cannot connect to %s: %s", spec, rc == HC_ERR_IO ? strerror(errno) : hc_strerror(rc));
  }
  return 0;
}

static int cmd_clone(ctx *c) {
  uint8_t key[32];
  int ret = parse_key(c, c->pos[0], key);
  if (ret) return ret;
  const char *dir = c->pos[1], *connect = optval(c, "connect");
  uint64_t start = 0, end = UINT64_MAX;
  if (optval(c, "start") && (ret = num_arg(c, "--start", optval(c, "start"), &start))) return ret;
  if (optval(c, "end") && (ret = num_arg(c, "--end", optval(c, "end"), &end))) return ret;
  if (start > end) return usage_err(c->cmd, "--start is after --end");
  bool swarm = flag(c, "swarm");
  uint64_t timeout = HC_CLI_SWARM_DEFAULT_TIMEOUT_MS;
  if (optval(c, "timeout") && (ret = num_arg(c, "--timeout", optval(c, "timeout"), &timeout))) return ret;
  if (swarm && connect) return usage_err(c->cmd, "--swarm and --connect exclude each other");
  if (!swarm && (optval(c, "bootstrap") || optval(c, "timeout")))
    return usage_err(c->cmd, "--bootstrap and --timeout go with --swarm");
  if (!connect && !swarm) return usage_err(c->cmd, "--connect HOST:PORT or --swarm is required");
  uint64_t stall = DEFAULT_STALL_MS;
  if (optval(c, "stall-timeout") && (ret = num_arg(c, "--stall-timeout", optval(c, "stall-timeout"), &stall)))
    return ret;
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.key = key;
  net_state st;
  memset(&st, 0, sizeof st);
  st.c = c;
  st.stall_ms = stall;
  st.live = flag(c, "live");
  st.tty = isatty(STDERR_FILENO);
  int rc = hc_core_open_dir(&st.core, dir, &o);
  if (rc == HC_ERR_KEY_MISMATCH) return fail(c, "%s holds a different core", dir);
  if (rc == HC_ERR_STORAGE_V11) return v11_fail(c, dir);
  if (rc) return fail(c, "cannot open core at %s: %s", dir, hc_strerror(rc));
  if (swarm) {
    hc_cli_swarm_args sa = {.cmd = "clone", .dir = dir, .start = start, .end = end,
                            .live = st.live, .bootstrap = optval(c, "bootstrap"), .timeout_ms = timeout};
    ret = hc_cli_swarm_clone(st.core, &sa);
    hc_core_close(st.core);
    return ret;
  }
  hc_net *net;
  if (hc_net_new(&net, net_on_close, &st) != HC_OK) {
    hc_core_close(st.core);
    return fail(c, "%s", hc_strerror(HC_ERR_NOMEM));
  }
  ret = connect_to(c, &st, net, connect);
  if (!ret) {
    hc_replicator_download(st.r, st.core, start, end);
    if (st.live) hc_replicator_set_live(st.r, st.core, true);
    st.started = hc_net_now_ms();
    struct sigaction old_term, old_int;
    catch_stop_signals(&old_term, &old_int);
    rc = hc_net_run(net, -1, clone_done, &st);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    if (stop_signal) ret = 128 + stop_signal;
    else if (st.stalled)
      ret = fail(c, "no verified progress from the remote for %.1f s: giving up (--stall-timeout)",
                 (double)st.stall_ms / 1000.0);
    else if (st.closed && st.conn_err) ret = fail(c, "%s", st.conn_msg);
    else if (st.closed && !(st.live && st.done_at_close))
      ret = fail(c, "remote closed the connection before the clone completed");
    else if (rc) ret = fail(c, "%s", hc_strerror(rc));
    print_progress(&st, true);
  }
  hc_net_free(net);
  hc_core_close(st.core);
  return ret;
}

static int get_remote(ctx *c, const char *dir, uint64_t index, const char *connect) {
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.no_create = true;
  net_state st;
  memset(&st, 0, sizeof st);
  st.c = c;
  int rc = hc_core_open_dir(&st.core, dir, &o);
  if (rc == HC_ERR_NO_CORE) return fail(c, "no core at %s (create it with 'hypercore create %s --key KEY')", dir, dir);
  if (rc == HC_ERR_STORAGE_V11) return v11_fail(c, dir);
  if (rc) return fail(c, "cannot open core at %s: %s", dir, hc_strerror(rc));
  int ret = 0;
  uint8_t *buf = NULL;
  size_t len = 0;
  if (hc_core_has(st.core, index, index + 1)) {
    rc = hc_core_get_alloc(st.core, index, &buf, &len);
    if (rc) ret = block_fail(c, rc, index, hc_core_length(st.core));
  } else {
    hc_net *net;
    if (hc_net_new(&net, net_on_close, &st) != HC_OK) {
      hc_core_close(st.core);
      return fail(c, "%s", hc_strerror(HC_ERR_NOMEM));
    }
    uint64_t timeout = 30000;
    if (optval(c, "timeout") && (ret = num_arg(c, "--timeout", optval(c, "timeout"), &timeout))) goto out_net;
    if ((ret = connect_to(c, &st, net, connect))) goto out_net;
    /* wait for the remote's length first, so an index past our length can be requested */
    hc_replicator_download(st.r, st.core, index, index + 1);
    struct sigaction old_term, old_int;
    stop_net = net;
    catch_stop_signals(&old_term, &old_int);
    rc = hc_net_get(net, st.r, st.core, index, (int)(timeout > 0x7fffffff ? 0x7fffffff : timeout), &buf, &len);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    stop_net = NULL;
    if (stop_signal) ret = 128 + stop_signal;
    else if (rc == HC_ERR_TIMEOUT) ret = fail(c, "timed out waiting for block %" PRIu64, index);
    else if (rc == HC_ERR_CLOSED) ret = fail(c, "%s", st.conn_err ? st.conn_msg : "remote closed the connection");
    else if (rc) ret = block_fail(c, rc, index, hc_core_length(st.core));
  out_net:
    hc_net_free(net);
  }
  if (!ret) ret = out_write(c, buf, len);
  hc_free(buf);
  hc_core_close(st.core);
  return ret;
}

static hc_replicator *serve_accept(void *user, hc_net *net) {
  net_state *st = user;
  hc_replicator *r = new_replicator(st, false);
  if (r) st->peers++;
  return r;
}

/* --stdin: one line = one block, except "!truncate N" (truncate to N, new fork). */
static void serve_line(net_state *st) {
  static const char cmd[] = "!truncate ";
  size_t cl = sizeof cmd - 1;
  if (st->line_len > cl && memcmp(st->line, cmd, cl) == 0) {
    char num[32];
    size_t nl = st->line_len - cl;
    uint64_t n;
    int rc = HC_ERR_INVALID_ARG;
    if (nl < sizeof num) {
      memcpy(num, st->line + cl, nl);
      num[nl] = 0;
      if (parse_u64(num, &n)) rc = n > hc_core_length(st->core) ? HC_ERR_OUT_OF_RANGE : hc_core_truncate(st->core, n);
    }
    if (rc) fprintf(stderr, "hypercore: serve: truncate failed: %s\n", hc_strerror(rc));
    else printf("truncated %" PRIu64 " %" PRIu64 "\n", hc_core_length(st->core), hc_core_fork(st->core));
    fflush(stdout);
    return;
  }
  hc_buf b = {(const uint8_t *)st->line, st->line_len};
  uint64_t len;
  int rc = hc_core_append(st->core, &b, 1, &len, NULL);
  if (rc) fprintf(stderr, "hypercore: serve: append failed: %s\n", hc_strerror(rc));
  else {
    printf("appended %" PRIu64 "\n", len);
    fflush(stdout);
  }
}

/* --stdin: every line is appended as one block (a live writer). */
static int serve_stdin(void *user, hc_net *net, int fd) {
  net_state *st = user;
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n <= 0) {
    if (n < 0 && errno == EINTR) return 0;
    st->stdin_eof = true;
    return 1;
  }
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] == '\n') {
      serve_line(st);
      st->line_len = 0;
      continue;
    }
    if (st->line_len == st->line_cap) {
      size_t cap = st->line_cap ? st->line_cap * 2 : 256;
      char *nl = realloc(st->line, cap);
      if (!nl) return 1;
      st->line = nl;
      st->line_cap = cap;
    }
    st->line[st->line_len++] = buf[i];
  }
  return 0;
}

/* serve stops cleanly (connections closed, core flushed and closed) on SIGTERM / SIGINT. */
static volatile sig_atomic_t serve_stop_signal;
static void serve_on_signal(int sig) { serve_stop_signal = sig; }
static bool serve_stopped(void *user, hc_net *net) {
  (void)user;
  (void)net;
  return serve_stop_signal != 0;
}

/* --max-connections N, --max-memory MiB (all peers), --conn-memory MiB (each peer). */
static int serve_limits(ctx *c, hc_net *net) {
  hc_net_limits l;
  memset(&l, 0, sizeof l);
  l.version = HC_NET_LIMITS_VERSION;
  uint64_t v;
  int ret;
  if (optval(c, "max-connections")) {
    if ((ret = num_arg(c, "--max-connections", optval(c, "max-connections"), &v))) return ret;
    if (!v) return usage_err(c->cmd, "--max-connections must be at least 1");
    l.max_connections = (size_t)v;
  }
  if (optval(c, "max-memory")) {
    if ((ret = num_arg(c, "--max-memory", optval(c, "max-memory"), &v))) return ret;
    if (!v || v > (SIZE_MAX >> 21)) return usage_err(c->cmd, "--max-memory: MiB, at least 1");
    l.max_memory = (size_t)v << 20;
  }
  if (optval(c, "conn-memory")) {
    if ((ret = num_arg(c, "--conn-memory", optval(c, "conn-memory"), &v))) return ret;
    if (!v || v > (SIZE_MAX >> 21)) return usage_err(c->cmd, "--conn-memory: MiB, at least 1");
    l.conn_max_memory = (size_t)v << 20;
  }
  return hc_net_set_limits(net, &l) ? fail(c, "%s", hc_strerror(HC_ERR_INVALID_ARG)) : 0;
}

static int cmd_serve(ctx *c) {
  const char *listen_spec = optval(c, "listen");
  char host[256] = "127.0.0.1";
  uint16_t port = 0;
  int ret;
  if (listen_spec && (ret = parse_hostport(c, listen_spec, host, sizeof host, &port))) return ret;
  net_state st;
  memset(&st, 0, sizeof st);
  st.c = c;
  hc_core *core;
  bool writer = flag(c, "stdin");
  if (flag(c, "swarm") && listen_spec) return usage_err(c->cmd, "--swarm and --listen exclude each other");
  if (!flag(c, "swarm") && optval(c, "bootstrap")) return usage_err(c->cmd, "--bootstrap goes with --swarm");
  if ((ret = open_core(c, c->pos[0], false, &core))) return ret;
  st.core = core;
  if (flag(c, "swarm")) {
    hc_cli_swarm_args sa = {.cmd = "serve", .dir = c->pos[0], .stdin_writer = writer,
                            .bootstrap = optval(c, "bootstrap")};
    ret = hc_cli_swarm_serve(core, &sa);
    hc_core_close(core);
    return ret;
  }
  hc_net *net;
  if (hc_net_new(&net, net_on_close, &st) != HC_OK) {
    hc_core_close(core);
    return fail(c, "%s", hc_strerror(HC_ERR_NOMEM));
  }
  if ((ret = serve_limits(c, net))) {
    hc_net_free(net);
    hc_core_close(core);
    return ret;
  }
  uint16_t bound = 0;
  int rc = hc_net_listen(net, host, port, &bound, serve_accept, &st);
  if (rc) {
    hc_net_free(net);
    hc_core_close(core);
    return fail(c, "cannot listen on %s:%u: %s", host, port, strerror(errno));
  }
  char hex[65];
  hc_hex_encode(hex, hc_core_key(core), 32);
  printf("key %s\nport %u\n", hex, bound);
  fflush(stdout);
  if (writer) hc_net_watch_fd(net, STDIN_FILENO, serve_stdin, &st);
  struct sigaction sa, old_term, old_int;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = serve_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);
  rc = hc_net_run(net, -1, serve_stopped, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGINT, &old_int, NULL);
  hc_net_free(net);
  free(st.line);
  hc_core_close(core);
  return rc && rc != HC_ERR_CLOSED ? fail(c, "%s", hc_strerror(rc)) : 0;
}

/* ---------------------------------------------------------------- table ---- */

static const char *const opts_create[] = {"seed=", "secret-key=", "key=", "overwrite",
                                           "non-compat", "manifest=", "signers=", "namespace=",
                                           "quorum=", "prologue=", NULL};
static const char *const opts_append[] = {"raw", "encryption-key=", "signer-keys=", NULL};
static const char *const opts_manifest[] = {"hex", NULL};
static const char *const opts_truncate[] = {"signer-keys=", NULL};
static const char *const opts_cat[] = {"start=", "end=", "encryption-key=", NULL};
static const char *const opts_info[] = {"json", "length=", "encryption-key=", NULL};
static const char *const opts_user_data[] = {"delete", NULL};
static const char *const opts_proof[] = {"upgrade-from=", "nodes=", NULL};
static const char *const opts_get[] = {"connect=", "timeout=", "encryption-key=", NULL};
static const char *const opts_clone[] = {"connect=", "start=", "end=", "live", "stall-timeout=",
                                         "swarm", "bootstrap=", "timeout=", NULL};
static const char *const opts_serve[] = {"listen=", "stdin", "max-connections=", "max-memory=",
                                         "conn-memory=", "swarm", "bootstrap=", NULL};
static const char *const opts_enc[] = {"encryption-key=", NULL};
static const char *const opts_enc_sign[] = {"encryption-key=", "signer-keys=", NULL};

static const cmd_def commands[] = {
    {"create", "DIR [--seed HEX64 | --secret-key HEX128 | --key HEX64] [--overwrite] "
     "[--non-compat] [--signers HEX64,...] [--namespace HEX64[,...]] [--quorum N] "
     "[--prologue HASHHEX64:LENGTH] [--manifest HEX]",
     "create a new writable core and print its key",
     "Creates a core in DIR (created if missing) and prints its key as 64 hex characters.\n"
     "Refuses if a core already exists there.\n"
     "  --seed HEX64          derive the Ed25519 key pair from this 32-byte seed\n"
     "  --secret-key HEX128   use this 64-byte Ed25519 secret key\n"
     "  --key HEX64           create a read-only core for this key (a replica to sync into)\n"
     "  --overwrite           replace an existing core (its data is lost)\n"
     "  --non-compat          the key is the manifest hash (compat: false), not the public key\n"
     "The options below give a custom manifest (the key is its hash):\n"
     "  --signers HEX64,...   the signers' public keys (default: the core's own key pair)\n"
     "  --namespace HEX64     the signers' namespace (one, or one per signer)\n"
     "  --quorum N            signatures needed (default: a majority of the signers)\n"
     "  --prologue HASH:LEN   the first LEN blocks are the ones with tree hash HASH\n"
     "  --manifest HEX        an encoded manifest instead of the options above\n",
     opts_create, 1, 1, cmd_create},
    {"append", "DIR [--raw] [--signer-keys HEX128,...] [BLOCK ...]",
     "append blocks (arguments or stdin lines)",
     "Appends blocks and prints the new length.\n"
     "  BLOCK ...   each argument is one block, all appended in one batch\n"
     "  (none)      one block per line of stdin (newline stripped), batched\n"
     "  --raw       all of stdin as one block (up to 15 MiB)\n"
     "  --signer-keys HEX128,...   sign with these secret keys of the manifest's signers and\n"
     "              append with the assembled multisig signature\n"
     "  --encryption-key HEX64   encrypt the blocks (the reference's encryptionKey)\n"
     "Use -- before blocks that start with '-'.\n",
     opts_append, 1, -1, cmd_append},
    {"manifest", "DIR [--hex]", "print the core's manifest as JSON",
     "Prints the manifest as one JSON object: key, compat, version, hash, allowPatch, quorum,\n"
     "signers [{signature, namespace, publicKey}], prologue ({hash, length} or null),\n"
     "linked (hex keys or null) and userData (hex or null; manifest v2+, hypercore 11).\n"
     "  --hex   the encoded manifest as hex instead\n",
     opts_manifest, 1, 1, cmd_manifest},
    {"append-file", "DIR FILE [--signer-keys HEX128,...]", "append a file's content as one block",
     "Appends the content of FILE ('-' for stdin) as one block and prints the new length.\n"
     "  --encryption-key HEX64     encrypt the block (the reference's encryptionKey)\n"
     "  --signer-keys HEX128,...   sign with these secret keys of the manifest's signers\n"
     "                             (a multisig core), as append\n",
     opts_enc_sign, 2, 2, cmd_append_file},
    {"batch", "DIR FILE... [--signer-keys HEX128,...]",
     "append several files, one block each, in one batch",
     "Appends each FILE as one block with a single signature and prints the new length.\n"
     "  --encryption-key HEX64     encrypt the blocks\n"
     "  --signer-keys HEX128,...   sign with these secret keys of the manifest's signers\n"
     "                             (a multisig core), as append\n",
     opts_enc_sign, 2, -1, cmd_batch},
    {"get", "DIR INDEX [--connect HOST:PORT] [--timeout MS]", "write block INDEX to stdout",
     "Writes the raw bytes of block INDEX to stdout.\n"
     "  --connect HOST:PORT   if the block is not local, fetch it (verified) from a peer\n"
     "  --timeout MS          give up after MS milliseconds (default 30000)\n"
     "  --encryption-key HEX64   decrypt the block\n"
     "While fetching, SIGTERM / SIGINT close the connection and the core: exit 143 / 130.\n",
     opts_get, 2, 2, cmd_get},
    {"cat", "DIR [--start N] [--end M]", "write blocks [N, M) to stdout",
     "Writes the raw bytes of blocks [N, M) to stdout, in order (default: all blocks).\n"
     "  --encryption-key HEX64   decrypt the blocks\n",
     opts_cat, 1, 1, cmd_cat},
    {"info", "DIR [--json] [--length N]", "print key, lengths, fork and tree hash",
     "Prints key, discovery key, length, byte length, fork, contiguous length and tree hash.\n"
     "  --json       one JSON object: key, discoveryKey, length, byteLength, fork,\n"
     "               contiguousLength, treeHash\n"
     "  --length N   describe the core as of length N (a snapshot)\n"
     "  --encryption-key HEX64   byte length of the decrypted blocks\n",
     opts_info, 1, 1, cmd_info},
    {"verify", "DIR", "check every stored block against the signature",
     "Recomputes the hashes of all stored blocks and checks the signed tree.\n"
     "Exit 0 when everything verifies, 1 naming the first bad block otherwise.\n",
     NULL, 1, 1, cmd_verify},
    {"truncate", "DIR LENGTH [--signer-keys HEX128,...]", "truncate to LENGTH (bumps the fork)",
     "Truncates the core to LENGTH blocks, bumps the fork and prints \"LENGTH FORK\".\n"
     "  --signer-keys HEX128,...   sign with these secret keys of the manifest's signers\n"
     "                             (a multisig core) instead of the core's key pair\n",
     opts_truncate, 2, 2, cmd_truncate},
    {"clear", "DIR START END", "drop local data of blocks [START, END)",
     "Drops the locally stored data of blocks [START, END); the tree is kept.\n", NULL, 3, 3,
     cmd_clear},
    {"seek", "DIR BYTE_OFFSET", "map a byte offset to \"INDEX OFFSET\"",
     "Prints the block index containing BYTE_OFFSET and the offset inside it.\n"
     "  --encryption-key HEX64   offsets of the decrypted blocks\n", opts_enc, 2, 2,
     cmd_seek},
    {"user-data", "DIR KEY [VALUE | --delete]", "get, set or delete a user-data value",
     "Without VALUE writes the value of KEY raw to stdout (exit 1 if unset).\n"
     "With VALUE sets it; --delete removes KEY.\n",
     opts_user_data, 2, 3, cmd_user_data},
    {"proof", "DIR INDEX [--upgrade-from N] [--nodes K]", "print a block proof as hex",
     "Builds the proof of block INDEX (wire `data` message, request id 0) and prints it as hex.\n"
     "  --upgrade-from N   include an upgrade from length N to the current length\n"
     "  --nodes K          the requester already has K nodes (block request `nodes`)\n",
     opts_proof, 2, 2, cmd_proof},
    {"purge", "DIR", "delete a core's storage",
     "Deletes the core's files (oplog, tree, bitfield, data, header) and DIR if it is then\n"
     "empty. Refuses while another process has the core open for writing.\n",
     NULL, 1, 1, cmd_purge},
    {"serve", "DIR [--listen HOST:PORT | --swarm [--bootstrap HOST:PORT,...]] [--stdin]\n"
     "       [--max-connections N] [--max-memory MIB] [--conn-memory MIB]",
     "serve the core to every peer that connects",
     "Listens (default 127.0.0.1, any port), prints \"key KEY\" and \"port PORT\", and serves the\n"
     "core to every peer that connects, until SIGTERM or SIGINT (then exits 0).\n"
     "  --stdin   also append each line of stdin as a block (a live writer), printing\n"
     "            \"appended LENGTH\"; a line \"!truncate N\" truncates to N blocks instead\n"
     "            (new fork) and prints \"truncated LENGTH FORK\"\n"
     "A peer that has not finished the Noise handshake after 15 s (or HC_HANDSHAKE_TIMEOUT_MS\n"
     "from the environment) is dropped; so is one that sends anything that does not verify.\n"
     "Limits (a peer over one is disconnected with a line on stderr saying which):\n"
     "  --max-connections N   peers at once (default 512); when full, a new peer evicts the\n"
     "                        oldest one still in its handshake, else it is refused\n"
     "  --max-memory MIB      memory of all peers together (default 256); over it, the peer\n"
     "                        holding the most is dropped\n"
     "  --conn-memory MIB     memory of one peer: frames, output, queued requests, its\n"
     "                        bitfield (default 48)\n"
     "  --swarm   instead of TCP: announce the core's discovery key on the Hyperswarm DHT and\n"
     "            serve every peer found (prints \"key\", \"discovery-key\", then \"joined DK\" once\n"
     "            announced; connections on stderr). Needs Node.js and helper/swarm (npm ci).\n"
     "  --bootstrap HOST:PORT,...   DHT bootstrap nodes (default: the public Hyperswarm ones)\n",
     opts_serve, 1, 1, cmd_serve},
    {"clone", "KEY DIR (--connect HOST:PORT | --swarm [--bootstrap HOST:PORT,...] [--timeout MS])\n"
     "       [--start N] [--end M] [--live] [--stall-timeout MS]",
     "download a core from a peer into DIR, verifying",
     "Downloads blocks [N, M) (default: all) of the core KEY into DIR, verifying every block.\n"
     "Shows progress on a terminal and one summary line on stderr when done.\n"
     "  --live   keep following the writer's appends until the connection ends (exit 0 if the\n"
     "           clone was complete when the remote closed it)\n"
     "Fails (exit 1) on anything from the peer that does not verify, nothing of it is stored;\n"
     "the Noise handshake times out after 15 s (HC_HANDSHAKE_TIMEOUT_MS in the environment).\n"
     "  --swarm   find peers on the Hyperswarm DHT by the key's discovery key instead of\n"
     "            --connect (connections on stderr); without --live, exits 1 with a message when\n"
     "            no peer is connected for --timeout MS (default 60000) from the start or since\n"
     "            the last connection ended; with --live it also announces the core and\n"
     "            follows every peer until SIGINT/SIGTERM (exit 0). The swarm identity is kept\n"
     "            in DIR/swarm.seed.\n"
     "  --bootstrap HOST:PORT,...   DHT bootstrap nodes (default: the public Hyperswarm ones)\n"
     "  --stall-timeout MS   (--connect) give up (exit 1) after MS without verified progress, i.e. no new\n"
     "                       block or length while the clone is incomplete (default 60000;\n"
     "                       0: never)\n"
     "SIGTERM / SIGINT: the core is flushed and closed, exit 143 / 130 (--swarm --live: the core\n"
     "is unannounced and closed, exit 0).\n",
     opts_clone, 2, 2, cmd_clone},
    {"checkout", "DIR LENGTH [INDEX]", "inspect the snapshot at LENGTH",
     "Without INDEX prints the length, byte length and tree hash of the core at LENGTH;\n"
     "with INDEX writes block INDEX as read through that snapshot.\n"
     "  --encryption-key HEX64   decrypt the block\n",
     opts_enc, 2, 3, cmd_checkout},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_global_help(FILE *f) {
  fprintf(f,
          "hypercore %s - a command-line tool for Hypercore logs (libhypercore)\n\n"
          "usage: hypercore COMMAND DIR [ARGS...]\n"
          "       hypercore COMMAND --help\n"
          "       hypercore --help | --version\n\n"
          "commands:\n",
          HC_VERSION_STRING);
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "  %-12s %s\n", "store", "corestore 6 stores: create, get NAME, list ('store --help')");
  fprintf(f, "  %-12s %s\n", "seed", "serve every core of a store, follow KEYs live ('seed --help')");
  fprintf(f, "  %-12s %s\n", "bee", "Hyperbee: get, put, del, ls, history ('hypercore bee --help')");
  fprintf(f, "  %-12s %s\n", "drive", "Hyperdrive: ls, cat, stat, put, mirror ('hypercore drive --help')");
  fprintf(f,
          "\nDIR is the directory holding the core's files (oplog, tree, bitfield, data), or a\n"
          "core of a store: STORE:name/NAME, STORE:key/KEY, ... (see 'hypercore store --help').\n"
          "Exit status: 0 success, 1 error, 2 bad arguments.\n");
}

static void print_cmd_help(const cmd_def *cmd, FILE *f) {
  fprintf(f, "usage: hypercore %s %s\n\n%s", cmd->name, cmd->synopsis, cmd->help);
}

static const cmd_def *find_cmd(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

/* Parses argv[0..argc) of a command. Returns -1 to proceed, else an exit status. */
static int parse_args(ctx *c, int argc, char **argv) {
  bool only_pos = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!only_pos && strcmp(a, "--") == 0) {
      only_pos = true;
      continue;
    }
    if (!only_pos && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
      print_cmd_help(c->cmd, stdout);
      return fflush(stdout) == 0 ? 0 : EXIT_OPERR;
    }
    if (!only_pos && a[0] == '-' && a[1] == '-') {
      const char *name = a + 2, *eq = strchr(name, '=');
      size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
      bool tv = false;
      int k = opt_index(c->cmd, name, nlen, &tv);
      if (k < 0) return usage_err(c->cmd, "unknown option '%.*s'", (int)(nlen + 2), a);
      if (c->set[k]) return usage_err(c->cmd, "option '--%.*s' given twice", (int)nlen, name);
      if (tv) {
        if (eq) {
          c->val[k] = eq + 1;
        } else {
          if (i + 1 >= argc) return usage_err(c->cmd, "option '%s' needs a value", a);
          c->val[k] = argv[++i];
        }
      } else if (eq) {
        return usage_err(c->cmd, "option '--%.*s' takes no value", (int)nlen, name);
      }
      c->set[k] = true;
      continue;
    }
    if (!only_pos && a[0] == '-' && a[1] != 0 && !(a[1] >= '0' && a[1] <= '9'))
      return usage_err(c->cmd, "unknown option '%s'", a);
    c->pos[c->npos++] = a;
  }
  if (c->npos < c->cmd->min_pos) {
    if (c->npos == 0) return usage_err(c->cmd, "missing DIR");
    return usage_err(c->cmd, "missing arguments");
  }
  if (c->cmd->max_pos >= 0 && c->npos > c->cmd->max_pos)
    return usage_err(c->cmd, "too many arguments ('%s')", c->pos[c->cmd->max_pos]);
  if (!*c->pos[0]) return usage_err(c->cmd, "DIR must not be empty");
  return -1;
}

/* Commands that never write the core (they open a store without its lock). */
static bool reads_only(const ctx *c) {
  static const char *const ro[] = {"get", "cat", "info", "verify", "manifest", "seek", "proof",
                                   "checkout"};
  if (strcmp(c->cmd->name, "user-data") == 0) return c->npos == 2 && !flag(c, "delete");
  if (strcmp(c->cmd->name, "get") == 0 && optval(c, "connect")) return false;
  for (size_t i = 0; i < sizeof ro / sizeof *ro; i++)
    if (strcmp(c->cmd->name, ro[i]) == 0) return true;
  return false;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN); /* write() reports EPIPE instead */
  if (argc < 2) {
    print_global_help(stderr);
    return EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
    if (argc > 2 && strcmp(name, "help") == 0) {
      const cmd_def *cmd = find_cmd(argv[2]);
      if (!cmd) return usage_err(NULL, "unknown command '%s'", argv[2]);
      print_cmd_help(cmd, stdout);
    } else {
      print_global_help(stdout);
    }
    return fflush(stdout) == 0 ? 0 : EXIT_OPERR;
  }
  if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
    printf("hypercore %s\n", HC_VERSION_STRING);
    return fflush(stdout) == 0 ? 0 : EXIT_OPERR;
  }
  if (strcmp(name, "store") == 0) return hc_cli_store(argc - 2, argv + 2);
  if (strcmp(name, "seed") == 0) return hc_cli_seed(argc - 2, argv + 2); /* tools/cmd_seed.c */
  if (strcmp(name, "bee") == 0) return hc_cmd_bee(argc - 2, argv + 2);
  if (strcmp(name, "drive") == 0) return hc_cmd_drive(argc - 2, argv + 2);
  const cmd_def *cmd = find_cmd(name);
  if (!cmd) return usage_err(NULL, "unknown command '%s'", name);

  ctx c;
  memset(&c, 0, sizeof(c));
  c.cmd = cmd;
  c.pos = calloc((size_t)argc, sizeof(*c.pos));
  if (!c.pos) return fail(&c, "%s", hc_strerror(HC_ERR_NOMEM));
  int ret = parse_args(&c, argc - 2, argv + 2);
  char *store_path = NULL; /* DIR given as STORE:name/NAME etc. (tools/cmd_store.c) */
  void *store = NULL;
  if (ret < 0) {
    int di = strcmp(cmd->name, "clone") == 0 ? 1 : 0;
    int r = di < c.npos ? hc_cli_resolve(cmd->name, c.pos[di], !reads_only(&c), di == 1,
                                         &store_path, &store)
                        : 0;
    if (r) ret = r;
    else if (store_path) c.pos[di] = store_path;
  }
  if (ret < 0) ret = cmd->run(&c);
  hc_cli_release(store);
  free(store_path);
  free(c.pos);
  return ret;
}
