/*
 * vigil_bridge.c - see vigil_bridge.h. A hand-written CBOR (RFC 8949) encoder for exactly the client
 * messages, and a bounds-checked reader for the server's frames: the frame is first checked to be one
 * well-formed item (definite lengths, nesting <= 16), then fields are looked up by key.
 */
#define _POSIX_C_SOURCE 200809L

#include "vigil_bridge.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define VB_HEADER 4u
#define VB_DEFAULT_TIMEOUT_MS 10000
#define VB_MAX_INBOUND (4u * 1024u * 1024u) /* largest server frame read */
#define VB_MAX_DEPTH 16

#ifdef MSG_NOSIGNAL
#define VB_SEND_FLAGS MSG_NOSIGNAL
#else
#define VB_SEND_FLAGS 0
#endif

struct vb_client {
  int fd;
  int closed;
  vb_callbacks cb;
  int timeout_ms;
  uint8_t *sbuf;
  size_t scap;
  uint8_t *rbuf;
  size_t rcap;
  size_t rlen;
  uint64_t next_id;
  long credits;
  uint32_t max_frame;
  int resumed;
  /* the synchronous request being waited for */
  uint64_t wait_re;
  const char *wait_type;
  int wait_done;
  int wait_status;
  vb_label_outcome label_outcome;
  vb_error last_error;
};

/* ------------------------------------------------------------------ time */

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000L;
}

/* ------------------------------------------------------------------ CBOR encoder */

typedef struct {
  uint8_t *buf;
  size_t cap;
  size_t len;
  int overflow;
} enc_t;

static void enc_byte(enc_t *e, uint8_t b) {
  if (e->len < e->cap) e->buf[e->len] = b;
  else e->overflow = 1;
  e->len++;
}

static void enc_raw(enc_t *e, const void *p, size_t n) {
  if (e->len + n <= e->cap) memcpy(e->buf + e->len, p, n);
  else e->overflow = 1;
  e->len += n;
}

/* Initial byte and argument in the shortest form (RFC 8949 section 3). */
static void enc_head(enc_t *e, unsigned major, uint64_t arg) {
  uint8_t m = (uint8_t)(major << 5);
  if (arg < 24) {
    enc_byte(e, (uint8_t)(m | arg));
  } else if (arg <= 0xffu) {
    enc_byte(e, (uint8_t)(m | 24));
    enc_byte(e, (uint8_t)arg);
  } else if (arg <= 0xffffu) {
    enc_byte(e, (uint8_t)(m | 25));
    enc_byte(e, (uint8_t)(arg >> 8));
    enc_byte(e, (uint8_t)arg);
  } else if (arg <= 0xffffffffu) {
    int i;
    enc_byte(e, (uint8_t)(m | 26));
    for (i = 3; i >= 0; i--) enc_byte(e, (uint8_t)(arg >> (8 * i)));
  } else {
    int i;
    enc_byte(e, (uint8_t)(m | 27));
    for (i = 7; i >= 0; i--) enc_byte(e, (uint8_t)(arg >> (8 * i)));
  }
}

static void enc_text(enc_t *e, const char *s) {
  size_t n = strlen(s);
  enc_head(e, 3, n);
  enc_raw(e, s, n);
}

static void enc_uint(enc_t *e, uint64_t v) { enc_head(e, 0, v); }

/* A double as float64 (major 7, additional information 27), big-endian. */
static void enc_double(enc_t *e, double v) {
  uint64_t bits;
  int i;
  memcpy(&bits, &v, sizeof bits);
  enc_byte(e, 0xfb);
  for (i = 7; i >= 0; i--) enc_byte(e, (uint8_t)(bits >> (8 * i)));
}

static void enc_key_text(enc_t *e, const char *key, const char *value) {
  enc_text(e, key);
  enc_text(e, value);
}

static void enc_key_uint(enc_t *e, const char *key, uint64_t value) {
  enc_text(e, key);
  enc_uint(e, value);
}

/* RFC 8746 tag 85: float32 little-endian typed array (written byte by byte: host order does not matter). */
static void enc_f32_array(enc_t *e, const float *v, size_t n) {
  size_t i;
  enc_head(e, 6, 85);
  enc_head(e, 2, (uint64_t)n * 4u);
  for (i = 0; i < n; i++) {
    uint32_t bits;
    memcpy(&bits, &v[i], sizeof bits);
    enc_byte(e, (uint8_t)bits);
    enc_byte(e, (uint8_t)(bits >> 8));
    enc_byte(e, (uint8_t)(bits >> 16));
    enc_byte(e, (uint8_t)(bits >> 24));
  }
}

/* RFC 8746 tag 77: sint16 little-endian typed array. */
static void enc_i16_array(enc_t *e, const int16_t *v, size_t n) {
  size_t i;
  enc_head(e, 6, 77);
  enc_head(e, 2, (uint64_t)n * 2u);
  for (i = 0; i < n; i++) {
    uint16_t bits = (uint16_t)v[i];
    enc_byte(e, (uint8_t)bits);
    enc_byte(e, (uint8_t)(bits >> 8));
  }
}

/* ------------------------------------------------------------------ CBOR reader */

typedef struct {
  const uint8_t *p;
  const uint8_t *end;
} cur_t;

/* Reads an initial byte and its argument. Returns 0 on success; refuses indefinite lengths. */
static int cur_head(cur_t *c, unsigned *major, unsigned *info, uint64_t *arg) {
  uint8_t ib;
  unsigned n, i;
  if (c->p >= c->end) return -1;
  ib = *c->p++;
  *major = ib >> 5;
  *info = ib & 0x1fu;
  if (*info < 24) {
    *arg = *info;
    return 0;
  }
  if (*info > 27) return -1;
  n = 1u << (*info - 24);
  if ((size_t)(c->end - c->p) < n) return -1;
  *arg = 0;
  for (i = 0; i < n; i++) *arg = (*arg << 8) | c->p[i];
  c->p += n;
  return 0;
}

/* Skips one well-formed item (checking lengths against the buffer and the nesting depth). */
static int cur_skip(cur_t *c, int depth) {
  unsigned major, info;
  uint64_t arg, i;
  if (depth > VB_MAX_DEPTH) return -1;
  if (cur_head(c, &major, &info, &arg) != 0) return -1;
  switch (major) {
    case 0:
    case 1:
      return 0;
    case 2:
    case 3:
      if (arg > (uint64_t)(c->end - c->p)) return -1;
      c->p += arg;
      return 0;
    case 4:
      if (arg > (uint64_t)(c->end - c->p)) return -1;
      for (i = 0; i < arg; i++)
        if (cur_skip(c, depth + 1) != 0) return -1;
      return 0;
    case 5:
      if (arg > (uint64_t)(c->end - c->p)) return -1;
      for (i = 0; i < 2 * arg; i++)
        if (cur_skip(c, depth + 1) != 0) return -1;
      return 0;
    case 6:
      return cur_skip(c, depth + 1);
    default:
      /* simple values and floats: the argument was already consumed by cur_head */
      return info == 31 ? -1 : 0;
  }
}

/* IEEE 754 half to double without libm (RFC 8949 Appendix D). */
static double half_to_double(unsigned half) {
  unsigned exponent = (half >> 10) & 0x1fu;
  unsigned mantissa = half & 0x3ffu;
  double value;
  if (exponent == 0) {
    value = mantissa / 16777216.0; /* 2^-24 */
  } else if (exponent == 31) {
    value = mantissa == 0 ? (double)INFINITY : (double)NAN;
  } else {
    double scale = 1.0;
    int k = (int)exponent - 25;
    while (k > 0) {
      scale *= 2.0;
      k--;
    }
    while (k < 0) {
      scale /= 2.0;
      k++;
    }
    value = (mantissa + 1024u) * scale;
  }
  return (half & 0x8000u) ? -value : value;
}

/* A number of any CBOR numeric encoding. */
static int cur_number(cur_t *c, double *out) {
  unsigned major, info;
  uint64_t arg;
  if (cur_head(c, &major, &info, &arg) != 0) return -1;
  if (major == 0) {
    *out = (double)arg;
    return 0;
  }
  if (major == 1) {
    *out = -1.0 - (double)arg;
    return 0;
  }
  if (major != 7) return -1;
  if (info == 25) {
    *out = half_to_double((unsigned)arg);
    return 0;
  }
  if (info == 26) {
    uint32_t bits = (uint32_t)arg;
    float f;
    memcpy(&f, &bits, sizeof f);
    *out = f;
    return 0;
  }
  if (info == 27) {
    memcpy(out, &arg, sizeof *out);
    return 0;
  }
  return -1;
}

static int cur_uint(cur_t *c, uint64_t *out) {
  cur_t save = *c;
  unsigned major, info;
  uint64_t arg;
  double d;
  if (cur_head(c, &major, &info, &arg) != 0) return -1;
  if (major == 0) {
    *out = arg;
    return 0;
  }
  /* an integral float is accepted too */
  *c = save;
  if (cur_number(c, &d) != 0 || !(d >= 0.0) || d > 9007199254740991.0 || d != (double)(uint64_t)d) return -1;
  *out = (uint64_t)d;
  return 0;
}

static int cur_bool(cur_t *c, int *out) {
  if (c->p >= c->end) return -1;
  if (*c->p == 0xf4 || *c->p == 0xf5) {
    *out = *c->p == 0xf5;
    c->p++;
    return 0;
  }
  return -1;
}

static int cur_is_null(const cur_t *c) { return c->p < c->end && *c->p == 0xf6; }

/* A text string, copied NUL-terminated into dst (refused if it does not fit). */
static int cur_text(cur_t *c, char *dst, size_t cap) {
  unsigned major, info;
  uint64_t arg;
  if (cur_head(c, &major, &info, &arg) != 0 || major != 3) return -1;
  if (arg > (uint64_t)(c->end - c->p) || arg >= cap) return -1;
  memcpy(dst, c->p, (size_t)arg);
  dst[arg] = '\0';
  c->p += arg;
  return 0;
}

/* Positions `val` on the value of text key `key` in the map at `map`. 1 found, 0 absent, -1 malformed. */
static int map_get(cur_t map, const char *key, cur_t *val) {
  unsigned major, info;
  uint64_t n, i;
  size_t klen = strlen(key);
  if (cur_head(&map, &major, &info, &n) != 0 || major != 5) return -1;
  for (i = 0; i < n; i++) {
    cur_t k = map;
    unsigned km, ki;
    uint64_t kn;
    if (cur_head(&k, &km, &ki, &kn) != 0) return -1;
    if (km == 3 && kn == klen && (uint64_t)(k.end - k.p) >= kn && memcmp(k.p, key, klen) == 0) {
      k.p += kn;
      *val = k;
      return 1;
    }
    if (cur_skip(&map, 1) != 0 || cur_skip(&map, 1) != 0) return -1;
  }
  return 0;
}

static int get_text(cur_t map, const char *key, char *dst, size_t cap) {
  cur_t v;
  if (map_get(map, key, &v) != 1) return -1;
  return cur_text(&v, dst, cap);
}

static int get_uint(cur_t map, const char *key, uint64_t *out) {
  cur_t v;
  if (map_get(map, key, &v) != 1) return -1;
  return cur_uint(&v, out);
}

static int get_number(cur_t map, const char *key, double *out) {
  cur_t v;
  if (map_get(map, key, &v) != 1) return -1;
  return cur_number(&v, out);
}

static int get_bool(cur_t map, const char *key, int *out) {
  cur_t v;
  if (map_get(map, key, &v) != 1) return -1;
  return cur_bool(&v, out);
}

/* An unsigned integer or null (-1). */
static int get_uint_or_null(cur_t map, const char *key, int64_t *out) {
  cur_t v;
  uint64_t u;
  if (map_get(map, key, &v) != 1) return -1;
  if (cur_is_null(&v)) {
    *out = -1;
    return 0;
  }
  if (cur_uint(&v, &u) != 0) return -1;
  *out = (int64_t)u;
  return 0;
}

static int get_map(cur_t map, const char *key, cur_t *out) {
  if (map_get(map, key, out) != 1) return -1;
  return (out->p < out->end && (*out->p >> 5) == 5) ? 0 : -1;
}

/* ------------------------------------------------------------------ socket I/O */

static int ensure_send_capacity(vb_client *c, size_t need) {
  uint8_t *p;
  if (need <= c->scap) return VB_OK;
  p = (uint8_t *)realloc(c->sbuf, need);
  if (!p) return VB_ERR_NOMEM;
  c->sbuf = p;
  c->scap = need;
  return VB_OK;
}

static int write_all(vb_client *c, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(c->fd, p, n, VB_SEND_FLAGS);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        struct pollfd pfd;
        pfd.fd = c->fd;
        pfd.events = POLLOUT;
        pfd.revents = 0;
        if (poll(&pfd, 1, c->timeout_ms) <= 0) return VB_ERR_TIMEOUT;
        continue;
      }
      c->closed = 1;
      return VB_ERR_IO;
    }
    p += (size_t)w;
    n -= (size_t)w;
  }
  return VB_OK;
}

/* Starts a frame in the send buffer: room for the 4-byte length, then the map header. */
static void frame_begin(vb_client *c, enc_t *e, unsigned entries) {
  e->buf = c->sbuf;
  e->cap = c->scap;
  e->len = VB_HEADER;
  e->overflow = 0;
  enc_head(e, 5, entries);
}

/* Fills the length and writes the frame. */
static int frame_send(vb_client *c, enc_t *e) {
  size_t payload;
  if (e->overflow) return VB_ERR_TOO_LARGE;
  payload = e->len - VB_HEADER;
  if (payload > c->max_frame) return VB_ERR_TOO_LARGE;
  e->buf[0] = (uint8_t)(payload >> 24);
  e->buf[1] = (uint8_t)(payload >> 16);
  e->buf[2] = (uint8_t)(payload >> 8);
  e->buf[3] = (uint8_t)payload;
  return write_all(c, e->buf, e->len);
}

/* ------------------------------------------------------------------ inbound frames */

static void read_error(cur_t m, vb_error *err) {
  uint64_t re;
  memset(err, 0, sizeof *err);
  err->re = get_uint(m, "re", &re) == 0 ? (int64_t)re : -1;
  if (get_text(m, "code", err->code, sizeof err->code) != 0) strcpy(err->code, "INTERNAL");
  if (get_text(m, "message", err->message, sizeof err->message) != 0) err->message[0] = '\0';
  if (get_text(m, "stream", err->stream, sizeof err->stream) != 0) err->stream[0] = '\0';
  if (get_bool(m, "fatal", &err->fatal) != 0) err->fatal = 0;
}

static int read_result(cur_t m, vb_result *r) {
  cur_t status, prov, output;
  char kind[24];
  memset(r, 0, sizeof *r);
  if (get_uint(m, "seq", &r->seq) || get_text(m, "result", r->result_id, sizeof r->result_id) ||
      get_text(m, "stream", r->stream, sizeof r->stream) || get_uint(m, "window", &r->window) ||
      get_uint(m, "first", &r->first_counter) || get_uint(m, "last", &r->last_counter) ||
      get_number(m, "startMs", &r->start_ms) || get_number(m, "endMs", &r->end_ms) ||
      get_number(m, "latencyMs", &r->latency_ms) || get_map(m, "status", &status) ||
      get_map(m, "provenance", &prov) || get_text(status, "kind", kind, sizeof kind))
    return -1;
  if (get_text(prov, "bundleId", r->bundle_id, sizeof r->bundle_id) ||
      get_text(prov, "modelVersion", r->model_version, sizeof r->model_version) ||
      get_text(prov, "manifestSha256", r->manifest_sha256, sizeof r->manifest_sha256) ||
      get_text(prov, "thresholdsVersion", r->thresholds_version, sizeof r->thresholds_version))
    return -1;
  if (strcmp(kind, "ok") == 0) {
    r->kind = VB_RESULT_OK;
    if (get_number(status, "score", &r->score) || get_text(status, "label", r->label, sizeof r->label) ||
        get_bool(status, "positive", &r->positive) || get_bool(status, "alert", &r->alert))
      return -1;
  } else if (strcmp(kind, "indeterminate") == 0) {
    r->kind = VB_RESULT_INDETERMINATE;
    if (get_number(status, "score", &r->score) || get_text(status, "reason", r->reason, sizeof r->reason))
      return -1;
  } else if (strcmp(kind, "fallback") == 0) {
    r->kind = VB_RESULT_FALLBACK;
    r->score = (double)NAN;
    if (get_text(status, "reason", r->reason, sizeof r->reason) || get_map(status, "output", &output) ||
        get_text(output, "kind", r->output, sizeof r->output))
      return -1;
    if (strcmp(r->output, "rule") == 0) {
      if (get_text(output, "label", r->label, sizeof r->label) || get_bool(output, "positive", &r->positive))
        return -1;
    }
  } else {
    return -1;
  }
  return 0;
}

static int read_alert(cur_t m, vb_alert *a) {
  memset(a, 0, sizeof *a);
  if (get_uint(m, "seq", &a->seq) || get_text(m, "result", a->result_id, sizeof a->result_id) ||
      get_text(m, "stream", a->stream, sizeof a->stream) ||
      get_text(m, "modelFamily", a->model_family, sizeof a->model_family) ||
      get_text(m, "label", a->label, sizeof a->label) || get_text(m, "source", a->source, sizeof a->source) ||
      get_number(m, "atMs", &a->at_ms))
    return -1;
  return 0;
}

static int read_missed(vb_client *c, cur_t m) {
  cur_t arr;
  unsigned major, info;
  uint64_t n, i;
  if (map_get(m, "streams", &arr) != 1 || cur_head(&arr, &major, &info, &n) != 0 || major != 4) return -1;
  for (i = 0; i < n; i++) {
    vb_missed missed;
    cur_t item = arr;
    memset(&missed, 0, sizeof missed);
    if (get_text(item, "stream", missed.stream, sizeof missed.stream) ||
        get_uint(item, "results", &missed.results) || get_uint(item, "alerts", &missed.alerts) ||
        get_uint_or_null(item, "firstWindow", &missed.first_window) ||
        get_uint_or_null(item, "lastWindow", &missed.last_window))
      return -1;
    if (c->cb.on_missed) c->cb.on_missed(c->cb.user, &missed);
    if (cur_skip(&arr, 1) != 0) return -1;
  }
  return 0;
}

static int read_overload(cur_t m, vb_overload *o) {
  cur_t totals;
  memset(o, 0, sizeof *o);
  if (get_text(m, "reason", o->reason, sizeof o->reason) || get_uint(m, "count", &o->count) ||
      get_map(m, "totals", &totals) || get_uint(totals, "framesRejected", &o->frames_rejected) ||
      get_uint(totals, "resultsDropped", &o->results_dropped) ||
      get_uint(totals, "alertsDropped", &o->alerts_dropped))
    return -1;
  return 0;
}

/* Marks the pending request answered when `re` is its id. */
static void settle(vb_client *c, cur_t m, const char *type, int status) {
  uint64_t re;
  if (c->wait_type == NULL || get_uint(m, "re", &re) != 0 || re != c->wait_re) return;
  c->wait_done = 1;
  c->wait_status = strcmp(type, c->wait_type) == 0 ? status : VB_ERR_PROTOCOL;
}

static int handle_frame(vb_client *c, const uint8_t *p, size_t n) {
  cur_t all, m;
  char type[24];
  all.p = p;
  all.end = p + n;
  m = all;
  /* one well-formed item filling the frame, nothing after it */
  if (cur_skip(&all, 0) != 0 || all.p != all.end) return VB_ERR_PROTOCOL;
  if (get_text(m, "type", type, sizeof type) != 0) return VB_ERR_PROTOCOL;

  if (strcmp(type, "credit") == 0) {
    uint64_t grant;
    if (get_uint(m, "grant", &grant) != 0) return VB_ERR_PROTOCOL;
    c->credits += (long)grant;
  } else if (strcmp(type, "result") == 0) {
    vb_result r;
    if (read_result(m, &r) != 0) return VB_ERR_PROTOCOL;
    if (c->cb.on_result) c->cb.on_result(c->cb.user, &r);
  } else if (strcmp(type, "alert") == 0) {
    vb_alert a;
    if (read_alert(m, &a) != 0) return VB_ERR_PROTOCOL;
    if (c->cb.on_alert) c->cb.on_alert(c->cb.user, &a);
  } else if (strcmp(type, "error") == 0) {
    vb_error err;
    read_error(m, &err);
    if (err.fatal) c->closed = 1;
    if (c->wait_type != NULL && err.re >= 0 && (uint64_t)err.re == c->wait_re) {
      c->last_error = err;
      c->wait_done = 1;
      c->wait_status = VB_ERR_REMOTE;
    } else if (c->cb.on_error) {
      c->cb.on_error(c->cb.user, &err);
    }
  } else if (strcmp(type, "overload") == 0) {
    vb_overload o;
    if (read_overload(m, &o) != 0) return VB_ERR_PROTOCOL;
    if (c->cb.on_overload) c->cb.on_overload(c->cb.user, &o);
  } else if (strcmp(type, "missed") == 0) {
    if (read_missed(c, m) != 0) return VB_ERR_PROTOCOL;
  } else if (strcmp(type, "hello-ack") == 0) {
    cur_t limits;
    uint64_t version, max_frame, credits;
    if (get_uint(m, "version", &version) || get_bool(m, "resumed", &c->resumed) ||
        get_map(m, "limits", &limits) || get_uint(limits, "maxFrameBytes", &max_frame) ||
        get_uint(limits, "credits", &credits))
      return VB_ERR_PROTOCOL;
    if (version != VB_PROTOCOL_VERSION) return VB_ERR_PROTOCOL;
    c->max_frame = max_frame > 0xffffffffu ? 0xffffffffu : (uint32_t)max_frame;
    c->credits = (long)credits;
    settle(c, m, type, VB_OK);
  } else if (strcmp(type, "label-ack") == 0) {
    char outcome[24];
    if (get_text(m, "outcome", outcome, sizeof outcome) != 0) return VB_ERR_PROTOCOL;
    c->label_outcome = strcmp(outcome, "accepted") == 0    ? VB_LABEL_ACCEPTED
                       : strcmp(outcome, "duplicate") == 0 ? VB_LABEL_DUPLICATE
                                                           : VB_LABEL_UNKNOWN_RESULT;
    settle(c, m, type, VB_OK);
  } else if (strcmp(type, "open-ack") == 0 || strcmp(type, "close-ack") == 0 || strcmp(type, "pong") == 0 ||
             strcmp(type, "status-ack") == 0) {
    settle(c, m, type, VB_OK);
  }
  /* other types: ignored (a newer server may add messages) */
  return VB_OK;
}

/* Reads what is available (waiting up to timeout_ms for the first bytes) and handles complete frames. */
static int pump(vb_client *c, int timeout_ms) {
  struct pollfd pfd;
  ssize_t got;
  int handled = 0, rc;
  size_t off = 0;
  if (c->closed && c->fd < 0) return VB_ERR_CLOSED;
  pfd.fd = c->fd;
  pfd.events = POLLIN;
  pfd.revents = 0;
  rc = poll(&pfd, 1, timeout_ms);
  if (rc < 0) return errno == EINTR ? 0 : VB_ERR_IO;
  if (rc == 0) return 0;
  if (c->rcap - c->rlen < 65536u && c->rcap < VB_MAX_INBOUND + VB_HEADER) {
    size_t cap = c->rcap * 2u;
    uint8_t *p;
    if (cap > VB_MAX_INBOUND + VB_HEADER) cap = VB_MAX_INBOUND + VB_HEADER;
    p = (uint8_t *)realloc(c->rbuf, cap);
    if (!p) return VB_ERR_NOMEM;
    c->rbuf = p;
    c->rcap = cap;
  }
  do {
    got = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
  } while (got < 0 && errno == EINTR);
  if (got <= 0) {
    c->closed = 1;
    return VB_ERR_IO;
  }
  c->rlen += (size_t)got;
  while (c->rlen - off >= VB_HEADER) {
    const uint8_t *h = c->rbuf + off;
    uint32_t len = ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) | ((uint32_t)h[2] << 8) | h[3];
    if (len > VB_MAX_INBOUND) {
      c->closed = 1;
      c->rlen = 0;
      return VB_ERR_PROTOCOL;
    }
    if (c->rlen - off < VB_HEADER + (size_t)len) break;
    rc = handle_frame(c, h + VB_HEADER, len);
    if (rc != VB_OK) {
      /* A frame this client cannot read: the stream is no longer trustworthy. Close and drop what is
       * buffered rather than hand the frames before it to the callbacks again on the next poll. */
      c->closed = 1;
      c->rlen = 0;
      return rc;
    }
    off += VB_HEADER + (size_t)len;
    handled++;
  }
  if (off > 0) {
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
  }
  return handled;
}

/* Waits until the pending request is answered. */
static int await_reply(vb_client *c) {
  long long deadline = now_ms() + c->timeout_ms;
  while (!c->wait_done) {
    long long left = deadline - now_ms();
    int rc;
    if (left <= 0) {
      c->wait_type = NULL;
      return VB_ERR_TIMEOUT;
    }
    rc = pump(c, (int)left);
    if (rc < 0) {
      c->wait_type = NULL;
      return rc;
    }
  }
  c->wait_type = NULL;
  return c->wait_status;
}

static int request(vb_client *c, enc_t *e, uint64_t id, const char *reply_type) {
  int rc;
  c->wait_re = id;
  c->wait_type = reply_type;
  c->wait_done = 0;
  rc = frame_send(c, e);
  if (rc != VB_OK) {
    c->wait_type = NULL;
    return rc;
  }
  return await_reply(c);
}

/* ------------------------------------------------------------------ validation */

static int valid_id(const char *s) {
  size_t n = 0;
  if (!s) return 0;
  for (; s[n]; n++) {
    char ch = s[n];
    int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
             ch == '_' || ch == '-';
    if (!ok || n >= 64) return 0;
  }
  return n > 0;
}

static int valid_printable(const char *s, size_t max, int allow_space, int allow_empty) {
  size_t n = 0;
  if (!s) return 0;
  for (; s[n]; n++) {
    unsigned char ch = (unsigned char)s[n];
    if (ch > 0x7e || ch < (allow_space ? 0x20 : 0x21) || n >= max) return 0;
  }
  return n > 0 || allow_empty;
}

static const char *sensor_name(vb_sensor s) {
  switch (s) {
    case VB_SENSOR_ACCEL:
      return "accel";
    case VB_SENSOR_ECG:
      return "ecg";
    case VB_SENSOR_PPG:
      return "ppg";
  }
  return NULL;
}

static int valid_rate(double r) { return r >= 0.001 && r <= 100000.0; }

/* ------------------------------------------------------------------ public API */

static int client_new(vb_client **out, int fd, const vb_hello *hello, const vb_callbacks *callbacks) {
  vb_client *c = (vb_client *)calloc(1, sizeof *c);
  enc_t e;
  size_t i;
  int rc;
  uint64_t id;
  if (!c) {
    close(fd);
    return VB_ERR_NOMEM;
  }
  c->fd = fd;
  c->timeout_ms = hello->timeout_ms > 0 ? hello->timeout_ms : VB_DEFAULT_TIMEOUT_MS;
  if (callbacks) c->cb = *callbacks;
  c->next_id = 1;
  c->max_frame = 65536u; /* until hello-ack announces the real limit */
  c->scap = 4096u;
  c->sbuf = (uint8_t *)malloc(c->scap);
  c->rcap = 65536u;
  c->rbuf = (uint8_t *)malloc(c->rcap);
  if (!c->sbuf || !c->rbuf) {
    vb_close(c);
    return VB_ERR_NOMEM;
  }
  id = c->next_id++;
  frame_begin(c, &e, 7);
  enc_key_text(&e, "type", "hello");
  enc_key_uint(&e, "id", id);
  enc_text(&e, "versions");
  enc_head(&e, 4, 1);
  enc_uint(&e, VB_PROTOCOL_VERSION);
  enc_key_text(&e, "device", hello->device);
  enc_key_text(&e, "firmware", hello->firmware);
  enc_text(&e, "sensors");
  enc_head(&e, 4, hello->sensor_count);
  for (i = 0; i < hello->sensor_count; i++) {
    const vb_sensor_decl *s = &hello->sensors[i];
    const char *name = sensor_name(s->sensor);
    if (!name || !valid_rate(s->rate_hz) || s->channels < 1) {
      vb_close(c);
      return VB_ERR_ARG;
    }
    enc_head(&e, 5, 3);
    enc_key_text(&e, "sensor", name);
    enc_text(&e, "rateHz");
    enc_double(&e, s->rate_hz);
    enc_key_uint(&e, "channels", s->channels);
  }
  enc_text(&e, "caps");
  enc_head(&e, 4, 0);
  rc = request(c, &e, id, "hello-ack");
  if (rc != VB_OK) {
    vb_close(c);
    return rc;
  }
  if (ensure_send_capacity(c, (size_t)c->max_frame + VB_HEADER) != VB_OK) {
    vb_close(c);
    return VB_ERR_NOMEM;
  }
  *out = c;
  return VB_OK;
}

static int check_hello(vb_client **out, const vb_hello *hello) {
  if (!out || !hello || !valid_id(hello->device) || !valid_printable(hello->firmware, 64, 0, 0)) return VB_ERR_ARG;
  if (hello->sensor_count > 16 || (hello->sensor_count > 0 && !hello->sensors)) return VB_ERR_ARG;
  return VB_OK;
}

int vb_connect_unix(vb_client **out, const char *path, const vb_hello *hello, const vb_callbacks *callbacks) {
  struct sockaddr_un addr;
  int fd, rc = check_hello(out, hello);
  if (rc != VB_OK) return rc;
  if (!path || strlen(path) >= sizeof addr.sun_path) return VB_ERR_ARG;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  strcpy(addr.sun_path, path);
  fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return VB_ERR_IO;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(fd);
    return VB_ERR_IO;
  }
  return client_new(out, fd, hello, callbacks);
}

int vb_connect_tcp(vb_client **out, const char *host, unsigned short port, const vb_hello *hello,
                   const vb_callbacks *callbacks) {
  struct addrinfo hints, *res = NULL, *ai;
  char service[8];
  int fd = -1, one = 1, rc = check_hello(out, hello);
  if (rc != VB_OK) return rc;
  if (!host) return VB_ERR_ARG;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(service, sizeof service, "%u", (unsigned)port);
  if (getaddrinfo(host, service, &hints, &res) != 0) return VB_ERR_IO;
  for (ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return VB_ERR_IO;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return client_new(out, fd, hello, callbacks);
}

int vb_resumed(const vb_client *c) { return c ? c->resumed : 0; }

long vb_credits(const vb_client *c) { return c ? c->credits : 0; }

int vb_open_stream(vb_client *c, const char *stream, vb_sensor sensor, double rate_hz, unsigned channels,
                   const char *cohort) {
  enc_t e;
  uint64_t id;
  const char *name = sensor_name(sensor);
  if (!c || !valid_id(stream) || !name || !valid_rate(rate_hz) || channels < 1) return VB_ERR_ARG;
  if (cohort && !valid_printable(cohort, 128, 1, 1)) return VB_ERR_ARG;
  if (c->closed) return VB_ERR_CLOSED;
  id = c->next_id++;
  frame_begin(c, &e, cohort ? 7u : 6u);
  enc_key_text(&e, "type", "open");
  enc_key_uint(&e, "id", id);
  enc_key_text(&e, "stream", stream);
  enc_key_text(&e, "sensor", name);
  enc_text(&e, "rateHz");
  enc_double(&e, rate_hz);
  enc_key_uint(&e, "channels", channels);
  if (cohort) enc_key_text(&e, "cohort", cohort);
  return request(c, &e, id, "open-ack");
}

int vb_close_stream(vb_client *c, const char *stream) {
  enc_t e;
  uint64_t id;
  if (!c || !valid_id(stream)) return VB_ERR_ARG;
  if (c->closed) return VB_ERR_CLOSED;
  id = c->next_id++;
  frame_begin(c, &e, 3);
  enc_key_text(&e, "type", "close");
  enc_key_uint(&e, "id", id);
  enc_key_text(&e, "stream", stream);
  return request(c, &e, id, "close-ack");
}

/* Waits until the server has granted credit for one more samples frame. */
static int await_credit(vb_client *c) {
  long long deadline = now_ms() + c->timeout_ms;
  while (c->credits <= 0) {
    long long left = deadline - now_ms();
    int rc;
    if (c->closed) return VB_ERR_CLOSED;
    if (left <= 0) return VB_ERR_TIMEOUT;
    rc = pump(c, (int)left);
    if (rc < 0) return rc;
  }
  return VB_OK;
}

static long send_samples(vb_client *c, const char *stream, uint64_t counter, double timestamp_ms, double rate_hz,
                         unsigned channels, size_t count, const float *const *f32, const int16_t *const *i16,
                         const float *scale, const uint8_t *flags) {
  enc_t e;
  uint64_t id;
  unsigned ch;
  int rc;
  if (!c || !valid_id(stream) || !valid_rate(rate_hz) || channels < 1 || channels > 64 || count < 1 ||
      counter > 9007199254740991ULL || !(timestamp_ms >= 0.0) || timestamp_ms > 9007199254740991.0)
    return VB_ERR_ARG;
  if (c->closed) return VB_ERR_CLOSED;
  rc = await_credit(c);
  if (rc != VB_OK) return rc;
  id = c->next_id++;
  frame_begin(c, &e, 7u + (i16 ? 1u : 0u) + (flags ? 1u : 0u));
  enc_key_text(&e, "type", "samples");
  enc_key_uint(&e, "id", id);
  enc_key_text(&e, "stream", stream);
  enc_key_uint(&e, "counter", counter);
  enc_text(&e, "timestampMs");
  enc_double(&e, timestamp_ms);
  enc_text(&e, "rateHz");
  enc_double(&e, rate_hz);
  enc_text(&e, "data");
  enc_head(&e, 4, channels);
  for (ch = 0; ch < channels; ch++) {
    if (f32) enc_f32_array(&e, f32[ch], count);
    else enc_i16_array(&e, i16[ch], count);
  }
  if (i16) {
    enc_text(&e, "scale");
    enc_head(&e, 4, channels);
    for (ch = 0; ch < channels; ch++) enc_double(&e, (double)scale[ch]);
  }
  if (flags) {
    enc_text(&e, "flags");
    enc_head(&e, 2, count);
    enc_raw(&e, flags, count);
  }
  rc = frame_send(c, &e);
  if (rc != VB_OK) return rc;
  c->credits--;
  return (long)id;
}

long vb_send_f32(vb_client *c, const char *stream, uint64_t counter, double timestamp_ms, double rate_hz,
                 unsigned channels, size_t count, const float *const *data, const uint8_t *flags) {
  if (!data) return VB_ERR_ARG;
  return send_samples(c, stream, counter, timestamp_ms, rate_hz, channels, count, data, NULL, NULL, flags);
}

long vb_send_i16(vb_client *c, const char *stream, uint64_t counter, double timestamp_ms, double rate_hz,
                 unsigned channels, size_t count, const int16_t *const *data, const float *scale,
                 const uint8_t *flags) {
  unsigned ch;
  if (!data || !scale) return VB_ERR_ARG;
  for (ch = 0; ch < channels; ch++)
    if (!(scale[ch] == scale[ch]) || scale[ch] == 0.0f) return VB_ERR_ARG;
  return send_samples(c, stream, counter, timestamp_ms, rate_hz, channels, count, NULL, data, scale, flags);
}

int vb_label(vb_client *c, const char *result_id, int value, const char *source, vb_label_outcome *outcome) {
  enc_t e;
  uint64_t id;
  int rc;
  if (!c || !valid_printable(result_id, 256, 0, 0) || (value != 0 && value != 1) || !source ||
      (strcmp(source, "ground-truth") != 0 && strcmp(source, "clinician") != 0))
    return VB_ERR_ARG;
  if (c->closed) return VB_ERR_CLOSED;
  id = c->next_id++;
  frame_begin(c, &e, 5);
  enc_key_text(&e, "type", "label");
  enc_key_uint(&e, "id", id);
  enc_key_text(&e, "result", result_id);
  enc_key_uint(&e, "value", (uint64_t)value);
  enc_key_text(&e, "source", source);
  rc = request(c, &e, id, "label-ack");
  if (rc == VB_OK && outcome) *outcome = c->label_outcome;
  return rc;
}

int vb_ping(vb_client *c) {
  enc_t e;
  uint64_t id;
  if (!c) return VB_ERR_ARG;
  if (c->closed) return VB_ERR_CLOSED;
  id = c->next_id++;
  frame_begin(c, &e, 2);
  enc_key_text(&e, "type", "ping");
  enc_key_uint(&e, "id", id);
  return request(c, &e, id, "pong");
}

int vb_poll(vb_client *c, int timeout_ms) {
  if (!c) return VB_ERR_ARG;
  if (c->closed && c->rlen == 0) return VB_ERR_CLOSED;
  return pump(c, timeout_ms < 0 ? 0 : timeout_ms);
}

const vb_error *vb_last_error(const vb_client *c) { return c ? &c->last_error : NULL; }

const char *vb_strerror(int code) {
  switch (code) {
    case VB_OK:
      return "ok";
    case VB_ERR_ARG:
      return "invalid argument";
    case VB_ERR_IO:
      return "connection error";
    case VB_ERR_PROTOCOL:
      return "unreadable frame from the server";
    case VB_ERR_REMOTE:
      return "refused by the server";
    case VB_ERR_TOO_LARGE:
      return "frame larger than the server accepts";
    case VB_ERR_TIMEOUT:
      return "timed out";
    case VB_ERR_NOMEM:
      return "out of memory";
    case VB_ERR_CLOSED:
      return "connection closed";
    default:
      return code > 0 ? "ok" : "unknown error";
  }
}

void vb_close(vb_client *c) {
  if (!c) return;
  if (c->fd >= 0) close(c->fd);
  free(c->sbuf);
  free(c->rbuf);
  free(c);
}
