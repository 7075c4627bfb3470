/* `hypercore store ...` and the STORE:... core paths of the other commands.
 *
 *   hypercore store create STORE [--primary-key HEX64]
 *   hypercore store get STORE --name NAME [--namespace HEX64]
 *   hypercore store key STORE --name NAME [--namespace HEX64]
 *   hypercore store list STORE [--json]
 *   hypercore store namespace NAME... [--parent HEX64]
 *
 * Any other command reaches a core of a store through a DIR written STORE:name/NAME,
 * STORE:ns/HEX64/name/NAME, STORE:key/KEY or STORE:dk/HEX64 (hc_cli_resolve, called by main). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd_store.h"
#include "hypercore.h"

#define EXIT_OPERR 1
#define EXIT_USAGE 2

static int sfail(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sfail(const char *sub, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "hypercore: store%s%s: ", sub ? " " : "", sub ? sub : "");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return EXIT_OPERR;
}

static int susage(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int susage(const char *sub, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "hypercore: store%s%s: ", sub ? " " : "", sub ? sub : "");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  fprintf(stderr, "(see 'hypercore store --help')\n");
  va_end(ap);
  return EXIT_USAGE;
}

static const char STORE_HELP[] =
    "usage: hypercore store create STORE [--primary-key HEX64]\n"
    "       hypercore store get STORE --name NAME [--namespace HEX64]\n"
    "       hypercore store key STORE --name NAME [--namespace HEX64]\n"
    "       hypercore store list STORE [--json]\n"
    "       hypercore store namespace NAME... [--parent HEX64]\n\n"
    "A store is a corestore 6 directory (corestore@6.18.4, hypercore 10): STORE/primary-key and\n"
    "STORE/cores/<dk[0:2]>/<dk[2:4]>/<discovery key>/. JS corestore 6 opens C stores and C opens\n"
    "theirs; a named core has the same key in both.\n"
    "  create      creates the store (a random primary key, or --primary-key); prints nothing\n"
    "  get         gets or creates the writable core NAME; prints its key (64 hex)\n"
    "  key         prints the key NAME has (or would have) without creating anything\n"
    "  list        one core per line: KEY LENGTH BYTE_LENGTH NAME (- if none); --json: one\n"
    "              object per line with key, discoveryKey, length, byteLength, name (null if\n"
    "              none), namespace, writable. A core that cannot be read is reported on\n"
    "              stderr and skipped (exit 1 at the end)\n"
    "  namespace   the namespace of store.namespace(NAME1).namespace(NAME2)... as 64 hex\n"
    "              (from the root, or from --parent); use it as --namespace\n"

    "  --namespace HEX64   the namespace of NAME (default: the root, 32 zero bytes)\n\n"
    "Other commands work on a core of a store with DIR written as:\n"
    "  STORE:name/NAME                 the named core (root namespace)\n"
    "  STORE:ns/HEX64/name/NAME        the named core in a namespace\n"
    "  STORE:key/KEY                   the core with this key (clone: created as a replica)\n"
    "  STORE:dk/HEX64                  the core with this discovery key\n"
    "e.g. hypercore append STORE:name/log hello; hypercore get STORE:key/KEY 0.\n"
    "To serve every core of a store to peers: hypercore seed STORE (see 'hypercore seed --help').\n"
    "Commands that write take the store's lock (as corestore 6 does); read-only ones do not.\n"
    "A corestore 7 / hypercore 11 store (CORESTORE file, RocksDB db/) is refused: C reads the\n"
    "hypercore 10 layout only (replicate with a v11 peer over the wire instead).\n";

/* ---------------------------------------------------------------- helpers ---- */

typedef struct sargs {
  const char *pos[64];
  int npos;
  const char *name, *ns, *primary_key, *parent;
  bool json;
} sargs;

static int parse(const char *sub, int argc, char **argv, sargs *a) {
  memset(a, 0, sizeof *a);
  bool only_pos = false;
  for (int i = 0; i < argc; i++) {
    const char *s = argv[i];
    const char **slot = NULL;
    if (!only_pos && strcmp(s, "--") == 0) {
      only_pos = true;
      continue;
    }
    if (!only_pos && strncmp(s, "--", 2) == 0) {
      const char *opt = s + 2, *eq = strchr(opt, '=');
      size_t n = eq ? (size_t)(eq - opt) : strlen(opt);
      if (n == 4 && !strncmp(opt, "json", 4) && !eq) {
        a->json = true;
        continue;
      }
      if (n == 4 && !strncmp(opt, "name", 4)) slot = &a->name;
      else if (n == 9 && !strncmp(opt, "namespace", 9)) slot = &a->ns;
      else if (n == 11 && !strncmp(opt, "primary-key", 11)) slot = &a->primary_key;
      else if (n == 6 && !strncmp(opt, "parent", 6)) slot = &a->parent;
      else return susage(sub, "unknown option '%s'", s);
      if (*slot) return susage(sub, "option '--%.*s' given twice", (int)n, opt);
      if (eq) *slot = eq + 1;
      else if (i + 1 < argc) *slot = argv[++i];
      else return susage(sub, "option '%s' needs a value", s);
      continue;
    }
    if (a->npos == (int)(sizeof a->pos / sizeof *a->pos)) return susage(sub, "too many arguments");
    a->pos[a->npos++] = s;
  }
  return -1;
}

static const char *open_error(int rc) {
  switch (rc) {
    case HC_ERR_NOT_FOUND: return "no store there (create it with 'hypercore store create')";
    case HC_ERR_LOCKED: return "the store is locked by another process";
    case HC_ERR_INCOMPATIBLE:
      return "a corestore 7 / hypercore 11 store (RocksDB: CORESTORE, db/): not supported on disk; "
             "replicate it from a hypercore 11 peer instead";
    case HC_ERR_NOT_A_STORE: return "not a corestore directory (no primary-key or cores/)";
    case HC_ERR_CORRUPT:
      return "primary-key is missing or shorter than 32 bytes (the named cores' keys depend on "
             "it; nothing was written)";
    default: return hc_strerror(rc);
  }
}

static void warn_cb(void *user, hc_store *s, const uint8_t dk[32], int err, const char *msg) {
  fprintf(stderr, "hypercore: store: warning: %s\n", msg);
  if (user) (*(int *)user)++;
}

static int open_store(const char *sub, const char *dir, bool create, bool readonly,
                      const uint8_t *pk, hc_store **out, int *warnings) {
  hc_store_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_STORE_OPTS_VERSION;
  o.create = create;
  o.readonly = readonly;
  o.primary_key = pk;
  o.on_warning = warn_cb;
  o.user = warnings;
  int rc = hc_store_open(out, dir, &o);
  if (rc) return sfail(sub, "%s: %s", dir, open_error(rc));
  return 0;
}

static int hex32(const char *sub, const char *what, const char *s, uint8_t out[32]) {
  if (strlen(s) != 64 || hc_hex_decode(out, 32, s) != HC_OK)
    return susage(sub, "%s must be 64 hex characters", what);
  return 0;
}

/* Is s[0..n) well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF)? */
static bool utf8_ok(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n;) {
    uint8_t c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!len || i + len > n) return false;
    uint32_t cp = len == 1 ? c : (uint32_t)(c & (0x7f >> len));
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

/* A JSON string; a name that is not UTF-8 (corestore names always are) has its high bytes
 * escaped one by one so the line stays valid JSON. */
static void json_string(FILE *f, const uint8_t *s, size_t n) {
  bool raw = utf8_ok(s, n);
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = s[i];
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && !raw)) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

/* ---------------------------------------------------------------- sub-commands ---- */

static int store_create(int argc, char **argv) {
  sargs a;
  int r = parse("create", argc, argv, &a);
  if (r >= 0) return r;
  if (a.npos != 1 || a.name || a.ns || a.parent || a.json)
    return susage("create", "usage: hypercore store create STORE [--primary-key HEX64]");
  uint8_t pk[32];
  if (a.primary_key && (r = hex32("create", "--primary-key", a.primary_key, pk))) return r;
  hc_store_kind k = hc_store_probe(a.pos[0]);
  if (k == HC_STORE_KIND_CORESTORE6) return sfail("create", "%s is already a store", a.pos[0]);
  if (k != HC_STORE_KIND_MISSING) return sfail("create", "%s: %s", a.pos[0], open_error(
                                        k == HC_STORE_KIND_ROCKSDB ? HC_ERR_INCOMPATIBLE : HC_ERR_NOT_A_STORE));
  hc_store *s;
  if ((r = open_store("create", a.pos[0], true, false, a.primary_key ? pk : NULL, &s, NULL))) return r;
  hc_store_close(s);
  return 0;
}

static int name_args(const char *sub, sargs *a, uint8_t ns[32]) {
  if (a->npos != 1 || !a->name || a->primary_key || a->parent || a->json)
    return susage(sub, "usage: hypercore store %s STORE --name NAME [--namespace HEX64]", sub);
  if (!*a->name) return susage(sub, "--name must not be empty");
  if (a->ns) return hex32(sub, "--namespace", a->ns, ns);
  memset(ns, 0, 32);
  return 0;
}

static int store_get(int argc, char **argv, bool create) {
  const char *sub = create ? "get" : "key";
  sargs a;
  uint8_t ns[32], key[32];
  int r = parse(sub, argc, argv, &a);
  if (r >= 0) return r;
  if ((r = name_args(sub, &a, ns))) return r;
  hc_store *s;
  if ((r = open_store(sub, a.pos[0], false, !create, NULL, &s, NULL))) return r;
  const uint8_t *name = (const uint8_t *)a.name;
  size_t nlen = strlen(a.name);
  if (create) {
    hc_core *core;
    int rc = hc_store_get_named(s, ns, name, nlen, &core);
    if (rc) {
      hc_store_close(s);
      if (rc == HC_ERR_KEY_MISMATCH)
        return sfail(sub, "the core stored for '%s' has another key (copied from another store?)", a.name);
      return sfail(sub, "cannot get '%s': %s", a.name, hc_strerror(rc));
    }
    memcpy(key, hc_core_key(core), 32);
    hc_store_release(s, core);
  } else {
    hc_store_name_key(s, ns, name, nlen, key);
  }
  hc_store_close(s);
  char hex[65];
  hc_hex_encode(hex, key, 32);
  printf("%s\n", hex);
  return fflush(stdout) == 0 ? 0 : EXIT_OPERR;
}

typedef struct list_ctx {
  bool json;
  int bad;
} list_ctx;

static int list_cb(void *user, const hc_store_entry *e) {
  list_ctx *l = user;
  char key[65], dk[65], ns[65];
  hc_hex_encode(dk, e->discovery_key, 32);
  if (e->error) {
    l->bad++;
    return 0; /* reported by the warning callback */
  }
  hc_hex_encode(key, e->key, 32);
  if (l->json) {
    printf("{\"key\":\"%s\",\"discoveryKey\":\"%s\",\"length\":%llu,\"byteLength\":%llu,\"name\":",
           key, dk, (unsigned long long)e->length, (unsigned long long)e->byte_length);
    if (e->name) json_string(stdout, e->name, e->name_len);
    else fputs("null", stdout);
    if (e->has_namespace) {
      hc_hex_encode(ns, e->ns, 32);
      printf(",\"namespace\":\"%s\"", ns);
    } else {
      fputs(",\"namespace\":null", stdout);
    }
    printf(",\"writable\":%s}\n", e->writable ? "true" : "false");
  } else {
    printf("%s %llu %llu ", key, (unsigned long long)e->length,
           (unsigned long long)e->byte_length);
    for (size_t i = 0; e->name && i < e->name_len; i++) /* one line per core */
      fputc(e->name[i] < 0x20 || e->name[i] == 0x7f ? '?' : e->name[i], stdout);
    if (!e->name) fputc('-', stdout);
    fputc('\n', stdout);
  }
  return ferror(stdout) ? HC_ERR_IO : 0;
}

static int store_list(int argc, char **argv) {
  sargs a;
  int r = parse("list", argc, argv, &a);
  if (r >= 0) return r;
  if (a.npos != 1 || a.name || a.ns || a.parent || a.primary_key)
    return susage("list", "usage: hypercore store list STORE [--json]");
  hc_store *s;
  int warnings = 0;
  if ((r = open_store("list", a.pos[0], false, true, NULL, &s, &warnings))) return r;
  list_ctx l = {a.json, 0};
  int rc = hc_store_list(s, list_cb, &l);
  hc_store_close(s);
  if (fflush(stdout) != 0 || rc == HC_ERR_IO) return sfail("list", "write error");
  if (rc) return sfail("list", "%s", hc_strerror(rc));
  if (l.bad) return sfail("list", "%d core%s could not be read", l.bad, l.bad == 1 ? "" : "s");
  return 0;
}

static int store_namespace(int argc, char **argv) {
  sargs a;
  int r = parse("namespace", argc, argv, &a);
  if (r >= 0) return r;
  if (a.npos < 1 || a.name || a.ns || a.primary_key || a.json)
    return susage("namespace", "usage: hypercore store namespace NAME... [--parent HEX64]");
  uint8_t ns[32];
  memset(ns, 0, 32);
  if (a.parent && (r = hex32("namespace", "--parent", a.parent, ns))) return r;
  for (int i = 0; i < a.npos; i++)
    hc_store_namespace(ns, ns, (const uint8_t *)a.pos[i], strlen(a.pos[i]));
  char hex[65];
  hc_hex_encode(hex, ns, 32);
  printf("%s\n", hex);
  return fflush(stdout) == 0 ? 0 : EXIT_OPERR;
}

int hc_cli_store(int argc, char **argv) {
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
    fputs(STORE_HELP, argc < 1 ? stderr : stdout);
    return argc < 1 ? EXIT_USAGE : 0;
  }
  const char *sub = argv[0];
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(STORE_HELP, stdout);
      return 0;
    }
  if (!strcmp(sub, "create")) return store_create(argc - 1, argv + 1);
  if (!strcmp(sub, "get")) return store_get(argc - 1, argv + 1, true);
  if (!strcmp(sub, "key")) return store_get(argc - 1, argv + 1, false);
  if (!strcmp(sub, "list")) return store_list(argc - 1, argv + 1);
  if (!strcmp(sub, "namespace")) return store_namespace(argc - 1, argv + 1);
  return susage(NULL, "unknown sub-command '%s'", sub);
}

/* ---------------------------------------------------------------- STORE:... paths ---- */

static const char *const FORMS[] = {":name/", ":ns/", ":key/", ":dk/"};

/* Finds the first ":<form>/" whose prefix is a directory holding a store. */
static const char *split_store(const char *arg, char **store) {
  *store = NULL;
  for (const char *p = strchr(arg, ':'); p; p = strchr(p + 1, ':')) {
    bool form = false;
    for (size_t i = 0; i < sizeof FORMS / sizeof *FORMS; i++)
      if (!strncmp(p, FORMS[i], strlen(FORMS[i]))) form = true;
    if (!form || p == arg) continue;
    char *dir = strndup(arg, (size_t)(p - arg));
    if (!dir) return NULL;
    hc_store_kind k = hc_store_probe(dir);
    if (k == HC_STORE_KIND_CORESTORE6 || k == HC_STORE_KIND_ROCKSDB) {
      *store = dir;
      return p + 1;
    }
    free(dir);
  }
  return NULL;
}

/* The discovery key a STORE:... spec names (rest: after the colon). */
static int spec_dk(const char *cmd, hc_store *s, const char *rest, uint8_t dk[32], char *what,
                   size_t wcap) {
  uint8_t ns[32], key[32];
  const uint8_t *nsp = NULL;
  const char *spec = rest;
  if (!strncmp(rest, "ns/", 3)) {
    const char *h = rest + 3, *slash = strchr(h, '/');
    char hex[65];
    if (!slash || slash - h != 64 || strncmp(slash, "/name/", 6)) goto bad;
    memcpy(hex, h, 64);
    hex[64] = 0;
    if (hc_hex_decode(ns, 32, hex) != HC_OK) goto bad;
    nsp = ns;
    rest = slash + 1;
  }
  if (!strncmp(rest, "name/", 5)) {
    const char *name = rest + 5;
    if (!*name || hc_store_name_key(s, nsp, (const uint8_t *)name, strlen(name), key)) goto bad;
    snprintf(what, wcap, "core named '%s'", name);
    hc_store_discovery_key(dk, key);
    return 0;
  }
  if (nsp) goto bad;
  if (!strncmp(rest, "key/", 4)) {
    if (hc_id_decode(key, rest + 4) != HC_OK) goto bad;
    snprintf(what, wcap, "core %s", rest + 4);
    hc_store_discovery_key(dk, key);
    return 0;
  }
  if (!strncmp(rest, "dk/", 3)) {
    if (strlen(rest + 3) != 64 || hc_hex_decode(dk, 32, rest + 3) != HC_OK) goto bad;
    snprintf(what, wcap, "core with discovery key %s", rest + 3);
    return 0;
  }
bad:
  fprintf(stderr,
          "hypercore: %s: bad store path ':%s' (STORE:name/NAME, STORE:ns/HEX64/name/NAME, "
          "STORE:key/KEY or STORE:dk/HEX64)\n",
          cmd, spec);
  return EXIT_USAGE;
}

/* A named core must derive its key from this store's primary key: one copied from another
 * store would be written with a key pair corestore 6 does not give that name here. */
static int check_foreign(const char *cmd, hc_store *s, const char *path) {
  hc_core_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_CORE_OPTS_VERSION;
  o.readonly = true;
  o.no_create = true;
  hc_core *core;
  if (hc_core_open_dir(&core, path, &o) != HC_OK) return 0; /* the command reports it */
  const uint8_t *name, *ns = NULL;
  size_t nlen, nslen = 0;
  int r = 0;
  if (hc_core_get_user_data(core, "corestore/name", &name, &nlen) == HC_OK && nlen) {
    if (hc_core_get_user_data(core, "corestore/namespace", &ns, &nslen) != HC_OK || nslen != 32)
      ns = NULL;
    uint8_t key[32], pk[32];
    if (hc_core_public_key(core, pk) != HC_OK) memcpy(pk, hc_core_key(core), 32);
    if (hc_store_name_key(s, ns, name, nlen, key) != HC_OK || memcmp(key, pk, 32) != 0) {
      fprintf(stderr, "hypercore: %s: the core at %s is named '%.*s' under another store's "
                      "primary key (copied from another store?): refusing to write it\n",
              cmd, path, (int)(nlen > 200 ? 200 : nlen), (const char *)name);
      r = EXIT_OPERR;
    }
  }
  hc_core_close(core);
  return r;
}

int hc_cli_resolve(const char *cmd, const char *arg, bool writes, bool create, char **path,
                   void **held) {
  *path = NULL;
  *held = NULL;
  char *dir;
  const char *rest = split_store(arg, &dir);
  if (!dir) return 0; /* an ordinary directory */
  if (!strcmp(cmd, "create")) {
    fprintf(stderr, "hypercore: create: use 'hypercore store get %s --name NAME' to create a core "
                    "in a store\n", dir);
    free(dir);
    return EXIT_USAGE;
  }
  hc_store *s;
  hc_store_opts o;
  memset(&o, 0, sizeof o);
  o.version = HC_STORE_OPTS_VERSION;
  o.readonly = !writes;
  int rc = hc_store_open(&s, dir, &o);
  if (rc) {
    fprintf(stderr, "hypercore: %s: %s: %s\n", cmd, dir, open_error(rc));
    free(dir);
    return EXIT_OPERR;
  }
  uint8_t dk[32];
  char what[512];
  int r = spec_dk(cmd, s, rest, dk, what, sizeof what);
  if (!r) {
    *path = hc_store_core_path(s, dk);
    struct stat st;
    char opl[4096];
    if (!*path) {
      r = EXIT_OPERR;
    } else if (!create && (snprintf(opl, sizeof opl, "%s/oplog", *path), stat(opl, &st) < 0)) {
      fprintf(stderr, "hypercore: %s: no %s in store %s%s\n", cmd, what, dir,
              strncmp(rest, "name/", 5) && strncmp(rest, "ns/", 3)
                  ? ""
                  : " (create it with 'hypercore store get STORE --name NAME')");
      r = EXIT_OPERR;
    }
  }
  if (!r && writes && *path) r = check_foreign(cmd, s, *path);
  free(dir);
  if (r) {
    free(*path);
    *path = NULL;
    hc_store_close(s);
    return r;
  }
  *held = s; /* keeps the store's lock until the command is done */
  return 0;
}

void hc_cli_release(void *held) { hc_store_close(held); }
