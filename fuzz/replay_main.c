/* Runs a fuzz target's LLVMFuzzerTestOneInput over files and directories given on the command
 * line, without libFuzzer: the committed corpora become ordinary regression tests.
 *   replay_<target> fuzz/corpus/<target> [more files or dirs]
 * Exits non-zero if nothing was run (an empty corpus is a mistake); a broken invariant aborts. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(2);
  }
  size_t cap = 4096, len = 0;
  uint8_t *buf = malloc(cap);
  size_t n;
  while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) {
      uint8_t *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  fclose(f);
  if (!buf) exit(2);
  /* libFuzzer hands each input in its own exact-size allocation (ASan catches overreads) */
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) exit(2);
  memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 1;
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static long run_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "missing %s\n", path);
    exit(2);
  }
  if (!S_ISDIR(st.st_mode)) return run_file(path);
  DIR *d = opendir(path);
  if (!d) exit(2);
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    names = realloc(names, (n + 1) * sizeof *names);
    if (!names) exit(2);
    size_t pl = strlen(path) + strlen(e->d_name) + 2;
    names[n] = malloc(pl);
    if (!names[n]) exit(2);
    snprintf(names[n], pl, "%s/%s", path, e->d_name);
    n++;
  }
  closedir(d);
  if (n) qsort(names, n, sizeof *names, cmp);
  long runs = 0;
  for (size_t i = 0; i < n; i++) {
    runs += run_path(names[i]);
    free(names[i]);
  }
  free(names);
  return runs;
}

int main(int argc, char **argv) {
  long runs = 0;
  for (int i = 1; i < argc; i++) runs += run_path(argv[i]);
  printf("%s: %ld inputs replayed\n", argc > 0 ? argv[0] : "replay", runs);
  return runs > 0 ? 0 : 1;
}
